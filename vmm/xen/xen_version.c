// SPDX-License-Identifier: GPL-2.0
/*
 * XENVER_*: who the hypervisor says it is, answered as Xen 4.17 answers
 * an unprivileged HVM guest, with the version the user configured.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/version.h>
#include <xen/features.h>


/* x86-64 Xen's HYPERVISOR_VIRT_START, which 4.17 still reports. */
#define XEN_VIRT_START_64 0xFFFF800000000000ULL

/*
 * What Xen 4.17 sets for an HVM domU with HAP. XENFEAT_hvm_pirqs is left
 * out on purpose: with it Linux routes MSIs and GSIs through PHYSDEVOP
 * PIRQs, which we do not emulate; without it Linux uses its native APIC
 * paths, which KVM provides.
 */
static uint32_t hvm_features(void)
{
	return (1u << XENFEAT_writable_page_tables) |
	       (1u << XENFEAT_auto_translated_physmap) |
	       (1u << XENFEAT_hvm_callback_vector) |
	       (1u << XENFEAT_hvm_safe_pvclock) |
	       (1u << XENFEAT_memory_op_vnode_supported) |
	       (1u << XENFEAT_not_direct_mapped);
}

static int64_t copy_out(struct vcpu *vcpu, uint64_t arg, const void *buf,
			size_t len)
{
	return xen_copy_to_guest(vcpu, arg, buf, len) ? -EFAULT : 0;
}

static int64_t get_features(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_feature_info fi;

	if (xen_copy_from_guest(vcpu, arg, &fi, sizeof(fi)))
		return -EFAULT;
	if (fi.submap_idx != 0)
		return -EINVAL;
	fi.submap = hvm_features();
	return copy_out(vcpu, arg, &fi, sizeof(fi));
}

static int64_t platform_parameters(struct vcpu *vcpu,
				   const struct xen_hcall *hc, uint64_t arg)
{
	/* virt_start is an xen_ulong_t; compat HVM guests see 0. */
	uint64_t v = hc->longmode ? XEN_VIRT_START_64 : 0;

	return copy_out(vcpu, arg, &v, xen_ulong_size(hc));
}

static int64_t copy_string(struct vcpu *vcpu, uint64_t arg, size_t size,
			   const char *s)
{
	char buf[1024];

	memset(buf, 0, sizeof(buf));
	snprintf(buf, size, "%s", s);
	return copy_out(vcpu, arg, buf, size);
}

static int64_t compile_info(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_compile_info ci;

	memset(&ci, 0, sizeof(ci));
	snprintf(ci.compiler, sizeof(ci.compiler), "xenkvm");
	snprintf(ci.compile_by, sizeof(ci.compile_by), "xenkvm");
	snprintf(ci.compile_domain, sizeof(ci.compile_domain), "xenkvm");
	snprintf(ci.compile_date, sizeof(ci.compile_date), "%s", __DATE__);
	return copy_out(vcpu, arg, &ci, sizeof(ci));
}

int64_t xen_version_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen *x = vcpu->vm->xen;
	uint64_t cmd = hc->args[0], arg = hc->args[1];

	switch (cmd) {
	case XENVER_version:
		return (int64_t)((x->major << 16) | (x->minor & 0xffff));
	case XENVER_extraversion:
		return copy_string(vcpu, arg, sizeof(xen_extraversion_t),
				   ".0-xenkvm");
	case XENVER_compile_info:
		return compile_info(vcpu, arg);
	case XENVER_capabilities:
		return copy_string(vcpu, arg, sizeof(xen_capabilities_info_t),
				   "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
	case XENVER_changeset:
		return copy_string(vcpu, arg, sizeof(xen_changeset_info_t),
				   "xenkvm");
	case XENVER_platform_parameters:
		return platform_parameters(vcpu, hc, arg);
	case XENVER_get_features:
		return get_features(vcpu, arg);
	case XENVER_pagesize:
		return XEN_PAGE_SIZE;
	case XENVER_guest_handle:
		return copy_out(vcpu, arg, x->handle, sizeof(x->handle));
	case XENVER_commandline:
	case XENVER_build_id:
		return -EPERM;	/* XSM: privileged domains only */
	default:
		return xen_unhandled(vcpu, hc->nr, cmd);
	}
}
