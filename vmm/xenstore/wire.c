// SPDX-License-Identifier: GPL-2.0
/*
 * The xs_wire.h protocol on one connection: reassemble requests from a
 * byte stream, check their arguments, dispatch to store.c and queue the
 * replies. Transports (ring.c, socket.c) only move bytes.
 *
 * A malformed request is answered EINVAL and the stream goes on. A header
 * claiming a payload longer than XENSTORE_PAYLOAD_MAX is answered E2BIG
 * and leaves the connection "desynchronised": we cannot know where the
 * next message starts (skipping up to 4 GiB would wedge the client for
 * good), so the connection takes no more input until the transport
 * resets it: the ring drops what is unread, the socket closes.
 */
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

/*
 * Stop taking requests while this much output waits, so a client that
 * never reads its replies cannot make us queue without bound.
 */
#define OUT_BACKLOG_BYTES	(16 * (XENSTORE_PAYLOAD_MAX + 16))

int xs_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static const char *errno_name(int err)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EIO";
}

/* ---- output ---- */

int conn_queue_msg(struct xs_conn *c, uint32_t type, uint32_t req_id,
		   uint32_t tx_id, const void *payload, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };
	struct xs_out *o;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	o = malloc(sizeof(*o) + sizeof(h) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = sizeof(h) + len;
	o->off = 0;
	o->is_event = type == XS_WATCH_EVENT;
	memcpy(o->data, &h, sizeof(h));
	if (len)
		memcpy(o->data + sizeof(h), payload, len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += o->len;
	if (o->is_event)
		c->out_events++;
	if (c->ops && c->ops->output_ready)
		c->ops->output_ready(c->opaque);
	return 0;
}

void conn_queue_watch_event(struct xs_conn *c, const char *path,
			    const char *token)
{
	struct xs_buf b = { 0 };

	if (c->out_events >= store_quota(c->store)->pending_events) {
		c->events_dropped++;
		return;
	}
	if (!xs_buf_put_str0(&b, path) && !xs_buf_put_str0(&b, token) &&
	    conn_queue_msg(c, XS_WATCH_EVENT, 0, 0, b.p, b.len))
		c->events_dropped++;
	xs_buf_free(&b);
}

size_t xs_conn_peek_output(struct xs_conn *c, const void **buf)
{
	if (!c->out_head) {
		*buf = NULL;
		return 0;
	}
	*buf = c->out_head->data + c->out_head->off;
	return c->out_head->len - c->out_head->off;
}

void xs_conn_consume_output(struct xs_conn *c, size_t n)
{
	while (n && c->out_head) {
		struct xs_out *o = c->out_head;
		size_t left = o->len - o->off;
		size_t k = n < left ? n : left;

		o->off += k;
		c->out_bytes -= k;
		n -= k;
		if (o->off < o->len)
			break;
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		if (o->is_event)
			c->out_events--;
		free(o);
	}
}

bool xs_conn_backlogged(const struct xs_conn *c)
{
	return c->out_bytes >= OUT_BACKLOG_BYTES;
}

/* ---- argument parsing ---- */

/*
 * Split the payload into exactly @n NUL-terminated strings. With @rest,
 * the last "argument" is whatever follows the first n-1 strings (WRITE's
 * value, SET_PERMS' list) and *@rest_len is its length.
 */
static int split_args(struct xs_conn *c, const char **v, unsigned int n,
		      size_t *rest_len)
{
	size_t len = c->hdr.len, off = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t l;

		if (rest_len && i == n - 1) {
			v[i] = c->payload + off;
			*rest_len = len - off;
			return 0;
		}
		if (off >= len)
			return -EINVAL;
		l = strnlen(c->payload + off, len - off);
		if (l == len - off)
			return -EINVAL;	/* not terminated inside the payload */
		v[i] = c->payload + off;
		off += l + 1;
	}
	return off == len ? 0 : -EINVAL;
}

static int parse_domid_arg(struct xs_conn *c, uint32_t *domid)
{
	const char *v[1];
	uint64_t d;
	int err = split_args(c, v, 1, NULL);

	if (!err)
		err = xs_parse_uint(v[0], 0xffff, &d);
	if (!err)
		*domid = (uint32_t)d;
	return err;
}

/* ---- requests ---- */

static int reply(struct xs_conn *c, const void *p, size_t len)
{
	return conn_queue_msg(c, c->hdr.type, c->hdr.req_id, c->hdr.tx_id, p,
			      len);
}

static int reply_ok(struct xs_conn *c)
{
	return reply(c, "OK", 3);
}

static void reply_error(struct xs_conn *c, int err)
{
	const char *name = errno_name(err < 0 ? -err : err);

	conn_queue_msg(c, XS_ERROR, c->hdr.req_id, c->hdr.tx_id, name,
		       strlen(name) + 1);
}

static int reply_buf(struct xs_conn *c, int err, struct xs_buf *b)
{
	if (!err)
		err = reply(c, b->p, b->len);
	xs_buf_free(b);
	return err;
}

