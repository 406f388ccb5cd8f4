// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation between host processes and between VMs, beyond what
 * xenkvm_attach_test covers (a foreign VM fd at attach, one ioctl from a
 * forked child):
 *
 *  - An attached /dev/xenkvm file that reached another process (passed
 *    over a unix socket, or inherited by a child that then dropped to an
 *    unprivileged uid) is useless there: every ioctl that reads or changes
 *    the VM (attributes, vCPU attributes, routing, irqfds, sends, stats)
 *    is -EPERM, ATTACH is -EBUSY, and the owner's VM sees no change (no
 *    event in its shared_info, no counter moved, configuration intact).
 *  - An unprivileged user cannot open /dev/xenkvm at all (root:root 0660).
 *  - The module writes guest memory only where the VMM itself could:
 *    a memslot over a read-only file mapping cannot be used as
 *    shared_info, vcpu_info or a runstate area, and the file never
 *    changes.
 *  - Two VMs attached in one process: events sent, signalled or timed
 *    for one never reach the other's pages.
 */
#include <pwd.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_test.h"
#include "xenkvm_fdpass.h"

#define GPA		0xc0000000ULL
#define SLOT		10
#define PAGES		4

static void guest_nop(void)
{
	GUEST_DONE();
}

/* True if any of the @n bytes at @p differs from @v. */
static bool memchr_inv_u8(const volatile uint8_t *p, uint8_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return true;
	return false;
}

struct owner {
	struct kvm_vm *vm;
	int xfd, efd;
	uint8_t *hva;
};

static void owner_setup(struct owner *o)
{
	struct xenkvm_irq_routing *rt;
	struct kvm_vcpu *vcpu;

	o->vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	vm_userspace_mem_region_add(o->vm, VM_MEM_SRC_SHMEM, GPA, SLOT, PAGES, 0);
	o->hva = addr_gpa2hva(o->vm, GPA);
	o->xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(o->xfd, o->vm->fd) == 0, "attach");
	TEST_ASSERT(xk_set_shinfo(o->xfd, GPA >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(o->xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	xk_route_one(o->xfd, rt, 0, 33, 0);
	TEST_ASSERT(xk_ioctl(o->xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	free(rt);
	o->efd = eventfd(0, 0);
	TEST_ASSERT(xk_irqfd_assign(o->xfd, o->efd, 0, 0) == 0, "irqfd");
}

static void owner_free(struct owner *o)
{
	close(o->efd);
	close(o->xfd);
	kvm_vm_free(o->vm);
}

/*
 * In a process that is not the VM's owner, with the owner's attached
 * file @xfd: try everything. Returns the number of calls that did not
 * fail the way they must (0 = isolated).
 */
static int try_everything(int xfd)
{
	struct xenkvm_attr attr = { .type = XENKVM_ATTR_SHARED_INFO };
	struct xenkvm_vcpu_attr va = { .type = XENKVM_VCPU_ATTR_VCPU_ID };
	struct xenkvm_irq_routing *rt;
	struct xenkvm_stats st;
	struct xenkvm_caps caps;
	int bad = 0, efd = eventfd(0, 0), kvm, vm;
	long r;

	/* The two queries are harmless and work anywhere. */
	bad += xk_ioctl(xfd, XENKVM_GET_API_VERSION, NULL) != XENKVM_API_VERSION;
	bad += xk_ioctl(xfd, XENKVM_GET_CAPS, &caps) != 0;

	bad += xk_ioctl(xfd, XENKVM_GET_ATTR, &attr) != -EPERM;
	attr.u.shared_info.gfn = (GPA >> 12) + 1;
	bad += xk_ioctl(xfd, XENKVM_SET_ATTR, &attr) != -EPERM;
	attr.u.shared_info.gfn = XENKVM_INVALID_GFN;
	bad += xk_ioctl(xfd, XENKVM_SET_ATTR, &attr) != -EPERM;
	bad += xk_set_long_mode(xfd, 0) != -EPERM;
	bad += xk_ioctl(xfd, XENKVM_VCPU_GET_ATTR, &va) != -EPERM;
	va.u.vcpu_id = 5;
	bad += xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &va) != -EPERM;
	bad += xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, GPA + 0x1000) != -EPERM;
	rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));
	xk_route_one(xfd, rt, 0, 44, 0);
	bad += xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt) != -EPERM;
	rt->nr = 0;
	bad += xk_ioctl(xfd, XENKVM_SET_GSI_ROUTING, rt) != -EPERM;
	free(rt);
	bad += xk_irqfd_assign(xfd, efd, 1, 0) != -EPERM;
	bad += xk_irqfd_assign(xfd, efd, 0, XENKVM_IRQFD_FLAG_DEASSIGN) != -EPERM;
	bad += xk_send(xfd, 33, 0) != -EPERM;
	bad += xk_send(xfd, 7, 0) != -EPERM;
	bad += xk_get_stats(xfd, &st) != -EPERM;
	/* Another VM of this process cannot take over the file either. */
	kvm = open("/dev/kvm", O_RDWR);
	vm = kvm >= 0 ? ioctl(kvm, KVM_CREATE_VM, 0) : -1;
	r = vm >= 0 ? xk_attach_fd(xfd, vm) : -EBUSY;
	bad += r != -EBUSY;
	close(vm);
	close(kvm);
	close(efd);
	return bad;
}

