/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blkif shared ring seen from the backend, with no I/O: reading
 * requests out of the guest's ring pages, decoding them for the 64-bit or
 * the 32-bit (x86_32-abi) layout, validating them, and writing responses
 * (devices/blkif_ring.c). The I/O engine is devices/blkback.c.
 *
 * Everything the guest wrote is read once: a request is copied out of its
 * slot before it is decoded, and only the copy is used. Indexes claiming
 * more requests than the ring holds mark the ring broken and nothing more
 * is read from it.
 */
#ifndef XENKVM_VMM_BLKIF_RING_H
#define XENKVM_VMM_BLKIF_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/blkif.h>

#define BLKIF_SECTOR_SIZE		512
#define BLKIF_PAGE_SIZE			4096
#define BLKIF_SECTORS_PER_PAGE		(BLKIF_PAGE_SIZE / BLKIF_SECTOR_SIZE)
/* The ring header (req_prod ... __pad) before ring[0], in both ABIs. */
#define BLKIF_RING_HEADER		64
/* Linux's blkback offers 2^4 pages; blkfront asks for at most that. */
#define BLKIF_RING_MAX_ORDER		4
#define BLKIF_RING_MAX_PAGES		(1u << BLKIF_RING_MAX_ORDER)
/* Segments one indirect page holds (8-byte blkif_request_segment). */
#define BLKIF_SEGS_PER_INDIRECT_PAGE	(BLKIF_PAGE_SIZE / 8)
/* What we advertise as feature-max-indirect-segments (Linux's value). */
#define BLKIF_MAX_INDIRECT_SEGS		256

enum blkif_abi {
	BLKIF_ABI_64,	/* "x86_64-abi", and the default */
	BLKIF_ABI_32,	/* "x86_32-abi": 64-bit fields only 4-byte aligned */
};

struct blkif_seg {
	uint32_t gref;
	uint8_t first_sect;
	uint8_t last_sect;
};

/* A request copied out of the ring and decoded, not yet validated. */
struct blkif_req {
	uint8_t operation;	/* as the guest sent it */
	/*
	 * What to do, and what the response carries: for INDIRECT its
	 * indirect_op (blkfront insists), else the operation.
	 */
	uint8_t op;
	bool indirect;
	uint16_t handle;
	uint64_t id;
	uint64_t sector;
	uint64_t discard_sectors;	/* DISCARD only */
	uint8_t discard_flag;
	unsigned int nr_segs;		/* as claimed by the guest */
	/* INDIRECT: the pages holding the segments (first nr_indirect). */
	unsigned int nr_indirect;
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	/* Direct requests: the segments (first min(nr_segs, 11)). */
	struct blkif_seg seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* Bytes of one request slot (the union of request and response). */
size_t blkif_entry_size(enum blkif_abi abi);
/* Ring entries in @nr_pages pages: a power of two, as __RING_SIZE. */
unsigned int blkif_ring_entries(enum blkif_abi abi, unsigned int nr_pages);

/*
 * Decode one request slot (already copied out of guest memory). Unknown
 * operations decode too (id and operation are always at the same place);
 * blkif_check_request() refuses them.
 */
void blkif_decode_request(enum blkif_abi abi, const void *slot,
			  struct blkif_req *req);
/* Segments from a copy of an indirect page: @n <= 512 of them. */
void blkif_decode_indirect_segs(const void *page, unsigned int n,
				struct blkif_seg *out);
/* Indirect pages needed for @nr_segs segments. */
unsigned int blkif_indirect_pages(unsigned int nr_segs);

struct blkif_limits {
	uint64_t disk_sectors;		/* 512-byte sectors */
	bool readonly;
	bool discard;			/* feature-discard was offered */
	unsigned int max_indirect_segs;	/* 0: no indirect requests */
};

/*
 * Is @req acceptable before its segments are looked at? Returns
 * BLKIF_RSP_OKAY, BLKIF_RSP_ERROR (malformed, writes to a read-only disk,
 * sectors out of range for a discard) or BLKIF_RSP_EOPNOTSUPP (unknown
 * operation, discard not offered).
 */
int blkif_check_request(const struct blkif_req *req,
			const struct blkif_limits *lim);
/*
 * Check segments and the range they cover from @sector. On success
 * *@nr_sectors is the transfer size in sectors. BLKIF_RSP_ERROR when a
 * segment has first_sect > last_sect or last_sect > 7, or the range leaves
 * the disk.
 */
int blkif_check_segs(const struct blkif_seg *seg, unsigned int n,
		     uint64_t sector, uint64_t disk_sectors,
		     uint64_t *nr_sectors);
/* [@sector, @sector + @count) inside a disk of @disk_sectors? */
bool blkif_range_ok(uint64_t sector, uint64_t count, uint64_t disk_sectors);
/* Does @op (READ/WRITE/...) modify the disk? */
bool blkif_op_writes(const struct blkif_req *req);

/*
 * The backend's view of one shared ring: @pages are host pointers to the
 * guest's ring pages in order (not contiguous in host memory: slots that
 * straddle a page boundary are copied in two pieces).
 */
struct blkif_ring {
	uint8_t *pages[BLKIF_RING_MAX_PAGES];
	unsigned int nr_pages;
	enum blkif_abi abi;
	unsigned int nr_ents;
	size_t ent_size;
	uint32_t req_cons;	/* next request to read */
	uint32_t rsp_prod_pvt;	/* next response to write */
	bool broken;		/* garbage indexes seen: never read again */
};

/* 0, or -EINVAL for a page count that is not 1, 2, 4, 8 or 16. */
int blkif_ring_init(struct blkif_ring *r, void *const *pages,
		    unsigned int nr_pages, enum blkif_abi abi);
/*
 * Take the next request: 1 with *@req decoded, 0 when there is none (or
 * every slot already waits for its response), -EPROTO when the ring is
 * (or just became) broken.
 */
int blkif_ring_get_request(struct blkif_ring *r, struct blkif_req *req);
/* Queue a response in the next slot; published by push_responses(). */
void blkif_ring_put_response(struct blkif_ring *r, uint64_t id,
			     uint8_t operation, int16_t status);
/* Publish queued responses; true when the frontend asked to be notified. */
bool blkif_ring_push_responses(struct blkif_ring *r);
/*
 * No requests left: ask the frontend to notify us for the next one
 * (req_event) and check again, closing the race with a request posted
 * meanwhile. True when there are more to take.
 */
bool blkif_ring_final_check(struct blkif_ring *r);
/* Requests taken whose responses are not queued yet. */
unsigned int blkif_ring_in_flight(const struct blkif_ring *r);

#endif
