// SPDX-License-Identifier: GPL-2.0
/*
 * The blkif ring without I/O: both request layouts, indirect segment
 * pages, validation, responses and notification, garbage indexes, slots
 * straddling pages of a multi-page ring, and a fuzz run of random and
 * mutated rings through the decoder and validator.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkif_ring.h"
#include "ktap.h"

/*
 * The i386 layout written down independently of the decoder's offset
 * table: the same fields, packed the way an i386 compiler lays them out
 * (uint64_t 4-byte aligned).
 */
struct req32_rw {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint64_t id, sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((packed, aligned(4)));

struct req32_discard {
	uint8_t operation, flag;
	uint16_t handle;
	uint64_t id, sector_number, nr_sectors;
} __attribute__((packed, aligned(4)));

struct req32_indirect {
	uint8_t operation, indirect_op;
	uint16_t nr_segments;
	uint64_t id, sector_number;
	uint16_t handle, pad;
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t pad2;
} __attribute__((packed, aligned(4)));

struct rsp32 {
	uint64_t id;
	uint8_t operation, pad;
	int16_t status;
} __attribute__((packed, aligned(4)));

_Static_assert(sizeof(struct req32_rw) == 108, "i386 request size");
_Static_assert(sizeof(struct req32_indirect) == 64, "i386 indirect size");
_Static_assert(sizeof(struct rsp32) == 12, "i386 response size");

static void test_sizes(struct ktap *t)
{
	KTAP_EXPECT(t, blkif_entry_size(BLKIF_ABI_64) == 112);
	KTAP_EXPECT(t, blkif_entry_size(BLKIF_ABI_32) == 108);
	/* __RING_SIZE of a one-page blkif ring is 32 in both ABIs. */
	KTAP_EXPECT(t, blkif_ring_entries(BLKIF_ABI_64, 1) == 32);
	KTAP_EXPECT(t, blkif_ring_entries(BLKIF_ABI_32, 1) == 32);
	/* (16 * 4096 - 64) / 112 = 584 -> 512 */
	KTAP_EXPECT(t, blkif_ring_entries(BLKIF_ABI_64, 16) == 512);
	KTAP_EXPECT(t, blkif_ring_entries(BLKIF_ABI_64, 2) == 64);
	ktap_case_end(t, "ring entry sizes and counts for both ABIs");
}

static void test_decode_64(struct ktap *t)
{
	struct blkif_request r = { 0 };
	struct blkif_request_discard d = { 0 };
	struct blkif_request_indirect in = { 0 };
	struct blkif_req q;

	r.operation = BLKIF_OP_WRITE;
	r.nr_segments = 2;
	r.handle = 0x1234;
	r.id = 0xdeadbeefcafef00dULL;
	r.sector_number = 0x123456789ULL;
	r.seg[0] = (struct blkif_request_segment){ 77, 1, 6 };
	r.seg[1] = (struct blkif_request_segment){ 78, 0, 7 };
	blkif_decode_request(BLKIF_ABI_64, &r, &q);
	KTAP_EXPECT(t, q.operation == BLKIF_OP_WRITE && q.op == BLKIF_OP_WRITE);
	KTAP_EXPECT(t, !q.indirect && q.nr_segs == 2 && q.handle == 0x1234);
	KTAP_EXPECT(t, q.id == 0xdeadbeefcafef00dULL && q.sector == 0x123456789ULL);
	KTAP_EXPECT(t, q.seg[0].gref == 77 && q.seg[0].first_sect == 1 &&
			       q.seg[0].last_sect == 6);
	KTAP_EXPECT(t, q.seg[1].gref == 78 && q.seg[1].last_sect == 7);

	d.operation = BLKIF_OP_DISCARD;
	d.flag = BLKIF_DISCARD_SECURE;
	d.id = 5;
	d.sector_number = 4096;
	d.nr_sectors = 1u << 20;
	blkif_decode_request(BLKIF_ABI_64, &d, &q);
	KTAP_EXPECT(t, q.operation == BLKIF_OP_DISCARD && q.id == 5 &&
			       q.sector == 4096 && q.discard_sectors == 1u << 20 &&
			       q.discard_flag == BLKIF_DISCARD_SECURE);

	in.operation = BLKIF_OP_INDIRECT;
	in.indirect_op = BLKIF_OP_READ;
	in.nr_segments = 600;	/* two indirect pages */
	in.id = 9;
	in.sector_number = 100;
	in.handle = 3;
	in.indirect_grefs[0] = 1000;
	in.indirect_grefs[1] = 1001;
	in.indirect_grefs[2] = 1002;	/* beyond what 600 segments need */
	blkif_decode_request(BLKIF_ABI_64, &in, &q);
	KTAP_EXPECT(t, q.indirect && q.operation == BLKIF_OP_INDIRECT &&
			       q.op == BLKIF_OP_READ && q.nr_segs == 600);
	KTAP_EXPECT(t, q.id == 9 && q.sector == 100 && q.handle == 3);
	KTAP_EXPECT(t, q.nr_indirect == 2 && q.indirect_grefs[0] == 1000 &&
			       q.indirect_grefs[1] == 1001 &&
			       q.indirect_grefs[2] == 0);
	ktap_case_end(t, "decode x86_64-abi read/write, discard, indirect");
}

static void test_decode_32(struct ktap *t)
{
	uint8_t slot[112] = { 0 };
	struct req32_rw r = { 0 };
	struct req32_discard d = { 0 };
	struct req32_indirect in = { 0 };
	struct blkif_req q;

	r.operation = BLKIF_OP_READ;
	r.nr_segments = 11;
	r.handle = 7;
	r.id = 0x1122334455667788ULL;
	r.sector_number = 0xabcdef012345ULL;
	for (int i = 0; i < 11; i++)
		r.seg[i] = (struct blkif_request_segment){ 100u + i, (uint8_t)(i % 8), 7 };
	memcpy(slot, &r, sizeof(r));
	blkif_decode_request(BLKIF_ABI_32, slot, &q);
	KTAP_EXPECT(t, q.op == BLKIF_OP_READ && q.nr_segs == 11 && q.handle == 7);
	KTAP_EXPECT(t, q.id == 0x1122334455667788ULL &&
			       q.sector == 0xabcdef012345ULL);
	KTAP_EXPECT(t, q.seg[10].gref == 110 && q.seg[10].first_sect == 2 &&
			       q.seg[3].first_sect == 3);
	/* The same bytes read as 64-bit give a different (wrong) request. */
	blkif_decode_request(BLKIF_ABI_64, slot, &q);
	KTAP_EXPECT(t, q.id != 0x1122334455667788ULL);

	d.operation = BLKIF_OP_DISCARD;
	d.id = 44;
	d.sector_number = 8;
	d.nr_sectors = 16;
	memset(slot, 0, sizeof(slot));
	memcpy(slot, &d, sizeof(d));
	blkif_decode_request(BLKIF_ABI_32, slot, &q);
	KTAP_EXPECT(t, q.id == 44 && q.sector == 8 && q.discard_sectors == 16);

	in.operation = BLKIF_OP_INDIRECT;
	in.indirect_op = BLKIF_OP_WRITE;
	in.nr_segments = 32;
	in.id = 45;
	in.sector_number = 64;
	in.handle = 2;
	in.indirect_grefs[0] = 333;
	memset(slot, 0, sizeof(slot));
	memcpy(slot, &in, sizeof(in));
	blkif_decode_request(BLKIF_ABI_32, slot, &q);
	KTAP_EXPECT(t, q.indirect && q.op == BLKIF_OP_WRITE && q.nr_segs == 32 &&
			       q.id == 45 && q.sector == 64 && q.handle == 2 &&
			       q.nr_indirect == 1 && q.indirect_grefs[0] == 333);
	ktap_case_end(t, "decode x86_32-abi read/write, discard, indirect");
}

static void test_indirect_page(struct ktap *t)
{
	struct blkif_request_segment page[512];
	static struct blkif_seg out[512];

	for (unsigned int i = 0; i < 512; i++)
		page[i] = (struct blkif_request_segment){ 5000 + i, (uint8_t)(i & 7),
							  7 };
	blkif_decode_indirect_segs(page, 512, out);
	KTAP_EXPECT(t, out[0].gref == 5000 && out[511].gref == 5511 &&
			       out[9].first_sect == 1 && out[511].last_sect == 7);
	KTAP_EXPECT(t, blkif_indirect_pages(1) == 1 &&
			       blkif_indirect_pages(512) == 1 &&
			       blkif_indirect_pages(513) == 2 &&
			       blkif_indirect_pages(4096) == 8);
	ktap_case_end(t, "indirect segment pages");
}

static struct blkif_req rw(uint8_t op, unsigned int nseg, uint64_t sector)
{
	struct blkif_req r = { .operation = op, .op = op, .id = 1,
			       .sector = sector, .nr_segs = nseg };

