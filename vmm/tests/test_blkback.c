// SPDX-License-Identifier: GPL-2.0
/*
 * The block backend end to end with a fake guest: fake RAM, the real
 * grant table, event channels and xenstore, and a temporary image file.
 * The test plays xen-blkfront: it grants pages, builds rings with Xen's
 * own ring.h macros, negotiates through xenstore, notifies only when the
 * ring says so, and checks the responses, its memory and the image.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>

#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/blkif.h>
#include <xen/io/xenbus.h>

#include "blkback.h"
#include "blkif_ring.h"
#include "event_loop.h"
#include "fake_vm.h"
#include "grant.h"
#include "ktap.h"
#include "xenstore/xenstore.h"

#define EVTCHN_HCALL	32	/* __HYPERVISOR_event_channel_op */
#define DOMID		1
#define DISK_SECTORS	8192	/* 4 MiB */
#define FE_MAX_QUEUES	2

/* The i386 request and response (see test_blkif_ring.c). */
struct req32 {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint64_t id, sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((packed, aligned(4)));

struct rsp32 {
	uint64_t id;
	uint8_t operation, pad;
	int16_t status;
} __attribute__((packed, aligned(4)));

DEFINE_RING_TYPES(blkif32, struct req32, struct rsp32);

struct fe_queue {
	uint64_t ring_gpa;
	uint32_t refs[BLKIF_RING_MAX_PAGES];
	uint32_t port;
	blkif_front_ring_t r64;
	blkif32_front_ring_t r32;
};

/* One fake guest with one disk. */
struct fe {
	struct fake_vm *f;
	struct event_loop *loop;
	struct xs_store *store;
	struct grant_table *gt;
	struct blkback *b;
	struct blk_spec spec;
	char img[64];
	char fe_path[64], be_path[64];
	uint32_t devid;
	uint32_t next_ref;
	enum blkif_abi abi;
	unsigned int nq, order;
	struct fe_queue q[FE_MAX_QUEUES];
};

/* ---- the fake guest ---- */

static uint32_t fe_grant(struct fe *e, uint64_t gpa, bool ro)
{
	uint32_t ref = e->next_ref++;
	struct grant_entry_v1 *g =
		(struct grant_entry_v1 *)grant_frames_base(e->gt, false) + ref;

	g->domid = 0;
	g->frame = (uint32_t)(gpa >> 12);
	__atomic_store_n(&g->flags,
			 (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
	return ref;
}

static uint16_t grant_flags(struct fe *e, uint32_t ref)
{
	return ((struct grant_entry_v1 *)grant_frames_base(e->gt, false))[ref].flags;
}

static uint64_t fe_page(struct fe *e)
{
	return fake_alloc(e->f, 4096, 4096);
}

static uint8_t *ptr(struct fe *e, uint64_t gpa)
{
	return fake_ptr(e->f, gpa);
}

static int64_t guest_send(struct fe *e, uint32_t port)
{
	uint64_t gpa = fake_alloc(e->f, 8, 8);
	struct evtchn_send s = { .port = port };

	memcpy(ptr(e, gpa), &s, sizeof(s));
	return fake_hcall(e->f, 0, EVTCHN_HCALL, EVTCHNOP_send, gpa, 0);
}

static int alloc_unbound(struct fe *e)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };
	int64_t r = fake_op(e->f, 0, EVTCHN_HCALL, EVTCHNOP_alloc_unbound, &a,
			    sizeof(a));

	return r ? (int)r : (int)a.port;
}

static void fe_write(struct fe *e, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fe_write(struct fe *e, const char *key, const char *fmt, ...)
{
	char path[128], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", e->fe_path, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	xenstore_write(e->store, path, val);
}

/* A backend node as a number (-1 if absent). */
static long be_read(struct fe *e, const char *key)
{
	char path[128], *v = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", e->be_path, key);
	if (xenstore_read(e->store, path, &v, NULL))
		return -1;
	n = strtol(v, NULL, 10);
	free(v);
	return n;
}

static bool be_is(struct fe *e, const char *key, const char *want)
{
	char path[128], *v = NULL;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", e->be_path, key);
	if (xenstore_read(e->store, path, &v, NULL))
		return false;
	ok = !strcmp(v, want);
	free(v);
	return ok;
}

static int make_image(struct fe *e, uint64_t sectors)
{
	int fd;

	snprintf(e->img, sizeof(e->img), "/tmp/blkback-XXXXXX");
	fd = mkstemp(e->img);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)(sectors * 512))) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static struct fe *fe_new_engine(bool ro, enum blk_cache cache,
				enum blk_engine engine)
{
	struct xs_domain_info info = { "blk", 16384, 1 };
	struct fe *e = calloc(1, sizeof(*e));
	char err[128];

	e->f = fake_vm_new(1, 16 << 20);
	e->loop = event_loop_create(&e->f->vm);
	e->f->vm.loop = e->loop;
	e->store = xs_store_new();
	xs_domain_introduce(e->store, DOMID, &info);
	e->gt = vm_grant_table(&e->f->vm);
	grant_grow(e->gt, 4);
	e->next_ref = 8;	/* the first 8 are reserved */
	if (make_image(e, DISK_SECTORS)) {
		free(e);
		return NULL;
	}
	blk_parse_spec(e->img, &e->spec, err, sizeof(err));
	e->spec.readonly = ro;
	e->spec.cache = cache;
	e->spec.engine = engine;
	blk_spec_default_vdev(&e->spec, 0);
	blk_vdev_to_devid(e->spec.vdev, &e->devid);
	snprintf(e->fe_path, sizeof(e->fe_path), "/local/domain/%d/device/vbd/%u",
		 DOMID, e->devid);
	snprintf(e->be_path, sizeof(e->be_path),
		 "/local/domain/0/backend/vbd/%d/%u", DOMID, e->devid);
	e->b = blkback_attach(&e->f->vm, e->store, &e->spec);
	return e;
}

static struct fe *fe_new(bool ro, enum blk_cache cache)
{
	return fe_new_engine(ro, cache, BLK_ENGINE_URING);
}

