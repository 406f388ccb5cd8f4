// SPDX-License-Identifier: GPL-2.0
/*
 * SCHEDOP_* on the fake machine: shutdown reasons reach vm_request_stop,
 * privileged ops are refused, and block/poll really wait and wake.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include "fake_vm.h"
#include "ktap.h"

#define RAM_SIZE	(16ULL << 20)
#define SHINFO_GFN	0x10ULL
#define SHINFO		(SHINFO_GFN << 12)

static int64_t schedop(struct fake_vm *f, uint64_t cmd, void *arg, size_t size)
{
	return fake_op(f, 0, __HYPERVISOR_sched_op, cmd, arg, size);
}

static bool shutdown_gives(unsigned int reason, enum vm_exit_reason want)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	struct sched_shutdown s = { .reason = reason };
	bool ok = schedop(f, SCHEDOP_shutdown, &s, sizeof(s)) == 0 &&
		  f->vm.stopping && f->vm.exit_reason == want;

	fake_vm_free(f);
	return ok;
}

static void test_shutdown(struct ktap *t)
{
	struct fake_vm *f;
	struct sched_shutdown s;
	struct sched_remote_shutdown rs = { .domain_id = DOMID_SELF };

	KTAP_EXPECT(t, shutdown_gives(SHUTDOWN_poweroff, VM_EXIT_POWEROFF));
	KTAP_EXPECT(t, shutdown_gives(SHUTDOWN_reboot, VM_EXIT_REBOOT));
	KTAP_EXPECT(t, shutdown_gives(SHUTDOWN_crash, VM_EXIT_CRASH));
	KTAP_EXPECT(t, shutdown_gives(SHUTDOWN_watchdog, VM_EXIT_WATCHDOG));
	KTAP_EXPECT(t, shutdown_gives(SHUTDOWN_suspend, VM_EXIT_SUSPEND));

	f = fake_vm_new(1, RAM_SIZE);
	s.reason = SHUTDOWN_soft_reset;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_shutdown, &s, sizeof(s)) == -EINVAL);
	s.reason = 77;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_shutdown, &s, sizeof(s)) == -EINVAL);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
				  RAM_SIZE - 2, 0) == -EFAULT);
	KTAP_EXPECT(t, !f->vm.stopping);
	/* A recorded shutdown code wins over the later reason, as in Xen. */
	s.reason = SHUTDOWN_crash;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_shutdown_code, &s, sizeof(s)) == 0);
	KTAP_EXPECT(t, !f->vm.stopping);
	s.reason = SHUTDOWN_poweroff;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_shutdown, &s, sizeof(s)) == 0);
	KTAP_EXPECT(t, f->vm.stopping && f->vm.exit_reason == VM_EXIT_CRASH);
	fake_vm_free(f);

	f = fake_vm_new(1, RAM_SIZE);
	KTAP_EXPECT(t, schedop(f, SCHEDOP_remote_shutdown, &rs, sizeof(rs)) == -EPERM);
	rs.domain_id = 0;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_remote_shutdown, &rs, sizeof(rs)) == -EPERM);
	rs.domain_id = 50;
	KTAP_EXPECT(t, schedop(f, SCHEDOP_remote_shutdown, &rs, sizeof(rs)) == -ESRCH);
	KTAP_EXPECT(t, schedop(f, SCHEDOP_pin_override, &rs, sizeof(rs)) == -EPERM);
	KTAP_EXPECT(t, schedop(f, SCHEDOP_watchdog, &rs, sizeof(rs)) == -ENOSYS);
	KTAP_EXPECT(t, schedop(f, SCHEDOP_yield, NULL, 0) == 0);
	KTAP_EXPECT(t, !f->vm.stopping);
	fake_vm_free(f);
	ktap_case_end(t, "shutdown reasons, shutdown_code, refused ops");
}

