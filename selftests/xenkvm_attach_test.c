// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input to /dev/xenkvm gets a clear errno and nothing else:
 * bad and foreign fds at attach (a VM of another process, passed over a
 * socket), double attach, an attached file used after fork, attributes
 * out of range (GFNs outside memslots, vcpu_info crossing a page,
 * vectors, Xen vCPU ids), sends to bad ports and vCPUs, bad routing
 * tables and irqfds, and detach in both orders with the VM fd.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_test.h"
#include "xenkvm_fdpass.h"

#define SLOT_GPA	0xc0000000ULL
#define SLOT_PAGES	4

static void guest_nop(void)
{
	GUEST_DONE();
}

/* A VM fd created by a child process (another mm), received here. */
static int foreign_vm_fd(pid_t *child)
{
	int sv[2], fd;
	char c;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	*child = fork();
	TEST_ASSERT(*child >= 0, "fork");
	if (!*child) {
		int kvm = open("/dev/kvm", O_RDWR);
		int vm = kvm >= 0 ? ioctl(kvm, KVM_CREATE_VM, 0) : -1;

		close(sv[0]);
		if (vm < 0 || xk_send_fd(sv[1], vm))
			_exit(1);
		/* Keep the VM's owner alive until the parent is done. */
		if (read(sv[1], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	fd = xk_recv_fd(sv[0]);
	/* Closing our end tells the child to exit (read returns 0). */
	close(sv[0]);
	return fd;
}

static long vcpu_attr(int xfd, uint32_t vcpu, uint16_t type, uint64_t v)
{
	return xk_vcpu_set(xfd, vcpu, type, v);
}

static void test_attach(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct xenkvm_attach a = {};
	pid_t child;
	int xfd, xfd2, fd, kvmfd, status;

	xfd = xk_open();
	XK_EXPECT(xk_attach_fd(xfd, -1), -EBADF, "attach: fd -1");
	XK_EXPECT(xk_attach_fd(xfd, 1000), -EBADF, "attach: closed fd");
	fd = open("/dev/null", O_RDWR);
	XK_EXPECT(xk_attach_fd(xfd, fd), -EINVAL, "attach: /dev/null");
	close(fd);
	kvmfd = open("/dev/kvm", O_RDWR);
	XK_EXPECT(xk_attach_fd(xfd, kvmfd), -EINVAL, "attach: /dev/kvm system fd");
	close(kvmfd);
	XK_EXPECT(xk_attach_fd(xfd, vcpu->fd), -EINVAL, "attach: a vCPU fd");
	XK_EXPECT(xk_attach_fd(xfd, xfd), -EINVAL, "attach: /dev/xenkvm itself");
	a.vm_fd = vm->fd;
	a.flags = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_ATTACH, &a), -EINVAL, "attach: unknown flags");
	a.flags = 0;
	a.pad[2] = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_ATTACH, &a), -EINVAL, "attach: nonzero padding");
	XK_EXPECT(xk_ioctl(xfd, XENKVM_ATTACH, NULL), -EFAULT, "attach: NULL argument");

	fd = foreign_vm_fd(&child);
	if (fd >= 0)
		XK_EXPECT(xk_attach_fd(xfd, fd), -EPERM,
			  "attach: VM of another process (fd passed over a socket)");
	else
		ksft_test_result_fail("attach: could not get a foreign VM fd\n");
	close(fd);
	waitpid(child, &status, 0);

	XK_EXPECT(xk_attach_fd(xfd, vm->fd), 0, "attach: own VM");
	XK_EXPECT(xk_attach_fd(xfd, vm->fd), -EBUSY, "attach: same file again");
	xfd2 = xk_open();
	XK_EXPECT(xk_attach_fd(xfd2, vm->fd), -EBUSY, "attach: VM already attached");
	close(xfd2);

	/* An attached file inherited by a child: the child may not use it. */
	child = fork();
	if (!child) {
		struct xenkvm_stats st;

		_exit(xk_get_stats(xfd, &st) == -EPERM ? 0 : 1);
	}
	waitpid(child, &status, 0);
	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "attached file used by a forked child: EPERM\n");
	close(xfd);

	/* After the first file is gone, the VM can be attached again. */
	xfd2 = xk_open();
	XK_EXPECT(xk_attach_fd(xfd2, vm->fd), 0, "attach: again after release");
	close(xfd2);
}

