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
#include <linux/srcu.h>
#include <linux/xarray.h>
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
	struct mutex refresh_lock;	/* serialises refresh/(de)activate */
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

/*
 * Per-vCPU state, created by the first XENKVM_VCPU_SET_ATTR for a KVM vCPU
 * and freed only at detach, so a pointer read from xk_vm.vcpus[] or
 * xk_vm.vcpu_xa stays valid for as long as the xk_vm does. @xen_vcpu_id
 * and @upcall_vector change under xk_vm.lock and are read with READ_ONCE
 * from any context. @pending_sel_shadow is only touched with atomic bit
 * operations (atomic delivery sets, the fallback worker folds).
 */
struct xk_vcpu {
	struct xk_vm *xvm;
	struct kvm_vcpu *vcpu;
	u32 xen_vcpu_id;
	u8 upcall_vector;
	struct xk_gpc vcpu_info;	/* inactive: use shared_info slot */
	/* Selector bits raised while vcpu_info could not be written. */
	unsigned long pending_sel_shadow;
	struct hrtimer timer;
	u32 timer_port;
	u64 timer_expires_ns;
	/*
	 * hypercall.c, timer.c, sched.c, runstate.c; locking rules beside
	 * the code. @hcall_ready: xk_hcall_vcpu_init() ran (release/acquire).
	 */
	bool hcall_ready;
	struct mutex timer_lock;	/* arms/cancels @timer, writes above */
	bool polling;			/* in SCHEDOP_poll; for poll_notify */
	bool poll_wake;			/* a port was raised while polling */
	u32 poll_port;			/* the one port polled, or U32_MAX */
	raw_spinlock_t rs_lock;		/* runstate state below */
	gpa_t rs_gpa;			/* INVALID_GPA: no runstate area */
	gpa_t rs_gpa2;			/* its second page, if it crosses */
	unsigned long rs_hva[2];	/* userspace addresses of the pages */
	unsigned int rs_len0;		/* bytes in the first page */
	u64 rs_generation;		/* memslot generation of rs_hva */
	bool rs_dirty;			/* guest copy is behind */
	int rs_state;			/* RUNSTATE_* */
	u64 rs_entry_time;		/* Xen system time */
	u64 rs_time[4];
	u64 rs_host_ns;			/* host CLOCK_MONOTONIC at entry */
	/* runstate.c: vcpu_info.time last written (see there) */
	gpa_t time_gpa;
	u64 time_tsc;
	u64 time_sys;
	u32 time_mul;
	u8 timer_rearms;		/* hrtimer fired early in Xen time */
};

/* How a hypercall the module looked at ends (hypercall.c). */
enum xk_hc_action {
	XK_HC_DONE,	/* answered in-kernel: hc->ret to rax, RIP advanced */
	XK_HC_USER,	/* exit to the VMM, KVM_EXIT_XEN_HCALL */
	XK_HC_INTR,	/* signal while blocked: RIP unchanged, KVM sees it */
	XK_HC_HALT,	/* as DONE, then halt the vCPU as hlt does */
};

struct xk_hcall {
	u64 nr;
	u64 args[6];
	bool longmode;
	int cpl;
	long ret;
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
	struct mutex lock;		/* configuration ioctls */
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
	/* hypercall.c: handlers in flight pin the VM (see hypercall.c) */
	bool hcall_ready;
	atomic_t hcall_users;
	wait_queue_head_t hcall_wq;
	atomic_t pollers;		/* vCPUs in SCHEDOP_poll */

