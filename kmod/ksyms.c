// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: the few KVM symbols the module needs but KVM does not export.
 *
 * Only kvm_x86_ops is needed (for ->get_cpl). It is resolved once at load
 * with kallsyms_lookup_name(), which is itself not exported: its address
 * is learnt by registering a kprobe on it and reading back the address the
 * kprobe core resolved. Any failure fails the module load.
 *
 * Nothing here is written after xk_ksyms_init() returns, so readers need
 * no locking; every context may call xk_get_cpl() (it is what KVM's own
 * hypercall path calls, on the vCPU thread).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <asm/ibt.h>
#include <asm/cpufeature.h>

#include "xenkvm.h"

typedef unsigned long (*xk_lookup_fn)(const char *name);

static struct kvm_x86_ops *xk_kvm_x86_ops;

static xk_lookup_fn xk_find_kallsyms_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;
	int r;

	r = register_kprobe(&kp);
	if (r) {
		pr_err("cannot find kallsyms_lookup_name: register_kprobe: %d\n",
		       r);
		return NULL;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);

	/*
	 * With IBT the kprobe core places the probe after the ENDBR, so the
	 * function starts 4 bytes earlier when one is there. Calling it
	 * indirectly without an ENDBR (sealed at boot) would raise #CP:
	 * refuse rather than oops.
	 */
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT)) {
		if (is_endbr(*(u32 *)(addr - ENDBR_INSN_SIZE))) {
			addr -= ENDBR_INSN_SIZE;
		} else if (cpu_feature_enabled(X86_FEATURE_IBT) &&
			   !is_endbr(*(u32 *)addr)) {
			pr_err("kallsyms_lookup_name has no ENDBR; cannot call it with IBT enabled\n");
			return NULL;
		}
	}
	return (xk_lookup_fn)addr;
}

int xk_ksyms_init(void)
{
	xk_lookup_fn lookup;
	struct kvm_x86_ops *ops;

	lookup = xk_find_kallsyms_lookup_name();
	if (!lookup)
		return -ENOENT;

	ops = (struct kvm_x86_ops *)lookup("kvm_x86_ops");
	if (!ops) {
		pr_err("cannot resolve kvm_x86_ops (is kvm loaded?)\n");
		return -ENOENT;
	}
	if (!READ_ONCE(ops->get_cpl)) {
		pr_err("kvm_x86_ops.get_cpl is not set (no kvm-amd/kvm-intel loaded?)\n");
		return -ENODEV;
	}
	xk_kvm_x86_ops = ops;
	return 0;
}

/*
 * The guest's current privilege level, as KVM's own hypercall path reads
 * it. The vendor module cannot go away under a running vCPU, so the ops
 * stay valid while there is a vCPU to ask about.
 */
int xk_get_cpl(struct kvm_vcpu *vcpu)
{
	return xk_kvm_x86_ops->get_cpl(vcpu);
}