static int64_t poll_ports(struct fake_vm *f, const uint32_t *ports,
			  unsigned int n, uint64_t timeout)
{
	uint64_t list = fake_alloc(f, 4 * n + 4, 8);

	memcpy(f->ram + list, ports, 4 * n);
	if (f->longmode) {
		struct sched_poll p = { .nr_ports = n, .timeout = timeout };

		set_xen_guest_handle(p.ports, (evtchn_port_t *)(uintptr_t)list);
		return schedop(f, SCHEDOP_poll, &p, sizeof(p));
	} else {
		struct {
			uint32_t ports, nr;
			uint64_t timeout;
		} __attribute__((packed)) p = { (uint32_t)list, n, timeout };

		return schedop(f, SCHEDOP_poll, &p, sizeof(p));
	}
}

struct kicker {
	struct fake_vm *f;
	uint32_t port;
};

static void *kick_later(void *opaque)
{
	struct kicker *k = opaque;

	usleep(20000);
	xen_evtchn_notify_guest(&k->f->vm, k->port);
	return NULL;
}

static void test_poll(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	uint32_t ports[129] = { 0 };
	struct kicker k = { f, 0 };
	pthread_t th;
	uint64_t t0, dt;
	int p;

	KTAP_EXPECT(t, fake_map_shared_info(f, SHINFO_GFN) == 0);
	p = xen_evtchn_alloc_backend(&f->vm, NULL, NULL, -1);
	KTAP_EXPECT(t, p > 0);
	ports[0] = (uint32_t)p;
	KTAP_EXPECT(t, poll_ports(f, ports, 129, 0) == -EINVAL);
	ports[1] = 5000;
	KTAP_EXPECT(t, poll_ports(f, ports, 2, 0) == -EINVAL);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_sched_op, SCHEDOP_poll,
				  RAM_SIZE - 4, 0) == -EFAULT);

	/* Nothing pending: waits out the (absolute) timeout. */
	t0 = fake_now_ns();
	KTAP_EXPECT(t, poll_ports(f, ports, 1, xen_now_ns(f->vm.xen) + 30000000) == 0);
	dt = fake_now_ns() - t0;
	KTAP_EXPECT(t, dt >= 30000000 && dt < 1000000000);

	/* A delivery from another thread ends the wait early. */
	k.port = (uint32_t)p;
	pthread_create(&th, NULL, kick_later, &k);
	t0 = fake_now_ns();
	KTAP_EXPECT(t, poll_ports(f, ports, 1, xen_now_ns(f->vm.xen) + 5000000000ULL) == 0);
	dt = fake_now_ns() - t0;
	pthread_join(th, NULL);
	KTAP_EXPECT(t, dt >= 15000000 && dt < 2000000000ULL);
	KTAP_EXPECT(t, fake_test_bit(f, SHINFO + 2048, (unsigned int)p));

	/* Already pending: no wait at all, in the compat layout too. */
	f->longmode = false;
	t0 = fake_now_ns();
	KTAP_EXPECT(t, poll_ports(f, ports, 1, 0) == 0);
	KTAP_EXPECT(t, fake_now_ns() - t0 < 500000000ULL);
	fake_vm_free(f);
	ktap_case_end(t, "poll: checks, timeout, early wake, compat");
}

static void test_block(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	uint64_t t0, dt;

	KTAP_EXPECT(t, fake_map_shared_info(f, SHINFO_GFN) == 0);
	f->ram[SHINFO + 1] = 1;	/* events masked */
	t0 = fake_now_ns();
	KTAP_EXPECT(t, schedop(f, SCHEDOP_block, NULL, 0) == 0);
	dt = fake_now_ns() - t0;
	/* Block re-enables delivery and never sleeps for long. */
	KTAP_EXPECT(t, f->ram[SHINFO + 1] == 0);
	KTAP_EXPECT(t, dt >= 5000000 && dt < 1000000000);
	f->ram[SHINFO] = 1;	/* an upcall is pending: return at once */
	t0 = fake_now_ns();
	KTAP_EXPECT(t, schedop(f, SCHEDOP_block, NULL, 0) == 0);
	KTAP_EXPECT(t, fake_now_ns() - t0 < 5000000);
	fake_vm_free(f);
	ktap_case_end(t, "block: unmasks, bounded sleep, no sleep if pending");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 3);
	test_shutdown(&t);
	test_poll(&t);
	test_block(&t);
	return ktap_finish(&t);
}