static void fe_free(struct fe *e)
{
	if (!e)
		return;
	blkback_detach(e->b);
	xs_store_free(e->store);
	vm_grant_table_free(&e->f->vm);
	event_loop_destroy(e->loop);
	e->f->vm.loop = NULL;
	fake_vm_free(e->f);
	unlink(e->img);
	free(e);
}

/* Set up @nq rings of 2^@order pages and say Initialised. */
static void fe_connect(struct fe *e, enum blkif_abi abi, unsigned int nq,
		       unsigned int order)
{
	e->abi = abi;
	e->nq = nq;
	e->order = order;
	for (unsigned int i = 0; i < nq; i++) {
		struct fe_queue *q = &e->q[i];
		size_t size = (size_t)4096 << order;
		char dir[32] = "";

		q->ring_gpa = fake_alloc(e->f, size, 4096);
		if (abi == BLKIF_ABI_64) {
			blkif_sring_t *s = (blkif_sring_t *)ptr(e, q->ring_gpa);

			SHARED_RING_INIT(s);
			FRONT_RING_INIT(&q->r64, s, size);
		} else {
			blkif32_sring_t *s = (blkif32_sring_t *)ptr(e, q->ring_gpa);

			SHARED_RING_INIT(s);
			FRONT_RING_INIT(&q->r32, s, size);
		}
		for (unsigned int p = 0; p < 1u << order; p++)
			q->refs[p] = fe_grant(e, q->ring_gpa + p * 4096, false);
		q->port = (uint32_t)alloc_unbound(e);
		if (nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", i);
		if (order) {
			for (unsigned int p = 0; p < 1u << order; p++) {
				char key[48];

				snprintf(key, sizeof(key), "%sring-ref%u", dir, p);
				fe_write(e, key, "%u", q->refs[p]);
			}
		} else {
			char key[48];

			snprintf(key, sizeof(key), "%sring-ref", dir);
			fe_write(e, key, "%u", q->refs[0]);
		}
		{
			char key[48];

			snprintf(key, sizeof(key), "%sevent-channel", dir);
			fe_write(e, key, "%u", q->port);
		}
	}
	if (order)
		fe_write(e, "ring-page-order", "%u", order);
	if (nq > 1)
		fe_write(e, "multi-queue-num-queues", "%u", nq);
	fe_write(e, "protocol", "%s", abi == BLKIF_ABI_64 ? "x86_64-abi" :
							     "x86_32-abi");
	fe_write(e, "state", "%d", XenbusStateInitialised);
}

struct seg {
	uint32_t ref;
	uint8_t first, last;
};

static void fe_post(struct fe *e, unsigned int qi, uint8_t op, uint64_t id,
		    uint64_t sector, const struct seg *segs, unsigned int n)
{
	struct fe_queue *q = &e->q[qi];

	if (e->abi == BLKIF_ABI_64) {
		blkif_request_t *r = RING_GET_REQUEST(&q->r64, q->r64.req_prod_pvt);

		memset(r, 0, sizeof(*r));
		r->operation = op;
		r->nr_segments = (uint8_t)n;
		r->id = id;
		r->sector_number = sector;
		for (unsigned int i = 0; i < n && i < 11; i++)
			r->seg[i] = (struct blkif_request_segment){
				segs[i].ref, segs[i].first, segs[i].last };
		q->r64.req_prod_pvt++;
	} else {
		struct req32 *r = RING_GET_REQUEST(&q->r32, q->r32.req_prod_pvt);

		memset(r, 0, sizeof(*r));
		r->operation = op;
		r->nr_segments = (uint8_t)n;
		r->id = id;
		r->sector_number = sector;
		for (unsigned int i = 0; i < n && i < 11; i++)
			r->seg[i] = (struct blkif_request_segment){
				segs[i].ref, segs[i].first, segs[i].last };
		q->r32.req_prod_pvt++;
	}
}

/* A raw 64-bit slot (indirect, discard): @len bytes of @req. */
static void fe_post_raw(struct fe *e, unsigned int qi, const void *req,
			size_t len)
{
	struct fe_queue *q = &e->q[qi];
	blkif_request_t *r = RING_GET_REQUEST(&q->r64, q->r64.req_prod_pvt);

	memset(r, 0, sizeof(*r));
	memcpy(r, req, len);
	q->r64.req_prod_pvt++;
}

/* Publish and notify only when the backend asked for it (req_event). */
static void fe_kick(struct fe *e, unsigned int qi)
{
	struct fe_queue *q = &e->q[qi];
	int notify;

	if (e->abi == BLKIF_ABI_64)
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->r64, notify);
	else
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->r32, notify);
	if (notify)
		guest_send(e, q->port);
}

static unsigned int fe_unconsumed(struct fe *e, unsigned int qi)
{
	struct fe_queue *q = &e->q[qi];

	return e->abi == BLKIF_ABI_64 ? RING_HAS_UNCONSUMED_RESPONSES(&q->r64) :
					RING_HAS_UNCONSUMED_RESPONSES(&q->r32);
}

/* Serve until @n responses wait on queue @qi (or give up after ~5 s). */
static bool fe_wait(struct fe *e, unsigned int qi, unsigned int n)
{
	for (int i = 0; i < 500 && fe_unconsumed(e, qi) < n; i++)
		blkback_service(e->b, 10);
	return fe_unconsumed(e, qi) >= n;
}

static bool fe_response_op(struct fe *e, unsigned int qi, uint64_t *id,
			   int16_t *status, uint8_t *op)
{
	struct fe_queue *q = &e->q[qi];

	if (!fe_unconsumed(e, qi))
		return false;
	if (e->abi == BLKIF_ABI_64) {
		blkif_response_t *r = RING_GET_RESPONSE(&q->r64, q->r64.rsp_cons);

		*id = r->id;
		*status = r->status;
		*op = r->operation;
		q->r64.rsp_cons++;
	} else {
		struct rsp32 *r = RING_GET_RESPONSE(&q->r32, q->r32.rsp_cons);

		*id = r->id;
		*status = r->status;
		*op = r->operation;
		q->r32.rsp_cons++;
	}
	return true;
}

static bool fe_response(struct fe *e, unsigned int qi, uint64_t *id,
			int16_t *status)
{
	uint8_t op;

	return fe_response_op(e, qi, id, status, &op);
}

