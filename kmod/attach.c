// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: attaching /dev/xenkvm files to KVM VMs, the kvm -> xk_vm table,
 * and the VM and vCPU attributes of the event channel core.
 *
 * Table. One attachment per struct kvm. Writers (attach, detach) hold
 * xk_table_lock; readers (the hypercall hook, any context) walk it under
 * rcu_read_lock() with xk_vm_lookup(). An xk_vm is freed after a grace
 * period, so a reader may use what it found until rcu_read_unlock(); to
 * keep using it after that, pin it (see hypercall.c's hcall_users).
 *
 * Lifetime. The attachment holds a reference on the struct kvm
 * (kvm_get_kvm()), so closing the VM fd first is harmless: the VM lives
 * until the /dev/xenkvm file is released. Releasing the file detaches:
 * unpublish, stop every producer (hypercalls, irqfds, timers), stop the
 * fallback worker, unregister the MMU notifier, free the caches and
 * vCPUs, drop the kvm reference. The file holds the module (fops.owner),
 * so the module cannot unload while anything here exists.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xenkvm.h"

static DEFINE_HASHTABLE(xk_vm_table, 6);
static DEFINE_MUTEX(xk_table_lock);
static struct lock_class_key xk_shinfo_lock_class;

#define XK_NO_XEN_ID	U32_MAX

/* Caller holds rcu_read_lock() (or xk_table_lock). Any context. */
struct xk_vm *xk_vm_lookup(struct kvm *kvm)
{
	struct xk_vm *xvm;

	hash_for_each_possible_rcu(xk_vm_table, xvm, hnode, (unsigned long)kvm,
				   lockdep_is_held(&xk_table_lock))
		if (xvm->kvm == kvm)
			return xvm;
	return NULL;
}

/* Any context; NULL if no attribute was ever set for this vCPU. */
struct xk_vcpu *xk_vcpu_by_kvm_vcpu(struct xk_vm *xvm, struct kvm_vcpu *vcpu)
{
	return xa_load(&xvm->vcpu_xa, vcpu->vcpu_idx);
}

/*
 * The xk_vcpu of KVM vCPU index @idx, created on first use. Under
 * xvm->lock. ERR_PTR(-EINVAL) if KVM has no such vCPU.
 */
struct xk_vcpu *xk_vcpu_get(struct xk_vm *xvm, u32 idx)
{
	struct kvm *kvm = xvm->kvm;
	struct kvm_vcpu *vcpu;
	struct xk_vcpu *xv;
	int r;

	lockdep_assert_held(&xvm->lock);
	if (idx >= (u32)atomic_read(&kvm->online_vcpus))
		return ERR_PTR(-EINVAL);
	xv = xa_load(&xvm->vcpu_xa, idx);
	if (xv)
		return xv;
	vcpu = kvm_get_vcpu(kvm, idx);
	if (!vcpu)
		return ERR_PTR(-EINVAL);
	xv = kzalloc(sizeof(*xv), GFP_KERNEL_ACCOUNT);
	if (!xv)
		return ERR_PTR(-ENOMEM);
	xv->xvm = xvm;
	xv->vcpu = vcpu;
	xk_gpc_init(&xv->vcpu_info, xvm);
	/* Xen vCPU id defaults to the KVM index, as KVM's own Xen does. */
	xv->xen_vcpu_id = XK_NO_XEN_ID;
	r = xa_err(xa_store(&xvm->vcpu_xa, idx, xv, GFP_KERNEL_ACCOUNT));
	if (r) {
		spin_lock(&xvm->gpc_list_lock);
		list_del(&xv->vcpu_info.node);
		spin_unlock(&xvm->gpc_list_lock);
		kfree(xv);
		return ERR_PTR(r);
	}
	if (idx < XK_MAX_VCPUS && !xvm->vcpus[idx]) {
		xv->xen_vcpu_id = idx;
		WRITE_ONCE(xvm->vcpus[idx], xv);
	}
	xk_hcall_vcpu_init(xv);
	return xv;
}

static bool xk_union_rest_zero(const void *u, size_t used, size_t size)
{
	return !memchr_inv((const u8 *)u + used, 0, size - used);
}

/* Point @gpc at [gpa, gpa + len) and resolve it; undo on failure. */
static int xk_gpc_set(struct xk_gpc *gpc, gpa_t gpa, unsigned long len)
{
	int r;

	r = xk_gpc_activate(gpc, gpa, len);
	if (r)
		return r;
	r = xk_gpc_refresh(gpc);
	if (r) {
		xk_gpc_deactivate(gpc);
		return r == -EINVAL ? -EINVAL : -EFAULT;
	}
	return 0;
}

/* XENKVM_SET_ATTR types of the event channel core. Under xvm->lock. */
int xk_vm_set_attr(struct xk_vm *xvm, const struct xenkvm_attr *attr)
{
	u64 gfn;

	switch (attr->type) {
	case XENKVM_ATTR_LONG_MODE:
		if (attr->u.long_mode > 1 ||
		    !xk_union_rest_zero(&attr->u, sizeof(attr->u.long_mode),
					sizeof(attr->u)))
			return -EINVAL;
		WRITE_ONCE(xvm->long_mode, attr->u.long_mode);
		return 0;
	case XENKVM_ATTR_SHARED_INFO:
		if (!xk_union_rest_zero(&attr->u, sizeof(attr->u.shared_info),
					sizeof(attr->u)))
			return -EINVAL;
		gfn = attr->u.shared_info.gfn;
		if (gfn == XENKVM_INVALID_GFN) {
			xk_gpc_deactivate(&xvm->shared_info);
			return 0;
		}
		if (!xk_gfn_in_memslot(xvm->kvm, gfn))
			return -EINVAL;
		return xk_gpc_set(&xvm->shared_info, gfn_to_gpa(gfn), PAGE_SIZE);
	case XENKVM_ATTR_XEN_VERSION:
		if (!xk_union_rest_zero(&attr->u, sizeof(attr->u.xen_version),
					sizeof(attr->u)))
			return -EINVAL;
		WRITE_ONCE(xvm->xen_version, attr->u.xen_version);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

int xk_vm_get_attr(struct xk_vm *xvm, struct xenkvm_attr *attr)
{
	switch (attr->type) {
	case XENKVM_ATTR_LONG_MODE:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.long_mode = READ_ONCE(xvm->long_mode);
		return 0;
	case XENKVM_ATTR_SHARED_INFO:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.shared_info.gfn = xvm->shared_info.active ?
			gpa_to_gfn(xvm->shared_info.gpa) : XENKVM_INVALID_GFN;
		return 0;
	case XENKVM_ATTR_XEN_VERSION:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.xen_version = READ_ONCE(xvm->xen_version);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

#define XK_VCPU_INFO_SIZE	64

/* XENKVM_VCPU_SET_ATTR types of the event channel core. Under xvm->lock. */
int xk_vcpu_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *attr)
{
	struct xk_vm *xvm = xv->xvm;
	u32 id, old;
	u64 gpa;
	u8 vec;

	switch (attr->type) {
	case XENKVM_VCPU_ATTR_VCPU_ID:
		id = attr->u.vcpu_id;
		if (id >= XK_MAX_VCPUS ||
		    !xk_union_rest_zero(&attr->u, sizeof(attr->u.vcpu_id),
					sizeof(attr->u)))
			return -EINVAL;
		id = array_index_nospec(id, XK_MAX_VCPUS);
		old = xv->xen_vcpu_id;
		if (old == id)
			return 0;
		if (xvm->vcpus[id])
			return -EEXIST;
		if (old < XK_MAX_VCPUS)
			WRITE_ONCE(xvm->vcpus[old], NULL);
		WRITE_ONCE(xv->xen_vcpu_id, id);
		WRITE_ONCE(xvm->vcpus[id], xv);
		return 0;
	case XENKVM_VCPU_ATTR_VCPU_INFO:
		if (!xk_union_rest_zero(&attr->u, sizeof(attr->u.gpa),
					sizeof(attr->u)))
			return -EINVAL;
		gpa = attr->u.gpa;
		if (gpa == XENKVM_INVALID_GPA) {
			/* The shared_info slot: only the first 32 have one. */
			if (xv->xen_vcpu_id >= XK_LEGACY_VCPUS)
				return -EINVAL;
			xk_gpc_deactivate(&xv->vcpu_info);
			return 0;
		}
		/* Xen's own rule: aligned, and inside one page. */
		if (gpa & 7 || offset_in_page(gpa) + XK_VCPU_INFO_SIZE > PAGE_SIZE)
			return -EINVAL;
		if (!xk_gfn_in_memslot(xvm->kvm, gpa_to_gfn(gpa)))
			return -EINVAL;
		return xk_gpc_set(&xv->vcpu_info, gpa, XK_VCPU_INFO_SIZE);
	case XENKVM_VCPU_ATTR_UPCALL_VECTOR:
		vec = attr->u.vector;
		if ((vec && vec < 0x10) ||
		    !xk_union_rest_zero(&attr->u, sizeof(attr->u.vector),
					sizeof(attr->u)))
			return -EINVAL;
		/* Injection is a self-IPI: it needs KVM's in-kernel LAPIC. */
		if (vec && !xv->vcpu->arch.apic)
			return -EINVAL;
		WRITE_ONCE(xv->upcall_vector, vec);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

int xk_vcpu_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *attr)
{
	switch (attr->type) {
	case XENKVM_VCPU_ATTR_VCPU_ID:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.vcpu_id = xv->xen_vcpu_id;
		return 0;
	case XENKVM_VCPU_ATTR_VCPU_INFO:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.gpa = xv->vcpu_info.active ? xv->vcpu_info.gpa :
			      XENKVM_INVALID_GPA;
		return 0;
	case XENKVM_VCPU_ATTR_UPCALL_VECTOR:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.vector = xv->upcall_vector;
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

static void xk_vm_free(struct xk_vm *xvm)
{
	struct xk_vcpu *xv;
	unsigned long i;

	xa_for_each(&xvm->vcpu_xa, i, xv)
		kfree(xv);
	xa_destroy(&xvm->vcpu_xa);
	xk_irqfd_free_routing(xvm);
	xk_evtchn_vm_free(xvm);
	kvm_put_kvm(xvm->kvm);
	kfree_rcu(xvm, rcu);
}

static struct xk_vm *xk_vm_create(struct kvm *kvm)
{
	struct xk_vm *xvm;
	int r;

	xvm = kzalloc(sizeof(*xvm), GFP_KERNEL_ACCOUNT);
	if (!xvm)
		return ERR_PTR(-ENOMEM);
	xvm->kvm = kvm;
	mutex_init(&xvm->lock);
	spin_lock_init(&xvm->gpc_list_lock);
	INIT_LIST_HEAD(&xvm->gpc_list);
	INIT_LIST_HEAD(&xvm->irqfds);
	spin_lock_init(&xvm->irqfds_lock);
	xa_init(&xvm->vcpu_xa);
	xvm->long_mode = true;
	xvm->fast_paths = XENKVM_FAST_ALL;
	xk_gpc_init(&xvm->shared_info, xvm);
	/*
	 * Delivery holds shared_info's lock while it takes a vcpu_info's
	 * (the documented order): their own lockdep class, or lockdep sees
	 * one class taken twice.
	 */
	lockdep_set_class(&xvm->shared_info.lock, &xk_shinfo_lock_class);
	r = xk_evtchn_vm_init(xvm);
	if (r) {
		kfree(xvm);
		return ERR_PTR(r);
	}
	kvm_get_kvm(kvm);
	r = xk_mmu_notifier_register(xvm);
	if (r) {
		xk_evtchn_vm_free(xvm);
		kvm_put_kvm(kvm);
		kfree(xvm);
		return ERR_PTR(r);
	}
	xk_hcall_vm_init(xvm);
	return xvm;
}

/*
 * XENKVM_ATTACH. Process context. The VM fd must be a KVM VM of the
 * caller's own process; one attachment per file and per VM.
 */
int xk_attach(struct file *filp, struct xenkvm_attach __user *uarg)
{
	struct xenkvm_attach a;
	struct xk_vm *xvm;
	struct file *vmf;
	struct kvm *kvm;
	int r;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || memchr_inv(a.pad, 0, sizeof(a.pad)))
		return -EINVAL;
	vmf = fget(a.vm_fd);
	if (!vmf)
		return -EBADF;
	r = -EINVAL;
	if (!file_is_kvm(vmf))
		goto out;
	kvm = vmf->private_data;
	r = -EPERM;
	if (!current->mm || kvm->mm != current->mm)
		goto out;

	mutex_lock(&xk_table_lock);
	r = -EBUSY;
	if (filp->private_data || xk_vm_lookup(kvm))
		goto out_unlock;
	xvm = xk_vm_create(kvm);
	if (IS_ERR(xvm)) {
		r = PTR_ERR(xvm);
		goto out_unlock;
	}
	hash_add_rcu(xk_vm_table, &xvm->hnode, (unsigned long)kvm);
	/* Pairs with smp_load_acquire() in main.c's ioctl dispatch. */
	smp_store_release(&filp->private_data, xvm);
	r = 0;
out_unlock:
	mutex_unlock(&xk_table_lock);
out:
	fput(vmf);
	return r;
}

/*
 * Release of the attached file: no ioctl on it is running or can start.
 * Process context (possibly the exiting task, with no mm).
 */
void xk_detach(struct xk_vm *xvm)
{
	struct xk_vcpu *xv;
	unsigned long i;

	mutex_lock(&xk_table_lock);
	hash_del_rcu(&xvm->hnode);
	mutex_unlock(&xk_table_lock);

	/* Sets dead, waits out hook users, stops timers and send ports. */
	xk_hcall_vm_teardown(xvm);
	WRITE_ONCE(xvm->dead, true);
	synchronize_rcu();
	/* ... of the vCPUs the teardown could not find by Xen id. */
	xa_for_each(&xvm->vcpu_xa, i, xv)
		if (xv->xen_vcpu_id >= XK_MAX_VCPUS ||
		    xvm->vcpus[xv->xen_vcpu_id] != xv)
			xk_hcall_vcpu_teardown(xv);

	xk_irqfd_release_all(xvm);
	xk_evtchn_vm_stop(xvm);
	xk_mmu_notifier_unregister(xvm);
	xk_vm_free(xvm);
}