static int req_path_out(struct xs_conn *c, const struct xs_caller *who,
			int (*op)(struct xs_store *, const struct xs_caller *,
				  const char *, struct xs_buf *))
{
	struct xs_buf b = { 0 };
	const char *v[1];
	int err = split_args(c, v, 1, NULL);

	if (!err)
		err = op(c->store, who, v[0], &b);
	return reply_buf(c, err, &b);
}

static int req_path_ack(struct xs_conn *c, const struct xs_caller *who,
			int (*op)(struct xs_store *, const struct xs_caller *,
				  const char *))
{
	const char *v[1];
	int err = split_args(c, v, 1, NULL);

	if (!err)
		err = op(c->store, who, v[0]);
	return err ? err : reply_ok(c);
}

static int req_write(struct xs_conn *c, const struct xs_caller *who)
{
	const char *v[2];
	size_t len;
	int err = split_args(c, v, 2, &len);

	if (!err)
		err = store_write(c->store, who, v[0], v[1], len);
	return err ? err : reply_ok(c);
}

static int req_set_perms(struct xs_conn *c, const struct xs_caller *who)
{
	const char *v[2];
	size_t len;
	int err = split_args(c, v, 2, &len);

	if (!err)
		err = store_set_perms(c->store, who, v[0], v[1], len);
	return err ? err : reply_ok(c);
}

static int req_directory_part(struct xs_conn *c, const struct xs_caller *who)
{
	struct xs_buf b = { 0 };
	const char *v[2];
	uint64_t off;
	int err = split_args(c, v, 2, NULL);

	if (!err)
		err = xs_parse_uint(v[1], UINT32_MAX, &off);
	if (!err)
		err = store_directory_part(c->store, who, v[0], off, &b);
	return reply_buf(c, err, &b);
}

static int req_watch(struct xs_conn *c, const struct xs_caller *who,
		     bool add)
{
	const char *v[2];
	int err = split_args(c, v, 2, NULL);

	if (err)
		return err;
	if (!add) {
		err = store_unwatch(c->store, who, v[0], v[1]);
		return err ? err : reply_ok(c);
	}
	err = store_watch(c->store, who, v[0], v[1]);
	if (!err)
		err = reply_ok(c);
	/* Xen fires every new watch once, right after the reply. */
	if (!err)
		conn_queue_watch_event(c, v[0], v[1]);
	return err;
}

static int req_tx_start(struct xs_conn *c, const struct xs_caller *who)
{
	char id[16];
	uint32_t tx;
	int err = store_tx_start(c->store, who, &tx);

	if (err)
		return err;
	snprintf(id, sizeof(id), "%" PRIu32, tx);
	return reply(c, id, strlen(id) + 1);
}

static int req_tx_end(struct xs_conn *c, const struct xs_caller *who)
{
	const char *v[1];
	int err = split_args(c, v, 1, NULL);

	if (err)
		return err;
	if (strcmp(v[0], "T") && strcmp(v[0], "F"))
		return -EINVAL;
	err = store_tx_end(c->store, who, v[0][0] == 'T');
	return err ? err : reply_ok(c);
}

static int req_get_domain_path(struct xs_conn *c)
{
	char path[32];
	uint32_t domid;
	int err = parse_domid_arg(c, &domid);

	if (err)
		return err;
	snprintf(path, sizeof(path), "/local/domain/%" PRIu32, domid);
	return reply(c, path, strlen(path) + 1);
}

/* XS_INTRODUCE: "domid\0mfn\0port\0". The machine owns the ring itself. */
static int req_introduce(struct xs_conn *c)
{
	const char *v[3];
	uint64_t domid, mfn, port;
	int err = split_args(c, v, 3, NULL);

	if (!err)
		err = xs_parse_uint(v[0], 0x7fef, &domid);
	if (!err)
		err = xs_parse_uint(v[1], UINT64_MAX, &mfn);
	if (!err)
		err = xs_parse_uint(v[2], UINT32_MAX, &port);
	if (!err)
		err = domid ? store_introduce(c->store, (uint32_t)domid) :
			      -EINVAL;
	return err ? err : reply_ok(c);
}

static int req_domain_op(struct xs_conn *c,
			 int (*op)(struct xs_store *, uint32_t))
{
	uint32_t domid;
	int err = parse_domid_arg(c, &domid);

	if (!err)
		err = op(c->store, domid);
	return err ? err : reply_ok(c);
}

static int req_is_introduced(struct xs_conn *c)
{
	uint32_t domid;
	int err = parse_domid_arg(c, &domid);

	if (err)
		return err;
	return reply(c, xs_domain_is_introduced(c->store, domid) ? "T" : "F",
		     2);
}

/* XS_CONTROL: "print <text>" logs; "quota" reports the limits. */
static int req_control(struct xs_conn *c)
{
	struct xs_quota q;
	char text[256];
	const char *v[2];

	if (c->hdr.len == 0 || c->payload[c->hdr.len - 1] != '\0')
		return -EINVAL;
	v[0] = c->payload;
	if (!strcmp(v[0], "print")) {
		if (split_args(c, v, 2, NULL))
			return -EINVAL;
		fprintf(stderr, "xenstore: %s\n", v[1]);
		return reply_ok(c);
	}
	if (!strcmp(v[0], "quota") && c->hdr.len == sizeof("quota")) {
		xs_store_get_quota(c->store, &q);
		snprintf(text, sizeof(text),
			 "nodes %u\nvalue-size %u\nwatches %u\n"
			 "transactions %u\nperms %u\n", q.nodes_per_domain,
			 q.value_size, q.watches_per_domain,
			 q.transactions_per_domain, q.perms_per_node);
		return reply(c, text, strlen(text) + 1);
	}
	return -EINVAL;
}