	for (unsigned int i = 0; i < nseg && i < 11; i++)
		r.seg[i] = (struct blkif_seg){ 10 + i, 0, 7 };
	return r;
}

static void test_validate(struct ktap *t)
{
	struct blkif_limits lim = { .disk_sectors = 1000, .discard = true,
				    .max_indirect_segs = 256 };
	struct blkif_limits ro = lim;
	struct blkif_req r;
	struct blkif_seg s[3];
	uint64_t n = 0;

	ro.readonly = true;
	r = rw(BLKIF_OP_READ, 1, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_WRITE, 2, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_OKAY);
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 12, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	/* Bare flush and barrier: fine, also read-only. */
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_WRITE_BARRIER, 0, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 1, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_RESERVED_1, 1, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_EOPNOTSUPP);
	r = rw(200, 1, 0);
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_EOPNOTSUPP);

	/* Discard: range, read-only, not offered. */
	r = (struct blkif_req){ .operation = BLKIF_OP_DISCARD,
				.op = BLKIF_OP_DISCARD, .sector = 990,
				.discard_sectors = 10 };
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_OKAY);
	r.discard_sectors = 11;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r.sector = UINT64_MAX;
	r.discard_sectors = 2;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r.sector = 0;
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_ERROR);
	lim.discard = false;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_EOPNOTSUPP);
	lim.discard = true;

	/* Indirect: counts and inner operation. */
	r = (struct blkif_req){ .operation = BLKIF_OP_INDIRECT, .op = BLKIF_OP_READ,
				.indirect = true, .nr_segs = 256, .nr_indirect = 1 };
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_OKAY);
	r.nr_segs = 257;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r.nr_segs = 0;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r.nr_segs = 8;
	r.op = BLKIF_OP_DISCARD;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_ERROR);
	r.op = BLKIF_OP_WRITE;
	KTAP_EXPECT(t, blkif_check_request(&r, &ro) == BLKIF_RSP_ERROR);
	lim.max_indirect_segs = 0;
	KTAP_EXPECT(t, blkif_check_request(&r, &lim) == BLKIF_RSP_EOPNOTSUPP);

	/* Segments: sector bounds inside the page, range on the disk. */
	s[0] = (struct blkif_seg){ 1, 0, 7 };
	s[1] = (struct blkif_seg){ 2, 3, 3 };
	s[2] = (struct blkif_seg){ 3, 0, 0 };
	KTAP_EXPECT(t, blkif_check_segs(s, 3, 990, 1000, &n) == BLKIF_RSP_OKAY &&
			       n == 10);
	KTAP_EXPECT(t, blkif_check_segs(s, 3, 991, 1000, &n) == BLKIF_RSP_ERROR);
	KTAP_EXPECT(t, blkif_check_segs(s, 3, UINT64_MAX - 5, 1000, &n) ==
			       BLKIF_RSP_ERROR);
	s[1].last_sect = 8;
	KTAP_EXPECT(t, blkif_check_segs(s, 3, 0, 1000, &n) == BLKIF_RSP_ERROR);
	s[1] = (struct blkif_seg){ 2, 5, 4 };
	KTAP_EXPECT(t, blkif_check_segs(s, 3, 0, 1000, &n) == BLKIF_RSP_ERROR);
	ktap_case_end(t, "validation: ops, segments, ranges, read-only, indirect");
}

