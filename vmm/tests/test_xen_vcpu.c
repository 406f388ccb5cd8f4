// SPDX-License-Identifier: GPL-2.0
/*
 * VCPUOP_* and set_timer_op on the fake machine: vcpu_info placement as
 * Xen does it, runstate areas, up/is_up, and userspace timers that really
 * fire through the timer fd and raise VIRQ_TIMER.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>

#include "fake_vm.h"
#include "ktap.h"

#define RAM_SIZE	(16ULL << 20)
#define SHINFO_GFN	0x10ULL

static int64_t vcpuop(struct fake_vm *f, unsigned int caller, uint64_t cmd,
		      uint32_t target, void *arg, size_t size)
{
	return fake_vcpu_op(f, caller, cmd, target, arg, size);
}

static int64_t reg_vcpu_info(struct fake_vm *f, unsigned int caller,
			     uint32_t target, uint64_t gfn, uint32_t off)
{
	struct vcpu_register_vcpu_info i = { .mfn = gfn, .offset = off };

	return vcpuop(f, caller, VCPUOP_register_vcpu_info, target, &i, sizeof(i));
}

static void test_vcpu_info(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(3, RAM_SIZE);
	const struct fake_call *c;
	uint64_t sel;
	uint8_t *slot1;

	KTAP_EXPECT(t, fake_map_shared_info(f, SHINFO_GFN) == 0);
	slot1 = f->ram + (SHINFO_GFN << 12) + 64;
	slot1[0] = 1;		/* upcall pending */
	slot1[8] = 0x20;	/* selector: word 5 */
	slot1[40] = 0x77;	/* something in vcpu_time_info */

	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, 0x20, 4096 - 63) == -EINVAL);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, 0x20, 4) == -EINVAL);	/* align */
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, RAM_SIZE >> 12, 0) == -EINVAL);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, UINT64_MAX, 0) == -EINVAL);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 7, 0x20, 0) == -ENOENT);
	/* The BSP places an AP's vcpu_info before the AP runs. */
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, 0x20, 64) == 0);
	KTAP_EXPECT(t, f->ram[0x20040] == 1 && f->ram[0x20040 + 40] == 0x77);
	/*
	 * The selector is copied, not flooded: with every bit set, no later
	 * event would ever raise an upcall (a bit must go from 0 to 1).
	 */
	memcpy(&sel, f->ram + 0x20040 + 8, 8);
	KTAP_EXPECT(t, sel == 0x20);
	c = fake_last(f, FAKE_SET_VCPU_INFO);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == 0x20040);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 1, 0x21, 0) == -EINVAL);	/* once */
	/* A running vCPU places only its own. */
	KTAP_EXPECT(t, fake_hcall(f, 2, __HYPERVISOR_xen_version, 0, 0, 0) > 0);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 2, 0x22, 0) == -EINVAL);
	KTAP_EXPECT(t, reg_vcpu_info(f, 2, 2, 0x22, 0) == 0);

	/* Events now land in the new place, and raise an upcall. */
	{
		struct evtchn_bind_ipi b = { .vcpu = 1 };
		struct evtchn_send s;

		f->ram[0x20040] = 0;	/* the guest handled the old event */
		memset(f->ram + 0x20048, 0, 8);
		KTAP_EXPECT(t, fake_op(f, 0, __HYPERVISOR_event_channel_op,
				       EVTCHNOP_bind_ipi, &b, sizeof(b)) == 0);
		s.port = b.port;
		KTAP_EXPECT(t, fake_op(f, 0, __HYPERVISOR_event_channel_op,
				       EVTCHNOP_send, &s, sizeof(s)) == 0);
		KTAP_EXPECT(t, f->ram[0x20040] == 1);
	}
	fake_vm_free(f);

	/* Without shared_info Xen copies its dummy: zeros, events masked. */
	f = fake_vm_new(1, RAM_SIZE);
	memset(f->ram + 0x30000, 0xee, 64);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 0, 0x30, 0) == 0);
	KTAP_EXPECT(t, f->ram[0x30000] == 0 && f->ram[0x30001] == 1 &&
			       f->ram[0x30000 + 20] == 0);
	fake_vm_free(f);

	/* Compat: 4-byte alignment is enough; the selector is not flooded. */
	f = fake_vm_new(1, RAM_SIZE);
	f->longmode = false;
	xen_set_long_mode(&f->vm, false);
	KTAP_EXPECT(t, reg_vcpu_info(f, 0, 0, 0x30, 4) == 0);
	memcpy(&sel, f->ram + 0x30004 + 4, 8);
	KTAP_EXPECT(t, sel == 0);
	fake_vm_free(f);
	ktap_case_end(t, "register_vcpu_info: checks, copy, selector, once");
}

