/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between store.c (the tree and its rules) and wire.c (messages).
 * Not for use outside vmm/xenstore/.
 */
#ifndef XENKVM_VMM_XENSTORE_INTERNAL_H
#define XENKVM_VMM_XENSTORE_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#include "xenstore.h"

/* A growable byte buffer for replies. */
struct xs_buf {
	char *p;
	size_t len;
	size_t cap;
};

static inline int xs_buf_put(struct xs_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

/* Append @s with its terminating NUL, as most replies want. */
static inline int xs_buf_put_str0(struct xs_buf *b, const char *s)
{
	return xs_buf_put(b, s, strlen(s) + 1);
}

static inline void xs_buf_free(struct xs_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* One queued outgoing message (header + payload). */
struct xs_out {
	struct xs_out *next;
	size_t len;
	size_t off;
	bool is_event;
	char data[];
};

struct xs_watch {
	struct xs_watch *next;
	char *path;		/* absolute, or "@introduceDomain" etc. */
	char *token;
	bool relative;		/* report paths relative to the domain home */
	xs_watch_cb cb;		/* host watch: call instead of queueing */
	void *cb_opaque;
};

struct xs_tx;

struct xs_conn {
	struct xs_conn *next;		/* store's list */
	struct xs_store *store;
	uint32_t domid;
	bool privileged;
	const struct xs_conn_ops *ops;
	void *opaque;

	struct xs_watch *watches;
	unsigned int nr_watches;
	struct xs_tx *txs;
	unsigned int nr_txs;

	/* Input: header, then payload. */
	struct xsd_sockmsg hdr;
	size_t hdr_have;
	char payload[XENSTORE_PAYLOAD_MAX + 1];
	size_t payload_have;
	bool desync;		/* oversized header seen: input stopped */
	uint64_t requests;	/* processed, for statistics */

	/* Output queue. */
	struct xs_out *out_head;
	struct xs_out *out_tail;
	size_t out_bytes;
	unsigned int out_events;
	uint64_t events_dropped;
};

/* Identity of the requester for one operation. */
struct xs_caller {
	struct xs_conn *conn;
	uint32_t domid;
	bool priv;
	uint32_t tx_id;		/* 0: no transaction */
};

/* store.c: operations the wire dispatches. Paths as the client sent them. */
int store_read(struct xs_store *s, const struct xs_caller *c,
	       const char *path, struct xs_buf *out);
int store_write(struct xs_store *s, const struct xs_caller *c,
		const char *path, const void *val, size_t len);
int store_mkdir(struct xs_store *s, const struct xs_caller *c,
		const char *path);
int store_rm(struct xs_store *s, const struct xs_caller *c, const char *path);
int store_directory(struct xs_store *s, const struct xs_caller *c,
		    const char *path, struct xs_buf *out);
int store_directory_part(struct xs_store *s, const struct xs_caller *c,
			 const char *path, uint64_t offset,
			 struct xs_buf *out);
int store_get_perms(struct xs_store *s, const struct xs_caller *c,
		    const char *path, struct xs_buf *out);
/* @perms: @len bytes of NUL-terminated perm strings. */
int store_set_perms(struct xs_store *s, const struct xs_caller *c,
		    const char *path, const char *perms, size_t len);
int store_watch(struct xs_store *s, const struct xs_caller *c,
		const char *path, const char *token);
int store_unwatch(struct xs_store *s, const struct xs_caller *c,
		  const char *path, const char *token);
int store_reset_watches(struct xs_store *s, const struct xs_caller *c);
int store_tx_start(struct xs_store *s, const struct xs_caller *c,
		   uint32_t *id);
int store_tx_end(struct xs_store *s, const struct xs_caller *c, bool commit);
int store_introduce(struct xs_store *s, uint32_t domid);
int store_release(struct xs_store *s, uint32_t domid);
int store_resume(struct xs_store *s, uint32_t domid);
/* Run host watch callbacks deferred during the operation just finished. */
void store_run_host_events(struct xs_store *s);
void store_drop_conn_state(struct xs_store *s, struct xs_conn *c);
void store_link_conn(struct xs_store *s, struct xs_conn *c);
void store_unlink_conn(struct xs_store *s, struct xs_conn *c);
const struct xs_quota *store_quota(const struct xs_store *s);

/* wire.c: queue output on a connection. */
int conn_queue_msg(struct xs_conn *c, uint32_t type, uint32_t req_id,
		   uint32_t tx_id, const void *payload, size_t len);
/* Watch events are dropped (and counted) when too many are pending. */
void conn_queue_watch_event(struct xs_conn *c, const char *path,
			    const char *token);

/* Parse a decimal domid/number in [0, max]; -EINVAL on anything else. */
int xs_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
