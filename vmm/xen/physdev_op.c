// SPDX-License-Identifier: GPL-2.0
/*
 * PHYSDEVOP_*: Xen's HVM physdev_op filter lets a domU through only the
 * PIRQ operations, and only when the domain has PIRQs. Ours has none
 * (XENFEAT_hvm_pirqs is not offered), so Xen answers every sub-op with
 * -ENOSYS, and so do we. A Linux HVM guest then uses native interrupts.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <xen/physdev.h>


int64_t xen_physdev_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	switch (hc->args[0]) {
	case PHYSDEVOP_map_pirq:
	case PHYSDEVOP_unmap_pirq:
	case PHYSDEVOP_eoi:
	case PHYSDEVOP_irq_status_query:
	case PHYSDEVOP_get_free_pirq:
	case PHYSDEVOP_pirq_eoi_gmfn_v2:
	case PHYSDEVOP_pci_device_add:
	case PHYSDEVOP_pci_device_remove:
	case PHYSDEVOP_pci_mmcfg_reserved:
	case PHYSDEVOP_manage_pci_add_ext:
	case PHYSDEVOP_setup_gsi:
	case PHYSDEVOP_restore_msi:
	case PHYSDEVOP_dbgp_op:
		return -ENOSYS;	/* known, and refused as Xen refuses it */
	default:
		return xen_unhandled(vcpu, hc->nr, hc->args[0]);
	}
}
