// SPDX-License-Identifier: GPL-2.0
/*
 * The module backend: xenkvm.ko (/dev/xenkvm) on a stock KVM. The module
 * catches vmcall/vmmcall, answers hot hypercalls and delivers events
 * in-kernel; the rest exit as KVM_EXIT_XEN with RIP already advanced, and
 * the result goes back through KVM's sync regs (include/uapi/linux/
 * xenkvm.h, "Hypercall exits"). The hypercall page MSR is trapped with
 * KVM's MSR filter and the page is written here (cpuid.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <uapi/linux/xenkvm.h>

#include "backend.h"
#include "config.h"
#include "machine.h"
#include "vm.h"

#define XENKVM_DEV "/dev/xenkvm"

struct module_backend {
	int fd;
	struct xenkvm_caps caps;
	int long_mode;		/* -1 until first set */
	struct evtchn_layout layout;	/* as the module was told */
};

static struct module_backend *priv(const struct vm *vm)
{
	return vm->backend->priv;
}

static int set_attr(struct vm *vm, struct xenkvm_attr *a)
{
	return ioctl(priv(vm)->fd, XENKVM_SET_ATTR, a) ? -errno : 0;
}

static int set_vcpu_attr(struct vcpu *vcpu, struct xenkvm_vcpu_attr *a)
{
	a->vcpu = vcpu->index;
	return ioctl(priv(vcpu->vm)->fd, XENKVM_VCPU_SET_ATTR, a) ? -errno : 0;
}

static int open_module(struct module_backend *mb)
{
	int version;

	mb->fd = open(XENKVM_DEV, O_RDWR | O_CLOEXEC);
	if (mb->fd < 0) {
		fprintf(stderr, "xenkvm: cannot open " XENKVM_DEV ": %s (is xenkvm.ko loaded?)\n",
			strerror(errno));
		return -1;
	}
	version = ioctl(mb->fd, XENKVM_GET_API_VERSION, 0);
	if (version != XENKVM_API_VERSION) {
		fprintf(stderr, "xenkvm: " XENKVM_DEV " speaks API %d, this VMM %d\n",
			version, XENKVM_API_VERSION);
		return -1;
	}
	if (ioctl(mb->fd, XENKVM_GET_CAPS, &mb->caps)) {
		fprintf(stderr, "xenkvm: XENKVM_GET_CAPS: %s\n", strerror(errno));
		return -1;
	}
	if (!(mb->caps.caps & XENKVM_CAP_HCALL_INTERCEPT)) {
		fprintf(stderr, "xenkvm: xenkvm.ko cannot intercept hypercalls on this host\n");
		return -1;
	}
	return 0;
}

/*
 * XENKVM_FAST_PATHS=MASK in the environment narrows the module's in-kernel
 * paths (XENKVM_FAST_*; 0 = the VMM does all of them). It exists for the
 * baselines of make bench, which compare the same guest with and without
 * the fast paths on one kernel.
 */
static int apply_fast_paths_override(struct vm *vm)
{
	const char *env = getenv("XENKVM_FAST_PATHS");
	struct xenkvm_attr fp = { .type = XENKVM_ATTR_FAST_PATHS };
	char *end;
	unsigned long mask;

	if (!env || !*env)
		return 0;
	errno = 0;
	mask = strtoul(env, &end, 0);
	if (errno || *end || mask > XENKVM_FAST_ALL) {
		fprintf(stderr, "xenkvm: XENKVM_FAST_PATHS='%s' is not a mask within 0x%x\n",
			env, XENKVM_FAST_ALL);
		return -1;
	}
	fp.u.fast_paths = mask;
	if (set_attr(vm, &fp)) {
		fprintf(stderr, "xenkvm: XENKVM_ATTR_FAST_PATHS: %s\n", strerror(errno));
		return -1;
	}
	fprintf(stderr, "xenkvm: module fast paths 0x%lx (XENKVM_FAST_PATHS)\n", mask);
	return 0;
}

static int attach(struct vm *vm, struct module_backend *mb)
{
	struct xenkvm_attach at = { .vm_fd = vm->vm_fd };
	struct xenkvm_attr ver = { .type = XENKVM_ATTR_XEN_VERSION };
	struct xenkvm_attr hc = { .type = XENKVM_ATTR_HCALL };

	if (ioctl(mb->fd, XENKVM_ATTACH, &at)) {
		fprintf(stderr, "xenkvm: XENKVM_ATTACH: %s\n", strerror(errno));
		return -1;
	}
	ver.u.xen_version = vm->cfg->xen_major << 16 | vm->cfg->xen_minor;
	if (set_attr(vm, &ver))
		fprintf(stderr, "xenkvm: XENKVM_ATTR_XEN_VERSION not accepted\n");
	hc.u.hcall.flags = XENKVM_HCALL_INTERCEPT;
	if (set_attr(vm, &hc)) {
		fprintf(stderr, "xenkvm: XENKVM_ATTR_HCALL: %s\n", strerror(errno));
		return -1;
	}
	return apply_fast_paths_override(vm);
}

static int module_init(struct vm *vm)
{
	struct module_backend *mb = calloc(1, sizeof(*mb));

	if (!mb)
		return -ENOMEM;
	mb->fd = -1;
	mb->long_mode = -1;
	vm->backend->priv = mb;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0) {
		fprintf(stderr, "xenkvm: the host KVM lacks KVM_CAP_SYNC_REGS\n");
		return -1;
	}
	if (open_module(mb) || attach(vm, mb) || hcall_msr_trap_init(vm))
		return -1;
	return 0;
}

