// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: gfn->pfn caches for guest pages the module writes from any
 * context (shared_info, vcpu_info). Runstate areas, which may cross a
 * page, pin their pages for each write instead (runstate.c).
 *
 * A cache is resolved (xk_gpc_refresh(), may sleep) as gfn -> hva with
 * gfn_to_hva() under kvm->srcu, hva -> page with get_user_pages_fast() and
 * FOLL_WRITE (which also breaks COW and dirties the PTE), and page ->
 * kernel address with page_address() (x86-64 has no highmem). The page
 * reference is dropped at once: nothing is pinned. The mapping stays
 * usable only while
 *
 *   - no MMU-notifier invalidation has covered its host page since: the
 *     notifier below takes the cache's lock for write and clears @valid,
 *     so once invalidate_range_start() returns, no writer is left in the
 *     old page and none can start (seed 003: a stale mapping would let us
 *     write into a page that may belong to someone else by now);
 *   - the memslot generation is the one it was resolved at: a memslot
 *     change can move the gfn to another hva with no invalidation.
 *
 * Users: read_lock_irqsave(&gpc->lock), xk_gpc_check(), access through
 * gpc->khva, read_unlock_irqrestore(). If the check fails, an atomic
 * caller gives up (and defers); a caller that may sleep unlocks, calls
 * xk_gpc_refresh() and tries again.
 *
 * Refresh races with invalidation the way KVM's own MMU does: it samples
 * xk_vm.invalidate_seq before get_user_pages and commits only if no
 * invalidation started (seq unchanged) or is still running (mn_active)
 * by the time it takes gpc_list_lock and the cache's write lock.
 *
 * Lock order: xk_vm.gpc_list_lock -> xk_gpc.lock. xk_gpc.refresh_lock
 * (mutex) is outermost and serialises refreshes and (de)activation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/kthread.h>

#include "xenkvm.h"

void xk_gpc_init(struct xk_gpc *gpc, struct xk_vm *xvm)
{
	rwlock_init(&gpc->lock);
	mutex_init(&gpc->refresh_lock);
	gpc->xvm = xvm;
	gpc->gpa = INVALID_GPA;
	gpc->uhva = 0;
	gpc->khva = NULL;
	gpc->active = false;
	gpc->valid = false;
	spin_lock(&xvm->gpc_list_lock);
	list_add_tail(&gpc->node, &xvm->gpc_list);
	spin_unlock(&xvm->gpc_list_lock);
}

/* Memslot generation of address space 0; any context. */
static u64 xk_memslot_gen(struct kvm *kvm)
{
	u64 gen;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	gen = kvm_memslots(kvm)->generation;
	srcu_read_unlock(&kvm->srcu, idx);
	return gen;
}

/* True if @gfn lies in a writable memslot now. Process context. */
bool xk_gfn_in_memslot(struct kvm *kvm, u64 gfn)
{
	unsigned long hva;
	int idx;

	if (gfn > (U64_MAX >> PAGE_SHIFT))
		return false;
	idx = srcu_read_lock(&kvm->srcu);
	hva = gfn_to_hva(kvm, gfn);
	srcu_read_unlock(&kvm->srcu, idx);
	return !kvm_is_error_hva(hva);
}

/*
 * Called with gpc->lock held (read or write), any context: true if
 * gpc->khva may be accessed until the lock is dropped.
 */
bool xk_gpc_check(struct xk_gpc *gpc)
{
	if (!gpc->active || !gpc->valid)
		return false;
	return gpc->generation == xk_memslot_gen(gpc->xvm->kvm);
}

/*
 * Start caching [gpa, gpa + len), which must lie in one page. The cache
 * is resolved lazily (or by the caller's xk_gpc_refresh()). Process
 * context.
 */
