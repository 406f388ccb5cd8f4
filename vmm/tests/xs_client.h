/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A test client for the xenstore: sends xs_wire requests into a
 * connection and pops whole replies and watch events back out.
 */
#ifndef XENKVM_TESTS_XS_CLIENT_H
#define XENKVM_TESTS_XS_CLIENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#include "xenstore/xenstore.h"

struct xs_msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];	/* NUL added after len */
};

#define XS_CLIENT_EVENTS 64

struct xs_client {
	struct xs_conn *conn;
	uint32_t next_req;
	/* Watch events seen while waiting for replies. */
	struct xs_msg events[XS_CLIENT_EVENTS];
	unsigned int nr_events;
};

/* Pop one whole message from the connection's output. */
static inline bool xs_client_pop(struct xs_client *cl, struct xs_msg *m)
{
	size_t got = 0, need = sizeof(m->hdr);
	const void *p;
	size_t n;

	while (got < need) {
		n = xs_conn_peek_output(cl->conn, &p);
		if (!n)
			return false;
		if (n > need - got)
			n = need - got;
		if (got < sizeof(m->hdr))
			memcpy((char *)&m->hdr + got, p, n);
		else
			memcpy(m->body + got - sizeof(m->hdr), p, n);
		xs_conn_consume_output(cl->conn, n);
		got += n;
		if (got == sizeof(m->hdr))
			need += m->hdr.len;
	}
	m->body[m->hdr.len] = '\0';
	return true;
}

/* Send a request and return its reply; events go to cl->events. */
static inline bool xs_client_call(struct xs_client *cl, uint32_t type,
				  uint32_t tx, const void *payload,
				  size_t len, struct xs_msg *rep)
{
	struct xsd_sockmsg h = { type, ++cl->next_req, tx, (uint32_t)len };
	char buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	if (xs_conn_feed(cl->conn, buf, sizeof(h) + len) != sizeof(h) + len)
		return false;
	while (xs_client_pop(cl, rep)) {
		if (rep->hdr.type != XS_WATCH_EVENT)
			return rep->hdr.req_id == h.req_id;
		if (cl->nr_events < XS_CLIENT_EVENTS)
			cl->events[cl->nr_events++] = *rep;
	}
	return false;
}

/* Collect pending events (those queued after the last reply). */
static inline void xs_client_drain(struct xs_client *cl)
{
	struct xs_msg m;

	while (xs_client_pop(cl, &m))
		if (m.hdr.type == XS_WATCH_EVENT &&
		    cl->nr_events < XS_CLIENT_EVENTS)
			cl->events[cl->nr_events++] = m;
}

/* Was an event for (path, token) seen? Consumes it. */
static inline bool xs_client_saw(struct xs_client *cl, const char *path,
				 const char *token)
{
	unsigned int i;

	xs_client_drain(cl);
	for (i = 0; i < cl->nr_events; i++) {
		const char *p = cl->events[i].body;
		const char *t = p + strlen(p) + 1;

		if (!strcmp(p, path) && !strcmp(t, token)) {
			memmove(&cl->events[i], &cl->events[i + 1],
				(cl->nr_events - i - 1) * sizeof(cl->events[0]));
			cl->nr_events--;
			return true;
		}
	}
	return false;
}

static inline bool xs_is_error(const struct xs_msg *m, const char *name)
{
	return m->hdr.type == XS_ERROR && !strcmp(m->body, name);
}

static inline bool xs_is_ok(const struct xs_msg *m, uint32_t type)
{
	return m->hdr.type == type && m->hdr.len == 3 &&
	       !strcmp(m->body, "OK");
}

/* Payload of NUL-joined strings, e.g. xs_args(buf, "a", "b", NULL). */
static inline size_t xs_args(char *buf, ...)
{
	va_list ap;
	const char *s;
	size_t off = 0;

	va_start(ap, buf);
	while ((s = va_arg(ap, const char *))) {
		size_t l = strlen(s) + 1;

		memcpy(buf + off, s, l);
		off += l;
	}
	va_end(ap);
	return off;
}

#endif
