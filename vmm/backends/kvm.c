// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm backend: the host kernel's own Xen support (CONFIG_KVM_XEN).
 * KVM writes the hypercall page, delivers 2-level events, keeps
 * vcpu_info's time and the runstate area; every hypercall it does not
 * answer itself exits as KVM_EXIT_XEN and is completed through
 * run->xen.u.hcall.result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "backend.h"
#include "config.h"
#include "machine.h"
#include "vm.h"

#define EVTCHNSTAT_interdomain	2
#define EVTCHNSTAT_ipi		5

struct kvm_backend {
	int caps;		/* KVM_XEN_HVM_CONFIG_* the host offers */
	int long_mode;		/* -1 until first set */
	/* VCPUOP_register_vcpu_info was used: not the shared_info slot. */
	bool vcpu_info_registered[VM_MAX_VCPUS];
	struct evtchn_layout layout;	/* as KVM was told */
};

static struct kvm_backend *priv(const struct vm *vm)
{
	return vm->backend->priv;
}

/* XENKVM_TRACE=1: what the Xen code asked of KVM, and how it went. */
static int traced(const struct vm *vm, const char *what, uint64_t a, uint64_t b, int ret)
{
	if (vm->cfg->trace_hcalls)
		fprintf(stderr, "xenkvm: kvm: %s(%#llx, %#llx) = %d\n", what,
			(unsigned long long)a, (unsigned long long)b, ret);
	return ret;
}

static int hvm_set(struct vm *vm, struct kvm_xen_hvm_attr *a)
{
	return ioctl(vm->vm_fd, KVM_XEN_HVM_SET_ATTR, a) ? -errno : 0;
}

static int do_vcpu_set(struct vcpu *vcpu, void *attr)
{
	return ioctl(vcpu->fd, KVM_XEN_VCPU_SET_ATTR, attr) ? -errno : 0;
}

/* A vCPU ioctl: on the vCPU's own thread, or it may wait forever. */
static int vcpu_set(struct vcpu *vcpu, struct kvm_xen_vcpu_attr *a)
{
	return vcpu_run_on(vcpu, do_vcpu_set, a);
}

static int kvm_init(struct vm *vm)
{
	struct kvm_backend *kb = calloc(1, sizeof(*kb));
	struct kvm_xen_hvm_config cfg = { .msr = XEN_HYPERCALL_MSR };
	struct kvm_xen_hvm_attr ver = { .type = KVM_XEN_ATTR_TYPE_XEN_VERSION };

	if (!kb)
		return -ENOMEM;
	vm->backend->priv = kb;
	kb->long_mode = -1;
	if (!backend_kvm_xen_usable(vm)) {
		fprintf(stderr, "xenkvm: the kvm backend needs a host kernel with CONFIG_KVM_XEN "
			"(KVM_CAP_XEN_HVM); try --backend module with xenkvm.ko loaded\n");
		return -ENODEV;
	}
	kb->caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	/* Every hypercall exits to us, except the ones KVM serves in-kernel. */
	cfg.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL;
	if (kb->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND)
		cfg.flags |= KVM_XEN_HVM_CONFIG_EVTCHN_SEND;
	if (ioctl(vm->vm_fd, KVM_XEN_HVM_CONFIG, &cfg)) {
		fprintf(stderr, "xenkvm: KVM_XEN_HVM_CONFIG: %s\n", strerror(errno));
		return -errno;
	}
	ver.u.xen_version = vm->cfg->xen_major << 16 | vm->cfg->xen_minor;
	if ((kb->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND) && hvm_set(vm, &ver))
		fprintf(stderr, "xenkvm: KVM_XEN_ATTR_TYPE_XEN_VERSION not accepted\n");
	return 0;
}

static int kvm_init_vcpu(struct vcpu *vcpu)
{
	struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID };
	int ret;

	if (!(priv(vcpu->vm)->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND))
		return 0;	/* older KVM: Xen id == KVM index implicitly */
	a.u.vcpu_id = vcpu->index;
	ret = vcpu_set(vcpu, &a);
	if (ret)
		fprintf(stderr, "xenkvm: KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID: %s\n", strerror(-ret));
	return ret;
}

static void kvm_destroy(struct vm *vm)
{
	free(vm->backend->priv);
	vm->backend->priv = NULL;
}