/* Post one request, kick, wait, return its status (or 99: no answer). */
static int16_t fe_do(struct fe *e, unsigned int qi, uint8_t op, uint64_t id,
		     uint64_t sector, const struct seg *segs, unsigned int n)
{
	uint64_t rid = 0;
	int16_t st = 99;
	uint8_t rop = 0;

	fe_post(e, qi, op, id, sector, segs, n);
	fe_kick(e, qi);
	/* blkfront drops the device on a response with another id or op. */
	if (fe_wait(e, qi, 1) && fe_response_op(e, qi, &rid, &st, &rop) &&
	    (rid != id || rop != op))
		st = 98;
	return st;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static bool file_has(struct fe *e, uint64_t off, const void *want, size_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(e->img, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len &&
		  !memcmp(buf, want, len);

	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

/* ---- the tests ---- */

static void test_negotiation(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	KTAP_EXPECT(t, e->devid == 51712);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateInitWait);
	KTAP_EXPECT(t, be_read(e, "sectors") == DISK_SECTORS);
	KTAP_EXPECT(t, be_read(e, "info") == 0);
	KTAP_EXPECT(t, be_read(e, "sector-size") == 512);
	KTAP_EXPECT(t, be_read(e, "physical-sector-size") >= 512);
	KTAP_EXPECT(t, be_read(e, "feature-flush-cache") == 1);
	KTAP_EXPECT(t, be_read(e, "feature-barrier") == 1);
	KTAP_EXPECT(t, be_read(e, "feature-discard") == 1);
	KTAP_EXPECT(t, be_read(e, "discard-granularity") >= 512);
	KTAP_EXPECT(t, be_read(e, "discard-alignment") == 0);
	KTAP_EXPECT(t, be_read(e, "discard-secure") == 0);
	KTAP_EXPECT(t, be_read(e, "feature-persistent") == 0);
	KTAP_EXPECT(t, be_read(e, "feature-max-indirect-segments") == 256);
	KTAP_EXPECT(t, be_read(e, "multi-queue-max-queues") == BLK_MAX_QUEUES);
	KTAP_EXPECT(t, be_read(e, "max-ring-page-order") == 4);
	KTAP_EXPECT(t, be_is(e, "mode", "w") && be_is(e, "dev", "xvda"));
	KTAP_EXPECT(t, be_is(e, "frontend", e->fe_path));
	{
		char path[96], *v = NULL;

		snprintf(path, sizeof(path), "%s/virtual-device", e->fe_path);
		KTAP_EXPECT(t, !xenstore_read(e->store, path, &v, NULL) &&
				       !strcmp(v, "51712"));
		free(v);
		snprintf(path, sizeof(path), "%s/backend", e->fe_path);
		KTAP_EXPECT(t, !xenstore_read(e->store, path, &v, NULL) &&
				       !strcmp(v, e->be_path));
		free(v);
	}
	/* The image is ours: a second writer (or reader) is refused. */
	{
		struct blk_spec again = e->spec;

		blk_spec_default_vdev(&again, 1);
		errno = 0;
		KTAP_EXPECT(t, !blkback_attach(&e->f->vm, e->store, &again) &&
				       errno == EBUSY);
		again.readonly = true;
		KTAP_EXPECT(t, !blkback_attach(&e->f->vm, e->store, &again) &&
				       errno == EBUSY);
	}
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	KTAP_EXPECT(t, blkback_state(e->b) == XenbusStateConnected);
	/* The frontend's Connected changes nothing more. */
	fe_write(e, "state", "%d", XenbusStateConnected);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
out:
	fe_free(e);
	ktap_case_end(t, "xenstore: nodes, features, InitWait -> Connected");
}

/* Write a pattern through three segments, flush, read it back. */
static void write_flush_read(struct ktap *t, struct fe *e, unsigned int qi,
			     uint64_t sector)
{
	uint64_t w[3], r[3];
	struct seg ws[3], rs[3];
	struct blkback_stats st0, st1;
	uint8_t want[(8 + 3 + 8) * 512];

	for (int i = 0; i < 3; i++) {
		w[i] = fe_page(e);
		r[i] = fe_page(e);
		fill(ptr(e, w[i]), 4096, (uint32_t)(sector + i));
	}
	/* A whole page, a part of one, a whole page: 8 + 3 + 8 sectors. */
	ws[0] = (struct seg){ fe_grant(e, w[0], true), 0, 7 };
	ws[1] = (struct seg){ fe_grant(e, w[1], true), 2, 4 };
	ws[2] = (struct seg){ fe_grant(e, w[2], true), 0, 7 };
	memcpy(want, ptr(e, w[0]), 4096);
	memcpy(want + 4096, ptr(e, w[1]) + 2 * 512, 3 * 512);
	memcpy(want + 4096 + 1536, ptr(e, w[2]), 4096);
	blkback_get_stats(e->b, &st0);
	KTAP_EXPECT(t, fe_do(e, qi, BLKIF_OP_WRITE, 10, sector, ws, 3) ==
			       BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, fe_do(e, qi, BLKIF_OP_FLUSH_DISKCACHE, 11, 0, NULL, 0) ==
			       BLKIF_RSP_OKAY);
	blkback_get_stats(e->b, &st1);
	KTAP_EXPECT(t, st1.fsyncs == st0.fsyncs + 1);
	KTAP_EXPECT(t, file_has(e, sector * 512, want, sizeof(want)));

	rs[0] = (struct seg){ fe_grant(e, r[0], false), 0, 7 };
	rs[1] = (struct seg){ fe_grant(e, r[1], false), 5, 7 };
	rs[2] = (struct seg){ fe_grant(e, r[2], false), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, qi, BLKIF_OP_READ, 12, sector, rs, 3) ==
			       BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, !memcmp(ptr(e, r[0]), want, 4096));
	KTAP_EXPECT(t, !memcmp(ptr(e, r[1]) + 5 * 512, want + 4096, 1536));
	KTAP_EXPECT(t, !memcmp(ptr(e, r[2]), want + 4096 + 1536, 4096));
	/* Pins released once the requests completed. */
	for (int i = 0; i < 3; i++)
		KTAP_EXPECT(t, !(grant_flags(e, ws[i].ref) & (GTF_reading | GTF_writing)) &&
				       !(grant_flags(e, rs[i].ref) &
					 (GTF_reading | GTF_writing)));
}

static void test_write_flush_read(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	struct blkback_stats st;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	write_flush_read(t, e, 0, 100);
	write_flush_read(t, e, 0, DISK_SECTORS - 19);	/* the last sectors */
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.writes == 2 && st.reads == 2 && st.flushes == 2 &&
			       st.errors == 0);
	/* The guest was told about each completion batch. */
	KTAP_EXPECT(t, st.notifies >= 1 &&
			       fake_count(e->f, FAKE_DELIVER_PORT) >= st.notifies);
out:
	fe_free(e);
	ktap_case_end(t, "write, flush, read back: guest memory and image bytes");
}

