// SPDX-License-Identifier: GPL-2.0
/*
 * The PV block backend (include/blkback.h, Documentation/block.rst).
 *
 * Three layers in one file:
 *   xenstore  the device nodes, the features, the XenbusState machine
 *             driven by a watch on the frontend's state;
 *   rings     requests taken from each queue's shared ring
 *             (blkif_ring.c decodes and validates), segments reached
 *             through grant_access() as host pointers into guest RAM;
 *   I/O       one io_uring per disk: every request drained from a ring
 *             becomes one or two SQEs, submitted with one
 *             io_uring_submit() per drain; completions arrive through an
 *             eventfd, are reaped in batches, and each ring is pushed and
 *             its frontend notified once per batch. Or, with
 *             engine=sync, the baseline the bench measures io_uring
 *             against: each request done with plain syscalls while the
 *             ring is drained, completing through the same io_complete().
 *
 * A guest holds the other end of every ring: a request it got wrong gets
 * an error response and the ring goes on; a ring whose indexes are
 * garbage is never read again and the device goes to Closing. Grants are
 * pinned from submission to completion, so the guest cannot take a page
 * away while the kernel reads or writes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

#include "blkback.h"
#include "blkif_ring.h"
#include "event_loop.h"
#include "grant.h"
#include "vm.h"
#include "xen.h"
#include "xenstore/xenstore.h"

#define BACKEND_DOMID		0
#define URING_ENTRIES		256
#define URING_CQ_ENTRIES	4096
#define XS_PATH_LEN		128

struct blkback;

struct blk_queue {
	struct blkback *b;
	unsigned int index;
	bool connected;
	struct blkif_ring ring;
	uint32_t ring_refs[BLKIF_RING_MAX_PAGES];
	unsigned int nr_pinned;		/* ring pages pinned so far */
	uint32_t port;
	bool port_bound;
	int efd;			/* the guest's notifications */
	bool need_push;			/* responses queued, not published */
};

/* One request between submission and response. */
struct blk_io {
	struct blk_queue *q;
	uint64_t id;
	uint8_t operation;
	bool guest_write;	/* we write guest memory (a disk read) */
	int16_t status;
	unsigned int pending;	/* SQEs not completed yet */
	size_t expect;		/* bytes the read/write must move */
	void *bounce;		/* aligned copy for O_DIRECT, or NULL */
	struct iovec bounce_iov;
	unsigned int nr_grefs;
	uint32_t *grefs;	/* pinned segment grants */
	unsigned int niov;
	struct iovec *iov;	/* the guest's buffers */
};

struct blkback {
	struct vm *vm;
	struct xs_store *store;
	struct grant_table *gt;
	struct blk_spec spec;
	uint16_t domid;
	uint32_t devid;
	int fd;
	int fd_buffered;	/* cache=none: for I/O O_DIRECT cannot do */
	uint64_t sectors;
	unsigned int physical_sector_size;
	unsigned int dio_mem_align, dio_offset_align;
	unsigned int discard_granularity;
	bool discard;
	char fe_path[XS_PATH_LEN];
	char be_path[XS_PATH_LEN];
	int state;			/* our XenbusState */
	bool watching;
	struct blk_queue queues[BLK_MAX_QUEUES];
	unsigned int nr_queues;
	struct io_uring uring;
	bool uring_ok;
	int cq_efd;
	unsigned int in_flight;		/* struct blk_io outstanding */
	uint64_t completed;		/* struct blk_io finished, ever */
	bool broken_logged;
	bool submit_logged;
	struct blkback_stats st;
};

