// SPDX-License-Identifier: GPL-2.0
/*
 * A signal to the vCPU thread while the guest sits in SCHEDOP_poll (no
 * timeout, an idle port) ends KVM_RUN with -EINTR and KVM_EXIT_INTR, with
 * RIP still at the vmcall/vmmcall; once the port is raised, the next
 * KVM_RUN restarts the poll, which returns 0 at once. Only the completed
 * call counts (as answered in-kernel, and as a poll); nothing exits to
 * the VMM.
 */
#include <pthread.h>
#include <signal.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define S_BASE		0xc0000000ULL
#define S_SLOT		10
#define PORT		20

static uint32_t g_port = PORT;
static struct xen_sched_poll g_poll;
static uint64_t g_ret = 0xdead;

static void guest_code(void)
{
	g_poll.ports = (uint64_t)&g_port;
	g_poll.nr_ports = 1;
	g_poll.timeout = 0;
	g_ret = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll, (uint64_t)&g_poll);
	GUEST_SYNC(1);
	GUEST_DONE();
}

static pthread_t main_thread;

static void on_usr1(int sig)
{
}

static void *kicker(void *arg)
{
	usleep(200 * 1000);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static const uint8_t vmcall_insn[3] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall_insn[3] = { 0x0f, 0x01, 0xd9 };

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct xenkvm_stats st;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t t;
	uint8_t *sh, *insn;
	int xfd, r, e;

	xfd = xk_open();
	close(xfd);
	alarm(120);	/* a hung poll fails the test instead of the suite */
	ksft_print_header();
	ksft_set_plan(5);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, S_BASE, S_SLOT, 1, 0);
	virt_map(vm, S_BASE, S_BASE, 1);
	xk_hcall_guest_setup(vm);
	sh = addr_gpa2hva(vm, S_BASE);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_set_long_mode(xfd, 1) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(xfd, S_BASE >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	/* Masked: raising it sets the bit and injects nothing. */
	sh[XEN_SHINFO_MASK_OFF_64 + PORT / 8] |= 1u << (PORT % 8);

	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	main_thread = pthread_self();
	pthread_create(&t, NULL, kicker, NULL);

	r = __vcpu_run(vcpu);	/* the raw ioctl: no retry on EINTR */
	e = errno;
	pthread_join(t, NULL);
	ksft_test_result(r == -1 && e == EINTR &&
			 vcpu->run->exit_reason == KVM_EXIT_INTR,
			 "signal during poll: KVM_RUN %d errno %d, exit %s\n", r, e,
			 exit_reason_str(vcpu->run->exit_reason));
	vcpu_regs_get(vcpu, &regs);
	insn = addr_gva2hva(vm, regs.rip);
	ksft_test_result(!memcmp(insn, vmcall_insn, 3) ||
			 !memcmp(insn, vmmcall_insn, 3),
			 "RIP still at the hypercall instruction\n");
	sync_global_from_guest(vm, g_ret);
	ksft_test_result(g_ret == 0xdead, "the call did not complete\n");

	TEST_ASSERT(xk_send(xfd, PORT, 0) == 0, "raise port");
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	r = get_ucall(vcpu, &uc);
	if (r == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	sync_global_from_guest(vm, g_ret);
	ksft_test_result(r == UCALL_SYNC && g_ret == 0,
			 "restarted poll returned %ld on the raised port\n",
			 (long)g_ret);
	TEST_ASSERT(xk_get_stats(xfd, &st) == 0, "stats");
	ksft_test_result(st.hcalls_in_kernel == 1 && st.hcalls_to_user == 0 &&
			 st.polls == 1,
			 "stats: in_kernel %llu, to_user %llu, polls %llu\n",
			 (unsigned long long)st.hcalls_in_kernel,
			 (unsigned long long)st.hcalls_to_user,
			 (unsigned long long)st.polls);
	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