static void test_cache_none(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_NONE);

	if (!e || !e->b) {
		printf("# O_DIRECT not available on /tmp here: skipped\n");
		fe_free(e);
		ktap_case_end(t, "cache=none (O_DIRECT) # SKIP");
		return;
	}
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	write_flush_read(t, e, 0, 8);
	write_flush_read(t, e, 0, 3);	/* not 4K-aligned on the disk */
	fe_free(e);
	ktap_case_end(t, "cache=none (O_DIRECT): write, flush, read back");
}

/*
 * A disk that wants more O_DIRECT alignment than the guest's sectors give:
 * misaligned buffers go through a bounce buffer (both ways), misaligned
 * offsets through the buffered descriptor, aligned I/O straight through.
 */
static void test_dio_alignment(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_NONE);
	struct blkback_stats st0, st1;
	uint64_t w, r;
	struct seg s;

	if (!e || !e->b) {
		printf("# O_DIRECT not available on /tmp here: skipped\n");
		fe_free(e);
		ktap_case_end(t, "O_DIRECT alignment: bounce and fallback # SKIP");
		return;
	}
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	w = fe_page(e);
	r = fe_page(e);
	fill(ptr(e, w), 4096, 77);
	KTAP_EXPECT(t, blkback_set_dio_align(e->b, 4096, 512) == 0);
	KTAP_EXPECT(t, blkback_set_dio_align(e->b, 1000, 512) == -EINVAL);

	/* Sectors 2..5 of a page: 1 KiB into it, not 4 KiB-aligned. */
	blkback_get_stats(e->b, &st0);
	s = (struct seg){ fe_grant(e, w, true), 2, 5 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 1, 40, &s, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 40 * 512, ptr(e, w) + 1024, 2048));
	s = (struct seg){ fe_grant(e, r, false), 4, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 2, 40, &s, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, !memcmp(ptr(e, r) + 2048, ptr(e, w) + 1024, 2048));
	blkback_get_stats(e->b, &st1);
	KTAP_EXPECT(t, st1.bounced == st0.bounced + 2);

	/* A whole page at an aligned offset needs no bounce. */
	s = (struct seg){ fe_grant(e, w, true), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 3, 64, &s, 1) == BLKIF_RSP_OKAY);
	blkback_get_stats(e->b, &st0);
	KTAP_EXPECT(t, st0.bounced == st1.bounced);
	KTAP_EXPECT(t, file_has(e, 64 * 512, ptr(e, w), 4096));

	/* 4 KiB offset alignment: sector 3 goes the buffered way. */
	KTAP_EXPECT(t, blkback_set_dio_align(e->b, 512, 4096) == 0);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 4, 3, &s, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 5, 0, NULL, 0) ==
			       BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 3 * 512, ptr(e, w), 4096));
	memset(ptr(e, r), 0, 4096);
	s = (struct seg){ fe_grant(e, r, false), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 6, 3, &s, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, !memcmp(ptr(e, r), ptr(e, w), 4096));
	fe_free(e);
	ktap_case_end(t, "O_DIRECT alignment: bounce and fallback");
}

static void test_abi32(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_32, 1, 0);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	write_flush_read(t, e, 0, 300);
out:
	fe_free(e);
	ktap_case_end(t, "x86_32-abi frontend");
}

static void test_multiqueue(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	struct blkback_stats st;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 2, 2);	/* 2 queues of 4 pages */
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	write_flush_read(t, e, 0, 1000);
	write_flush_read(t, e, 1, 2000);
	/* Fill a 4-page ring (128 slots) to the brim in one go. */
	{
		uint64_t page = fe_page(e);
		uint32_t ref = fe_grant(e, page, false);
		struct seg s = { ref, 0, 7 };
		unsigned int n = RING_SIZE(&e->q[1].r64), ok = 0;
		uint64_t id;
		int16_t status;

		KTAP_EXPECT(t, n == 128);
		for (unsigned int i = 0; i < n; i++)
			fe_post(e, 1, BLKIF_OP_READ, 500 + i, i * 8, &s, 1);
		fe_kick(e, 1);
		KTAP_EXPECT(t, fe_wait(e, 1, n));
		while (fe_response(e, 1, &id, &status))
			ok += status == BLKIF_RSP_OKAY && id >= 500 && id < 500 + n;
		KTAP_EXPECT(t, ok == n);
	}
	blkback_get_stats(e->b, &st);
	/* One submit per drain: far fewer than requests. */
	KTAP_EXPECT(t, st.submits < st.requests / 4);
out:
	fe_free(e);
	ktap_case_end(t, "multi-queue, multi-page rings, a full ring at once");
}