/* A frontend's side of a ring over @npages separate pages. */
struct fe_ring {
	uint8_t *pages[BLKIF_RING_MAX_PAGES];
	unsigned int npages;
	enum blkif_abi abi;
	unsigned int nr_ents;
	uint32_t req_prod, rsp_cons;
};

static void fe_init(struct fe_ring *f, unsigned int npages, enum blkif_abi abi)
{
	memset(f, 0, sizeof(*f));
	f->npages = npages;
	f->abi = abi;
	for (unsigned int i = 0; i < npages; i++)
		f->pages[i] = calloc(1, BLKIF_PAGE_SIZE);
	f->nr_ents = blkif_ring_entries(abi, npages);
	/* SHARED_RING_INIT: events at 1. */
	((uint32_t *)f->pages[0])[1] = 1;
	((uint32_t *)f->pages[0])[3] = 1;
}

static void fe_free(struct fe_ring *f)
{
	for (unsigned int i = 0; i < f->npages; i++)
		free(f->pages[i]);
}

static void fe_copy(struct fe_ring *f, size_t off, void *buf, size_t len,
		    bool to_ring)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++, off++) {
		uint8_t *r = &f->pages[off / BLKIF_PAGE_SIZE][off % BLKIF_PAGE_SIZE];

		if (to_ring)
			*r = p[i];
		else
			p[i] = *r;
	}
}

