// SPDX-License-Identifier: GPL-2.0
/*
 * The blkif ring without I/O (include/blkif_ring.h): slot copies, the two
 * request layouts, validation, responses.
 *
 * Layouts. The 64-bit ABI is Xen's public blkif.h compiled for x86-64.
 * The 32-bit ABI is the same structs compiled for i386, where uint64_t is
 * only 4-byte aligned, so every field after the first 4 bytes moves:
 *
 *                       64-bit  32-bit
 *   id                     8       4
 *   sector_number         16      12
 *   seg[] / nr_sectors    24      20
 *   indirect: handle      24      20
 *   indirect: grefs[]     28      24
 *   request slot         112     108
 *   response: id/op/st  0/8/10  0/8/10, 16 / 12 bytes
 *
 * Everything is little-endian (x86 guests on an x86 host), read with
 * memcpy from the private copy of the slot.
 */
#include <errno.h>
#include <string.h>

#include "blkif_ring.h"

struct blkif_layout {
	size_t id, sector, seg, ind_handle, ind_grefs;
	size_t req_size, rsp_size;
};

static const struct blkif_layout layouts[] = {
	[BLKIF_ABI_64] = { 8, 16, 24, 24, 28, 112, 16 },
	[BLKIF_ABI_32] = { 4, 12, 20, 20, 24, 108, 12 },
};

/* The 64-bit table must agree with the public header it transcribes. */
_Static_assert(offsetof(struct blkif_request, id) == 8, "id");
_Static_assert(offsetof(struct blkif_request, sector_number) == 16, "sector");
_Static_assert(offsetof(struct blkif_request, seg) == 24, "seg");
_Static_assert(offsetof(struct blkif_request_discard, nr_sectors) == 24, "nr");
_Static_assert(offsetof(struct blkif_request_indirect, handle) == 24, "handle");
_Static_assert(offsetof(struct blkif_request_indirect, indirect_grefs) == 28,
	       "grefs");
_Static_assert(sizeof(struct blkif_request) == 112, "request");
_Static_assert(sizeof(struct blkif_response) == 16, "response");
_Static_assert(sizeof(struct blkif_request_segment) == 8, "segment");

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

size_t blkif_entry_size(enum blkif_abi abi)
{
	const struct blkif_layout *l = &layouts[abi];

	return l->req_size > l->rsp_size ? l->req_size : l->rsp_size;
}

unsigned int blkif_ring_entries(enum blkif_abi abi, unsigned int nr_pages)
{
	size_t n = ((size_t)nr_pages * BLKIF_PAGE_SIZE - BLKIF_RING_HEADER) /
		   blkif_entry_size(abi);
	unsigned int p = 1;

	while ((size_t)p * 2 <= n)
		p *= 2;
	return p;
}

static void decode_segs(const uint8_t *p, unsigned int n,
			struct blkif_seg *out)
{
	for (unsigned int i = 0; i < n; i++, p += 8) {
		out[i].gref = get32(p);
		out[i].first_sect = p[4];
		out[i].last_sect = p[5];
	}
}

void blkif_decode_request(enum blkif_abi abi, const void *slot,
			  struct blkif_req *req)
{
	const struct blkif_layout *l = &layouts[abi];
	const uint8_t *p = slot;

