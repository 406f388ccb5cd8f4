// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's xenstore ring (struct xenstore_domain_interface): move
 * request bytes into the domain's connection and replies back out.
 *
 * The page is shared with a guest that may scribble on it at any time:
 * every index is read once, checked, and only ever used masked, so no
 * access leaves req[] or rsp[]. Request bytes are copied out before the
 * parser sees them, so a guest changing them mid-parse gains nothing.
 * Indexes that claim more than a ring's worth of data, or a request
 * longer than XENSTORE_PAYLOAD_MAX, cannot come from a correct guest; we
 * resynchronise (drop what is unread, answer E2BIG for the latter) rather
 * than stop serving, and count it.
 *
 * Notifications. Linux's xenbus notifies after a write only if it then
 * sees that we had consumed everything it wrote before (prod <= req_cons),
 * and after a read only if the reply ring had been full. It publishes its
 * index and reads ours with no full barrier in between, so a write that
 * races with our consumption can come without a notification while we,
 * having published req_cons, still read its old req_prod: each side thinks
 * the other will act, and the guest waits forever in xs_talkv. Our half
 * of the pairing gets its full barrier (publish_idx); for the guest's
 * half, which we cannot fix, every kick that moves data asks the owner to
 * kick again shortly (recheck_soon), as Xen's xenstored in effect does by
 * rescanning every ring on any event.
 */
#include "internal.h"

struct xs_ring {
	struct xs_conn *conn;
	struct xenstore_domain_interface *intf;
	const struct xs_ring_ops *ops;
	void *opaque;
	struct xs_ring_stats st;
	bool in_kick;
	bool again;	/* output appeared while we were inside kick */
};

static uint32_t load_idx(const XENSTORE_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_idx(XENSTORE_RING_IDX *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Our index, ordered before our next read of the guest's (see above). */
static void publish_idx(XENSTORE_RING_IDX *p, uint32_t v)
{
	store_idx(p, v);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Take what the guest produced; returns true if anything was consumed. */
static bool ring_take_requests(struct xs_ring *r)
{
	struct xenstore_domain_interface *in = r->intf;
	char chunk[XENSTORE_RING_SIZE];
	bool moved = false;

	for (;;) {
		uint32_t cons = load_idx(&in->req_cons);
		uint32_t prod = load_idx(&in->req_prod);
		uint32_t avail = prod - cons;
		uint32_t off = MASK_XENSTORE_IDX(cons);
		size_t n, used;

		if (avail > XENSTORE_RING_SIZE) {
			/* Garbage indexes: forget the partial request. */
			store_idx(&in->req_cons, prod);
			xs_conn_reset_input(r->conn);
			r->st.ring_resets++;
			return true;
		}
		if (!avail)
			return moved;
		n = avail < XENSTORE_RING_SIZE - off ? avail :
						       XENSTORE_RING_SIZE - off;
		memcpy(chunk, in->req + off, n);
		used = xs_conn_feed(r->conn, chunk, n);
		if (xs_conn_desynced(r->conn)) {
			/* Oversized request: drop the unread rest, resync. */
			store_idx(&in->req_cons, load_idx(&in->req_prod));
			xs_conn_reset_input(r->conn);
			r->st.ring_resets++;
			return true;
		}
		if (!used)
			return moved;
		publish_idx(&in->req_cons, cons + (uint32_t)used);
		r->st.requests_bytes += used;
		moved = true;
		if (used < n)
			return moved;	/* backlogged: wait for the guest */
	}
}

/* Copy queued replies into rsp[]; returns true if anything was written. */
static bool ring_put_replies(struct xs_ring *r)
{
	struct xenstore_domain_interface *in = r->intf;
	bool moved = false;

	for (;;) {
		uint32_t cons = load_idx(&in->rsp_cons);
		uint32_t prod = load_idx(&in->rsp_prod);
		uint32_t used = prod - cons;
		uint32_t off = MASK_XENSTORE_IDX(prod);
		const void *src;
		size_t n = xs_conn_peek_output(r->conn, &src);
		size_t space;

		if (used > XENSTORE_RING_SIZE) {
			/* The guest broke rsp_cons; writing would corrupt. */
			r->st.ring_resets++;
			return moved;
		}
		space = XENSTORE_RING_SIZE - used;
		if (space > XENSTORE_RING_SIZE - off)
			space = XENSTORE_RING_SIZE - off;
		if (!n || !space)
			return moved;
		if (n > space)
			n = space;
		memcpy(in->rsp + off, src, n);
		publish_idx(&in->rsp_prod, prod + (uint32_t)n);
		xs_conn_consume_output(r->conn, n);
		r->st.reply_bytes += n;
		moved = true;
	}
}

/* Tell the guest, and look again soon for what it may not announce. */
static void ring_moved(struct xs_ring *r)
{
	if (!r->ops)
		return;
	if (r->ops->notify_guest) {
		r->st.notifies++;
		r->ops->notify_guest(r->opaque);
	}
	if (r->ops->recheck_soon)
		r->ops->recheck_soon(r->opaque);
}

void xs_ring_kick(struct xs_ring *r)
{
	bool notify = false;

	if (r->in_kick) {
		r->again = true;
		return;
	}
	r->in_kick = true;
	do {
		r->again = false;
		if (ring_take_requests(r))
			notify = true;
		if (ring_put_replies(r)) {
			notify = true;
			/* Room in our output may unblock more requests. */
			r->again = true;
		}
	} while (r->again);
	r->in_kick = false;
	store_run_host_events(r->conn->store);
	if (notify)
		ring_moved(r);
}

/*
 * New output, often a watch event fired by another client's operation
 * while the store is iterating its watches. Only push replies here: taking
 * the guest's pending requests now would run them inside that operation
 * (a RESET_WATCHES would free the watch being fired). Requests wait for
 * the next kick: the guest's notification or the recheck this asks for.
 */
static void ring_output_ready(void *opaque)
{
	struct xs_ring *r = opaque;

	if (r->in_kick) {
		r->again = true;
		return;
	}
	if (ring_put_replies(r))
		ring_moved(r);
}

static const struct xs_conn_ops ring_conn_ops = {
	.output_ready = ring_output_ready,
};

struct xs_ring *xs_ring_new(struct xs_store *s, uint32_t domid, void *page,
			    const struct xs_ring_ops *ops, void *opaque)
{
	struct xs_ring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->intf = page;
	r->ops = ops;
	r->opaque = opaque;
	r->conn = xs_conn_new(s, domid, false, &ring_conn_ops, r);
	if (!r->conn) {
		free(r);
		return NULL;
	}
	/* We support neither reconnection nor the error field. */
	r->intf->server_features = 0;
	return r;
}

void xs_ring_free(struct xs_ring *r)
{
	if (!r)
		return;
	xs_conn_free(r->conn);
	free(r);
}

void xs_ring_get_stats(const struct xs_ring *r, struct xs_ring_stats *st)
{
	*st = r->st;
	st->requests = r->conn->requests;
}

void xs_ring_dump(const struct xs_ring *r, FILE *f)
{
	struct xenstore_domain_interface *in = r->intf;

	fprintf(f, "xenkvm: xenstore ring: req cons %u prod %u, rsp cons %u prod %u; "
		"%llu requests, %llu notifies, %llu resets\n",
		load_idx(&in->req_cons), load_idx(&in->req_prod),
		load_idx(&in->rsp_cons), load_idx(&in->rsp_prod),
		(unsigned long long)r->conn->requests,
		(unsigned long long)r->st.notifies,
		(unsigned long long)r->st.ring_resets);
}