static void test_runstate(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, RAM_SIZE);
	const struct fake_call *c;
	uint64_t addr = 0x50000;

	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_register_runstate_memory_area, 1,
			      &addr, 8) == 0);
	c = fake_last(f, FAKE_SET_RUNSTATE);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == 0x50000);
	/* 48 bytes starting 16 bytes before an unmapped page. */
	f->bad_gva = 0x61000;
	addr = 0x61000 - 16;
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_register_runstate_memory_area, 1,
			      &addr, 8) == -EFAULT);
	addr = 0;
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_register_runstate_memory_area, 1,
			      &addr, 8) == 0);
	c = fake_last(f, FAKE_SET_RUNSTATE);
	KTAP_EXPECT(t, c && c->b == XEN_INVALID_GPA);
	/* Compat: only the low 32 bits are the pointer. */
	f->longmode = false;
	addr = 0xdead000000052000ULL;
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_register_runstate_memory_area, 0,
			      &addr, 8) == 0);
	c = fake_last(f, FAKE_SET_RUNSTATE);
	KTAP_EXPECT(t, c && c->a == 0 && c->b == 0x52000);
	fake_vm_free(f);
	ktap_case_end(t, "register_runstate_memory_area: translated, checked");
}

static void test_up(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, RAM_SIZE);

	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_is_up, 0, NULL, 0) == 1);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_is_up, 1, NULL, 0) == 0);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_up, 1, NULL, 0) == -EINVAL);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_is_up, 2, NULL, 0) == -ENOENT);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up,
				  1ULL << 32, 0) == -ENOENT);
	/* INIT/SIPI brought it up: its first hypercall shows it. */
	KTAP_EXPECT(t, fake_hcall(f, 1, __HYPERVISOR_xen_version, 0, 0, 0) > 0);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_is_up, 1, NULL, 0) == 1);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_up, 1, NULL, 0) == 0);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_down, 1, NULL, 0) == -ENOSYS);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_initialise, 1, NULL, 0) == -ENOSYS);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_get_runstate_info, 1, NULL, 0) == -ENOSYS);
	fake_vm_free(f);
	ktap_case_end(t, "is_up / up / down as Xen answers HVM vCPUs");
}

/* Wait up to @ms for the timer fd, run the timers; deliveries of @port. */
static unsigned int run_timers(struct fake_vm *f, int ms, uint32_t port)
{
	struct pollfd p = { .fd = xen_timer_fd(&f->vm), .events = POLLIN };
	unsigned int i, n = 0;

	fake_clear_calls(f);
	if (poll(&p, 1, ms) == 1)
		xen_timers_run(&f->vm);
	for (i = 0; i < f->nr_calls; i++)
		n += f->calls[i].op == FAKE_DELIVER_PORT && f->calls[i].a == port;
	return n;
}