/* Nothing the foreign process did is visible to the owner. */
static bool owner_intact(struct owner *o, const struct xenkvm_stats *before)
{
	struct xenkvm_attr attr = { .type = XENKVM_ATTR_SHARED_INFO };
	struct xenkvm_stats after;
	uint64_t one = 1, t0;

	if (xk_get_stats(o->xfd, &after) ||
	    memcmp(before, &after, sizeof(after)))
		return false;
	if (xk_ioctl(o->xfd, XENKVM_GET_ATTR, &attr) ||
	    attr.u.shared_info.gfn != GPA >> 12)
		return false;
	if (memchr_inv_u8(o->hva, 0, 4096))
		return false;
	/* The owner's own routing and irqfd still work. */
	if (write(o->efd, &one, 8) != 8)
		return false;
	t0 = xk_now_ms();
	while (!xk_test_bit(o->hva + XEN_SHINFO_PENDING_OFF, 33) &&
	       xk_now_ms() - t0 < 10000)
		usleep(1000);
	return xk_test_bit(o->hva + XEN_SHINFO_PENDING_OFF, 33);
}

static void test_passed_fd(void)
{
	struct xenkvm_stats before;
	struct owner o;
	int sv[2], status;
	pid_t pid;

	owner_setup(&o);
	memset(o.hva, 0, 4096);
	xk_get_stats(o.xfd, &before);

	/* 1. Received over a socket by a process that never shared the mm. */
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	pid = fork();
	if (!pid) {
		int fd;

		close(sv[0]);
		/* Forget everything inherited from the owner first. */
		close(o.xfd);
		fd = xk_recv_fd(sv[1]);
		_exit(fd < 0 ? 100 : try_everything(fd));
	}
	close(sv[1]);
	TEST_ASSERT(!xk_send_fd(sv[0], o.xfd), "send_fd");
	close(sv[0]);
	waitpid(pid, &status, 0);
	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "attached fd passed over a socket: every VM ioctl -EPERM, ATTACH -EBUSY (%d wrong)\n",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* 2. Inherited by a child that dropped to an unprivileged uid. */
	pid = fork();
	if (!pid) {
		if (!getuid() && (setgid(65534) || setuid(65534)))
			_exit(101);
		_exit(try_everything(o.xfd));
	}
	waitpid(pid, &status, 0);
	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "attached fd inherited by an unprivileged child: every VM ioctl -EPERM (%d wrong)\n",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	ksft_test_result(owner_intact(&o, &before),
			 "the owner's VM saw nothing: no event, counters and shared_info unchanged, its irqfd still delivers\n");
	owner_free(&o);
}