static void test_attrs(struct kvm_vm *vm)
{
	struct xenkvm_attr attr = {};
	struct xenkvm_vcpu_attr va = {};
	int xfd = xk_open();

	TEST_ASSERT(xk_attach_fd(xfd, vm->fd) == 0, "attach");

	XK_EXPECT(xk_set_long_mode(xfd, 2), -EINVAL, "LONG_MODE 2");
	attr.type = XENKVM_ATTR_LONG_MODE;
	attr.pad0 = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_ATTR, &attr), -EINVAL, "SET_ATTR pad0");
	attr.pad0 = 0;
	attr.flags = 4;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_ATTR, &attr), -EINVAL, "SET_ATTR flags");
	attr.flags = 0;
	attr.u.pad[3] = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_ATTR, &attr), -EINVAL,
		  "SET_ATTR LONG_MODE with junk in the union");
	memset(&attr, 0, sizeof(attr));
	attr.type = 999;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_ATTR, &attr), -EINVAL, "SET_ATTR unknown type");
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_ATTR, (void *)16), -EFAULT, "SET_ATTR bad pointer");

	XK_EXPECT(xk_set_shinfo(xfd, 0x100000), -EINVAL, "SHARED_INFO gfn outside memslots");
	XK_EXPECT(xk_set_shinfo(xfd, 1ULL << 52), -EINVAL, "SHARED_INFO huge gfn");
	XK_EXPECT(xk_set_shinfo(xfd, (SLOT_GPA >> 12) + SLOT_PAGES), -EINVAL,
		  "SHARED_INFO first gfn past the slot");
	XK_EXPECT(xk_send(xfd, 5, 0), -ENOENT, "SEND before SHARED_INFO");
	XK_EXPECT(xk_set_shinfo(xfd, SLOT_GPA >> 12), 0, "SHARED_INFO in the slot");
	memset(&attr, 0, sizeof(attr));
	attr.type = XENKVM_ATTR_SHARED_INFO;
	ksft_test_result(xk_ioctl(xfd, XENKVM_GET_ATTR, &attr) == 0 &&
			 attr.u.shared_info.gfn == SLOT_GPA >> 12,
			 "GET_ATTR SHARED_INFO reads it back\n");

	XK_EXPECT(vcpu_attr(xfd, 7, XENKVM_VCPU_ATTR_VCPU_ID, 1), -EINVAL,
		  "VCPU_SET_ATTR on a vCPU that does not exist");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 128), -EINVAL,
		  "VCPU_ID 128 (out of range)");
	XK_EXPECT(vcpu_attr(xfd, 1, XENKVM_VCPU_ATTR_VCPU_ID, 0), -EEXIST,
		  "VCPU_ID already used by another vCPU");
	XK_EXPECT(vcpu_attr(xfd, 1, XENKVM_VCPU_ATTR_VCPU_ID, 40), 0, "VCPU_ID 40");
	XK_EXPECT(vcpu_attr(xfd, 1, XENKVM_VCPU_ATTR_VCPU_INFO, XENKVM_INVALID_GPA),
		  -EINVAL, "VCPU_INFO in shared_info for Xen vCPU 40 (>= 32)");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, SLOT_GPA + 0x1fc8),
		  -EINVAL, "VCPU_INFO crossing a page");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, SLOT_GPA + 0x1004),
		  -EINVAL, "VCPU_INFO misaligned");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, 0x40000000),
		  -EINVAL, "VCPU_INFO outside memslots");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, SLOT_GPA + 0x1040),
		  0, "VCPU_INFO in the slot");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_UPCALL_VECTOR, 0x0f), -EINVAL,
		  "UPCALL_VECTOR 0x0f");
	XK_EXPECT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_UPCALL_VECTOR, 0xf3), 0,
		  "UPCALL_VECTOR 0xf3");
	va.vcpu = 0;
	va.type = XENKVM_VCPU_ATTR_VCPU_INFO;
	ksft_test_result(xk_ioctl(xfd, XENKVM_VCPU_GET_ATTR, &va) == 0 &&
			 va.u.gpa == SLOT_GPA + 0x1040,
			 "VCPU_GET_ATTR VCPU_INFO reads it back\n");
	memset(&va, 0, sizeof(va));
	va.type = 77;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &va), -EINVAL, "VCPU_SET_ATTR unknown type");
	va.type = XENKVM_VCPU_ATTR_UPCALL_VECTOR;
	va.pad0 = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &va), -EINVAL, "VCPU_SET_ATTR pad0");

	XK_EXPECT(xk_send(xfd, 0, 0), -EINVAL, "SEND port 0");
	XK_EXPECT(xk_send(xfd, 4096, 0), -EINVAL, "SEND port 4096");
	XK_EXPECT(xk_send(xfd, 0xffffffff, 0), -EINVAL, "SEND port 0xffffffff");
	XK_EXPECT(xk_send(xfd, 5, 99), -EINVAL, "SEND to Xen vCPU 99 (none)");
	XK_EXPECT(xk_send(xfd, 5, 1), -EINVAL, "SEND to Xen vCPU 1 (renumbered to 40)");
	XK_EXPECT(xk_send(xfd, 5, 40), 0, "SEND to Xen vCPU 40");
	{
		struct xenkvm_evtchn_send s = { .port = 5, .vcpu = 0, .flags = 1 };

		XK_EXPECT(xk_ioctl(xfd, XENKVM_EVTCHN_SEND, &s), -EINVAL, "SEND flags");
		s.flags = 0;
		s.priority = 1;
		XK_EXPECT(xk_ioctl(xfd, XENKVM_EVTCHN_SEND, &s), -EINVAL, "SEND priority");
	}
	XK_EXPECT(xk_set_long_mode(xfd, 0), 0, "LONG_MODE 0");
	XK_EXPECT(xk_send(xfd, 1024, 0), -EINVAL, "compat: SEND port 1024");
	XK_EXPECT(xk_send(xfd, 1023, 0), 0, "compat: SEND port 1023");
	XK_EXPECT(xk_set_long_mode(xfd, 1), 0, "LONG_MODE 1");
	XK_EXPECT(xk_set_shinfo(xfd, XENKVM_INVALID_GFN), 0, "SHARED_INFO cleared");
	XK_EXPECT(xk_send(xfd, 5, 0), -ENOENT, "SEND after SHARED_INFO cleared");
	close(xfd);
}