static size_t fe_slot(struct fe_ring *f, uint32_t idx)
{
	return BLKIF_RING_HEADER +
	       (size_t)(idx % f->nr_ents) * blkif_entry_size(f->abi);
}

static void fe_post(struct fe_ring *f, const void *req, size_t len)
{
	fe_copy(f, fe_slot(f, f->req_prod), (void *)req, len, true);
	f->req_prod++;
	((uint32_t *)f->pages[0])[0] = f->req_prod;
}

static void fe_post_read(struct fe_ring *f, uint64_t id)
{
	if (f->abi == BLKIF_ABI_64) {
		struct blkif_request r = { .operation = BLKIF_OP_READ,
					   .nr_segments = 1, .id = id };

		r.seg[0] = (struct blkif_request_segment){ 8, 0, 7 };
		fe_post(f, &r, sizeof(r));
	} else {
		struct req32_rw r = { .operation = BLKIF_OP_READ,
				      .nr_segments = 1, .id = id };

		r.seg[0] = (struct blkif_request_segment){ 8, 0, 7 };
		fe_post(f, &r, sizeof(r));
	}
}

/* The response at @idx as the frontend reads it. */
static void fe_response(struct fe_ring *f, uint32_t idx, uint64_t *id,
			uint8_t *op, int16_t *status)
{
	if (f->abi == BLKIF_ABI_64) {
		struct blkif_response r;

		fe_copy(f, fe_slot(f, idx), &r, sizeof(r), false);
		*id = r.id;
		*op = r.operation;
		*status = r.status;
	} else {
		struct rsp32 r;

		fe_copy(f, fe_slot(f, idx), &r, sizeof(r), false);
		*id = r.id;
		*op = r.operation;
		*status = r.status;
	}
}

static uint32_t *hdr(struct fe_ring *f, unsigned int word)
{
	return (uint32_t *)f->pages[0] + word;
}

static void ring_round_trip(struct ktap *t, unsigned int npages,
			    enum blkif_abi abi)
{
	struct fe_ring f;
	struct blkif_ring r;
	struct blkif_req q;
	unsigned int i, n;
	bool ok = true;