int xk_gpc_activate(struct xk_gpc *gpc, gpa_t gpa, unsigned long len)
{
	unsigned long flags;

	if (!len || len > PAGE_SIZE || offset_in_page(gpa) + len > PAGE_SIZE)
		return -EINVAL;
	mutex_lock(&gpc->refresh_lock);
	write_lock_irqsave(&gpc->lock, flags);
	gpc->gpa = gpa;
	gpc->len = len;
	gpc->active = true;
	gpc->valid = false;
	gpc->khva = NULL;
	write_unlock_irqrestore(&gpc->lock, flags);
	mutex_unlock(&gpc->refresh_lock);
	return 0;
}

void xk_gpc_deactivate(struct xk_gpc *gpc)
{
	unsigned long flags;

	mutex_lock(&gpc->refresh_lock);
	write_lock_irqsave(&gpc->lock, flags);
	gpc->active = false;
	gpc->valid = false;
	gpc->khva = NULL;
	gpc->gpa = INVALID_GPA;
	write_unlock_irqrestore(&gpc->lock, flags);
	mutex_unlock(&gpc->refresh_lock);
}

/*
 * Look up the page behind @uhva in @mm for writing; returns it with a
 * reference the caller drops. Process context of the VM's own process,
 * or a kernel thread (the fallback worker), which borrows the mm.
 */
static struct page *xk_get_page(struct mm_struct *mm, unsigned long uhva)
{
	struct page *page;
	long n;

	if (current->mm == mm) {
		n = get_user_pages_fast(uhva, 1, FOLL_WRITE, &page);
	} else if ((current->flags & PF_KTHREAD) && !current->mm) {
		if (!mmget_not_zero(mm))
			return ERR_PTR(-ESRCH);
		kthread_use_mm(mm);
		n = get_user_pages_fast(uhva, 1, FOLL_WRITE, &page);
		kthread_unuse_mm(mm);
		mmput(mm);
	} else {
		return ERR_PTR(-EPERM);
	}
	if (n == 1)
		return page;
	return ERR_PTR(n < 0 ? (int)n : -EFAULT);
}

#define XK_REFRESH_TRIES	64

/*
 * Resolve the cache again. May sleep; process or workqueue context, not
 * under any xenkvm spinlock. Returns 0 with the cache valid (as of the
 * commit: an invalidation may clear it again at any time), -EINVAL if
 * inactive, -EFAULT if the gfn has no writable host page, -EAGAIN if
 * invalidations kept racing with it.
 */
int xk_gpc_refresh(struct xk_gpc *gpc)
{
	struct xk_vm *xvm = gpc->xvm;
	struct kvm *kvm = xvm->kvm;
	unsigned long uhva, seq, flags;
	struct page *page;
	bool busy, done;
	int tries, r = -EAGAIN, idx;
	void *khva;
	u64 gen;

	mutex_lock(&gpc->refresh_lock);
	for (tries = 0; tries < XK_REFRESH_TRIES; tries++) {
		if (!gpc->active) {
			r = -EINVAL;
			break;
		}
		idx = srcu_read_lock(&kvm->srcu);
		gen = kvm_memslots(kvm)->generation;
		uhva = gfn_to_hva(kvm, gpa_to_gfn(gpc->gpa));
		srcu_read_unlock(&kvm->srcu, idx);
		if (kvm_is_error_hva(uhva)) {
			r = -EFAULT;
			break;
		}

		/*
		 * Publish the page we are about to resolve, so that from now
		 * on invalidations of it clear @valid (and bump the seq).
		 */
		spin_lock(&xvm->gpc_list_lock);
		seq = xvm->invalidate_seq;
		busy = xvm->mn_active || xvm->mm_dead;
		write_lock_irqsave(&gpc->lock, flags);
		gpc->valid = false;
		gpc->uhva = uhva;
		write_unlock_irqrestore(&gpc->lock, flags);
		spin_unlock(&xvm->gpc_list_lock);
		if (xvm->mm_dead) {
			r = -ESRCH;
			break;
		}
		if (busy || (gen & KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS)) {
			usleep_range(50, 200);
			continue;
		}

		page = xk_get_page(kvm->mm, uhva);
		if (IS_ERR(page)) {
			r = PTR_ERR(page);
			break;
		}
		khva = page_address(page) + offset_in_page(gpc->gpa);
		put_page(page);

		spin_lock(&xvm->gpc_list_lock);
		write_lock_irqsave(&gpc->lock, flags);
		done = seq == xvm->invalidate_seq && !xvm->mn_active &&
		       gpc->uhva == uhva;
		if (done) {
			gpc->khva = khva;
			gpc->generation = gen;
			gpc->valid = true;
		}
		write_unlock_irqrestore(&gpc->lock, flags);
		spin_unlock(&xvm->gpc_list_lock);
		if (done) {
			xk_stat_inc(xvm, cache_refreshes);
			r = 0;
			break;
		}
		cond_resched();
	}
	mutex_unlock(&gpc->refresh_lock);
	return r;
}