static void test_routing_irqfd(struct kvm_vm *vm)
{
	struct xenkvm_irq_routing *rt;
	int xfd = xk_open(), efd, pfd[2];

	TEST_ASSERT(xk_attach_fd(xfd, vm->fd) == 0, "attach");
	rt = calloc(1, sizeof(*rt) + 4 * sizeof(rt->entries[0]));

	rt->nr = 4097;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: nr 4097");
	rt->nr = 0;
	rt->flags = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: flags");
	rt->flags = 0;
	rt->nr = 1000;	/* entries past the buffer: unmapped or garbage */
	{
		long r = xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt);

		ksft_test_result(r == -EINVAL || r == -EFAULT,
				 "routing: nr beyond the buffer: %ld\n", r);
	}
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 5, 0);
	rt->entries[0].type = 2;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: bad type");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 4096, 0);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: port 4096");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 0, 0);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: port 0");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 5, 128);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: vCPU 128");
	rt->nr = 0;
	xk_route_one(xfd, rt, 4096, 5, 0);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: GSI 4096");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 5, 0);
	rt->entries[0].u.xen_evtchn.priority = 1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: priority");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 5, 0);
	xk_route_one(xfd, rt, 1, 6, 0);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), -EINVAL, "routing: GSI twice");
	rt->nr = 0;
	xk_route_one(xfd, rt, 1, 5, 0);
	xk_route_one(xfd, rt, 2, 6, 0);
	XK_EXPECT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt), 0, "routing: two good entries");

	XK_EXPECT(xk_irqfd_assign(xfd, -1, 1, 0), -EBADF, "irqfd: fd -1");
	TEST_ASSERT(!pipe(pfd), "pipe");
	XK_EXPECT(xk_irqfd_assign(xfd, pfd[0], 1, 0), -EINVAL, "irqfd: a pipe");
	efd = eventfd(0, EFD_CLOEXEC);
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 4096, 0), -EINVAL, "irqfd: GSI 4096");
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, 4), -EINVAL, "irqfd: unknown flags");
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, 0), 0, "irqfd: assign");
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 2, 0), -EBUSY, "irqfd: same eventfd twice");
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, XENKVM_IRQFD_FLAG_DEASSIGN), 0,
		  "irqfd: deassign");
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, XENKVM_IRQFD_FLAG_DEASSIGN), -ENOENT,
		  "irqfd: deassign again");
	/* Bound, then closed: EPOLLHUP unbinds it; nothing else to see. */
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, 0), 0, "irqfd: assign again");
	{
		uint64_t one = 1;

		/* No shared_info: the event is queued, retried, harmless. */
		ksft_test_result(write(efd, &one, sizeof(one)) == sizeof(one),
				 "irqfd: signal with no shared_info set\n");
	}
	close(efd);
	XK_EXPECT(xk_irqfd_assign(xfd, efd, 1, XENKVM_IRQFD_FLAG_DEASSIGN), -EBADF,
		  "irqfd: deassign a closed eventfd");
	close(pfd[0]);
	close(pfd[1]);
	free(rt);
	close(xfd);
}