static void test_indirect(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	enum { NSEG = 40 };
	struct blkif_request_indirect req = { 0 };
	uint64_t data[NSEG], back[NSEG], ind;
	uint8_t op;
	uint8_t *want = malloc(NSEG * 4096);
	struct blkif_request_segment *segs;
	uint64_t id;
	int16_t st;
	bool same = true;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	ind = fe_page(e);
	segs = (struct blkif_request_segment *)ptr(e, ind);
	for (int i = 0; i < NSEG; i++) {
		data[i] = fe_page(e);
		fill(ptr(e, data[i]), 4096, 1000u + i);
		memcpy(want + i * 4096, ptr(e, data[i]), 4096);
		segs[i] = (struct blkif_request_segment){
			fe_grant(e, data[i], true), 0, 7 };
	}
	req.operation = BLKIF_OP_INDIRECT;
	req.indirect_op = BLKIF_OP_WRITE;
	req.nr_segments = NSEG;
	req.id = 77;
	req.sector_number = 4000;
	req.indirect_grefs[0] = fe_grant(e, ind, true);
	fe_post_raw(e, 0, &req, sizeof(req));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response_op(e, 0, &id, &st, &op) &&
			       id == 77 && st == BLKIF_RSP_OKAY &&
			       op == BLKIF_OP_WRITE);
	KTAP_EXPECT(t, file_has(e, 4000 * 512, want, NSEG * 4096));

	for (int i = 0; i < NSEG; i++) {
		back[i] = fe_page(e);
		segs[i] = (struct blkif_request_segment){
			fe_grant(e, back[i], false), 0, 7 };
	}
	req.indirect_op = BLKIF_OP_READ;
	req.id = 78;
	fe_post_raw(e, 0, &req, sizeof(req));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response_op(e, 0, &id, &st, &op) &&
			       id == 78 && st == BLKIF_RSP_OKAY &&
			       op == BLKIF_OP_READ);
	for (int i = 0; i < NSEG; i++)
		same &= !memcmp(ptr(e, back[i]), want + i * 4096, 4096);
	KTAP_EXPECT(t, same);

	/* More segments than advertised, and an ungranted indirect page. */
	req.nr_segments = 257;
	req.id = 79;
	fe_post_raw(e, 0, &req, sizeof(req));
	req.nr_segments = 8;
	req.id = 80;
	req.indirect_grefs[0] = 3000;
	fe_post_raw(e, 0, &req, sizeof(req));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 2));
	KTAP_EXPECT(t, fe_response_op(e, 0, &id, &st, &op) && id == 79 &&
			       st == BLKIF_RSP_ERROR && op == BLKIF_OP_READ);
	KTAP_EXPECT(t, fe_response(e, 0, &id, &st) && id == 80 &&
			       st == BLKIF_RSP_ERROR);
out:
	free(want);
	fe_free(e);
	ktap_case_end(t, "indirect descriptors: write, read back, refused");
}

static void test_readonly(struct ktap *t)
{
	struct fe *e = fe_new(true, BLK_CACHE_WRITEBACK);
	uint64_t page;
	struct seg s;
	uint8_t zero[4096] = { 0 };
	struct blkif_request_discard d = { .operation = BLKIF_OP_DISCARD,
					   .id = 5, .nr_sectors = 8 };
	uint64_t id;
	int16_t st;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	KTAP_EXPECT(t, be_read(e, "info") == VDISK_READONLY);
	KTAP_EXPECT(t, be_is(e, "mode", "r"));
	KTAP_EXPECT(t, be_read(e, "feature-discard") == 0);
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	page = fe_page(e);
	fill(ptr(e, page), 4096, 9);
	s = (struct seg){ fe_grant(e, page, false), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 1, 0, &s, 1) == BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE_BARRIER, 2, 0, &s, 1) ==
			       BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 3, 0, &s, 1) ==
			       BLKIF_RSP_ERROR);
	fe_post_raw(e, 0, &d, sizeof(d));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response(e, 0, &id, &st) &&
			       id == 5 && st != BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 0, zero, sizeof(zero)));
	/* Reads and a bare flush still work. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 4, 0, &s, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, !memcmp(ptr(e, page), zero, 4096));
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 6, 0, NULL, 0) ==
			       BLKIF_RSP_OKAY);
out:
	fe_free(e);
	ktap_case_end(t, "read-only disk refuses every write");
}

static void test_hostile(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	uint64_t page, ropage;
	struct seg good, s;
	struct blkback_stats st;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	page = fe_page(e);
	ropage = fe_page(e);
	good = (struct seg){ fe_grant(e, page, false), 0, 7 };
	/* Never granted, beyond the table, revoked. */
	s = (struct seg){ 2000, 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 1, 0, &s, 1) == BLKIF_RSP_ERROR);
	s.ref = 1u << 30;
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 2, 0, &s, 1) == BLKIF_RSP_ERROR);
	/* A read into a read-only grant would write guest memory. */
	s = (struct seg){ fe_grant(e, ropage, true), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 3, 0, &s, 1) == BLKIF_RSP_ERROR);
	/* Overlong segments. */
	s = (struct seg){ good.ref, 0, 8 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 4, 0, &s, 1) == BLKIF_RSP_ERROR);
	s = (struct seg){ good.ref, 5, 4 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 5, 0, &s, 1) == BLKIF_RSP_ERROR);
	s = (struct seg){ good.ref, 200, 255 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 6, 0, &s, 1) == BLKIF_RSP_ERROR);
	/* Sectors off the end, and a wrapping sector number. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 7, DISK_SECTORS - 7, &good, 1) ==
			       BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 8, UINT64_MAX - 3, &good, 1) ==
			       BLKIF_RSP_ERROR);
	/* No segments, too many, an unknown operation. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 9, 0, &good, 0) == BLKIF_RSP_ERROR);
	{
		struct seg many[11];

		for (int i = 0; i < 11; i++)
			many[i] = good;
		fe_post(e, 0, BLKIF_OP_READ, 10, 0, many, 11);
		/* nr_segments 12 with 11 segment slots. */
		RING_GET_REQUEST(&e->q[0].r64, e->q[0].r64.req_prod_pvt - 1)->nr_segments = 12;
		fe_kick(e, 0);
		{
			uint64_t id;
			int16_t status;

			KTAP_EXPECT(t, fe_wait(e, 0, 1) &&
					       fe_response(e, 0, &id, &status) &&
					       id == 10 && status == BLKIF_RSP_ERROR);
		}
	}
	KTAP_EXPECT(t, fe_do(e, 0, 42, 11, 0, &good, 1) == BLKIF_RSP_EOPNOTSUPP);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_RESERVED_1, 12, 0, &good, 1) ==
			       BLKIF_RSP_EOPNOTSUPP);
	/* ... and good requests are still served. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 13, 0, &good, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 14, DISK_SECTORS - 8, &good, 1) ==
			       BLKIF_RSP_OKAY);
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.errors == 10 && st.unsupported == 2);
	KTAP_EXPECT(t, !(grant_flags(e, good.ref) & (GTF_reading | GTF_writing)));
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
out:
	fe_free(e);
	ktap_case_end(t, "hostile requests refused, good ones still served");
}

static void test_broken_ring_and_reconnect(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	blkif_sring_t *s;
	struct blkback_stats st;
	uint64_t page;
	struct seg good;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	page = fe_page(e);
	good = (struct seg){ fe_grant(e, page, false), 0, 7 };
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 1, 0, &good, 1) == BLKIF_RSP_OKAY);
	/* Garbage: a producer 1000 requests ahead. */
	s = e->q[0].r64.sring;
	s->req_prod += 1000;
	guest_send(e, e->q[0].port);
	for (int i = 0; i < 5; i++)
		blkback_service(e->b, 10);
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.broken_rings == 1);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateClosing);
	/* More notifications: nothing is read from the broken ring. */
	guest_send(e, e->q[0].port);
	blkback_service(e->b, 10);
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.broken_rings == 1 && st.requests == 1);
	/* The frontend's Connected does not revive it. */
	fe_write(e, "state", "%d", XenbusStateConnected);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateClosing);

	/* The reset dance Linux does (xenbus_reset_state), then a new ring. */
	fe_write(e, "state", "%d", XenbusStateClosing);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateClosing);
	fe_write(e, "state", "%d", XenbusStateClosed);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateClosed);
	fe_write(e, "state", "%d", XenbusStateInitialising);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateInitWait);
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	fill(ptr(e, page), 4096, 3);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 2, 16, &good, 1) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 16 * 512, ptr(e, page), 4096));

	/* A frontend that starts over without closing (kexec, reload). */
	fe_write(e, "state", "%d", XenbusStateInitialising);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateInitWait);
	fe_connect(e, BLKIF_ABI_32, 1, 0);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 3, 16, &good, 1) == BLKIF_RSP_OKAY);
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.connects == 3);
	/* The old rings' pages are no longer pinned. */
	KTAP_EXPECT(t, !(grant_flags(e, 8) & (GTF_reading | GTF_writing)));