	/* attach.c: xk_vcpu by KVM vCPU index (xa_load is RCU-safe). */
	struct xarray vcpu_xa;
	/* gpc.c, under gpc_list_lock: invalidations now running; mm gone. */
	unsigned long mn_active;
	bool mm_dead;
	/*
	 * evtchn.c: events the atomic path could not deliver, in arrival
	 * order. @defer_lock (IRQ-safe spinlock) guards the ring, its indices
	 * and @defer_queued (one bit per port: queued and not yet taken by
	 * the worker). While the ring is not empty every new event is queued
	 * behind it, so per-port (and per-VM) order is kept; an event for a
	 * port that is already queued merges with it (the port would be seen
	 * pending anyway). The ring cannot overflow: per port at most one
	 * entry with its bit set, plus the head the worker is delivering.
	 */
	spinlock_t defer_lock;
	u32 *defer_ring;		/* port | Xen vCPU id << 16 */
	unsigned int defer_head, defer_tail;
	unsigned long *defer_queued;
	struct delayed_work retry_work;	/* re-runs fallback_work, backoff */
	unsigned int retry_ms;		/* fallback_work only */
};

#define xk_stat_inc(xvm, field)	((void)atomic64_inc((atomic64_t *)&(xvm)->stats.field))

/* attach.c */
int xk_attach(struct file *filp, struct xenkvm_attach __user *uarg);
void xk_detach(struct xk_vm *xvm);
struct xk_vm *xk_vm_lookup(struct kvm *kvm);	/* caller holds rcu_read_lock */
struct xk_vcpu *xk_vcpu_by_kvm_vcpu(struct xk_vm *xvm, struct kvm_vcpu *vcpu);
/* XENKVM_{,VCPU_}{SET,GET}_ATTR types attach.c owns; -ENOIOCTLCMD else. */
int xk_vm_set_attr(struct xk_vm *xvm, const struct xenkvm_attr *attr);
int xk_vm_get_attr(struct xk_vm *xvm, struct xenkvm_attr *attr);
int xk_vcpu_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *attr);
int xk_vcpu_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *attr);
/* Under xvm->lock: the xk_vcpu of KVM vCPU index @idx, created if absent. */
struct xk_vcpu *xk_vcpu_get(struct xk_vm *xvm, u32 idx);

/* gpc.c */
void xk_gpc_init(struct xk_gpc *gpc, struct xk_vm *xvm);
int xk_gpc_activate(struct xk_gpc *gpc, gpa_t gpa, unsigned long len);
void xk_gpc_deactivate(struct xk_gpc *gpc);
bool xk_gpc_check(struct xk_gpc *gpc);		/* read_lock held */
int xk_gpc_refresh(struct xk_gpc *gpc);		/* may sleep */
int xk_mmu_notifier_register(struct xk_vm *xvm);
void xk_mmu_notifier_unregister(struct xk_vm *xvm);
bool xk_gfn_in_memslot(struct kvm *kvm, u64 gfn);	/* writable slot */

/* evtchn.c */
#define XK_DELIVER_ATOMIC	1	/* caller cannot sleep */
int xk_evtchn_set_pending(struct xk_vm *xvm, u32 port, u32 xen_vcpu_id,
			  unsigned int flags);
int xk_evtchn_send_ioctl(struct xk_vm *xvm, void __user *uarg);
void xk_fallback_work(struct work_struct *work);
int xk_evtchn_port_pending(struct xk_vm *xvm, u32 port);	/* -EAGAIN */
u32 xk_max_ports(struct xk_vm *xvm);
int xk_evtchn_vm_init(struct xk_vm *xvm);
void xk_evtchn_vm_stop(struct xk_vm *xvm);	/* after dead: no more work */
void xk_evtchn_vm_free(struct xk_vm *xvm);
int xk_get_stats(struct xk_vm *xvm, void __user *uarg);

/* irqfd.c */
int xk_set_gsi_routing(struct xk_vm *xvm, void __user *uarg);
int xk_irqfd(struct xk_vm *xvm, void __user *uarg);
void xk_irqfd_release_all(struct xk_vm *xvm);
void xk_irqfd_free_routing(struct xk_vm *xvm);
int xk_irqfd_module_init(void);
void xk_irqfd_module_exit(void);

