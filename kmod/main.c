// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: Xen HVM guest support for stock KVM hosts.
 *
 * Module entry points and /dev/xenkvm. Each open file may attach to one
 * KVM VM of the opening process; everything else lives in the files named
 * in xenkvm.h.
 *
 * Dispatch. GET_API_VERSION and GET_CAPS need nothing; ATTACH needs an
 * unattached file. Every other ioctl of ours needs an attached file
 * (-ENXIO) used by the process that owns the VM (-EPERM: the file may
 * have been inherited or passed on). Configuration ioctls run under
 * xk_vm.lock; EVTCHN_SEND and GET_STATS do not need it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "xenkvm.h"

static u64 xk_caps(void)
{
	return XENKVM_CAP_EVTCHN_2L | XENKVM_CAP_COMPAT_LAYOUT |
	       XENKVM_CAP_IRQ_ROUTING | XENKVM_CAP_IRQFD |
	       XENKVM_CAP_HCALL_INTERCEPT | XENKVM_CAP_FAST_SEND |
	       XENKVM_CAP_FAST_TIMER | XENKVM_CAP_FAST_POLL |
	       XENKVM_CAP_RUNSTATE | XENKVM_CAP_TIME_INFO;
}

static long xk_get_caps(void __user *uarg)
{
	struct xenkvm_caps caps = {
		.api_version = XENKVM_API_VERSION,
		.caps = xk_caps(),
		.max_ports_2l = XK_MAX_PORTS_64,
		.max_vcpus = XK_MAX_VCPUS,
	};

	return copy_to_user(uarg, &caps, sizeof(caps)) ? -EFAULT : 0;
}

static long xk_set_attr(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_attr attr;
	int r;

	if (copy_from_user(&attr, uarg, sizeof(attr)))
		return -EFAULT;
	if (attr.pad0 || attr.flags)
		return -EINVAL;
	mutex_lock(&xvm->lock);
	r = xk_vm_set_attr(xvm, &attr);
	if (r == -ENOIOCTLCMD)
		r = xk_hcall_set_attr(xvm, &attr);
	mutex_unlock(&xvm->lock);
	return r == -ENOIOCTLCMD ? -EINVAL : r;
}

static long xk_get_attr(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_attr attr;
	int r;

	if (copy_from_user(&attr, uarg, sizeof(attr)))
		return -EFAULT;
	if (attr.pad0 || attr.flags)
		return -EINVAL;
	mutex_lock(&xvm->lock);
	r = xk_vm_get_attr(xvm, &attr);
	if (r == -ENOIOCTLCMD)
		r = xk_hcall_get_attr(xvm, &attr);
	mutex_unlock(&xvm->lock);
	if (r == -ENOIOCTLCMD)
		return -EINVAL;
	if (r)
		return r;
	return copy_to_user(uarg, &attr, sizeof(attr)) ? -EFAULT : 0;
}

static long xk_vcpu_attr(struct xk_vm *xvm, void __user *uarg, bool set)
{
	struct xenkvm_vcpu_attr attr;
	struct xk_vcpu *xv;
	int r;

	if (copy_from_user(&attr, uarg, sizeof(attr)))
		return -EFAULT;
	if (attr.pad0)
		return -EINVAL;
	mutex_lock(&xvm->lock);
	xv = xk_vcpu_get(xvm, attr.vcpu);
	if (IS_ERR(xv))
		r = PTR_ERR(xv);
	else if (set)
		r = xk_vcpu_set_attr(xv, &attr);
	else
		r = xk_vcpu_get_attr(xv, &attr);
	if (r == -ENOIOCTLCMD && !IS_ERR(xv))
		r = set ? xk_hcall_vcpu_set_attr(xv, &attr) :
			  xk_hcall_vcpu_get_attr(xv, &attr);
	mutex_unlock(&xvm->lock);
	if (r == -ENOIOCTLCMD)
		return -EINVAL;
	if (r || set)
		return r;
	return copy_to_user(uarg, &attr, sizeof(attr)) ? -EFAULT : 0;
}

static long xk_vm_ioctl(struct xk_vm *xvm, unsigned int cmd, void __user *uarg)
{
	long r;

	switch (cmd) {
	case XENKVM_SET_ATTR:
		return xk_set_attr(xvm, uarg);
	case XENKVM_GET_ATTR:
		return xk_get_attr(xvm, uarg);
	case XENKVM_VCPU_SET_ATTR:
		return xk_vcpu_attr(xvm, uarg, true);
	case XENKVM_VCPU_GET_ATTR:
		return xk_vcpu_attr(xvm, uarg, false);
	case XENKVM_SET_GSI_ROUTING:
		mutex_lock(&xvm->lock);
		r = xk_set_gsi_routing(xvm, uarg);
		mutex_unlock(&xvm->lock);
		return r;
	case XENKVM_IRQFD:
		mutex_lock(&xvm->lock);
		r = xk_irqfd(xvm, uarg);
		mutex_unlock(&xvm->lock);
		return r;
	case XENKVM_EVTCHN_SEND:
		return xk_evtchn_send_ioctl(xvm, uarg);
	case XENKVM_GET_STATS:
		return xk_get_stats(xvm, uarg);
	default:
		return -ENOTTY;
	}
}

static long xk_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct xk_vm *xvm;

	switch (cmd) {
	case XENKVM_GET_API_VERSION:
		return XENKVM_API_VERSION;
	case XENKVM_GET_CAPS:
		return xk_get_caps(uarg);
	case XENKVM_ATTACH:
		return xk_attach(filp, uarg);
	}
	if (_IOC_TYPE(cmd) != XENKVMIO)
		return -ENOTTY;
	/* Pairs with smp_store_release() in xk_attach(). */
	xvm = smp_load_acquire(&filp->private_data);
	if (!xvm)
		return -ENXIO;
	if (current->mm != xvm->kvm->mm)
		return -EPERM;
	return xk_vm_ioctl(xvm, cmd, uarg);
}

/* misc_open() put the miscdevice in private_data: start unattached. */
static int xk_open(struct inode *inode, struct file *filp)
{
	filp->private_data = NULL;
	return nonseekable_open(inode, filp);
}

static int xk_release(struct inode *inode, struct file *filp)
{
	struct xk_vm *xvm = filp->private_data;

	if (xvm)
		xk_detach(xvm);
	return 0;
}

static const struct file_operations xk_fops = {
	.owner = THIS_MODULE,
	.open = xk_open,
	.release = xk_release,
	.unlocked_ioctl = xk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice xk_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "xenkvm",
	.fops = &xk_fops,
	.mode = 0660,
};

static int __init xk_init(void)
{
	int r;

	r = xk_hypercall_init();
	if (r)
		return r;
	r = xk_irqfd_module_init();
	if (r) {
		xk_hypercall_exit();
		return r;
	}
	r = misc_register(&xk_misc);
	if (r) {
		pr_err("cannot register /dev/xenkvm: %d\n", r);
		xk_irqfd_module_exit();
		xk_hypercall_exit();
	}
	return r;
}

static void __exit xk_exit(void)
{
	misc_deregister(&xk_misc);
	xk_irqfd_module_exit();
	xk_hypercall_exit();
}

module_init(xk_init);
module_exit(xk_exit);

MODULE_DESCRIPTION("Xen HVM guest support for stock KVM hosts");
MODULE_LICENSE("GPL");