	fe_init(&f, npages, abi);
	KTAP_EXPECT(t, blkif_ring_init(&r, (void *const *)f.pages, npages, abi) == 0);
	KTAP_EXPECT(t, r.nr_ents == f.nr_ents);
	/* Several laps, so every slot (and every straddling one) is used. */
	for (unsigned int lap = 0; lap < 3; lap++) {
		n = f.nr_ents;
		for (i = 0; i < n; i++)
			fe_post_read(&f, 1000 * lap + i);
		for (i = 0; i < n; i++) {
			ok &= blkif_ring_get_request(&r, &q) == 1;
			ok &= q.id == 1000 * lap + i && q.op == BLKIF_OP_READ &&
			      q.nr_segs == 1 && q.seg[0].gref == 8 &&
			      q.seg[0].last_sect == 7;
		}
		/* Full: every slot awaits its response. */
		ok &= blkif_ring_get_request(&r, &q) == 0;
		ok &= blkif_ring_in_flight(&r) == n;
		/* Answer in reverse: responses carry ids, not slots. */
		for (i = 0; i < n - 1; i++)
			blkif_ring_put_response(&r, 1000 * lap + (n - 1 - i),
						BLKIF_OP_READ, (int16_t)-(int)(i & 1));
		*hdr(&f, 3) = f.rsp_cons + 1;	/* rsp_event: notify on the next */
		ok &= blkif_ring_push_responses(&r);
		ok &= *hdr(&f, 2) == f.rsp_cons + n - 1;
		for (i = 0; i < n - 1; i++) {
			uint64_t id;
			uint8_t op;
			int16_t st;

			fe_response(&f, f.rsp_cons++, &id, &op, &st);
			ok &= id == 1000 * lap + (n - 1 - i) && op == BLKIF_OP_READ &&
			      st == -(int)(i & 1);
		}
		/* rsp_event not re-armed: the last one comes silently. */
		blkif_ring_put_response(&r, 1000 * lap, BLKIF_OP_READ, 0);
		ok &= !blkif_ring_push_responses(&r);
		ok &= *hdr(&f, 2) == f.rsp_cons + 1;
		f.rsp_cons++;
		ok &= blkif_ring_in_flight(&r) == 0;
	}
	/* The final check arms req_event and sees nothing new. */
	KTAP_EXPECT(t, !blkif_ring_final_check(&r));
	KTAP_EXPECT(t, *hdr(&f, 1) == f.req_prod + 1);
	fe_post_read(&f, 77);
	KTAP_EXPECT(t, blkif_ring_final_check(&r));
	KTAP_EXPECT(t, ok);
	fe_free(&f);
}

static void test_ring(struct ktap *t)
{
	ring_round_trip(t, 1, BLKIF_ABI_64);
	ring_round_trip(t, 1, BLKIF_ABI_32);
	ring_round_trip(t, 4, BLKIF_ABI_64);
	ring_round_trip(t, 16, BLKIF_ABI_32);
	ktap_case_end(t, "ring: requests in, responses out, notify, multi-page");
}

