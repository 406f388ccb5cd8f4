// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile ioctl input to the hypercall side: 20000 XENKVM_SET_ATTR and
 * XENKVM_VCPU_SET_ATTR calls of the types it owns (HCALL, FAST_PATHS,
 * EVTCHN, EVTCHN_RESET, TIMER, RUNSTATE_ADDR, RUNSTATE_DATA) with random
 * payloads, half of them with plausible values, while the vCPU keeps
 * making hypercalls in between. Every call must succeed or fail with a
 * documented errno; afterwards the VM still answers a hypercall
 * correctly. The testbed's dmesg check catches any warning.
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define A_BASE		0xc0000000ULL
#define A_SLOT		10
#define A_PAGES		2
#define ROUNDS		20000

static void guest_code(void)
{
	for (;;) {
		uint64_t r = xen_hcall2(XEN_HC_xen_version, 0, 0);

		GUEST_SYNC(r);
	}
}

static uint64_t s = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static void fill(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = (uint8_t)rnd();
}

static bool errno_ok(long r)
{
	return r == 0 || r == -EINVAL || r == -ENOENT || r == -EBADF ||
	       r == -EFAULT;
}

int main(void)
{
	static const uint16_t vm_types[] = {
		XENKVM_ATTR_HCALL, XENKVM_ATTR_FAST_PATHS, XENKVM_ATTR_EVTCHN,
		XENKVM_ATTR_EVTCHN_RESET,
	};
	static const uint16_t vcpu_types[] = {
		XENKVM_VCPU_ATTR_TIMER, XENKVM_VCPU_ATTR_RUNSTATE_ADDR,
		XENKVM_VCPU_ATTR_RUNSTATE_DATA,
	};
	struct xenkvm_attr a;
	struct xenkvm_vcpu_attr v;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;
	int xfd, i, bad = 0, ok = 0, runs = 0, lasterr = 0;
	long r;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(3);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, A_BASE, A_SLOT,
				    A_PAGES, 0);
	virt_map(vm, A_BASE, A_BASE, A_PAGES);
	xk_hcall_guest_setup(vm);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_set_shinfo(xfd, A_BASE >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;

	for (i = 0; i < ROUNDS; i++) {
		bool plausible = rnd() & 1;

		if (rnd() & 1) {
			memset(&a, 0, sizeof(a));
			if (plausible) {
				a.type = vm_types[rnd() % 4];
				a.u.evtchn.send_port = rnd() % 4200;
				a.u.evtchn.type = rnd() % 3;
				a.u.evtchn.deliver_port = rnd() % 4200;
				a.u.evtchn.vcpu = rnd() % 4;
				a.u.evtchn.eventfd = (int)(rnd() % 8) - 1;
				a.u.evtchn.flags = rnd() % 3 == 0;
				if (a.type == XENKVM_ATTR_HCALL)
					a.u.hcall.flags = 1;
				if (a.type == XENKVM_ATTR_FAST_PATHS)
					a.u.fast_paths = rnd() & 0x1f;
				if (a.type == XENKVM_ATTR_EVTCHN_RESET)
					memset(&a.u, 0, sizeof(a.u));
			} else {
				fill(&a, sizeof(a));
				a.type = vm_types[rnd() % 4];
			}
			r = xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
		} else {
			memset(&v, 0, sizeof(v));
			if (plausible) {
				v.vcpu = rnd() % 2;
				v.type = vcpu_types[rnd() % 3];
				if (v.type == XENKVM_VCPU_ATTR_TIMER) {
					v.u.timer.port = rnd() % 4200;
					v.u.timer.expires_ns = rnd() % 3 ? 0 :
						xk_vm_clock_ns(vm) + rnd() % 2000000;
				} else if (v.type == XENKVM_VCPU_ATTR_RUNSTATE_ADDR) {
					v.u.gpa = rnd() % 4 ? A_BASE + rnd() % 8192 :
						  rnd();
				} else {
					v.u.runstate.state = rnd() % 5;
					v.u.runstate.time[rnd() % 4] = rnd() % 1000;
					v.u.runstate.state_entry_time =
						v.u.runstate.time[0] + v.u.runstate.time[1] +
						v.u.runstate.time[2] + v.u.runstate.time[3] +
						(rnd() % 4 == 0);
				}
			} else {
				fill(&v, sizeof(v));
				v.vcpu = rnd() % 3;
				v.type = vcpu_types[rnd() % 3];
			}
			r = xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &v);
		}
		if (errno_ok(r)) {
			ok += r == 0;
		} else {
			bad++;
			lasterr = (int)r;
		}
		/* Keep the guest making hypercalls through all of it. */
		if (i % 20 == 0) {
			TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
			if (run->exit_reason == KVM_EXIT_XEN) {
				run->s.regs.regs.rax = 0x5a;
				run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
				TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
			}
			TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
				    "exit %s", exit_reason_str(run->exit_reason));
			runs++;
		}
	}
	ksft_test_result(!bad, "%d random attributes: only 0/EINVAL/ENOENT/EBADF/EFAULT (%d accepted, %d other, last %d)\n",
			 ROUNDS, ok, bad, lasterr);

	/* A known state, then one hypercall through the VMM. */
	TEST_ASSERT(xk_set_hcall(xfd, XENKVM_HCALL_INTERCEPT) == 0, "HCALL");
	TEST_ASSERT(xk_set_fast(xfd, XENKVM_FAST_ALL) == 0, "FAST");
	TEST_ASSERT(xk_vcpu_timer(xfd, 0, 0, 0) == 0, "timer off");
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	ksft_test_result(run->exit_reason == KVM_EXIT_XEN &&
			 run->xen.u.hcall.input == XEN_HC_xen_version,
			 "afterwards a hypercall still reaches the VMM\n");
	run->s.regs.regs.rax = 0x1234;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	ksft_test_result(get_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[1] == 0x1234,
			 "... and its answer reaches the guest (%d runs meanwhile)\n",
			 runs);
	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