static int module_init_vcpu(struct vcpu *vcpu)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_VCPU_ID };
	int ret;

	a.u.vcpu_id = vcpu->index;
	ret = set_vcpu_attr(vcpu, &a);
	if (ret) {
		fprintf(stderr, "xenkvm: XENKVM_VCPU_ATTR_VCPU_ID: %s\n", strerror(-ret));
		return ret;
	}
	/* Hypercall results travel back in the sync regs. */
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	return 0;
}

static void module_destroy(struct vm *vm)
{
	struct module_backend *mb = priv(vm);

	if (!mb)
		return;
	if (mb->fd >= 0)
		close(mb->fd);
	free(mb);
	vm->backend->priv = NULL;
}

static int module_set_long_mode(struct vm *vm, bool long_mode)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_LONG_MODE };
	int ret;

	a.u.long_mode = long_mode;
	ret = set_attr(vm, &a);
	if (!ret) {
		priv(vm)->long_mode = long_mode;
		priv(vm)->layout.compat = !long_mode;
	}
	return ret;
}

static int module_set_shared_info(struct vm *vm, uint64_t gfn)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_SHARED_INFO };

	int ret;

	a.u.shared_info.gfn = gfn;
	ret = set_attr(vm, &a);
	if (!ret)
		priv(vm)->layout.shared_info_gfn = gfn == XENKVM_INVALID_GFN ? 0 : gfn;
	return ret;
}

static int module_set_vcpu_info(struct vcpu *vcpu, uint64_t gpa)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_VCPU_INFO };
	struct module_backend *mb = priv(vcpu->vm);
	int ret;

	a.u.gpa = gpa;
	ret = set_vcpu_attr(vcpu, &a);
	if (!ret) {
		mb->layout.vcpu_info_gpa[vcpu->index] = gpa == XENKVM_INVALID_GPA ? 0 : gpa;
		layout_mark_events_pending(vcpu->vm, &mb->layout, vcpu->index);
	}
	return ret;
}

static int module_set_upcall_vector(struct vcpu *vcpu, uint8_t vector)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_UPCALL_VECTOR };
	int ret;

	a.u.vector = vector;
	ret = set_vcpu_attr(vcpu, &a);
	/* As Xen does: an upcall already pending is raised on the new vector. */
	if (!ret)
		layout_assert_upcall(vcpu->vm, &priv(vcpu->vm)->layout, vcpu->index, vector);
	return ret;
}

static int module_set_runstate_area(struct vcpu *vcpu, uint64_t gpa)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_RUNSTATE_ADDR };

	a.u.gpa = gpa;
	return set_vcpu_attr(vcpu, &a);
}

static int module_deliver_port(struct vm *vm, uint32_t port, uint32_t vcpu_id)
{
	struct xenkvm_evtchn_send s = {
		.port = port,
		.vcpu = vcpu_id,
		.priority = XENKVM_EVTCHN_PRIORITY_2LEVEL,
	};

	return ioctl(priv(vm)->fd, XENKVM_EVTCHN_SEND, &s) ? -errno : 0;
}

static int module_bind_port(struct vm *vm, uint32_t send_port,
			    const struct evtchn_send_target *to)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_EVTCHN };

	a.u.evtchn.send_port = send_port;
	if (to->eventfd >= 0) {
		a.u.evtchn.type = XENKVM_EVTCHN_EVENTFD;
		a.u.evtchn.eventfd = to->eventfd;
	} else {
		/* IPI: the port itself; loopback interdomain: the peer. */
		a.u.evtchn.type = XENKVM_EVTCHN_DELIVER;
		a.u.evtchn.deliver_port = to->port;
		a.u.evtchn.vcpu = to->vcpu_id;
		a.u.evtchn.eventfd = -1;
	}
	return set_attr(vm, &a);
}

static int module_unbind_port(struct vm *vm, uint32_t port)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_EVTCHN };

	a.u.evtchn.send_port = port;
	a.u.evtchn.flags = XENKVM_EVTCHN_DEASSIGN;
	a.u.evtchn.eventfd = -1;
	return set_attr(vm, &a);
}

static int module_set_timer_port(struct vcpu *vcpu, uint32_t port)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_TIMER };

	if (!(priv(vcpu->vm)->caps.caps & XENKVM_CAP_FAST_TIMER))
		return -EOPNOTSUPP;
	a.u.timer.port = port;
	a.u.timer.expires_ns = 0;
	return set_vcpu_attr(vcpu, &a);
}

static bool module_decode_hcall(struct vcpu *vcpu, struct xen_hcall *hc)
{
	if (!backend_decode_xen_exit(vcpu->run, hc))
		return false;
	/* Like Xen, latch the shared_info layout from the caller's mode. */
	if (priv(vcpu->vm)->long_mode != (int)hc->longmode)
		module_set_long_mode(vcpu->vm, hc->longmode);
	return true;
}

static void module_complete_hcall(struct vcpu *vcpu, const struct xen_hcall *hc, int64_t ret)
{
	struct kvm_run *run = vcpu->run;

	/* RIP is already past vmcall; only RAX changes. */
	run->s.regs.regs.rax = backend_hcall_rax(hc, ret);
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

const struct backend_ops backend_module_ops = {
	.name = "module",
	.init = module_init,
	.init_vcpu = module_init_vcpu,
	.destroy = module_destroy,
	.set_long_mode = module_set_long_mode,
	.set_shared_info = module_set_shared_info,
	.set_vcpu_info = module_set_vcpu_info,
	.set_upcall_vector = module_set_upcall_vector,
	.set_runstate_area = module_set_runstate_area,
	.deliver_port = module_deliver_port,
	.bind_port = module_bind_port,
	.unbind_port = module_unbind_port,
	.set_timer_port = module_set_timer_port,
	.decode_hcall = module_decode_hcall,
	.complete_hcall = module_complete_hcall,
};