static void test_unprivileged_open(void)
{
	struct stat sb;
	int status;
	pid_t pid;

	if (getuid()) {
		int fd = open(XENKVM_DEV, O_RDWR);

		ksft_test_result(fd < 0 && errno == EACCES,
				 "non-root cannot open " XENKVM_DEV "\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	TEST_ASSERT(!stat(XENKVM_DEV, &sb), "stat");
	pid = fork();
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(101);
		_exit(open(XENKVM_DEV, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ksft_test_result((sb.st_mode & 0777) == 0660 && sb.st_uid == 0 &&
			 sb.st_gid == 0 && WIFEXITED(status) &&
			 WEXITSTATUS(status) == 0,
			 XENKVM_DEV " is root:root %o; uid 65534 gets EACCES\n",
			 sb.st_mode & 0777);
}

/*
 * A memslot over a read-only file mapping: the module must not become a
 * way to write what the VMM itself cannot.
 */
static void test_readonly_backing(void)
{
	char path[] = "/tmp/xenkvm-ro-XXXXXX";
	size_t len = PAGES * getpagesize();
	struct kvm_userspace_memory_region m;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t *map, *buf;
	struct xenkvm_vcpu_attr va = { .vcpu = 0,
				       .type = XENKVM_VCPU_ATTR_RUNSTATE_ADDR };
	long r1, r2, r3, r4;
	int fd, xfd;

	buf = malloc(len);
	memset(buf, 0x5a, len);
	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0 && write(fd, buf, len) == (ssize_t)len, "file");
	close(fd);
	fd = open(path, O_RDONLY);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	TEST_ASSERT(map != MAP_FAILED, "mmap");

	vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	m = (struct kvm_userspace_memory_region){
		.slot = SLOT, .guest_phys_addr = GPA, .memory_size = len,
		.userspace_addr = (uintptr_t)map,
	};
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m),
		    "memslot over a read-only mapping");
	xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(xfd, vm->fd) == 0, "attach");
	r1 = xk_set_shinfo(xfd, GPA >> 12);
	r2 = xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, GPA + 0x1000);
	va.u.gpa = GPA + 0x2000;
	r3 = xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &va);
	r4 = xk_send(xfd, 5, 0);
	close(xfd);
	ksft_test_result(r1 == -EFAULT || r1 == -EINVAL,
			 "read-only file as shared_info refused: %ld\n", r1);
	ksft_test_result(r2 == -EFAULT || r2 == -EINVAL,
			 "read-only file as vcpu_info refused: %ld\n", r2);
	ksft_test_result(r4 == -ENOENT, "no send without a shared_info: %ld\n", r4);
	ksft_print_msg("runstate area over the read-only file: %ld\n", r3);
	ksft_test_result(!memcmp(map, buf, len),
			 "the read-only file is unchanged\n");
	m.memory_size = 0;
	ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m);
	kvm_vm_free(vm);
	munmap(map, len);
	close(fd);
	unlink(path);
	free(buf);
}

/* Two VMs in one process: nothing for A ever lands in B. */
static void test_two_vms(void)
{
	struct owner a, b;
	struct xenkvm_stats sb0, sb1;
	struct xenkvm_vcpu_attr ta = { .vcpu = 0, .type = XENKVM_VCPU_ATTR_TIMER };
	uint64_t one = 1, t0;
	unsigned int port, a_pending = 0;

	owner_setup(&a);
	owner_setup(&b);
	memset(a.hva, 0, 4096);
	memset(b.hva, 0, 4096);
	xk_get_stats(b.xfd, &sb0);
	for (port = 1; port < XEN_PORTS_64; port++)
		TEST_ASSERT(xk_send(a.xfd, port, 0) == 0, "send A");
	TEST_ASSERT(write(a.efd, &one, 8) == 8, "irqfd A");
	ta.u.timer.port = 34;
	ta.u.timer.expires_ns = 1;	/* past: fires now */
	TEST_ASSERT(!xk_ioctl(a.xfd, XENKVM_VCPU_SET_ATTR, &ta), "timer A");
	t0 = xk_now_ms();
	while (xk_now_ms() - t0 < 200)
		usleep(1000);
	for (port = 1; port < XEN_PORTS_64; port++)
		a_pending += xk_test_bit(a.hva + XEN_SHINFO_PENDING_OFF, port);
	xk_get_stats(b.xfd, &sb1);
	ksft_test_result(a_pending == XEN_PORTS_64 - 1 &&
			 !memchr_inv_u8(b.hva, 0, 4096) &&
			 !memcmp(&sb0, &sb1, sizeof(sb0)),
			 "two VMs: all %u ports raised in A, B's shared_info and counters untouched\n",
			 a_pending);
	owner_free(&b);
	owner_free(&a);
}

int main(void)
{
	close(xk_open());
	ksft_print_header();
	ksft_set_plan(3 + 1 + 4 + 1);
	test_passed_fd();
	test_unprivileged_open();
	test_readonly_backing();
	test_two_vms();
	ksft_finished();
}
