/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenkvm internal interfaces. One file per concern:
 *
 *   main.c      module init/exit, /dev/xenkvm, ioctl dispatch, caps
 *   attach.c    attach/detach of a KVM VM, the kvm -> xk_vm lookup table
 *   gpc.c       gfn->pfn caches and the MMU notifier that invalidates them
 *   evtchn.c    2-level delivery into shared_info/vcpu_info, fallback work
 *   irqfd.c     module GSI routing table, eventfd -> port bindings
 *   hypercall.c catching vmcall/vmmcall, dispatch, exits to the VMM
 *   ksyms.c     the few non-exported KVM symbols, resolved at load
 *   sched.c     SCHEDOP_poll/yield/block in-kernel
 *   timer.c     singleshot timers on hrtimers -> VIRQ_TIMER
 *   runstate.c  runstate area updates and vcpu_info.time
 *   send.c      in-kernel EVTCHNOP_send port table
 *
 * Contexts, and what each may touch:
 *   ioctl (process, may sleep): everything, under xk_vm.lock.
 *   vCPU thread (hypercall hook, process, may sleep briefly; kvm->srcu held):
 *       xk_vcpu of its own vCPU, caches via check/refresh, port tables
 *       under RCU.
 *   atomic (eventfd wakeup with the wait-queue lock held and IRQs off,
 *       hrtimer callbacks): caches via xk_gpc_check() under read_lock only,
 *       per-vCPU shadow bits, queue_work(); never sleeps, never refreshes.
 *   workqueue (xk_vm.fallback_work): refreshes caches, then delivers.
 *   MMU notifier (may be non-blockable): takes each cache's lock for write
 *       and marks it invalid; nothing else.
 */
#ifndef XENKVM_INTERNAL_H
#define XENKVM_INTERNAL_H

#include <linux/kvm_host.h>
#include <linux/mmu_notifier.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/hrtimer.h>
#include <uapi/linux/xenkvm.h>

#define XK_MAX_VCPUS		128	/* Xen vCPU ids 0..127 */
#define XK_MAX_PORTS_64		4096
#define XK_MAX_PORTS_32		1024
#define XK_LEGACY_VCPUS		32	/* vcpu_info slots in shared_info */

/*
 * A gfn->pfn cache: a kernel mapping of part of one guest page, never
 * pinned. Valid only while no MMU-notifier invalidation has hit its host
 * page since it was resolved and the memslot generation is unchanged.
 *
 * Locking: @lock (rwlock, IRQ-safe) guards @valid and @khva. Readers that
 * write into the guest through @khva hold it for read for the whole
 * access, so an invalidation (write lock) waits for them and nothing is
 * written through a stale mapping afterwards. @refresh_lock (mutex)
 * serialises refreshes.
 */
struct xk_gpc {
	rwlock_t lock;
	struct mutex refresh_lock;
	struct list_head node;		/* on xk_vm.gpc_list */
	struct xk_vm *xvm;
	gpa_t gpa;			/* INVALID_GPA when inactive */
	unsigned long len;
	unsigned long uhva;		/* userspace address of gpa's page */
	u64 generation;			/* memslot generation resolved at */
	unsigned long invalidate_seq;	/* copied from xk_vm at resolve */
	void *khva;			/* kernel address of gpa */
	bool active;
	bool valid;
};

struct xk_vcpu {
	struct xk_vm *xvm;
	struct kvm_vcpu *vcpu;
	u32 xen_vcpu_id;
	u8 upcall_vector;
	struct xk_gpc vcpu_info;	/* inactive: use shared_info slot */
	struct xk_gpc runstate;
	/* Selector bits raised while vcpu_info could not be written. */
	unsigned long pending_sel_shadow;
	struct hrtimer timer;
	u32 timer_port;
	u64 timer_expires_ns;
};

struct xk_stats_pcpu;

/*
 * One attached VM. Created by XENKVM_ATTACH, freed when the /dev/xenkvm
 * file is released. Holds a reference on the struct kvm and keeps an MMU
 * notifier registered on its mm for as long as it lives.
 *
 * Locking: @lock (mutex) serialises configuration ioctls. Lookups from the
 * hypercall hook and the atomic paths go through RCU (xk_vm_lookup()).
 */
struct xk_vm {
	struct kvm *kvm;
	struct mutex lock;
	struct rcu_head rcu;
	struct hlist_node hnode;	/* in attach.c's kvm -> xk_vm table */
	struct mmu_notifier mn;
	spinlock_t gpc_list_lock;	/* guards gpc_list and invalidate_seq */
	struct list_head gpc_list;
	unsigned long invalidate_seq;	/* bumped by every invalidation */
	bool long_mode;
	u32 fast_paths;			/* XENKVM_FAST_* */
	u32 hcall_flags;		/* XENKVM_HCALL_* */
	u32 xen_version;
	struct xk_gpc shared_info;
	struct work_struct fallback_work;
	struct xk_vcpu *vcpus[XK_MAX_VCPUS];	/* by Xen vCPU id */
	struct xenkvm_stats stats;	/* updated with the stat helpers */
	void *irq_routing;		/* irqfd.c, RCU */
	struct list_head irqfds;	/* irqfd.c */
	spinlock_t irqfds_lock;
	void *send_ports;		/* send.c, RCU */
	bool dead;			/* detaching: refuse new work */
};

#define xk_stat_inc(xvm, field)	((void)atomic64_inc((atomic64_t *)&(xvm)->stats.field))

/* attach.c */
int xk_attach(struct file *filp, struct xenkvm_attach __user *uarg);
void xk_detach(struct xk_vm *xvm);
struct xk_vm *xk_vm_lookup(struct kvm *kvm);	/* caller holds rcu_read_lock */
struct xk_vcpu *xk_vcpu_by_kvm_vcpu(struct xk_vm *xvm, struct kvm_vcpu *vcpu);

/* gpc.c */
void xk_gpc_init(struct xk_gpc *gpc, struct xk_vm *xvm);
int xk_gpc_activate(struct xk_gpc *gpc, gpa_t gpa, unsigned long len);
void xk_gpc_deactivate(struct xk_gpc *gpc);
bool xk_gpc_check(struct xk_gpc *gpc);		/* read_lock held */
int xk_gpc_refresh(struct xk_gpc *gpc);		/* may sleep */
int xk_mmu_notifier_register(struct xk_vm *xvm);
void xk_mmu_notifier_unregister(struct xk_vm *xvm);

/* evtchn.c */
#define XK_DELIVER_ATOMIC	1	/* caller cannot sleep */
int xk_evtchn_set_pending(struct xk_vm *xvm, u32 port, u32 xen_vcpu_id,
			  unsigned int flags);
int xk_evtchn_send_ioctl(struct xk_vm *xvm, void __user *uarg);
void xk_fallback_work(struct work_struct *work);
bool xk_evtchn_port_pending(struct xk_vm *xvm, u32 port);
u32 xk_max_ports(struct xk_vm *xvm);

/* irqfd.c */
int xk_set_gsi_routing(struct xk_vm *xvm, void __user *uarg);
int xk_irqfd(struct xk_vm *xvm, void __user *uarg);
void xk_irqfd_release_all(struct xk_vm *xvm);

/* hypercall.c */
int xk_hypercall_init(void);
void xk_hypercall_exit(void);

#endif /* XENKVM_INTERNAL_H */