/* Detach after the VM fd is gone, and with vCPU state set up. */
static void test_close_orders(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int xfd, efd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SLOT_GPA, 1, SLOT_PAGES, 0);
	xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(xfd, vm->fd) == 0, "attach");
	TEST_ASSERT(xk_set_shinfo(xfd, SLOT_GPA >> 12) == 0, "shinfo");
	TEST_ASSERT(vcpu_attr(xfd, 0, XENKVM_VCPU_ATTR_UPCALL_VECTOR, 0xf3) == 0, "vector");
	efd = eventfd(0, 0);
	{
		struct xenkvm_irq_routing *rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));

		xk_route_one(xfd, rt, 3, 10, 0);
		TEST_ASSERT(xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
		free(rt);
	}
	TEST_ASSERT(xk_irqfd_assign(xfd, efd, 3, 0) == 0, "irqfd");
	/*
	 * Close the vCPU and VM fds (the guest memory stays mapped): the
	 * attachment keeps the VM alive and working.
	 */
	close(vcpu->fd);
	close(vm->fd);
	XK_EXPECT(xk_send(xfd, 9, 0), 0, "send after the VM fd was closed");
	{
		uint64_t one = 1, t0 = xk_now_ms();
		struct xenkvm_stats st;

		TEST_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one), "write");
		do {
			xk_get_stats(xfd, &st);
		} while (st.deliveries < 2 && xk_now_ms() - t0 < 10000 && !usleep(1000));
		ksft_test_result(st.deliveries == 2,
				 "irqfd after the VM fd was closed: delivered (%llu)\n",
				 (unsigned long long)st.deliveries);
	}
	close(xfd);
	close(efd);
	ksft_test_result_pass("detach after VM fd close: no crash\n");
}

int main(void)
{
	struct kvm_vcpu *vcpus[2];
	struct kvm_vm *vm;

	close(xk_open());
	ksft_print_header();
	ksft_set_plan(15 + 40 + 22 + 3);

	vm = vm_create_with_vcpus(2, guest_nop, vcpus);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SLOT_GPA, 1, SLOT_PAGES, 0);
	test_attach(vm, vcpus[0]);
	test_attrs(vm);
	test_routing_irqfd(vm);
	kvm_vm_free(vm);
	test_close_orders();
	ksft_finished();
}