static void test_timers(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, RAM_SIZE);
	struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = 1 };
	struct vcpu_set_singleshot_timer ss;
	struct vcpu_set_periodic_timer per;
	unsigned int fires, i;
	uint64_t now;

	KTAP_EXPECT(t, fake_map_shared_info(f, SHINFO_GFN) == 0);
	KTAP_EXPECT(t, fake_op(f, 0, __HYPERVISOR_event_channel_op,
			       EVTCHNOP_bind_virq, &b, sizeof(b)) == 0);
	KTAP_EXPECT(t, xen_timer_fd(&f->vm) >= 0);

	now = xen_now_ns(f->vm.xen);
	ss = (struct vcpu_set_singleshot_timer){ .timeout_abs_ns = now + 5000000 };
	/* Only a vCPU's own singleshot timer. */
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_set_singleshot_timer, 1, &ss,
			      sizeof(ss)) == -EINVAL);
	KTAP_EXPECT(t, vcpuop(f, 1, VCPUOP_set_singleshot_timer, 1, &ss,
			      sizeof(ss)) == 0);
	KTAP_EXPECT(t, run_timers(f, 1000, b.port) == 1);
	KTAP_EXPECT(t, xen_now_ns(f->vm.xen) >= now + 5000000);
	/* One shot only. */
	KTAP_EXPECT(t, run_timers(f, 30, b.port) == 0);

	/* Stopped before it fires: nothing. */
	ss.timeout_abs_ns = xen_now_ns(f->vm.xen) + 10000000;
	KTAP_EXPECT(t, vcpuop(f, 1, VCPUOP_set_singleshot_timer, 1, &ss,
			      sizeof(ss)) == 0);
	KTAP_EXPECT(t, vcpuop(f, 1, VCPUOP_stop_singleshot_timer, 1, NULL, 0) == 0);
	KTAP_EXPECT(t, run_timers(f, 40, b.port) == 0);

	/* In the past: fires at once, unless the guest asked for -ETIME. */
	ss.timeout_abs_ns = 1;
	ss.flags = VCPU_SSHOTTMR_future;
	KTAP_EXPECT(t, vcpuop(f, 1, VCPUOP_set_singleshot_timer, 1, &ss,
			      sizeof(ss)) == -ETIME);
	ss.flags = 0;
	KTAP_EXPECT(t, vcpuop(f, 1, VCPUOP_set_singleshot_timer, 1, &ss,
			      sizeof(ss)) == 0);
	KTAP_EXPECT(t, run_timers(f, 1000, b.port) == 1);

	/* Periodic: at least 1 ms, then it keeps firing until stopped. */
	per.period_ns = 500000;
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_set_periodic_timer, 1, &per,
			      sizeof(per)) == -EINVAL);
	per.period_ns = 2000000;
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_set_periodic_timer, 1, &per,
			      sizeof(per)) == 0);
	for (i = 0, fires = 0; i < 5; i++)
		fires += run_timers(f, 1000, b.port);
	KTAP_EXPECT(t, fires == 5);
	KTAP_EXPECT(t, vcpuop(f, 0, VCPUOP_stop_periodic_timer, 1, NULL, 0) == 0);
	KTAP_EXPECT(t, run_timers(f, 30, b.port) == 0);

	/* set_timer_op: 0 stops, else an absolute singleshot; compat splits. */
	now = xen_now_ns(f->vm.xen) + 3000000;
	KTAP_EXPECT(t, fake_hcall(f, 1, __HYPERVISOR_set_timer_op, now, 0, 0) == 0);
	KTAP_EXPECT(t, fake_hcall(f, 1, __HYPERVISOR_set_timer_op, 0, 0, 0) == 0);
	KTAP_EXPECT(t, run_timers(f, 30, b.port) == 0);
	f->longmode = false;
	now = xen_now_ns(f->vm.xen) + 3000000;
	KTAP_EXPECT(t, fake_hcall(f, 1, __HYPERVISOR_set_timer_op,
				  now & 0xffffffff, now >> 32, 0) == 0);
	KTAP_EXPECT(t, run_timers(f, 1000, b.port) == 1);
	KTAP_EXPECT(t, xen_now_ns(f->vm.xen) >= now);
	fake_vm_free(f);
	ktap_case_end(t, "timers: singleshot, periodic, set_timer_op fire VIRQ_TIMER");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 4);
	test_vcpu_info(&t);
	test_runstate(&t);
	test_up(&t);
	test_timers(&t);
	return ktap_finish(&t);
}
