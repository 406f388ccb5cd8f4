// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: Xen HVM guest support for stock KVM hosts.
 *
 * Module entry points and /dev/xenkvm. Each open file may attach to one
 * KVM VM of the opening process; everything else lives in the files named
 * in xenkvm.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "xenkvm.h"

static u64 xk_caps(void)
{
	return 0;
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

static long xk_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case XENKVM_GET_API_VERSION:
		return XENKVM_API_VERSION;
	case XENKVM_GET_CAPS:
		return xk_get_caps(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations xk_fops = {
	.owner = THIS_MODULE,
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

	r = misc_register(&xk_misc);
	if (r)
		pr_err("cannot register /dev/xenkvm: %d\n", r);
	return r;
}

static void __exit xk_exit(void)
{
	misc_deregister(&xk_misc);
}

module_init(xk_init);
module_exit(xk_exit);

MODULE_DESCRIPTION("Xen HVM guest support for stock KVM hosts");
MODULE_LICENSE("GPL");
