// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is written through a stale mapping (seed 003).
 *
 *  - Host remap: the memory behind shared_info is a memfd mapped twice
 *    (the memslot's mapping and an alias). Replacing the memslot's mapping
 *    with fresh anonymous memory (mmap MAP_FIXED) fires the MMU notifier;
 *    the next event must land in the new page, and the old page (still
 *    visible through the alias) must not change.
 *  - Memslot move: after KVM_SET_USER_MEMORY_REGION moves the slot away,
 *    the shared_info gfn has no memory; an event is queued, and the host
 *    page (same hva, still mapped) must not change while the slot is
 *    gone. When the slot comes back, the queued event is delivered.
 *
 * No vCPU runs: the test looks at the bits in memory only.
 */
#include <sys/mman.h>

#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_test.h"

#define GPA		0xc0000000ULL
#define GPA_AWAY	0xd0000000ULL
#define SLOT		10
#define PAGES		2

static void guest_nop(void)
{
	GUEST_DONE();
}

static struct kvm_vm *make_vm(int *xfd)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_SHMEM, GPA, SLOT, PAGES, 0);
	*xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(*xfd, vm->fd) == 0, "attach");
	TEST_ASSERT(xk_set_shinfo(*xfd, GPA >> 12) == 0, "shared_info");
	/* Creates the vCPU's state: Xen vCPU 0, no vector. */
	TEST_ASSERT(xk_vcpu_set(*xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "vcpu id");
	return vm;
}

static int pending(const volatile uint8_t *shinfo, unsigned int port)
{
	return xk_test_bit(shinfo + XEN_SHINFO_PENDING_OFF, port);
}

static void test_remap(void)
{
	volatile uint8_t *hva, *alias;
	struct xenkvm_stats s0, s1;
	struct kvm_vm *vm;
	void *p;
	int xfd;

	vm = make_vm(&xfd);
	hva = addr_gpa2hva(vm, GPA);
	alias = addr_gpa2alias(vm, GPA);
	TEST_ASSERT(alias, "no alias mapping");

	XK_EXPECT(xk_send(xfd, 5, 0), 0, "remap: send before");
	ksft_test_result(pending(hva, 5) && pending(alias, 5),
			 "remap: event lands in the memfd page (both views)\n");

	xk_get_stats(xfd, &s0);
	p = mmap((void *)hva, PAGES * getpagesize(), PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(p == (void *)hva, "mmap MAP_FIXED");
	XK_EXPECT(xk_send(xfd, 6, 0), 0, "remap: send after replacing the mapping");
	xk_get_stats(xfd, &s1);
	ksft_test_result(pending(hva, 6) && !pending(hva, 5),
			 "remap: event lands in the new anonymous page\n");
	ksft_test_result(!pending(alias, 6) && pending(alias, 5),
			 "remap: old page untouched (no write through a stale mapping)\n");
	ksft_test_result(s1.cache_invalidations > s0.cache_invalidations &&
			 s1.cache_refreshes > s0.cache_refreshes,
			 "remap: MMU notifier invalidated (%llu) and the cache was refreshed (%llu)\n",
			 (unsigned long long)(s1.cache_invalidations - s0.cache_invalidations),
			 (unsigned long long)(s1.cache_refreshes - s0.cache_refreshes));
	close(xfd);
	kvm_vm_free(vm);
}

static void test_memslot_move(void)
{
	volatile uint8_t *hva;
	struct kvm_vm *vm;
	uint64_t t0;
	int xfd, i, clean = 1;

	vm = make_vm(&xfd);
	hva = addr_gpa2hva(vm, GPA);
	XK_EXPECT(xk_send(xfd, 5, 0), 0, "move: send before");
	ksft_test_result(pending(hva, 5), "move: event delivered\n");

	vm_mem_region_move(vm, SLOT, GPA_AWAY);
	XK_EXPECT(xk_send(xfd, 7, 0), 0, "move: send while the gfn has no memslot (queued)");
	/* Watch the old page while the worker retries: it must stay clean. */
	for (i = 0; i < 50; i++) {
		clean &= !pending(hva, 7);
		usleep(10 * 1000);
	}
	ksft_test_result(clean, "move: no write into the page the gfn no longer maps\n");

	vm_mem_region_move(vm, SLOT, GPA);
	t0 = xk_now_ms();
	while (!pending(hva, 7) && xk_now_ms() - t0 < 20000)
		usleep(1000);
	ksft_test_result(pending(hva, 7),
			 "move: queued event delivered once the slot is back\n");
	close(xfd);
	kvm_vm_free(vm);
}

int main(void)
{
	close(xk_open());
	ksft_print_header();
	ksft_set_plan(6 + 5);
	test_remap();
	test_memslot_move();
	ksft_finished();
}