out:
	fe_free(e);
	ktap_case_end(t, "garbage indexes close the device; reset and reconnect");
}

static void test_discard_barrier_resize(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	struct blkif_request_discard d = { .operation = BLKIF_OP_DISCARD,
					   .id = 9, .sector_number = 64,
					   .nr_sectors = 16 };
	uint8_t zero[8192] = { 0 };
	uint64_t page, id;
	struct seg s;
	int16_t st;
	struct stat sb;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	page = fe_page(e);
	fill(ptr(e, page), 4096, 5);
	s = (struct seg){ fe_grant(e, page, true), 0, 7 };
	/* A barrier with data: written and durable when answered. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE_BARRIER, 1, 64, &s, 1) ==
			       BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 2, 72, &s, 1) ==
			       BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 64 * 512, ptr(e, page), 4096));
	KTAP_EXPECT(t, file_has(e, 72 * 512, ptr(e, page), 4096));
	fe_post_raw(e, 0, &d, sizeof(d));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response(e, 0, &id, &st) &&
			       id == 9 && st == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 64 * 512, zero, sizeof(zero)));
	KTAP_EXPECT(t, !stat(e->img, &sb) && sb.st_size == DISK_SECTORS * 512);
	/* Discard off the end. */
	d.sector_number = DISK_SECTORS - 4;
	d.id = 10;
	fe_post_raw(e, 0, &d, sizeof(d));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response(e, 0, &id, &st) &&
			       id == 10 && st == BLKIF_RSP_ERROR);

	/* Grow the image: sectors rewritten, state Connected again. */
	KTAP_EXPECT(t, !truncate(e->img, 2 * DISK_SECTORS * 512));
	KTAP_EXPECT(t, blkback_check_resize(e->b) == 2 * DISK_SECTORS);
	KTAP_EXPECT(t, be_read(e, "sectors") == 2 * DISK_SECTORS);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 3, 2 * DISK_SECTORS - 8, &s, 1) ==
			       BLKIF_RSP_ERROR);	/* read-only grant */
	s.ref = fe_grant(e, page, false);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 4, 2 * DISK_SECTORS - 8, &s, 1) ==
			       BLKIF_RSP_OKAY);
out:
	fe_free(e);
	ktap_case_end(t, "barrier, FUA-style flush, discard, resize");
}

/*
 * engine=sync, the bench's baseline: the same requests get the same
 * answers without io_uring, several posted at once are answered in ring
 * order, bad ones are refused and the ring goes on.
 */
static void test_sync_engine(struct ktap *t)
{
	struct fe *e = fe_new_engine(false, BLK_CACHE_WRITEBACK, BLK_ENGINE_SYNC);
	struct blkif_request_discard d = { .operation = BLKIF_OP_DISCARD,
					   .id = 40, .sector_number = 200,
					   .nr_sectors = 8 };
	uint8_t zero[4096] = { 0 };
	struct blkback_stats st;
	uint64_t page[3], id;
	struct seg s[3];
	int16_t status;
	bool in_order = true;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	write_flush_read(t, e, 0, 100);
	write_flush_read(t, e, 0, DISK_SECTORS - 19);
	/* Three writes and a barrier in one kick. */
	for (int i = 0; i < 3; i++) {
		page[i] = fe_page(e);
		fill(ptr(e, page[i]), 4096, 50u + i);
		s[i] = (struct seg){ fe_grant(e, page[i], true), 0, 7 };
		fe_post(e, 0, BLKIF_OP_WRITE, 30 + i, 200 + 8 * i, &s[i], 1);
	}
	fe_post(e, 0, BLKIF_OP_WRITE_BARRIER, 33, 0, NULL, 0);
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 4));
	for (uint64_t want = 30; want < 34; want++)
		in_order &= fe_response(e, 0, &id, &status) && id == want &&
			    status == BLKIF_RSP_OKAY;
	KTAP_EXPECT(t, in_order);
	for (int i = 0; i < 3; i++)
		KTAP_EXPECT(t, file_has(e, (200 + 8 * i) * 512, ptr(e, page[i]), 4096));
	fe_post_raw(e, 0, &d, sizeof(d));
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait(e, 0, 1) && fe_response(e, 0, &id, &status) &&
			       id == 40 && status == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, file_has(e, 200 * 512, zero, sizeof(zero)));
	KTAP_EXPECT(t, file_has(e, 208 * 512, ptr(e, page[1]), 4096));
	/* Past the end, and a disk read into a read-only grant. */
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 41, DISK_SECTORS - 4, &s[0], 1) ==
			       BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 42, 0, &s[0], 1) ==
			       BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_WRITE, 43, 0, &s[0], 1) ==
			       BLKIF_RSP_OKAY);
	blkback_get_stats(e->b, &st);
	KTAP_EXPECT(t, st.submits == 0 && st.errors == 2 && st.discards == 1 &&
			       st.barriers == 1);
	for (int i = 0; i < 3; i++)
		KTAP_EXPECT(t, !(grant_flags(e, s[i].ref) & (GTF_reading | GTF_writing)));