static int kvm_set_long_mode(struct vm *vm, bool long_mode)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_LONG_MODE };
	int ret;

	a.u.long_mode = long_mode;
	ret = hvm_set(vm, &a);
	if (!ret) {
		priv(vm)->long_mode = long_mode;
		priv(vm)->layout.compat = !long_mode;
	}
	return traced(vm, "set_long_mode", long_mode, 0, ret);
}

/*
 * Until a vCPU registers its own vcpu_info, Xen uses its slot in
 * shared_info; KVM only keeps a vcpu_info (time, upcall pending) it was
 * told about, so tell it about the slot.
 */
static void point_vcpu_infos_at_shared_info(struct vm *vm, uint64_t gfn)
{
	for (unsigned int i = 0; i < vm->nr_vcpus && i < LEGACY_VCPU_INFOS; i++) {
		struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO };

		if (!vm->vcpus[i] || priv(vm)->vcpu_info_registered[i])
			continue;
		a.u.gpa = gfn == KVM_XEN_INVALID_GFN ? KVM_XEN_INVALID_GPA :
			  (gfn << 12) + i * VCPU_INFO_SIZE;
		vcpu_set(vm->vcpus[i], &a);
	}
}

static int kvm_set_shared_info(struct vm *vm, uint64_t gfn)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_SHARED_INFO };
	int ret;

	a.u.shared_info.gfn = gfn;
	ret = hvm_set(vm, &a);
	if (!ret) {
		priv(vm)->layout.shared_info_gfn = gfn == KVM_XEN_INVALID_GFN ? 0 : gfn;
		point_vcpu_infos_at_shared_info(vm, gfn);
	}
	return traced(vm, "set_shared_info", gfn, 0, ret);
}

static int kvm_set_callback_vector(struct vm *vm, uint8_t vector)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_UPCALL_VECTOR };

	a.u.vector = vector;
	return traced(vm, "set_callback_vector", vector, 0, hvm_set(vm, &a));
}

static int kvm_set_vcpu_info(struct vcpu *vcpu, uint64_t gpa)
{
	struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO };
	int ret;

	a.u.gpa = gpa;
	ret = vcpu_set(vcpu, &a);
	if (!ret) {
		priv(vcpu->vm)->vcpu_info_registered[vcpu->index] = gpa != KVM_XEN_INVALID_GPA;
		priv(vcpu->vm)->layout.vcpu_info_gpa[vcpu->index] =
			gpa == KVM_XEN_INVALID_GPA ? 0 : gpa;
		layout_mark_events_pending(vcpu->vm, &priv(vcpu->vm)->layout, vcpu->index);
	}
	return traced(vcpu->vm, "set_vcpu_info", vcpu->index, gpa, ret);
}

static int kvm_set_upcall_vector(struct vcpu *vcpu, uint8_t vector)
{
	struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR };

	int ret;

	a.u.vector = vector;
	ret = vcpu_set(vcpu, &a);
	if (!ret)
		layout_assert_upcall(vcpu->vm, &priv(vcpu->vm)->layout, vcpu->index, vector);
	return traced(vcpu->vm, "set_upcall_vector", vcpu->index, vector, ret);
}

static int kvm_set_runstate_area(struct vcpu *vcpu, uint64_t gpa)
{
	struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR };

	if (!(priv(vcpu->vm)->caps & KVM_XEN_HVM_CONFIG_RUNSTATE))
		return -EOPNOTSUPP;
	a.u.gpa = gpa;
	return vcpu_set(vcpu, &a);
}

/* What the guest will see of an event KVM just raised. */
static void trace_event_bits(struct vm *vm, uint32_t vcpu_id)
{
	const struct kvm_backend *kb = priv(vm);
	uint64_t pending = 0, mask = 0, vi[2] = { 0, 0 };
	uint64_t shinfo = kb->layout.shared_info_gfn << 12;
	const uint8_t *vip = layout_vcpu_info(vm, &kb->layout, vcpu_id);

	guest_read(vm, shinfo + 2048, &pending, 8);
	guest_read(vm, shinfo + 2560, &mask, 8);
	if (vip)
		memcpy(vi, vip, sizeof(vi));
	fprintf(stderr, "xenkvm: kvm: pending[0] %#llx mask[0] %#llx vcpu_info %#llx sel %#llx\n",
		(unsigned long long)pending, (unsigned long long)mask,
		(unsigned long long)vi[0], (unsigned long long)vi[1]);
}

