// SPDX-License-Identifier: GPL-2.0
/*
 * Copying hypercall arguments from and to the guest.
 *
 * An HVM guest passes guest *linear* addresses, valid in the paging
 * context of the calling vCPU (Xen walks the guest's page tables). We
 * translate each page with KVM_TRANSLATE on the calling vCPU and then
 * touch guest RAM only through gpa_to_hva(), which refuses anything that
 * is not RAM. Nothing here trusts a guest address or length.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>


int xen_translate_kvm(struct vcpu *vcpu, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation tr = { .linear_address = gva };

	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return -EFAULT;
	*gpa = tr.physical_address;
	return 0;
}

static int translate(struct vcpu *vcpu, uint64_t gva, uint64_t *gpa)
{
	struct xen *x = vcpu->vm->xen;

	return (x && x->translate ? x->translate : xen_translate_kvm)(vcpu, gva,
								       gpa);
}

/* Calls @fn on each piece of [gva, gva+len) that lies within one page. */
static int for_each_page(struct vcpu *vcpu, uint64_t gva, size_t len,
			 uint8_t *buf, bool to_guest)
{
	while (len) {
		uint64_t in_page = XEN_PAGE_SIZE - (gva & (XEN_PAGE_SIZE - 1));
		size_t n = len < in_page ? len : (size_t)in_page;
		uint64_t gpa;
		int r;

		if (translate(vcpu, gva, &gpa))
			return -EFAULT;
		r = to_guest ? guest_write(vcpu->vm, gpa, buf, n)
			     : guest_read(vcpu->vm, gpa, buf, n);
		if (r)
			return -EFAULT;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int xen_copy_from_guest(struct vcpu *vcpu, uint64_t gva, void *buf, size_t len)
{
	/* A range wrapping around the address space is never valid. */
	if (gva + len < gva)
		return -EFAULT;
	return for_each_page(vcpu, gva, len, buf, false);
}

int xen_copy_to_guest(struct vcpu *vcpu, uint64_t gva, const void *buf,
		      size_t len)
{
	if (gva + len < gva)
		return -EFAULT;
	return for_each_page(vcpu, gva, len, (uint8_t *)buf, true);
}

int xen_gva_range_to_gpa(struct vcpu *vcpu, uint64_t gva, uint64_t len,
			 uint64_t *gpa)
{
	uint64_t first, last;

	if (!len || gva + len - 1 < gva)
		return -EFAULT;
	if (translate(vcpu, gva, &first) ||
	    translate(vcpu, gva + len - 1, &last))
		return -EFAULT;
	/* The kernel side gets one GPA: both ends must agree on it. */
	if (last - first != len - 1)
		return -EINVAL;
	if (!gpa_to_hva(vcpu->vm, first, len))
		return -EFAULT;
	*gpa = first;
	return 0;
}

int xen_read_ulong(struct vcpu *vcpu, const struct xen_hcall *hc,
		   uint64_t base, uint64_t idx, uint64_t *val)
{
	size_t sz = xen_ulong_size(hc);

	if (idx > (UINT64_MAX - base) / sz)
		return -EFAULT;
	if (sz == 8)
		return xen_copy_from_guest(vcpu, base + idx * 8, val, 8);

	uint32_t v32;
	int r = xen_copy_from_guest(vcpu, base + idx * 4, &v32, 4);

	*val = v32;
	return r;
}

int xen_write_ulong(struct vcpu *vcpu, const struct xen_hcall *hc,
		    uint64_t base, uint64_t idx, uint64_t val)
{
	size_t sz = xen_ulong_size(hc);
	uint32_t v32 = (uint32_t)val;

	if (idx > (UINT64_MAX - base) / sz)
		return -EFAULT;
	if (sz == 8)
		return xen_copy_to_guest(vcpu, base + idx * 8, &val, 8);
	return xen_copy_to_guest(vcpu, base + idx * 4, &v32, 4);
}

static uint8_t *guest_byte(struct vm *vm, uint64_t gpa, unsigned int bit)
{
	return gpa_to_hva(vm, gpa + bit / 8, 1);
}

bool xen_guest_test_bit(struct vm *vm, uint64_t gpa, unsigned int bit)
{
	uint8_t *p = guest_byte(vm, gpa, bit);

	return p && (__atomic_load_n(p, __ATOMIC_ACQUIRE) & (1u << (bit % 8)));
}

bool xen_guest_test_and_set_bit(struct vm *vm, uint64_t gpa, unsigned int bit)
{
	uint8_t *p = guest_byte(vm, gpa, bit);
	uint8_t m = 1u << (bit % 8);

	return p && (__atomic_fetch_or(p, m, __ATOMIC_SEQ_CST) & m);
}

bool xen_guest_test_and_clear_bit(struct vm *vm, uint64_t gpa,
				  unsigned int bit)
{
	uint8_t *p = guest_byte(vm, gpa, bit);
	uint8_t m = 1u << (bit % 8);

	return p && (__atomic_fetch_and(p, (uint8_t)~m, __ATOMIC_SEQ_CST) & m);
}