static void test_garbage(struct ktap *t)
{
	struct fe_ring f;
	struct blkif_ring r;
	struct blkif_req q;

	fe_init(&f, 1, BLKIF_ABI_64);
	blkif_ring_init(&r, (void *const *)f.pages, 1, BLKIF_ABI_64);
	fe_post_read(&f, 1);
	KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == 1);
	/* A producer 33 ahead of our responses: more than a ring. */
	*hdr(&f, 0) = 1 + 32;
	KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == -EPROTO);
	KTAP_EXPECT(t, r.broken);
	/* Sane again: still broken, nothing more is read. */
	*hdr(&f, 0) = 2;
	KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == -EPROTO);
	KTAP_EXPECT(t, !blkif_ring_final_check(&r));

	/* A producer behind us. */
	blkif_ring_init(&r, (void *const *)f.pages, 1, BLKIF_ABI_64);
	*hdr(&f, 0) = (uint32_t)-5;
	KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == -EPROTO);

	/* Exactly a ring ahead is legal. */
	memset(f.pages[0], 0, BLKIF_PAGE_SIZE);
	blkif_ring_init(&r, (void *const *)f.pages, 1, BLKIF_ABI_64);
	*hdr(&f, 0) = 32;
	for (int i = 0; i < 32; i++)
		KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == 1);
	KTAP_EXPECT(t, blkif_ring_get_request(&r, &q) == 0);
	KTAP_EXPECT(t, !r.broken);

	KTAP_EXPECT(t, blkif_ring_init(&r, (void *const *)f.pages, 3,
				       BLKIF_ABI_64) == -EINVAL);
	KTAP_EXPECT(t, blkif_ring_init(&r, (void *const *)f.pages, 32,
				       BLKIF_ABI_64) == -EINVAL);
	fe_free(&f);
	ktap_case_end(t, "garbage indexes break the ring for good");
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A plausible request of any kind, for the mutation half of the fuzz. */
static void make_valid(uint8_t *slot, enum blkif_abi abi, uint64_t *s)
{
	memset(slot, 0, 112);
	switch (rnd(s) % 4) {
	case 0: {
		struct blkif_request r = { .operation = (uint8_t)(rnd(s) % 4),
					   .nr_segments = (uint8_t)(1 + rnd(s) % 11),
					   .id = rnd(s), .sector_number = rnd(s) % 4096 };

		for (int i = 0; i < 11; i++)
			r.seg[i] = (struct blkif_request_segment){
				(uint32_t)(rnd(s) % 600), (uint8_t)(rnd(s) % 4), 7 };
		if (abi == BLKIF_ABI_64) {
			memcpy(slot, &r, sizeof(r));
		} else {
			struct req32_rw q = { .operation = r.operation,
					      .nr_segments = r.nr_segments,
					      .id = r.id,
					      .sector_number = r.sector_number };

			memcpy(q.seg, r.seg, sizeof(q.seg));
			memcpy(slot, &q, sizeof(q));
		}
		break;
	}
	case 1: {
		struct req32_discard q = { BLKIF_OP_DISCARD, 0, 0, rnd(s),
					   rnd(s) % 4096, rnd(s) % 64 };
		struct blkif_request_discard r = { BLKIF_OP_DISCARD, 0, 0, q.id,
						   q.sector_number, q.nr_sectors };

		if (abi == BLKIF_ABI_64)
			memcpy(slot, &r, sizeof(r));
		else
			memcpy(slot, &q, sizeof(q));
		break;
	}
	default: {
		struct req32_indirect q = { .operation = BLKIF_OP_INDIRECT,
					    .indirect_op = (uint8_t)(rnd(s) % 2),
					    .nr_segments = (uint16_t)(1 + rnd(s) % 300),
					    .id = rnd(s), .sector_number = rnd(s) % 4096 };
		struct blkif_request_indirect r = { .operation = BLKIF_OP_INDIRECT,
						    .indirect_op = q.indirect_op,
						    .nr_segments = q.nr_segments,
						    .id = q.id,
						    .sector_number = q.sector_number };

		if (abi == BLKIF_ABI_64)
			memcpy(slot, &r, sizeof(r));
		else
			memcpy(slot, &q, sizeof(q));
		break;
	}
	}
}

/*
 * Whatever the ring holds, the backend takes at most a ring of requests
 * per lap of indexes, answers them, and never accepts a request the
 * limits forbid. ASan/UBSan watch every access.
 */