out:
	fe_free(e);
	e = fe_new_engine(false, BLK_CACHE_NONE, BLK_ENGINE_SYNC);
	if (e && e->b) {
		fe_connect(e, BLKIF_ABI_64, 1, 0);
		write_flush_read(t, e, 0, 3);	/* O_DIRECT, misaligned on disk */
	} else {
		printf("# O_DIRECT not available on /tmp here: cache=none not tried\n");
	}
	fe_free(e);
	ktap_case_end(t, "engine=sync: same answers without io_uring, in ring order");
}

/*
 * A write answered after a flush survives the VMM being killed: a child
 * runs backend and guest, reports the flush response and is SIGKILLed.
 */
static void test_flush_survives_kill(struct ktap *t)
{
	int pfd[2];
	char img[64] = "";
	uint8_t want[4096];
	pid_t pid;
	char c = 0;

	fill(want, sizeof(want), 4242);
	KTAP_EXPECT(t, !pipe(pfd));
	pid = fork();
	if (pid == 0) {
		struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
		uint64_t page;
		struct seg s;

		if (!e || !e->b)
			_exit(1);
		fe_connect(e, BLKIF_ABI_64, 1, 0);
		page = fe_page(e);
		memcpy(ptr(e, page), want, 4096);
		s = (struct seg){ fe_grant(e, page, true), 0, 7 };
		if (write(pfd[1], e->img, sizeof(e->img)) != sizeof(e->img))
			_exit(1);
		if (fe_do(e, 0, BLKIF_OP_WRITE, 1, 256, &s, 1) != BLKIF_RSP_OKAY ||
		    fe_do(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 2, 0, NULL, 0) !=
			    BLKIF_RSP_OKAY)
			_exit(1);
		c = 'F';
		if (write(pfd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	KTAP_EXPECT(t, read(pfd[0], img, sizeof(img)) == sizeof(img));
	KTAP_EXPECT(t, read(pfd[0], &c, 1) == 1 && c == 'F');
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	{
		uint8_t got[4096];
		int fd = open(img, O_RDONLY);

		KTAP_EXPECT(t, fd >= 0 && pread(fd, got, 4096, 256 * 512) == 4096 &&
				       !memcmp(got, want, 4096));
		if (fd >= 0)
			close(fd);
		if (img[0])
			unlink(img);
	}
	ktap_case_end(t, "a flushed write survives kill -9 of the backend");
}

static void *loop_thread(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

/* Wait for @n responses without serving: the event loop thread does. */
static bool fe_wait_loop(struct fe *e, unsigned int qi, unsigned int n)
{
	for (int i = 0; i < 5000 && fe_unconsumed(e, qi) < n; i++)
		usleep(1000);
	return fe_unconsumed(e, qi) >= n;
}

/*
 * The production wiring: the event loop runs on its own thread, the
 * guest's notifications arrive on this (vCPU-like) thread, completions
 * come back through io_uring's eventfd. Nothing calls blkback_service().
 */
static void test_event_loop(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	uint64_t w, r, id;
	struct seg s[2];
	int16_t st;
	pthread_t th;
	unsigned int before;

	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	pthread_create(&th, NULL, loop_thread, e->loop);
	w = fe_page(e);
	r = fe_page(e);
	fill(ptr(e, w), 4096, 31);
	s[0] = (struct seg){ fe_grant(e, w, true), 0, 7 };
	s[1] = (struct seg){ fe_grant(e, r, false), 0, 7 };
	before = fake_count(e->f, FAKE_DELIVER_PORT);
	for (unsigned int i = 0; i < 8; i++)
		fe_post(e, 0, BLKIF_OP_WRITE, i, 8 * i, &s[0], 1);
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait_loop(e, 0, 8));
	for (unsigned int i = 0; i < 8; i++)
		KTAP_EXPECT(t, fe_response(e, 0, &id, &st) && id < 8 &&
				       st == BLKIF_RSP_OKAY);
	e->q[0].r64.sring->rsp_event = e->q[0].r64.rsp_cons + 1;
	fe_post(e, 0, BLKIF_OP_FLUSH_DISKCACHE, 8, 0, NULL, 0);
	fe_post(e, 0, BLKIF_OP_READ, 9, 56, &s[1], 1);
	fe_kick(e, 0);
	KTAP_EXPECT(t, fe_wait_loop(e, 0, 2));
	KTAP_EXPECT(t, fe_response(e, 0, &id, &st) && st == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, fe_response(e, 0, &id, &st) && st == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, !memcmp(ptr(e, r), ptr(e, w), 4096));
	KTAP_EXPECT(t, file_has(e, 7 * 8 * 512, ptr(e, w), 4096));
	/* The loop raised the guest's port for the completions. */
	KTAP_EXPECT(t, fake_count(e->f, FAKE_DELIVER_PORT) > before);
	event_loop_stop(e->loop);
	pthread_join(th, NULL);
out:
	fe_free(e);
	ktap_case_end(t, "on the event loop thread: notify, submit, complete");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A request slot of random but often almost-valid content. */
static uint8_t random_request(struct fe *e, uint64_t *seed, uint64_t id,
			   const uint32_t *refs, unsigned int nrefs,
			   uint32_t ind_ref, struct blkif_request_segment *ind)
{
	blkif_request_t *r = RING_GET_REQUEST(&e->q[0].r64, e->q[0].r64.req_prod_pvt);
	uint64_t pick = rnd(seed);

	for (size_t i = 0; i < sizeof(*r); i += 8) {
		uint64_t v = rnd(seed);

		memcpy((uint8_t *)r + i, &v, sizeof(*r) - i < 8 ? sizeof(*r) - i : 8);
	}
	r->operation = (uint8_t)(rnd(seed) % 8);
	r->id = id;
	if (pick % 4)
		r->sector_number = rnd(seed) % (DISK_SECTORS + 16);
	if (r->operation == BLKIF_OP_INDIRECT) {
		struct blkif_request_indirect *in = (void *)r;

		in->indirect_op = (uint8_t)(rnd(seed) % 3);
		in->nr_segments = (uint16_t)(rnd(seed) % 300);
		in->id = id;
		in->indirect_grefs[0] = pick % 8 ? ind_ref : (uint32_t)rnd(seed);
		for (unsigned int i = 0; i < 300; i++)
			ind[i] = (struct blkif_request_segment){
				refs[rnd(seed) % nrefs], (uint8_t)(rnd(seed) % 9),
				(uint8_t)(rnd(seed) % 9) };
		e->q[0].r64.req_prod_pvt++;
		return in->indirect_op;	/* what the response must carry */
	} else if (r->operation == BLKIF_OP_DISCARD) {
		((struct blkif_request_discard *)r)->nr_sectors = rnd(seed) % 64;
	} else {
		r->nr_segments = (uint8_t)(rnd(seed) % 13);
		for (unsigned int i = 0; i < 11; i++) {
			uint8_t a = (uint8_t)(rnd(seed) % 9), b = (uint8_t)(rnd(seed) % 9);

			r->seg[i].gref = pick % 16 ? refs[rnd(seed) % nrefs] :
						     (uint32_t)rnd(seed);
			r->seg[i].first_sect = pick % 3 ? (a < b ? a : b) : a;
			r->seg[i].last_sect = pick % 3 ? (a < b ? b : a) : b;
		}
	}
	e->q[0].r64.req_prod_pvt++;
	return r->operation;
}

/*
 * A hostile frontend against the whole backend: random requests over
 * real grants (some read-only, some bogus), every one answered with its
 * id, no access outside the grants (ASan), no pin left behind, the image
 * never resized, and the backend still serving at the end.
 */
static void test_fuzz_backend(struct ktap *t)
{
	struct fe *e = fe_new(false, BLK_CACHE_WRITEBACK);
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	uint32_t refs[24], ind_ref;
	struct blkif_request_segment *ind;
	unsigned long posted = 0, answered = 0, wrong = 0, ok = 0;
	const char *env = getenv("BLK_FUZZ_SEED");
	struct stat sb;
	bool pinned = false;

	if (env)
		seed = strtoull(env, NULL, 0);
	printf("# backend fuzz seed %#llx\n", (unsigned long long)seed);
	KTAP_EXPECT(t, e && e->b);
	if (!e || !e->b)
		goto out;
	fe_connect(e, BLKIF_ABI_64, 1, 0);
	for (unsigned int i = 0; i < 24; i++)
		refs[i] = fe_grant(e, fe_page(e), i % 3 == 0);
	ind = (struct blkif_request_segment *)ptr(e, fe_page(e));
	ind_ref = fe_grant(e, (uint64_t)((uint8_t *)ind - e->f->ram), true);
	for (unsigned int round = 0; round < 1500; round++) {
		unsigned int n = 1 + (unsigned int)(rnd(&seed) % 16);
		uint8_t want_op[16], op;
		uint64_t id;
		int16_t st;

		for (unsigned int i = 0; i < n; i++)
			want_op[i] = random_request(e, &seed, posted + i, refs, 24,
						    ind_ref, ind);
		fe_kick(e, 0);
		for (int k = 0; k < 200 && fe_unconsumed(e, 0) < n; k++)
			blkback_service(e->b, 10);
		for (unsigned int i = 0; i < n; i++) {
			if (!fe_response_op(e, 0, &id, &st, &op)) {
				wrong++;
				break;
			}
			answered++;
			if (id < posted || id >= posted + n || op != want_op[id - posted])
				wrong++;
			ok += st == BLKIF_RSP_OKAY;
		}
		posted += n;
		/* Re-arm as blkfront does after taking its responses. */
		e->q[0].r64.sring->rsp_event = e->q[0].r64.rsp_cons + 1;
	}
	printf("# backend fuzz: %lu requests, %lu answered OK\n", posted, ok);
	KTAP_EXPECT(t, answered == posted && wrong == 0);
	KTAP_EXPECT(t, ok > 0 && ok < posted);
	for (unsigned int i = 0; i < 24; i++)
		pinned |= (grant_flags(e, refs[i]) & (GTF_reading | GTF_writing)) != 0;
	KTAP_EXPECT(t, !pinned);
	KTAP_EXPECT(t, !stat(e->img, &sb) && sb.st_size == DISK_SECTORS * 512);
	KTAP_EXPECT(t, be_read(e, "state") == XenbusStateConnected);
	{
		struct seg s = { refs[1], 0, 7 };

		KTAP_EXPECT(t, fe_do(e, 0, BLKIF_OP_READ, 1u << 30, 0, &s, 1) ==
				       BLKIF_RSP_OKAY);
	}
out:
	fe_free(e);
	ktap_case_end(t, "fuzz: a hostile frontend against the whole backend");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 15);
	test_negotiation(&t);
	test_write_flush_read(&t);
	test_cache_none(&t);
	test_dio_alignment(&t);
	test_abi32(&t);
	test_multiqueue(&t);
	test_indirect(&t);
	test_readonly(&t);
	test_hostile(&t);
	test_broken_ring_and_reconnect(&t);
	test_discard_barrier_resize(&t);
	test_sync_engine(&t);
	test_flush_survives_kill(&t);
	test_fuzz_backend(&t);
	test_event_loop(&t);
	return ktap_finish(&t);
}