static int dispatch_privileged(struct xs_conn *c)
{
	if (!c->privileged)
		return -EACCES;
	switch (c->hdr.type) {
	case XS_INTRODUCE:
		return req_introduce(c);
	case XS_RELEASE:
		return req_domain_op(c, store_release);
	case XS_RESUME:
		return req_domain_op(c, store_resume);
	case XS_CONTROL:
		return req_control(c);
	default:
		/* XS_SET_TARGET: no stub domains here. */
		return -ENOSYS;
	}
}

static int dispatch(struct xs_conn *c)
{
	struct xs_caller who = { c, c->domid, c->privileged, c->hdr.tx_id };

	switch (c->hdr.type) {
	case XS_READ:
		return req_path_out(c, &who, store_read);
	case XS_DIRECTORY:
		return req_path_out(c, &who, store_directory);
	case XS_GET_PERMS:
		return req_path_out(c, &who, store_get_perms);
	case XS_DIRECTORY_PART:
		return req_directory_part(c, &who);
	case XS_WRITE:
		return req_write(c, &who);
	case XS_MKDIR:
		return req_path_ack(c, &who, store_mkdir);
	case XS_RM:
		return req_path_ack(c, &who, store_rm);
	case XS_SET_PERMS:
		return req_set_perms(c, &who);
	case XS_WATCH:
		return req_watch(c, &who, true);
	case XS_UNWATCH:
		return req_watch(c, &who, false);
	case XS_TRANSACTION_START:
		return req_tx_start(c, &who);
	case XS_TRANSACTION_END:
		return req_tx_end(c, &who);
	case XS_RESET_WATCHES:
		store_reset_watches(c->store, &who);
		return reply_ok(c);
	case XS_GET_DOMAIN_PATH:
		return req_get_domain_path(c);
	case XS_IS_DOMAIN_INTRODUCED:
		return req_is_introduced(c);
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_RESUME:
	case XS_CONTROL:
	case XS_SET_TARGET:
		return dispatch_privileged(c);
	default:
		/* XS_WATCH_EVENT, XS_ERROR and unknown types. */
		return -EINVAL;
	}
}

static void process_request(struct xs_conn *c)
{
	int err;

	c->payload[c->hdr.len] = '\0';
	c->requests++;
	err = dispatch(c);
	if (err)
		reply_error(c, err);
	store_run_host_events(c->store);
}

/* ---- input ---- */

static void header_complete(struct xs_conn *c)
{
	if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
		reply_error(c, E2BIG);
		c->desync = true;
		c->hdr_have = 0;
		return;
	}
	c->payload_have = 0;
	if (c->hdr.len == 0) {
		process_request(c);
		c->hdr_have = 0;
	}
}

size_t xs_conn_feed(struct xs_conn *c, const void *buf, size_t len)
{
	const char *in = buf;
	size_t used = 0;

	while (used < len && !c->desync && !xs_conn_backlogged(c)) {
		size_t avail = len - used, k;

		if (c->hdr_have < sizeof(c->hdr)) {
			k = sizeof(c->hdr) - c->hdr_have;
			k = k < avail ? k : avail;
			memcpy((char *)&c->hdr + c->hdr_have, in + used, k);
			c->hdr_have += k;
			if (c->hdr_have == sizeof(c->hdr)) {
				used += k;
				header_complete(c);
				continue;
			}
		} else {
			k = c->hdr.len - c->payload_have;
			k = k < avail ? k : avail;
			memcpy(c->payload + c->payload_have, in + used, k);
			c->payload_have += k;
			if (c->payload_have == c->hdr.len) {
				used += k;
				process_request(c);
				c->hdr_have = 0;
				continue;
			}
		}
		used += k;
	}
	return used;
}

void xs_conn_reset_input(struct xs_conn *c)
{
	c->hdr_have = 0;
	c->payload_have = 0;
	c->desync = false;
}

bool xs_conn_desynced(const struct xs_conn *c)
{
	return c->desync;
}

/* ---- lifetime ---- */

struct xs_conn *xs_conn_new(struct xs_store *s, uint32_t domid,
			    bool privileged, const struct xs_conn_ops *ops,
			    void *opaque)
{
	struct xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->store = s;
	c->domid = domid;
	c->privileged = privileged;
	c->ops = ops;
	c->opaque = opaque;
	store_link_conn(s, c);
	return c;
}

void xs_conn_free(struct xs_conn *c)
{
	if (!c)
		return;
	store_drop_conn_state(c->store, c);
	store_unlink_conn(c->store, c);
	while (c->out_head) {
		struct xs_out *o = c->out_head;

		c->out_head = o->next;
		free(o);
	}
	free(c);
}