/* Clear @valid of every cache whose page is in [start, end). */
static void xk_gpc_invalidate_range(struct xk_vm *xvm, unsigned long start,
				    unsigned long end)
{
	struct xk_gpc *gpc;
	unsigned long flags;

	list_for_each_entry(gpc, &xvm->gpc_list, node) {
		unsigned long page = gpc->uhva & PAGE_MASK;

		if (!gpc->uhva || page >= end || page + PAGE_SIZE <= start)
			continue;
		write_lock_irqsave(&gpc->lock, flags);
		if (gpc->valid) {
			gpc->valid = false;
			xk_stat_inc(xvm, cache_invalidations);
		}
		write_unlock_irqrestore(&gpc->lock, flags);
	}
}

/*
 * MMU notifier. May run in non-blockable context: it only spins, briefly,
 * on gpc_list_lock and each cache's write lock (waiting for a writer in
 * the old page to finish).
 */
static int xk_mn_invalidate_range_start(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct xk_vm *xvm = container_of(mn, struct xk_vm, mn);

	spin_lock(&xvm->gpc_list_lock);
	xvm->mn_active++;
	xvm->invalidate_seq++;
	xk_gpc_invalidate_range(xvm, range->start, range->end);
	spin_unlock(&xvm->gpc_list_lock);
	return 0;
}

static void xk_mn_invalidate_range_end(struct mmu_notifier *mn,
				       const struct mmu_notifier_range *range)
{
	struct xk_vm *xvm = container_of(mn, struct xk_vm, mn);

	spin_lock(&xvm->gpc_list_lock);
	if (!WARN_ON_ONCE(!xvm->mn_active))
		xvm->mn_active--;
	xvm->invalidate_seq++;
	spin_unlock(&xvm->gpc_list_lock);
}

/* The mm is going away (exit_mmap): nothing may be resolved again. */
static void xk_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct xk_vm *xvm = container_of(mn, struct xk_vm, mn);

	spin_lock(&xvm->gpc_list_lock);
	xvm->mm_dead = true;
	xvm->invalidate_seq++;
	xk_gpc_invalidate_range(xvm, 0, ULONG_MAX);
	spin_unlock(&xvm->gpc_list_lock);
}

static const struct mmu_notifier_ops xk_mn_ops = {
	.invalidate_range_start = xk_mn_invalidate_range_start,
	.invalidate_range_end = xk_mn_invalidate_range_end,
	.release = xk_mn_release,
};

/* At attach, process context of the VM's own process. */
int xk_mmu_notifier_register(struct xk_vm *xvm)
{
	xvm->mn.ops = &xk_mn_ops;
	return mmu_notifier_register(&xvm->mn, xvm->kvm->mm);
}

/*
 * At detach. Waits for running callbacks (SRCU), after which no callback
 * touches the xk_vm. The mm_struct itself is kept by KVM's mmgrab().
 */
void xk_mmu_notifier_unregister(struct xk_vm *xvm)
{
	mmu_notifier_unregister(&xvm->mn, xvm->kvm->mm);
}
