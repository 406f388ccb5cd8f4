/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PV block backend (devices/blkback.c): a raw image file or block
 * device served to the guest's xen-blkfront as /dev/xvdX, with the I/O
 * on io_uring. Documentation/block.rst has the whole picture.
 *
 * Threading: everything runs on the event loop thread, like the xenstore
 * whose watches drive it. The guest's notifications arrive on vCPU
 * threads (or in-kernel) and only signal an eventfd the loop reads.
 * Call blkback_attach() before the loop runs or from the loop thread,
 * blkback_detach() after it stopped or from the loop thread.
 */
#ifndef XENKVM_VMM_BLKBACK_H
#define XENKVM_VMM_BLKBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct xs_store;
struct blkback;

#define BLK_PATH_MAX	4096
#define BLK_VDEV_MAX	16
/* Linux's blkback default: 4 queues is plenty for one event loop. */
#define BLK_MAX_QUEUES	4
/* A bound for the machine's disk list (vm_config). */
#define BLK_MAX_DISKS	16

enum blk_cache {
	BLK_CACHE_WRITEBACK,	/* the host page cache; flush = fdatasync */
	BLK_CACHE_NONE,		/* O_DIRECT; flush = fdatasync */
};

/* How requests reach the disk. */
enum blk_engine {
	BLK_ENGINE_URING,	/* batched io_uring submissions (default) */
	/*
	 * preadv/pwritev/fdatasync/fallocate on the event loop thread, one
	 * request at a time in ring order: the baseline the bench compares
	 * io_uring against. Same validation, grants and responses.
	 */
	BLK_ENGINE_SYNC,
};

/* One disk as the user asked for it (--disk or an xl.cfg disk entry). */
struct blk_spec {
	char path[BLK_PATH_MAX];
	char vdev[BLK_VDEV_MAX];	/* "xvda"; "" until assigned */
	bool readonly;
	enum blk_cache cache;
	enum blk_engine engine;
};

/*
 * `--disk PATH[,ro|rw][,format=raw][,cache=none|writeback][,vdev=xvdX]
 *  [,engine=uring|sync]`.
 * Commas in PATH can be written as ",,". Leaves vdev empty unless given:
 * see blk_spec_default_vdev(). 0, or -1 with a message in @err.
 */
int blk_parse_spec(const char *spec, struct blk_spec *out, char *err,
		   size_t errlen);
/*
 * One entry of xl.cfg's `disk = [ ... ]` (xl-disk-configuration(5)):
 * positional `[target],[format],[vdev],[access]`, `key=value` (format,
 * vdev, access, devtype, backendtype, target= last), and the deprecated
 * prefixes (`file:`, `phy:`, `raw:`, `aio:`, `tap:aio:`), e.g.
 * 'file:/img,xvda,w' or 'format=raw, vdev=xvda, access=rw, target=/img'.
 * Only raw disks: qcow & co and cdroms are refused by name.
 */
int blk_parse_xl_disk(const char *entry, struct blk_spec *out, char *err,
		      size_t errlen);
/* The @index'th disk's default name: xvda, xvdb, ... xvdz, xvdaa ... */
int blk_spec_default_vdev(struct blk_spec *spec, unsigned int index);
/*
 * The Xen virtual device number of @vdev as Linux's blkfront decodes it
 * (xvdX: 202 << 8 | X << 4, or 1 << 28 | X << 8 from xvdq on; hdX, sdX
 * and plain numbers too). 0 or -1.
 */
int blk_vdev_to_devid(const char *vdev, uint32_t *devid);

struct blkback_stats {
	uint64_t requests;	/* taken from the ring */
	uint64_t reads, writes, flushes, barriers, discards, indirect;
	uint64_t errors;	/* BLKIF_RSP_ERROR responses */
	uint64_t unsupported;	/* BLKIF_RSP_EOPNOTSUPP responses */
	uint64_t submits;	/* io_uring_submit() calls (0 with engine=sync) */
	uint64_t fsyncs;
	uint64_t bounced;	/* requests through an aligned bounce buffer */
	uint64_t notifies;	/* event channel sends to the frontend */
	uint64_t broken_rings;
	uint64_t connects;
};

/*
 * Open the disk, create its xenstore nodes (frontend
 * /local/domain/<domid>/device/vbd/<devid>, backend
 * /local/domain/0/backend/vbd/<domid>/<devid>) with every feature, go to
 * InitWait and follow the frontend from there. @spec->vdev must be set.
 * Needs vm->xen and vm->loop. The image is locked (OFD lock, shared
 * when read-only): EBUSY if another process holds it for writing. NULL
 * with errno set on failure (a message naming the disk is printed).
 */
struct blkback *blkback_attach(struct vm *vm, struct xs_store *store,
			       const struct blk_spec *spec);
/* Waits for I/O in flight, unbinds, removes the xenstore nodes. */
void blkback_detach(struct blkback *b);

/*
 * The image may have been resized (call e.g. on SIGHUP or from a
 * monitor): when its size changed, rewrite `sectors` and, if connected,
 * `state` (Connected again), which is how Linux's blkfront learns of a
 * new capacity. Returns the size in sectors or -errno.
 */
int64_t blkback_check_resize(struct blkback *b);

/*
 * Serve what is pending (guest notifications, I/O completions) as the
 * event loop would; with @wait_ms > 0, first wait that long for an I/O
 * completion when requests are in flight. For tests and for callers
 * that drive the backend without a running loop. Returns the number of
 * requests completed (engine=sync completes them while draining).
 */
int blkback_service(struct blkback *b, int wait_ms);

/*
 * cache=none only: the O_DIRECT alignment of buffers (@mem_align) and of
 * offsets and lengths (@offset_align), powers of two from 512, normally
 * probed with statx(STATX_DIOALIGN). Tests set it to exercise the bounce
 * buffer and the buffered fallback on any file system. 0 or -EINVAL.
 */
int blkback_set_dio_align(struct blkback *b, unsigned int mem_align,
			  unsigned int offset_align);

void blkback_get_stats(const struct blkback *b, struct blkback_stats *st);
/* XenbusState of the backend (for tests and diagnostics). */
int blkback_state(const struct blkback *b);
uint64_t blkback_sectors(const struct blkback *b);
uint32_t blkback_devid(const struct blkback *b);

#endif