static int kvm_deliver_port(struct vm *vm, uint32_t port, uint32_t vcpu_id)
{
	int ret;

	struct kvm_irq_routing_xen_evtchn e = {
		.port = port,
		.vcpu = vcpu_id,
		.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
	};

	if (!(priv(vm)->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND))
		return -EOPNOTSUPP;
	ret = traced(vm, "deliver_port", port, vcpu_id,
		     ioctl(vm->vm_fd, KVM_XEN_HVM_EVTCHN_SEND, &e) ? -errno : 0);
	if (vm->cfg->trace_hcalls)
		trace_event_bits(vm, vcpu_id);
	return ret;
}

static int kvm_bind_port(struct vm *vm, uint32_t send_port,
			 const struct evtchn_send_target *to)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_EVTCHN };

	if (!(priv(vm)->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND))
		return -EOPNOTSUPP;
	a.u.evtchn.send_port = send_port;
	if (to->eventfd >= 0) {
		a.u.evtchn.type = EVTCHNSTAT_interdomain;
		a.u.evtchn.deliver.eventfd.port = 0;
		a.u.evtchn.deliver.eventfd.fd = to->eventfd;
	} else {
		/*
		 * KVM insists an IPI raises its own port; a send on one end
		 * of a loopback pair raises the other (interdomain).
		 */
		a.u.evtchn.type = to->port == send_port ? EVTCHNSTAT_ipi :
							  EVTCHNSTAT_interdomain;
		a.u.evtchn.deliver.port.port = to->port;
		a.u.evtchn.deliver.port.vcpu = to->vcpu_id;
		a.u.evtchn.deliver.port.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
	}
	/* Traced as (send port, vCPU << 32 | port to raise; 0: eventfd). */
	return traced(vm, "bind_port", send_port,
		      to->eventfd >= 0 ? 0 : (uint64_t)to->vcpu_id << 32 | to->port,
		      hvm_set(vm, &a));
}

static int kvm_unbind_port(struct vm *vm, uint32_t port)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_EVTCHN };

	if (!(priv(vm)->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND))
		return -EOPNOTSUPP;
	a.u.evtchn.send_port = port;
	a.u.evtchn.flags = KVM_XEN_EVTCHN_DEASSIGN;
	return traced(vm, "unbind_port", port, 0, hvm_set(vm, &a));
}

static int kvm_set_timer_port(struct vcpu *vcpu, uint32_t port)
{
	struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_TIMER };

	/* With the port known, KVM runs the guest's Xen timer in-kernel. */
	if (getenv("XENKVM_NO_KTIMER") || !(priv(vcpu->vm)->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND))
		return -EOPNOTSUPP;
	a.u.timer.port = port;
	a.u.timer.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
	a.u.timer.expires_ns = 0;
	return traced(vcpu->vm, "set_timer_port", vcpu->index, port, vcpu_set(vcpu, &a));
}

static bool kvm_decode_hcall(struct vcpu *vcpu, struct xen_hcall *hc)
{
	if (!backend_decode_xen_exit(vcpu->run, hc))
		return false;
	/* Like Xen, latch the shared_info layout from the caller's mode. */
	if (priv(vcpu->vm)->long_mode != (int)hc->longmode)
		kvm_set_long_mode(vcpu->vm, hc->longmode);
	return true;
}

static void kvm_complete_hcall(struct vcpu *vcpu, const struct xen_hcall *hc, int64_t ret)
{
	vcpu->run->xen.u.hcall.result = backend_hcall_rax(hc, ret);
}

const struct backend_ops backend_kvm_ops = {
	.name = "kvm",
	.init = kvm_init,
	.init_vcpu = kvm_init_vcpu,
	.destroy = kvm_destroy,
	.set_long_mode = kvm_set_long_mode,
	.set_shared_info = kvm_set_shared_info,
	.set_vcpu_info = kvm_set_vcpu_info,
	.set_upcall_vector = kvm_set_upcall_vector,
	.set_runstate_area = kvm_set_runstate_area,
	.set_callback_vector = kvm_set_callback_vector,
	.deliver_port = kvm_deliver_port,
	.bind_port = kvm_bind_port,
	.unbind_port = kvm_unbind_port,
	.set_timer_port = kvm_set_timer_port,
	.decode_hcall = kvm_decode_hcall,
	.complete_hcall = kvm_complete_hcall,
};