/* hypercall.c */
int xk_hypercall_init(void);
void xk_hypercall_exit(void);
/*
 * attach.c calls xk_hcall_vm_init() at attach, xk_hcall_vcpu_init() when
 * an xk_vcpu is created, and xk_hcall_vm_teardown() on detach before any
 * xk_vcpu or the xk_vm is freed (the xk_vm after an RCU grace period).
 */
void xk_hcall_vm_init(struct xk_vm *xvm);
void xk_hcall_vm_teardown(struct xk_vm *xvm);
void xk_hcall_vcpu_init(struct xk_vcpu *xv);
void xk_hcall_vcpu_teardown(struct xk_vcpu *xv);
/* Attribute types owned by hypercall.c: -ENOIOCTLCMD for the others. */
int xk_hcall_set_attr(struct xk_vm *xvm, const struct xenkvm_attr *attr);
int xk_hcall_get_attr(struct xk_vm *xvm, struct xenkvm_attr *attr);
int xk_hcall_vcpu_set_attr(struct xk_vcpu *xv,
			   const struct xenkvm_vcpu_attr *attr);
int xk_hcall_vcpu_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *attr);
int xk_read_guest_virt(struct kvm_vcpu *vcpu, u64 gva, void *buf,
		       unsigned int len);
gpa_t xk_gva_to_gpa(struct kvm_vcpu *vcpu, u64 gva);

/* ksyms.c */
int xk_ksyms_init(void);
int xk_get_cpl(struct kvm_vcpu *vcpu);

/* send.c */
void xk_send_vm_init(struct xk_vm *xvm);
void xk_send_vm_teardown(struct xk_vm *xvm);
int xk_send_set_port(struct xk_vm *xvm, const struct xenkvm_attr *attr);
int xk_send_get_port(struct xk_vm *xvm, struct xenkvm_attr *attr);
void xk_send_reset(struct xk_vm *xvm);
enum xk_hc_action xk_send_fast(struct xk_vm *xvm, struct xk_vcpu *xv,
			       u32 port, struct xk_hcall *hc);

/* timer.c */
void xk_timer_vcpu_init(struct xk_vcpu *xv);
void xk_timer_vcpu_teardown(struct xk_vcpu *xv);
int xk_timer_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *a);
int xk_timer_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *a);
enum xk_hc_action xk_timer_vcpu_op(struct xk_vm *xvm, struct xk_vcpu *xv,
				   struct xk_hcall *hc);
enum xk_hc_action xk_timer_set_timer_op(struct xk_vm *xvm, struct xk_vcpu *xv,
					struct xk_hcall *hc);
bool xk_xen_time_now(struct xk_vcpu *xv, u64 *xen_ns, ktime_t *host);

/* sched.c */
enum xk_hc_action xk_sched_yield(struct xk_vm *xvm, struct xk_vcpu *xv,
				 struct xk_hcall *hc);
enum xk_hc_action xk_sched_block(struct xk_vm *xvm, struct xk_vcpu *xv,
				 struct xk_hcall *hc);
enum xk_hc_action xk_sched_poll(struct xk_vm *xvm, struct xk_vcpu *xv,
				struct xk_hcall *hc);
/* evtchn.c calls this after making @port newly pending (any context). */
void xk_sched_poll_notify(struct xk_vm *xvm, u32 port);

/* runstate.c */
int xk_runstate_init(void);
void xk_runstate_exit(void);
void xk_runstate_vcpu_init(struct xk_vcpu *xv);
void xk_runstate_vcpu_teardown(struct xk_vcpu *xv);
int xk_runstate_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *a);
int xk_runstate_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *a);
enum xk_hc_action xk_runstate_vcpu_op(struct xk_vm *xvm, struct xk_vcpu *xv,
				      struct xk_hcall *hc);
void xk_runstate_sync(struct xk_vcpu *xv);	/* vCPU thread, may sleep */
int xk_runstate_hooks_get(void);		/* process context */

#endif /* XENKVM_INTERNAL_H */