	memset(req, 0, sizeof(*req));
	req->operation = p[0];
	req->op = p[0];
	req->id = get64(p + l->id);
	req->sector = get64(p + l->sector);
	switch (req->operation) {
	case BLKIF_OP_DISCARD:
		req->discard_flag = p[1];
		req->discard_sectors = get64(p + l->seg);
		break;
	case BLKIF_OP_INDIRECT:
		req->indirect = true;
		req->op = p[1];
		req->nr_segs = get16(p + 2);
		req->handle = get16(p + l->ind_handle);
		req->nr_indirect = blkif_indirect_pages(req->nr_segs);
		if (req->nr_indirect > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
			req->nr_indirect = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
		for (unsigned int i = 0; i < req->nr_indirect; i++)
			req->indirect_grefs[i] = get32(p + l->ind_grefs + 4 * i);
		break;
	default:
		req->nr_segs = p[1];
		req->handle = get16(p + 2);
		decode_segs(p + l->seg,
			    req->nr_segs < BLKIF_MAX_SEGMENTS_PER_REQUEST ?
				    req->nr_segs : BLKIF_MAX_SEGMENTS_PER_REQUEST,
			    req->seg);
		break;
	}
}

void blkif_decode_indirect_segs(const void *page, unsigned int n,
				struct blkif_seg *out)
{
	if (n > BLKIF_SEGS_PER_INDIRECT_PAGE)
		n = BLKIF_SEGS_PER_INDIRECT_PAGE;
	decode_segs(page, n, out);
}

unsigned int blkif_indirect_pages(unsigned int nr_segs)
{
	return (nr_segs + BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
	       BLKIF_SEGS_PER_INDIRECT_PAGE;
}

bool blkif_range_ok(uint64_t sector, uint64_t count, uint64_t disk_sectors)
{
	return sector <= disk_sectors && count <= disk_sectors - sector;
}

bool blkif_op_writes(const struct blkif_req *req)
{
	switch (req->op) {
	case BLKIF_OP_WRITE:
	case BLKIF_OP_DISCARD:
		return true;
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* A bare flush or barrier changes nothing on the disk. */
		return req->nr_segs > 0;
	default:
		return false;
	}
}

static int check_discard(const struct blkif_req *req,
			 const struct blkif_limits *lim)
{
	if (!lim->discard)
		return BLKIF_RSP_EOPNOTSUPP;
	if (lim->readonly ||
	    !blkif_range_ok(req->sector, req->discard_sectors,
			    lim->disk_sectors))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

static int check_indirect(const struct blkif_req *req,
			  const struct blkif_limits *lim)
{
	if (!lim->max_indirect_segs)
		return BLKIF_RSP_EOPNOTSUPP;
	/* Linux's blkfront only sends reads and writes indirectly. */
	if (req->op != BLKIF_OP_READ && req->op != BLKIF_OP_WRITE)
		return BLKIF_RSP_ERROR;
	if (!req->nr_segs || req->nr_segs > lim->max_indirect_segs ||
	    blkif_indirect_pages(req->nr_segs) >
		    BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

int blkif_check_request(const struct blkif_req *req,
			const struct blkif_limits *lim)
{
	if (req->operation == BLKIF_OP_DISCARD)
		return check_discard(req, lim);
	if (req->indirect) {
		int st = check_indirect(req, lim);

		if (st != BLKIF_RSP_OKAY)
			return st;
	} else {
		switch (req->op) {
		case BLKIF_OP_READ:
		case BLKIF_OP_WRITE:
			if (!req->nr_segs)
				return BLKIF_RSP_ERROR;
			break;
		case BLKIF_OP_WRITE_BARRIER:
		case BLKIF_OP_FLUSH_DISKCACHE:
			break;	/* zero segments: a bare flush */
		default:
			return BLKIF_RSP_EOPNOTSUPP;
		}
		if (req->nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
	}
	if (lim->readonly && blkif_op_writes(req))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

int blkif_check_segs(const struct blkif_seg *seg, unsigned int n,
		     uint64_t sector, uint64_t disk_sectors,
		     uint64_t *nr_sectors)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (seg[i].first_sect > seg[i].last_sect ||
		    seg[i].last_sect >= BLKIF_SECTORS_PER_PAGE)
			return BLKIF_RSP_ERROR;
		total += (uint64_t)seg[i].last_sect - seg[i].first_sect + 1;
	}
	if (!blkif_range_ok(sector, total, disk_sectors))
		return BLKIF_RSP_ERROR;
	*nr_sectors = total;
	return BLKIF_RSP_OKAY;
}

/* ---- the shared ring ---- */

static uint32_t *ring_idx(struct blkif_ring *r, size_t off)
{
	return (uint32_t *)(r->pages[0] + off);
}

/* Offsets of the header (ring.h): req_prod, req_event, rsp_prod, rsp_event. */
#define REQ_PROD	0
#define REQ_EVENT	4
#define RSP_PROD	8
#define RSP_EVENT	12

int blkif_ring_init(struct blkif_ring *r, void *const *pages,
		    unsigned int nr_pages, enum blkif_abi abi)
{
	memset(r, 0, sizeof(*r));
	if (!nr_pages || nr_pages > BLKIF_RING_MAX_PAGES ||
	    (nr_pages & (nr_pages - 1)) ||
	    (abi != BLKIF_ABI_64 && abi != BLKIF_ABI_32))
		return -EINVAL;
	for (unsigned int i = 0; i < nr_pages; i++) {
		if (!pages[i])
			return -EINVAL;
		r->pages[i] = pages[i];
	}
	r->nr_pages = nr_pages;
	r->abi = abi;
	r->ent_size = blkif_entry_size(abi);
	r->nr_ents = blkif_ring_entries(abi, nr_pages);
	/*
	 * Start at the frontend's response index: a fresh ring has every
	 * index at 0, and a garbage one is caught by the first
	 * get_request().
	 */
	r->rsp_prod_pvt = __atomic_load_n(ring_idx(r, RSP_PROD),
					  __ATOMIC_ACQUIRE);
	r->req_cons = r->rsp_prod_pvt;
	return 0;
}

/* Copy @len bytes at ring byte offset @off, which may span pages. */
static void ring_copy_out(const struct blkif_ring *r, size_t off, void *buf,
			  size_t len)
{
	uint8_t *dst = buf;

	while (len) {
		size_t pg = off / BLKIF_PAGE_SIZE, in = off % BLKIF_PAGE_SIZE;
		size_t n = BLKIF_PAGE_SIZE - in;

		if (n > len)
			n = len;
		memcpy(dst, r->pages[pg] + in, n);
		dst += n;
		off += n;
		len -= n;
	}
}

static void ring_copy_in(struct blkif_ring *r, size_t off, const void *buf,
			 size_t len)
{
	const uint8_t *src = buf;

	while (len) {
		size_t pg = off / BLKIF_PAGE_SIZE, in = off % BLKIF_PAGE_SIZE;
		size_t n = BLKIF_PAGE_SIZE - in;

		if (n > len)
			n = len;
		memcpy(r->pages[pg] + in, src, n);
		src += n;
		off += n;
		len -= n;
	}
}

static size_t slot_offset(const struct blkif_ring *r, uint32_t idx)
{
	return BLKIF_RING_HEADER + (size_t)(idx & (r->nr_ents - 1)) * r->ent_size;
}

unsigned int blkif_ring_in_flight(const struct blkif_ring *r)
{
	return r->req_cons - r->rsp_prod_pvt;
}

int blkif_ring_get_request(struct blkif_ring *r, struct blkif_req *req)
{
	uint8_t slot[112];
	uint32_t prod;

	if (r->broken)
		return -EPROTO;
	prod = __atomic_load_n(ring_idx(r, REQ_PROD), __ATOMIC_ACQUIRE);
	/*
	 * The frontend may have at most a ring of requests without a
	 * response; more (or a producer behind us) is garbage.
	 */
	if (prod - r->rsp_prod_pvt > r->nr_ents ||
	    prod - r->req_cons > r->nr_ents) {
		r->broken = true;
		return -EPROTO;
	}
	if (prod == r->req_cons || blkif_ring_in_flight(r) >= r->nr_ents)
		return 0;
	ring_copy_out(r, slot_offset(r, r->req_cons), slot,
		      layouts[r->abi].req_size);
	r->req_cons++;
	blkif_decode_request(r->abi, slot, req);
	return 1;
}

void blkif_ring_put_response(struct blkif_ring *r, uint64_t id,
			     uint8_t operation, int16_t status)
{
	uint8_t rsp[16] = { 0 };

	memcpy(rsp, &id, 8);
	rsp[8] = operation;
	memcpy(rsp + 10, &status, 2);
	ring_copy_in(r, slot_offset(r, r->rsp_prod_pvt), rsp,
		     layouts[r->abi].rsp_size);
	r->rsp_prod_pvt++;
}

bool blkif_ring_push_responses(struct blkif_ring *r)
{
	uint32_t old = __atomic_load_n(ring_idx(r, RSP_PROD), __ATOMIC_RELAXED);
	uint32_t new = r->rsp_prod_pvt, event;

	if (old == new)
		return false;
	__atomic_store_n(ring_idx(r, RSP_PROD), new, __ATOMIC_RELEASE);
	/* rsp_prod must be visible before we read rsp_event (ring.h). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = __atomic_load_n(ring_idx(r, RSP_EVENT), __ATOMIC_RELAXED);
	return (uint32_t)(new - event) < (uint32_t)(new - old);
}

bool blkif_ring_final_check(struct blkif_ring *r)
{
	uint32_t prod;

	if (r->broken)
		return false;
	prod = __atomic_load_n(ring_idx(r, REQ_PROD), __ATOMIC_ACQUIRE);
	if (prod != r->req_cons)
		return true;
	__atomic_store_n(ring_idx(r, REQ_EVENT), r->req_cons + 1,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	prod = __atomic_load_n(ring_idx(r, REQ_PROD), __ATOMIC_ACQUIRE);
	return prod != r->req_cons;
}