static void blk_log(const struct blkback *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void blk_log(const struct blkback *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xenkvm: blkback %s (%s): ", b->spec.vdev, b->spec.path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- xenstore ---- */

static int be_write(struct blkback *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int be_write(struct blkback *b, const char *key, const char *fmt, ...)
{
	char path[XS_PATH_LEN + 64], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", b->be_path, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return xenstore_write(b->store, path, val);
}

/* A frontend node as a string (malloc'd), or NULL when absent. */
static char *fe_read(struct blkback *b, const char *dir, const char *key)
{
	char path[XS_PATH_LEN * 2];
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xenstore_read(b->store, path, &v, NULL))
		return NULL;
	return v;
}

/*
 * A frontend number: 0 with *@v set, -ENOENT when absent (then *@v =
 * @dflt), -EINVAL for anything but plain decimal digits within @max.
 */
static int fe_read_uint(struct blkback *b, const char *dir, const char *key,
			unsigned long max, unsigned long dflt, unsigned long *v)
{
	char *s = fe_read(b, dir, key), *end;
	int ret = 0;

	*v = dflt;
	if (!s)
		return -ENOENT;
	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		ret = -EINVAL;
	else
		*v = strtoul(s, &end, 10);
	if (!ret && (errno || *end || *v > max))
		ret = -EINVAL;
	if (ret)
		*v = dflt;
	free(s);
	return ret;
}

static void switch_state(struct blkback *b, int state)
{
	if (b->state == state)
		return;
	b->state = state;
	be_write(b, "state", "%d", state);
}

static int write_features(struct blkback *b)
{
	int err = 0;

	err |= be_write(b, "feature-flush-cache", "1");
	err |= be_write(b, "feature-barrier", "1");
	err |= be_write(b, "feature-discard", "%d", b->discard);
	if (b->discard) {
		err |= be_write(b, "discard-granularity", "%u",
				b->discard_granularity);
		err |= be_write(b, "discard-alignment", "0");
		err |= be_write(b, "discard-secure", "0");
	}
	/*
	 * No persistent grants: they save a backend its map/unmap per
	 * request, which we never do, and cost the frontend a copy.
	 */
	err |= be_write(b, "feature-persistent", "0");
	err |= be_write(b, "feature-max-indirect-segments", "%u",
			BLKIF_MAX_INDIRECT_SEGS);
	err |= be_write(b, "multi-queue-max-queues", "%u", BLK_MAX_QUEUES);
	err |= be_write(b, "max-ring-page-order", "%u", BLKIF_RING_MAX_ORDER);
	return err ? -EIO : 0;
}

/* What blkfront reads when we say Connected (and again on a resize). */
static int write_disk_info(struct blkback *b)
{
	int err = 0;

	err |= be_write(b, "sectors", "%" PRIu64, b->sectors);
	err |= be_write(b, "info", "%u", b->spec.readonly ? VDISK_READONLY : 0);
	err |= be_write(b, "sector-size", "%u", BLKIF_SECTOR_SIZE);
	err |= be_write(b, "physical-sector-size", "%u",
			b->physical_sector_size);
	return err ? -EIO : 0;
}

/* ---- the disk ---- */

static int disk_size(struct blkback *b, uint64_t *bytes)
{
	struct stat st;

	if (fstat(b->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(b->fd, BLKGETSIZE64, bytes) ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

/* O_DIRECT alignment as the file system reports it (Linux >= 6.1). */
static void probe_dio_align(struct blkback *b)
{
	b->dio_mem_align = BLKIF_SECTOR_SIZE;
	b->dio_offset_align = BLKIF_SECTOR_SIZE;
#ifdef STATX_DIOALIGN
	{
		struct statx sx;

		if (!statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
			b->dio_mem_align = sx.stx_dio_mem_align;
			b->dio_offset_align = sx.stx_dio_offset_align;
		}
	}
#endif
}

/*
 * Two writers on one image corrupt it: take an OFD lock (shared for a
 * read-only disk, exclusive otherwise), as QEMU does. Advisory, so it
 * only keeps out tools that ask; it goes away with the last fd.
 */
static int lock_disk(struct blkback *b)
{
	struct flock fl = {
		.l_type = b->spec.readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (!fcntl(b->fd, F_OFD_SETLK, &fl))
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EBUSY;
	return 0;	/* no locking on this file system: go on */
}

static int open_disk(struct blkback *b)
{
	int flags = (b->spec.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint64_t bytes;
	int err;

	b->fd = open(b->spec.path,
		     flags | (b->spec.cache == BLK_CACHE_NONE ? O_DIRECT : 0));
	if (b->fd < 0)
		return -errno;
	err = lock_disk(b);
	if (err)
		return err;
	if (b->spec.cache == BLK_CACHE_NONE) {
		b->fd_buffered = open(b->spec.path, flags);
		if (b->fd_buffered < 0)
			return -errno;
		probe_dio_align(b);
	}
	err = disk_size(b, &bytes);
	if (err)
		return err;
	b->sectors = bytes / BLKIF_SECTOR_SIZE;
	b->physical_sector_size = BLKIF_SECTOR_SIZE;
	if (fstat(b->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		unsigned int pbs = 0;

		if (!ioctl(b->fd, BLKPBSZGET, &pbs) && pbs >= 512 && pbs <= 65536)
			b->physical_sector_size = pbs;
	} else if (b->dio_offset_align > BLKIF_SECTOR_SIZE) {
		b->physical_sector_size = b->dio_offset_align;
	}
	/* Punching holes frees a file's blocks and zeroes a device's. */
	b->discard = !b->spec.readonly;
	b->discard_granularity = st.st_blksize >= 512 && st.st_blksize <= 65536 ?
					 (unsigned int)st.st_blksize : 4096;
	return 0;
}

/* ---- completions ---- */

static void io_release_grants(struct blkback *b, struct blk_io *io)
{
	for (unsigned int i = 0; i < io->nr_grefs; i++)
		grant_release(b->gt, io->grefs[i], io->guest_write);
	io->nr_grefs = 0;
}

static void io_copy_out_bounce(struct blk_io *io)
{
	const uint8_t *src = io->bounce;

	for (unsigned int i = 0; i < io->niov; i++) {
		memcpy(io->iov[i].iov_base, src, io->iov[i].iov_len);
		src += io->iov[i].iov_len;
	}
}

static void queue_response(struct blk_queue *q, uint64_t id,
			   uint8_t operation, int16_t status)
{
	struct blkback *b = q->b;

	if (status == BLKIF_RSP_ERROR)
		b->st.errors++;
	else if (status == BLKIF_RSP_EOPNOTSUPP)
		b->st.unsupported++;
	blkif_ring_put_response(&q->ring, id, operation, status);
	q->need_push = true;
}

static void io_finish(struct blkback *b, struct blk_io *io)
{
	if (io->bounce && io->guest_write && io->status == BLKIF_RSP_OKAY)
		io_copy_out_bounce(io);
	io_release_grants(b, io);
	queue_response(io->q, io->id, io->operation, io->status);
	free(io->bounce);
	free(io);
	b->in_flight--;
	b->completed++;
}

/* One SQE of @io completed with @res. */
static void io_complete(struct blkback *b, struct blk_io *io, int res,
			bool is_rw)
{
	if (io->status == BLKIF_RSP_OKAY) {
		if (res == -EOPNOTSUPP)
			io->status = BLKIF_RSP_EOPNOTSUPP;
		else if (res < 0 || (is_rw && (size_t)res != io->expect))
			io->status = BLKIF_RSP_ERROR;
	}
	if (--io->pending == 0)
		io_finish(b, io);
}

/* user_data: the blk_io pointer, bit 0 set on the read/write SQE. */
#define UD_RW	1ULL

static void notify_queue(struct blk_queue *q)
{
	struct blkback *b = q->b;

	if (!q->need_push)
		return;
	q->need_push = false;
	if (blkif_ring_push_responses(&q->ring) && q->port_bound) {
		b->st.notifies++;
		xen_evtchn_notify_guest(b->vm, q->port);
	}
}

static void kick_queue(struct blk_queue *q);
static void submit(struct blkback *b);

/* Complete every request the CQ holds; responses are queued, not pushed. */
static void complete_cqes(struct blkback *b)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;

	do {
		n = 0;
		io_uring_for_each_cqe(&b->uring, head, cqe) {
			struct blk_io *io =
				(struct blk_io *)(uintptr_t)(cqe->user_data & ~UD_RW);

			io_complete(b, io, cqe->res, cqe->user_data & UD_RW);
			n++;
		}
		io_uring_cq_advance(&b->uring, n);
	} while (n);
}

/* Reap every completion there is (none with engine=sync). */
static void reap(struct blkback *b)
{
	if (!b->uring_ok)
		return;
	complete_cqes(b);
	for (unsigned int i = 0; i < b->nr_queues; i++)
		notify_queue(&b->queues[i]);
	/* Responses freed slots: take what waited for them. */
	for (unsigned int i = 0; i < b->nr_queues; i++)
		if (b->queues[i].connected)
			kick_queue(&b->queues[i]);
	submit(b);
}

/* ---- submission ---- */

/*
 * Hand every prepared SQE to the kernel. One that could not go now (the
 * kernel said EBUSY/EAGAIN) stays in the SQ and goes with the next
 * submit, which reap() makes after every completion batch.
 */
static void submit(struct blkback *b)
{
	int ret;

	if (!b->uring_ok || !io_uring_sq_ready(&b->uring))
		return;
	b->st.submits++;
	ret = io_uring_submit(&b->uring);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
	    !b->submit_logged) {
		b->submit_logged = true;
		blk_log(b, "io_uring_submit: %s", strerror(-ret));
	}
}

/* @n SQEs in a row (a linked chain must not be split across submits). */
static struct io_uring_sqe *get_sqes(struct blkback *b, unsigned int n)
{
	if (io_uring_sq_space_left(&b->uring) < n)
		submit(b);
	if (io_uring_sq_space_left(&b->uring) < n)
		return NULL;
	return io_uring_get_sqe(&b->uring);
}

static struct blk_io *io_new(struct blk_queue *q, const struct blkif_req *req,
			     unsigned int nseg)
{
	struct blk_io *io = calloc(1, sizeof(*io) + nseg * sizeof(struct iovec) +
					      nseg * sizeof(uint32_t));

	if (!io)
		return NULL;
	io->q = q;
	io->id = req->id;
	/* Indirect requests are answered with their inner operation. */
	io->operation = req->op;
	io->status = BLKIF_RSP_OKAY;
	io->iov = (struct iovec *)(io + 1);
	io->grefs = (uint32_t *)(io->iov + nseg);
	return io;
}

/* Pin every segment's grant; the iovecs point into guest RAM. */
static int io_map_segs(struct blkback *b, struct blk_io *io,
		       const struct blkif_seg *seg, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		void *page;

		if (grant_access(b->gt, BACKEND_DOMID, seg[i].gref,
				 io->guest_write, &page))
			return -EFAULT;
		io->grefs[io->nr_grefs++] = seg[i].gref;
		io->iov[i].iov_base = (uint8_t *)page +
				      seg[i].first_sect * BLKIF_SECTOR_SIZE;
		io->iov[i].iov_len = ((size_t)seg[i].last_sect -
				      seg[i].first_sect + 1) * BLKIF_SECTOR_SIZE;
		io->expect += io->iov[i].iov_len;
	}
	io->niov = n;
	return 0;
}

static bool iov_aligned(const struct blk_io *io, unsigned int mem,
			unsigned int len)
{
	for (unsigned int i = 0; i < io->niov; i++)
		if ((uintptr_t)io->iov[i].iov_base % mem ||
		    io->iov[i].iov_len % len)
			return false;
	return true;
}

/*
 * The fd and buffers for an O_DIRECT read/write. Guest buffers are
 * sector-aligned, which is all most file systems ask; when the disk
 * wants more, copy through an aligned bounce buffer, and when even the
 * offset is misaligned, use the buffered descriptor.
 */
static int choose_fd(struct blkback *b, struct blk_io *io, uint64_t off,
		     const struct iovec **iov, unsigned int *niov)
{
	size_t align = b->dio_mem_align > 4096 ? b->dio_mem_align : 4096;

	*iov = io->iov;
	*niov = io->niov;
	if (b->spec.cache != BLK_CACHE_NONE)
		return b->fd;
	if (off % b->dio_offset_align || io->expect % b->dio_offset_align)
		return b->fd_buffered;
	if (iov_aligned(io, b->dio_mem_align, b->dio_offset_align))
		return b->fd;
	io->bounce = aligned_alloc(align, (io->expect + align - 1) & ~(align - 1));
	if (!io->bounce)
		return b->fd_buffered;
	b->st.bounced++;
	if (!io->guest_write) {
		uint8_t *dst = io->bounce;

		for (unsigned int i = 0; i < io->niov; i++) {
			memcpy(dst, io->iov[i].iov_base, io->iov[i].iov_len);
			dst += io->iov[i].iov_len;
		}
	}
	io->bounce_iov.iov_base = io->bounce;
	io->bounce_iov.iov_len = io->expect;
	*iov = &io->bounce_iov;
	*niov = 1;
	return b->fd;
}

/* ---- engine=sync ---- */

static int sync_rw(struct blkback *b, struct blk_io *io, uint64_t off)
{
	const struct iovec *iov;
	unsigned int niov;
	int fd = choose_fd(b, io, off, &iov, &niov);
	ssize_t n;

	if (io->guest_write)
		n = preadv(fd, iov, (int)niov, (off_t)off);
	else
		n = pwritev(fd, iov, (int)niov, (off_t)off);
	return n < 0 ? -errno : (int)n;
}

/*
 * What io_submit() queues, done now on this thread: the read or write,
 * then the fdatasync of a flush or barrier (skipped, as a linked SQE
 * would be, when the write failed). Ring order makes a barrier's drain
 * implicit. Each step completes like a CQE, so @io is freed by the last.
 */
static void sync_submit(struct blkback *b, struct blk_io *io, uint8_t op,
			uint64_t sector)
{
	bool flush = op == BLKIF_OP_FLUSH_DISKCACHE ||
		     op == BLKIF_OP_WRITE_BARRIER;
	int res = 0;

	io->pending = (io->niov ? 1 : 0) + (flush ? 1 : 0);
	b->in_flight++;
	if (!io->pending) {
		io_finish(b, io);
		return;
	}
	if (io->niov) {
		res = sync_rw(b, io, sector * BLKIF_SECTOR_SIZE);
		if (res >= 0 && (size_t)res != io->expect)
			res = -EIO;
		io_complete(b, io, res, true);
	}
	if (flush) {
		b->st.fsyncs++;
		if (res >= 0)
			res = fdatasync(b->fd) ? -errno : 0;
		else
			res = -ECANCELED;
		io_complete(b, io, res, false);
	}
}

static void sync_discard(struct blkback *b, struct blk_io *io, uint64_t sector,
			 uint64_t nr_sectors)
{
	int res = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)(sector * BLKIF_SECTOR_SIZE),
			    (off_t)(nr_sectors * BLKIF_SECTOR_SIZE));

	io->pending = 1;
	b->in_flight++;
	io_complete(b, io, res ? -errno : 0, false);
}

/* ---- engine=uring ---- */

/*
 * Queue the SQEs of a mapped request: the read or write (if any data),
 * then an fdatasync for flush and barrier requests, linked so it runs
 * after the write. A barrier also drains: it starts only once every
 * earlier request has completed, and later ones wait for it.
 */
static int io_submit(struct blkback *b, struct blk_io *io, uint8_t op,
		     uint64_t sector)
{
	bool flush = op == BLKIF_OP_FLUSH_DISKCACHE ||
		     op == BLKIF_OP_WRITE_BARRIER;
	bool drain = op == BLKIF_OP_WRITE_BARRIER;
	unsigned int nsqe = (io->niov ? 1 : 0) + (flush ? 1 : 0);
	uint64_t off = sector * BLKIF_SECTOR_SIZE;
	struct io_uring_sqe *sqe;

	if (b->spec.engine == BLK_ENGINE_SYNC) {
		sync_submit(b, io, op, sector);
		return 0;
	}
	sqe = get_sqes(b, nsqe);
	if (!sqe)
		return -EBUSY;
	if (io->niov) {
		const struct iovec *iov;
		unsigned int niov;
		int fd = choose_fd(b, io, off, &iov, &niov);

		if (io->guest_write)
			io_uring_prep_readv(sqe, fd, iov, niov, off);
		else
			io_uring_prep_writev(sqe, fd, iov, niov, off);
		io_uring_sqe_set_data64(sqe, (uintptr_t)io | UD_RW);
		if (flush)
			sqe->flags |= IOSQE_IO_LINK;
		if (drain)
			sqe->flags |= IOSQE_IO_DRAIN;
		io->pending++;
		if (flush)
			sqe = io_uring_get_sqe(&b->uring);
	}
	if (flush) {
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data64(sqe, (uintptr_t)io);
		if (drain && !io->niov)
			sqe->flags |= IOSQE_IO_DRAIN;
		io->pending++;
		b->st.fsyncs++;
	}
	b->in_flight++;
	return 0;
}

/* ---- requests ---- */

static void count_op(struct blkback *b, const struct blkif_req *req)
{
	b->st.requests++;
	if (req->indirect)
		b->st.indirect++;
	switch (req->operation == BLKIF_OP_DISCARD ? BLKIF_OP_DISCARD : req->op) {
	case BLKIF_OP_READ:
		b->st.reads++;
		break;
	case BLKIF_OP_WRITE:
		b->st.writes++;
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		b->st.flushes++;
		break;
	case BLKIF_OP_WRITE_BARRIER:
		b->st.barriers++;
		break;
	case BLKIF_OP_DISCARD:
		b->st.discards++;
		break;
	}
}

/*
 * Copy the segments of an indirect request out of its granted pages:
 * the guest may rewrite them at any time, we use only our copy.
 */
static int read_indirect_segs(struct blkback *b, const struct blkif_req *req,
			      struct blkif_seg *out)
{
	uint8_t copy[BLKIF_PAGE_SIZE];
	unsigned int left = req->nr_segs;

	for (unsigned int i = 0; i < req->nr_indirect && left; i++) {
		unsigned int n = left < BLKIF_SEGS_PER_INDIRECT_PAGE ?
					 left : BLKIF_SEGS_PER_INDIRECT_PAGE;
		void *page;

		if (grant_access(b->gt, BACKEND_DOMID, req->indirect_grefs[i],
				 false, &page))
			return -EFAULT;
		memcpy(copy, page, (size_t)n * 8);
		grant_release(b->gt, req->indirect_grefs[i], false);
		blkif_decode_indirect_segs(copy, n,
					   out + i * BLKIF_SEGS_PER_INDIRECT_PAGE);
		left -= n;
	}
	return left ? -EINVAL : 0;
}

static void io_abort(struct blkback *b, struct blk_io *io)
{
	io_release_grants(b, io);
	free(io->bounce);
	free(io);
}

/* Reads, writes, flushes and barriers (with or without data). */
static int start_rw(struct blk_queue *q, const struct blkif_req *req)
{
	struct blkback *b = q->b;
	struct blkif_seg indirect[BLKIF_MAX_INDIRECT_SEGS];
	const struct blkif_seg *seg = req->seg;
	uint64_t nr_sectors;
	struct blk_io *io;

	if (req->indirect) {
		if (read_indirect_segs(b, req, indirect))
			return BLKIF_RSP_ERROR;
		seg = indirect;
	}
	if (blkif_check_segs(seg, req->nr_segs, req->sector, b->sectors,
			     &nr_sectors))
		return BLKIF_RSP_ERROR;
	io = io_new(q, req, req->nr_segs);
	if (!io)
		return BLKIF_RSP_ERROR;
	io->guest_write = req->op == BLKIF_OP_READ;
	if (io_map_segs(b, io, seg, req->nr_segs) ||
	    io_submit(b, io, req->op, req->sector)) {
		io_abort(b, io);
		return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

static int start_discard(struct blk_queue *q, const struct blkif_req *req)
{
	struct blkback *b = q->b;
	struct io_uring_sqe *sqe;
	struct blk_io *io;

	if (!req->discard_sectors) {
		queue_response(q, req->id, req->op, BLKIF_RSP_OKAY);
		return BLKIF_RSP_OKAY;
	}
	io = io_new(q, req, 0);
	if (!io)
		return BLKIF_RSP_ERROR;
	if (b->spec.engine == BLK_ENGINE_SYNC) {
		sync_discard(b, io, req->sector, req->discard_sectors);
		return BLKIF_RSP_OKAY;
	}
	sqe = get_sqes(b, 1);
	if (!sqe) {
		io_abort(b, io);
		return BLKIF_RSP_ERROR;
	}
	/* KEEP_SIZE: a discard never changes the disk's size. */
	io_uring_prep_fallocate(sqe, b->fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(req->sector * BLKIF_SECTOR_SIZE),
				(off_t)(req->discard_sectors * BLKIF_SECTOR_SIZE));
	io_uring_sqe_set_data64(sqe, (uintptr_t)io);
	io->pending = 1;
	b->in_flight++;
	return BLKIF_RSP_OKAY;
}

static void handle_request(struct blk_queue *q, const struct blkif_req *req)
{
	struct blkback *b = q->b;
	struct blkif_limits lim = {
		.disk_sectors = b->sectors,
		.readonly = b->spec.readonly,
		.discard = b->discard,
		.max_indirect_segs = BLKIF_MAX_INDIRECT_SEGS,
	};
	int st;

	count_op(b, req);
	st = blkif_check_request(req, &lim);
	if (st == BLKIF_RSP_OKAY)
		st = req->operation == BLKIF_OP_DISCARD ? start_discard(q, req) :
							   start_rw(q, req);
	if (st != BLKIF_RSP_OKAY)
		queue_response(q, req->id, req->op, (int16_t)st);
}

static void ring_broken(struct blk_queue *q)
{
	struct blkback *b = q->b;

	b->st.broken_rings++;
	if (!b->broken_logged) {
		b->broken_logged = true;
		blk_log(b, "queue %u: the frontend's ring indexes are garbage; closing the device",
			q->index);
	}
	/* Linux's blkfront answers Closing by closing its end. */
	switch_state(b, XenbusStateClosing);
}

/* Wake ourselves: the loop comes back to this queue after the others. */
static void requeue(struct blk_queue *q)
{
	uint64_t one = 1;

	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* The counter is not full in practice; nothing to do. */
	}
}

/*
 * Take everything the ring holds, then submit it all at once. A budget
 * of a few rings' worth keeps one busy (or hostile) frontend from
 * holding the loop: past it we come back later.
 */
static void kick_queue(struct blk_queue *q)
{
	struct blkback *b = q->b;
	unsigned int budget = 4 * q->ring.nr_ents;
	struct blkif_req req;
	int k = 0;

	if (!q->connected || q->ring.broken)
		return;
	for (;;) {
		while (budget && (k = blkif_ring_get_request(&q->ring, &req)) == 1) {
			handle_request(q, &req);
			budget--;
		}
		if (k < 0) {
			ring_broken(q);
			break;
		}
		if (!budget) {
			requeue(q);
			break;
		}
		if (blkif_ring_in_flight(&q->ring) >= q->ring.nr_ents ||
		    !blkif_ring_final_check(&q->ring))
			break;
	}
	submit(b);
	/*
	 * What the kernel finished inside io_uring_enter() (a read from the
	 * page cache) is answered with this push, not one trip through the
	 * event loop later; the CQ eventfd still fires, and reap() then
	 * takes what this left.
	 */
	if (b->uring_ok && io_uring_cq_ready(&b->uring)) {
		complete_cqes(b);
		for (unsigned int i = 0; i < b->nr_queues; i++)
			notify_queue(&b->queues[i]);
		return;
	}
	notify_queue(q);
}

/* ---- event loop glue ---- */

/* vCPU thread (or none: the kernel signals q->efd itself). */
static void queue_notified(void *opaque, uint32_t port)
{
	(void)port;
	requeue(opaque);
}

static void drain_eventfd(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was pending. */
	}
}

static void queue_ready(void *opaque, int fd, uint32_t events)
{
	(void)events;
	drain_eventfd(fd);
	kick_queue(opaque);
}

static void completions_ready(void *opaque, int fd, uint32_t events)
{
	(void)events;
	drain_eventfd(fd);
	reap(opaque);
}

/* ---- connection ---- */

/* Wait for every request in flight: grants stay pinned until then. */
static void drain_in_flight(struct blkback *b)
{
	while (b->in_flight && b->uring_ok) {
		struct io_uring_cqe *cqe;
		int err;

		submit(b);
		err = io_uring_wait_cqe(&b->uring, &cqe);
		if (err && err != -EINTR && err != -EAGAIN) {
			blk_log(b, "cannot wait for I/O (%s); its grants stay pinned",
				strerror(-err));
			return;
		}
		reap(b);
	}
}

static void disconnect_queue(struct blk_queue *q)
{
	struct blkback *b = q->b;

	if (q->port_bound)
		xen_evtchn_close_backend(b->vm, q->port);
	q->port_bound = false;
	for (unsigned int i = 0; i < q->nr_pinned; i++)
		grant_release(b->gt, q->ring_refs[i], true);
	q->nr_pinned = 0;
	q->need_push = false;
	memset(&q->ring, 0, sizeof(q->ring));
}

static void disconnect(struct blkback *b)
{
	unsigned int i;

	for (i = 0; i < b->nr_queues; i++)
		b->queues[i].connected = false;
	drain_in_flight(b);
	for (i = 0; i < b->nr_queues; i++)
		disconnect_queue(&b->queues[i]);
	b->nr_queues = 0;
}

static int parse_protocol(struct blkback *b, enum blkif_abi *abi)
{
	char *proto = fe_read(b, b->fe_path, "protocol");
	int err = 0;

	*abi = BLKIF_ABI_64;
	if (proto && !strcmp(proto, "x86_32-abi"))
		*abi = BLKIF_ABI_32;
	else if (proto && strcmp(proto, "x86_64-abi"))
		err = -EINVAL;
	if (err)
		blk_log(b, "unknown protocol '%s'", proto);
	free(proto);
	return err;
}

static int connect_queue(struct blk_queue *q, const char *dir,
			 unsigned int order, enum blkif_abi abi)
{
	struct blkback *b = q->b;
	void *pages[BLKIF_RING_MAX_PAGES];
	unsigned long port, ref;
	int err;

	if (fe_read_uint(b, dir, "event-channel", UINT32_MAX, 0, &port))
		return -EINVAL;
	for (unsigned int i = 0; i < 1u << order; i++) {
		char key[24];

		if (order)
			snprintf(key, sizeof(key), "ring-ref%u", i);
		else
			snprintf(key, sizeof(key), "ring-ref");
		if (fe_read_uint(b, dir, key, UINT32_MAX, 0, &ref))
			return -EINVAL;
		err = grant_access(b->gt, BACKEND_DOMID, (uint32_t)ref, true,
				   &pages[i]);
		if (err)
			return err;
		q->ring_refs[q->nr_pinned++] = (uint32_t)ref;
	}
	err = blkif_ring_init(&q->ring, pages, 1u << order, abi);
	if (!err)
		err = xen_evtchn_bind_backend(b->vm, (uint32_t)port,
					      queue_notified, q, q->efd);
	if (err)
		return err;
	q->port = (uint32_t)port;
	q->port_bound = true;
	q->connected = true;
	return 0;
}

static int connect_rings(struct blkback *b)
{
	unsigned long nq, order;
	enum blkif_abi abi;
	int err;

	err = parse_protocol(b, &abi);
	if (err)
		return err;
	if (fe_read_uint(b, b->fe_path, "multi-queue-num-queues",
			 BLK_MAX_QUEUES, 1, &nq) == -EINVAL || !nq) {
		blk_log(b, "bad multi-queue-num-queues");
		return -EINVAL;
	}
	if (fe_read_uint(b, b->fe_path, "ring-page-order",
			 BLKIF_RING_MAX_ORDER, 0, &order) == -EINVAL) {
		blk_log(b, "bad ring-page-order");
		return -EINVAL;
	}
	b->nr_queues = (unsigned int)nq;
	for (unsigned int i = 0; i < nq; i++) {
		char dir[XS_PATH_LEN + 32];

		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", b->fe_path);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", b->fe_path, i);
		err = connect_queue(&b->queues[i], dir, (unsigned int)order, abi);
		if (err) {
			blk_log(b, "queue %u: cannot connect the ring (%s)", i,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

static void connect_device(struct blkback *b)
{
	uint64_t bytes;
	int err;

	disconnect(b);
	err = connect_rings(b);
	if (!err && !disk_size(b, &bytes))
		b->sectors = bytes / BLKIF_SECTOR_SIZE;
	if (!err)
		err = write_disk_info(b);
	if (err) {
		disconnect(b);
		be_write(b, "error", "%d connecting the rings", err);
		switch_state(b, XenbusStateClosing);
		return;
	}
	b->broken_logged = false;
	b->st.connects++;
	switch_state(b, XenbusStateConnected);
	/* Requests posted before we looked. */
	for (unsigned int i = 0; i < b->nr_queues; i++)
		kick_queue(&b->queues[i]);
}

/* The XenbusState machine, as Linux's blkback runs it. */
static void frontend_changed(void *opaque, const char *path)
{
	struct blkback *b = opaque;
	unsigned long fe;

	(void)path;
	if (fe_read_uint(b, b->fe_path, "state", 255, XenbusStateUnknown, &fe))
		fe = XenbusStateUnknown;
	switch (fe) {
	case XenbusStateInitialising:
		/* A frontend starting over (reload, kexec): serve it anew. */
		if (b->state != XenbusStateInitWait) {
			disconnect(b);
			switch_state(b, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		/* After a broken ring, wait until the frontend closed. */
		if (b->state == XenbusStateInitWait ||
		    b->state == XenbusStateClosed)
			connect_device(b);
		break;
	case XenbusStateClosing:
		switch_state(b, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		disconnect(b);
		switch_state(b, XenbusStateClosed);
		break;
	default:
		break;
	}
}

/* ---- public ---- */

static int setup_uring(struct blkback *b)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE,
				     .cq_entries = URING_CQ_ENTRIES };
	int err = io_uring_queue_init_params(URING_ENTRIES, &b->uring, &p);

	if (err)
		return err;
	b->uring_ok = true;
	b->cq_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->cq_efd < 0)
		return -errno;
	err = io_uring_register_eventfd(&b->uring, b->cq_efd);
	if (!err)
		err = event_loop_add(b->vm->loop, b->cq_efd, EPOLLIN,
				     completions_ready, b);
	return err;
}

static int setup_queues(struct blkback *b)
{
	for (unsigned int i = 0; i < BLK_MAX_QUEUES; i++) {
		struct blk_queue *q = &b->queues[i];
		int err;

		q->b = b;
		q->index = i;
		q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->efd < 0)
			return -errno;
		err = event_loop_add(b->vm->loop, q->efd, EPOLLIN, queue_ready, q);
		if (err) {
			close(q->efd);
			q->efd = -1;
			return err;
		}
	}
	return 0;
}

static int publish(struct blkback *b)
{
	char devid[16];
	const char *fe_kv[] = { "virtual-device", devid, "device-type", "disk",
				NULL };
	const char *be_kv[] = {
		"params", b->spec.path,
		"type", "file",
		"mode", b->spec.readonly ? "r" : "w",
		"dev", b->spec.vdev,
		"device-type", "disk",
		"removable", "0",
		"bootable", "1",
		"discard-enable", b->discard ? "1" : "0",
		NULL,
	};
	char path[XS_PATH_LEN + 8];
	int err;

	snprintf(devid, sizeof(devid), "%" PRIu32, b->devid);
	err = xs_device_add(b->store, b->domid, BACKEND_DOMID, "vbd", b->devid,
			    fe_kv, be_kv);
	b->state = XenbusStateInitialising;
	if (!err)
		err = write_features(b);
	if (!err)
		err = write_disk_info(b);
	if (!err)
		err = be_write(b, "hotplug-status", "connected");
	if (err)
		return err;
	switch_state(b, XenbusStateInitWait);
	snprintf(path, sizeof(path), "%s/state", b->fe_path);
	err = xenstore_watch(b->store, path, frontend_changed, b);
	b->watching = !err;
	return err;
}

static int attach(struct blkback *b)
{
	int err;

	if (blk_vdev_to_devid(b->spec.vdev, &b->devid)) {
		blk_log(b, "bad vdev");
		return -EINVAL;
	}
	b->gt = vm_grant_table(b->vm);
	if (!b->gt)
		return -ENOMEM;
	b->domid = xen_domid(b->vm);
	snprintf(b->fe_path, sizeof(b->fe_path), "/local/domain/%u/device/vbd/%" PRIu32,
		 b->domid, b->devid);
	snprintf(b->be_path, sizeof(b->be_path),
		 "/local/domain/%u/backend/vbd/%u/%" PRIu32, BACKEND_DOMID,
		 b->domid, b->devid);
	err = open_disk(b);
	if (err) {
		blk_log(b, "cannot open: %s%s", strerror(-err),
			err == -EINVAL && b->spec.cache == BLK_CACHE_NONE ?
				" (no O_DIRECT here? try cache=writeback)" :
			err == -EBUSY ? " (the image is locked: in use by another VMM?)" :
					"");
		return err;
	}
	/* engine=sync: no io_uring at all, not even an idle one. */
	err = b->spec.engine == BLK_ENGINE_SYNC ? 0 : setup_uring(b);
	if (err) {
		blk_log(b, "cannot set up io_uring: %s", strerror(-err));
		return err;
	}
	err = setup_queues(b);
	if (!err)
		err = publish(b);
	if (err)
		blk_log(b, "cannot publish the device: %s", strerror(-err));
	return err;
}

struct blkback *blkback_attach(struct vm *vm, struct xs_store *store,
			       const struct blk_spec *spec)
{
	struct blkback *b;
	int err;

	if (!vm || !store || !spec || !vm->loop || !vm->xen) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->vm = vm;
	b->store = store;
	b->spec = *spec;
	b->fd = b->fd_buffered = b->cq_efd = -1;
	for (unsigned int i = 0; i < BLK_MAX_QUEUES; i++)
		b->queues[i].efd = -1;
	err = attach(b);
	if (err) {
		blkback_detach(b);
		errno = -err;
		return NULL;
	}
	return b;
}

void blkback_detach(struct blkback *b)
{
	if (!b)
		return;
	if (b->watching) {
		char path[XS_PATH_LEN + 8];

		snprintf(path, sizeof(path), "%s/state", b->fe_path);
		xenstore_unwatch(b->store, path, frontend_changed, b);
	}
	disconnect(b);
	if (b->devid && b->state != 0)
		xs_device_remove(b->store, b->domid, BACKEND_DOMID, "vbd",
				 b->devid);
	for (unsigned int i = 0; i < BLK_MAX_QUEUES; i++) {
		if (b->queues[i].efd < 0)
			continue;
		event_loop_del(b->vm->loop, b->queues[i].efd);
		close(b->queues[i].efd);
	}
	if (b->cq_efd >= 0) {
		event_loop_del(b->vm->loop, b->cq_efd);
		close(b->cq_efd);
	}
	if (b->uring_ok)
		io_uring_queue_exit(&b->uring);
	if (b->fd >= 0)
		close(b->fd);
	if (b->fd_buffered >= 0)
		close(b->fd_buffered);
	free(b);
}

int64_t blkback_check_resize(struct blkback *b)
{
	uint64_t bytes, sectors;
	int err = disk_size(b, &bytes);

	if (err)
		return err;
	sectors = bytes / BLKIF_SECTOR_SIZE;
	if (sectors == b->sectors)
		return (int64_t)sectors;
	b->sectors = sectors;
	err = be_write(b, "sectors", "%" PRIu64, sectors);
	/* Connected again: blkfront's cue to read the new capacity. */
	if (!err && b->state == XenbusStateConnected)
		err = be_write(b, "state", "%d", XenbusStateConnected);
	return err ? err : (int64_t)sectors;
}

int blkback_service(struct blkback *b, int wait_ms)
{
	uint64_t before = b->completed;

	for (unsigned int i = 0; i < BLK_MAX_QUEUES; i++) {
		drain_eventfd(b->queues[i].efd);
		kick_queue(&b->queues[i]);
	}
	drain_eventfd(b->cq_efd);
	reap(b);
	if (wait_ms > 0 && b->in_flight) {
		struct __kernel_timespec ts = {
			.tv_sec = wait_ms / 1000,
			.tv_nsec = (long long)(wait_ms % 1000) * 1000000,
		};
		struct io_uring_cqe *cqe;

		submit(b);
		io_uring_wait_cqe_timeout(&b->uring, &cqe, &ts);
		drain_eventfd(b->cq_efd);
		reap(b);
	}
	return (int)(b->completed - before);
}

int blkback_set_dio_align(struct blkback *b, unsigned int mem_align,
			  unsigned int offset_align)
{
	if (b->spec.cache != BLK_CACHE_NONE || mem_align < BLKIF_SECTOR_SIZE ||
	    offset_align < BLKIF_SECTOR_SIZE || (mem_align & (mem_align - 1)) ||
	    (offset_align & (offset_align - 1)) || mem_align > 65536 ||
	    offset_align > 65536)
		return -EINVAL;
	b->dio_mem_align = mem_align;
	b->dio_offset_align = offset_align;
	return 0;
}

void blkback_get_stats(const struct blkback *b, struct blkback_stats *st)
{
	*st = b->st;
}

int blkback_state(const struct blkback *b)
{
	return b->state;
}

uint64_t blkback_sectors(const struct blkback *b)
{
	return b->sectors;
}

uint32_t blkback_devid(const struct blkback *b)
{
	return b->devid;
}