static void test_fuzz(struct ktap *t)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
	struct blkif_limits lim = { .disk_sectors = 4096, .discard = true,
				    .max_indirect_segs = 256 };
	unsigned long iterations = 0, accepted = 0, broken = 0, bad = 0;
	struct fe_ring f;
	struct blkif_ring r;

	if (getenv("BLK_FUZZ_SEED"))	/* to replay a failure */
		seed = strtoull(getenv("BLK_FUZZ_SEED"), NULL, 0);
	printf("# fuzz seed %#llx (BLK_FUZZ_SEED replays it)\n",
	       (unsigned long long)seed);
	for (unsigned int round = 0; iterations < 1000000; round++) {
		unsigned int npages = 1u << (rnd(&seed) % 3);
		enum blkif_abi abi = rnd(&seed) & 1 ? BLKIF_ABI_32 : BLKIF_ABI_64;
		bool mutate = round & 1;

		fe_init(&f, npages, abi);
		for (unsigned int i = 0; i < npages; i++)
			for (unsigned int j = 0; j < BLKIF_PAGE_SIZE; j += 8) {
				uint64_t v = rnd(&seed);

				memcpy(f.pages[i] + j, &v, 8);
			}
		/* Sane indexes most of the time, garbage sometimes. */
		memset(f.pages[0], 0, 16);
		blkif_ring_init(&r, (void *const *)f.pages, npages, abi);
		for (unsigned int step = 0; step < 64; step++) {
			struct blkif_req q;
			uint32_t prod = r.rsp_prod_pvt +
					(uint32_t)(rnd(&seed) % (r.nr_ents + 1));
			int k, taken = 0;

			if (rnd(&seed) % 16 == 0)
				prod = (uint32_t)rnd(&seed);
			if (mutate) {
				uint8_t slot[112];

				for (uint32_t i = r.req_cons; i != prod && i - r.req_cons < r.nr_ents;
				     i++) {
					make_valid(slot, abi, &seed);
					for (int m = rnd(&seed) % 4; m > 0; m--)
						slot[rnd(&seed) % 112] ^=
							(uint8_t)(1u << (rnd(&seed) % 8));
					fe_copy(&f, fe_slot(&f, i), slot,
						blkif_entry_size(abi), true);
				}
			}
			*hdr(&f, 0) = prod;
			while ((k = blkif_ring_get_request(&r, &q)) == 1) {
				uint64_t n = 0;
				int st = blkif_check_request(&q, &lim);

				iterations++;
				taken++;
				if (st == BLKIF_RSP_OKAY) {
					accepted++;
					if (q.operation != BLKIF_OP_DISCARD &&
					    !q.indirect &&
					    blkif_check_segs(q.seg, q.nr_segs, q.sector,
							     lim.disk_sectors, &n) ==
						    BLKIF_RSP_OKAY &&
					    (q.nr_segs > 11 || q.sector + n > 4096 ||
					     n > 11 * 8))
						bad++;
					if (q.indirect && (q.nr_segs == 0 ||
							   q.nr_segs > 256 ||
							   q.nr_indirect != 1))
						bad++;
					if (q.operation == BLKIF_OP_DISCARD &&
					    q.sector + q.discard_sectors > 4096)
						bad++;
				}
				if (taken > (int)r.nr_ents)
					bad++;	/* more than a ring per lap */
			}
			if (k < 0) {
				broken++;
				break;
			}
			while (blkif_ring_in_flight(&r))
				blkif_ring_put_response(&r, 0, 0, BLKIF_RSP_ERROR);
			blkif_ring_push_responses(&r);
			blkif_ring_final_check(&r);
		}
		fe_free(&f);
	}
	printf("# fuzz: %lu requests, %lu accepted, %lu broken rings\n",
	       iterations, accepted, broken);
	KTAP_EXPECT(t, iterations >= 100000);
	KTAP_EXPECT(t, accepted > 0 && broken > 0);
	KTAP_EXPECT(t, bad == 0);
	ktap_case_end(t, "fuzz: random and mutated rings, both ABIs");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 8);
	test_sizes(&t);
	test_decode_64(&t);
	test_decode_32(&t);
	test_indirect_page(&t);
	test_validate(&t);
	test_ring(&t);
	test_garbage(&t);
	test_fuzz(&t);
	return ktap_finish(&t);
}
