// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's xenstore ring: wraparound, torn and oversized requests,
 * garbage indexes, big replies, asynchronous watch events; then a fuzz
 * run of random and mutated messages through ring and parser.
 *
 * The "page" is a malloc of exactly the interface's size so ASan flags
 * any access outside it.
 */
#include <stdio.h>
#include <time.h>

#include "ktap.h"
#include "xs_client.h"

#define GUEST 3

struct rig {
	struct xs_store *s;
	struct xenstore_domain_interface *intf;
	struct xs_ring *ring;
	unsigned int notified;
};

static void count_notify(void *opaque)
{
	struct rig *r = opaque;

	r->notified++;
}

static const struct xs_ring_ops rig_ops = { .notify_guest = count_notify };

static void rig_init(struct rig *r, uint32_t start_idx)
{
	struct xs_domain_info info = { "g", 1024, 1 };

	memset(r, 0, sizeof(*r));
	r->s = xs_store_new();
	r->intf = calloc(1, sizeof(*r->intf));
	r->intf->req_cons = r->intf->req_prod = start_idx;
	r->intf->rsp_cons = r->intf->rsp_prod = start_idx;
	xs_domain_introduce(r->s, GUEST, &info);
	r->ring = xs_ring_new(r->s, GUEST, r->intf, &rig_ops, r);
}

static void rig_fini(struct rig *r)
{
	xs_ring_free(r->ring);
	xs_store_free(r->s);
	free(r->intf);
}

/* The guest side, as Linux's xenbus does it. */
static size_t guest_send(struct xenstore_domain_interface *in,
			 const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		uint32_t prod = in->req_prod;
		uint32_t space = XENSTORE_RING_SIZE - (prod - in->req_cons);
		uint32_t off = MASK_XENSTORE_IDX(prod);
		size_t n = len - done;

		if (space > XENSTORE_RING_SIZE - off)
			space = XENSTORE_RING_SIZE - off;
		if (!space)
			break;
		if (n > space)
			n = space;
		memcpy(in->req + off, p + done, n);
		__atomic_store_n(&in->req_prod, prod + (uint32_t)n,
				 __ATOMIC_RELEASE);
		done += n;
	}
	return done;
}

static size_t guest_recv(struct xenstore_domain_interface *in, void *buf,
			 size_t max)
{
	char *p = buf;
	size_t done = 0;

	while (done < max) {
		uint32_t cons = in->rsp_cons;
		uint32_t avail = in->rsp_prod - cons;
		uint32_t off = MASK_XENSTORE_IDX(cons);
		size_t n = max - done;

		if (avail > XENSTORE_RING_SIZE - off)
			avail = XENSTORE_RING_SIZE - off;
		if (!avail)
			break;
		if (n > avail)
			n = avail;
		memcpy(p + done, in->rsp + off, n);
		__atomic_store_n(&in->rsp_cons, cons + (uint32_t)n,
				 __ATOMIC_RELEASE);
		done += n;
	}
	return done;
}

/* Receive one whole message, kicking the server while the ring is dry. */
static bool guest_read_msg(struct rig *r, struct xs_msg *m)
{
	size_t got = 0, need = sizeof(m->hdr);
	int spins = 0;

	while (got < need && spins++ < 64) {
		char *dst = got < sizeof(m->hdr) ? (char *)&m->hdr + got :
						   m->body + got - sizeof(m->hdr);
		size_t n = guest_recv(r->intf, dst,
				      (got < sizeof(m->hdr) ? sizeof(m->hdr) :
							      need) - got);

		got += n;
		if (got == sizeof(m->hdr)) {
			if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
				return false;
			need += m->hdr.len;
		}
		if (!n)
			xs_ring_kick(r->ring);
	}
	if (got < need)
		return false;
	m->body[m->hdr.len] = '\0';
	return true;
}

static bool guest_request(struct rig *r, uint32_t type, uint32_t req_id,
			  const void *payload, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, 0, (uint32_t)len };
	char buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];
	size_t sent = 0;
	int spins = 0;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	while (sent < sizeof(h) + len && spins++ < 64) {
		sent += guest_send(r->intf, buf + sent, sizeof(h) + len - sent);
		xs_ring_kick(r->ring);
	}
	return sent == sizeof(h) + len;
}

static void test_round_trip_and_wrap(struct ktap *t)
{
	struct rig r;
	struct xs_msg m;
	unsigned int i, good = 0;
	char path[64];

	/* Start just below the 32-bit wrap so indexes overflow mid-run. */
	rig_init(&r, 0xffffff00u);
	for (i = 0; i < 300; i++) {
		char payload[128];
		size_t n;

		snprintf(path, sizeof(path), "data/k%u", i % 7);
		n = xs_args(payload, path, NULL);
		memcpy(payload + n, "value", 5);
		if (!guest_request(&r, XS_WRITE, i, payload, n + 5))
			break;
		if (!guest_read_msg(&r, &m) || m.hdr.req_id != i ||
		    m.hdr.type != XS_WRITE)
			break;
		n = xs_args(payload, path, NULL);
		if (!guest_request(&r, XS_READ, 1000 + i, payload, n))
			break;
		if (guest_read_msg(&r, &m) && m.hdr.type == XS_READ &&
		    m.hdr.len == 5 && !memcmp(m.body, "value", 5))
			good++;
	}
	KTAP_EXPECT(t, good == 300);
	/* The indexes really wrapped. */
	KTAP_EXPECT(t, r.intf->req_prod < 0x10000000u &&
			       r.intf->rsp_prod < 0x10000000u);
	KTAP_EXPECT(t, r.notified > 0);
	rig_fini(&r);
	ktap_case_end(t, "round trips across index wraparound");
}

static void test_torn_and_oversized(struct ktap *t)
{
	struct xsd_sockmsg h = { XS_READ, 77, 0, sizeof("name") };
	struct xs_ring_stats st;
	struct rig r;
	struct xs_msg m;
	char junk[512];

	rig_init(&r, 0);
	/* Half a header: nothing happens yet. */
	guest_send(r.intf, &h, 7);
	xs_ring_kick(r.ring);
	KTAP_EXPECT(t, r.intf->rsp_prod == 0);
	guest_send(r.intf, (char *)&h + 7, sizeof(h) - 7);
	xs_ring_kick(r.ring);
	KTAP_EXPECT(t, r.intf->rsp_prod == 0);
	guest_send(r.intf, "name", sizeof("name"));
	xs_ring_kick(r.ring);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 77 &&
			       !strcmp(m.body, "g"));

	/* Oversized: E2BIG, and what was unread in the ring is dropped. */
	h.req_id = 78;
	h.len = XENSTORE_PAYLOAD_MAX + 100;
	guest_send(r.intf, &h, sizeof(h));
	memset(junk, 0xff, sizeof(junk));
	guest_send(r.intf, junk, 100);
	xs_ring_kick(r.ring);
	KTAP_EXPECT(t, r.intf->req_cons == r.intf->req_prod);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 78 &&
			       xs_is_error(&m, "E2BIG"));
	KTAP_EXPECT(t, guest_request(&r, XS_READ, 79, "domid", 6) &&
			       guest_read_msg(&r, &m) && m.hdr.req_id == 79 &&
			       !strcmp(m.body, "3"));

	/* Garbage producer index: resync, no access outside the ring. */
	r.intf->req_prod = r.intf->req_cons + 0x80000000u;
	xs_ring_kick(r.ring);
	xs_ring_get_stats(r.ring, &st);
	KTAP_EXPECT(t, st.ring_resets == 2);
	KTAP_EXPECT(t, r.intf->req_cons == r.intf->req_prod);
	KTAP_EXPECT(t, guest_request(&r, XS_READ, 80, "domid", 6) &&
			       guest_read_msg(&r, &m) && m.hdr.req_id == 80);

	/* Garbage rsp_cons: the server refuses to write, then recovers. */
	{
		uint32_t saved = r.intf->rsp_cons;

		r.intf->rsp_cons = r.intf->rsp_prod + 5000;
		guest_request(&r, XS_READ, 81, "domid", 6);
		KTAP_EXPECT(t, r.intf->rsp_prod == saved);
		r.intf->rsp_cons = saved;
		xs_ring_kick(r.ring);
		KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 81);
	}
	rig_fini(&r);
	ktap_case_end(t, "torn, oversized requests and garbage indexes");
}

static void test_big_reply_and_events(struct ktap *t)
{
	char val[XENSTORE_PAYLOAD_MAX];
	struct rig r;
	struct xs_msg m;
	unsigned int before;

	rig_init(&r, 100);
	memset(val, 'z', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	xenstore_write(r.s, "/local/domain/3/data/big", val);
	/* 4 KiB reply through a 1 KiB ring. */
	KTAP_EXPECT(t, guest_request(&r, XS_READ, 5, "data/big",
				     sizeof("data/big")));
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 5 &&
			       m.hdr.len == sizeof(val) - 1 &&
			       !memcmp(m.body, val, m.hdr.len));

	/* A watch event reaches the ring without the guest asking. */
	{
		char p[64];
		size_t n = xs_args(p, "device", "tk", NULL);

		guest_request(&r, XS_WATCH, 6, p, n);
		KTAP_EXPECT(t, guest_read_msg(&r, &m) && xs_is_ok(&m, XS_WATCH));
		KTAP_EXPECT(t, guest_read_msg(&r, &m) &&
				       m.hdr.type == XS_WATCH_EVENT);
	}
	before = r.notified;
	xenstore_write(r.s, "/local/domain/3/device/vif", "");
	KTAP_EXPECT(t, r.notified > before);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.type == XS_WATCH_EVENT &&
			       !strcmp(m.body, "device/vif"));
	rig_fini(&r);
	ktap_case_end(t, "big replies and asynchronous watch events");
}

/*
 * A watch event caused by another client must not make the ring take the
 * guest's pending requests in the middle of firing watches: a pending
 * RESET_WATCHES would free the very watch being fired.
 */
static void test_event_does_not_reenter(struct ktap *t)
{
	struct xsd_sockmsg h = { XS_RESET_WATCHES, 9, 0, 1 };
	struct rig r;
	struct xs_msg m;
	char p[64];
	size_t n = xs_args(p, "device", "w", NULL);

	rig_init(&r, 0);
	guest_request(&r, XS_WATCH, 8, p, n);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && xs_is_ok(&m, XS_WATCH));
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.type == XS_WATCH_EVENT);
	/* Queued by the guest, not yet notified. */
	guest_send(r.intf, &h, sizeof(h));
	guest_send(r.intf, "", 1);
	KTAP_EXPECT(t, !xenstore_write(r.s, "/local/domain/3/device/x", "1"));
	/* The event arrived; the request is still unread. */
	KTAP_EXPECT(t, r.intf->req_cons != r.intf->req_prod);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.type == XS_WATCH_EVENT &&
			       !strcmp(m.body, "device/x"));
	xs_ring_kick(r.ring);
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 9 &&
			       xs_is_ok(&m, XS_RESET_WATCHES));
	rig_fini(&r);
	ktap_case_end(t, "watch events do not re-enter the ring's parser");
}

/* ---- fuzz ---- */

/* xorshift64*: deterministic per seed, so failures reproduce. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static const char *const fuzz_paths[] = {
	"data/a", "data/a/b", "data/c", "device/vbd/1/state", "control/shutdown",
	"/local/domain/3/data/x", "/", "/local", "", "data//x", "@releaseDomain",
	"name", "/local/domain/0/backend", "device",
};

/* A well-formed message of a random type, then maybe mutated. */
static size_t fuzz_message(uint64_t *seed, char *buf, size_t max)
{
	struct xsd_sockmsg h;
	size_t len = 0, n;
	const char *p = fuzz_paths[rnd(seed) % (sizeof(fuzz_paths) /
					      sizeof(fuzz_paths[0]))];
	uint64_t r = rnd(seed);

	h.type = (uint32_t)(r % (XS_TYPE_COUNT + 2));
	h.req_id = (uint32_t)(r >> 8);
	h.tx_id = (r >> 40) % 4 == 0 ? (uint32_t)(r >> 44) % 8 : 0;
	n = strlen(p) + 1;
	memcpy(buf + sizeof(h), p, n);
	len = n;
	switch (h.type) {
	case XS_WRITE:
		len += (size_t)(r >> 50) % 64;
		memset(buf + sizeof(h) + n, 'v', len - n);
		break;
	case XS_WATCH:
	case XS_UNWATCH:
		memcpy(buf + sizeof(h) + len, "tok", 4);
		len += 4;
		break;
	case XS_TRANSACTION_END:
		memcpy(buf + sizeof(h), (r >> 48) & 1 ? "T" : "F", 2);
		len = 2;
		break;
	case XS_SET_PERMS:
		memcpy(buf + sizeof(h) + len, "n3\0r0", 6);
		len += 6;
		break;
	case XS_DIRECTORY_PART:
		memcpy(buf + sizeof(h) + len, "0", 2);
		len += 2;
		break;
	default:
		break;
	}
	h.len = (uint32_t)len;
	memcpy(buf, &h, sizeof(h));
	len += sizeof(h);
	/*
	 * Mutate one message in eight: flip a bit, lie about the length, or
	 * replace it with random bytes. Each costs the parser its sync for
	 * about two messages, so more would leave little well-formed traffic.
	 */
	switch (rnd(seed) % 24) {
	case 0:
		buf[rnd(seed) % len] ^= (char)(1u << (rnd(seed) % 8));
		break;
	case 1: {
		/* Mostly near the truth, sometimes anything up to huge. */
		uint32_t lie = (uint32_t)rnd(seed);

		if (lie % 64 == 0)
			;
		else if (lie % 8)
			lie = h.len + lie % 17 - 8;
		else
			lie %= XENSTORE_PAYLOAD_MAX + 64;
		memcpy(buf + offsetof(struct xsd_sockmsg, len), &lie, 4);
		break;
	}
	case 2: {
		/* Random bytes, with a length that is usually plausible. */
		uint32_t l;

		len = sizeof(h) + rnd(seed) % (max - sizeof(h));
		for (n = 0; n < len; n++)
			buf[n] = (char)rnd(seed);
		l = (uint32_t)rnd(seed);
		if (l % 64)
			l %= (uint32_t)(len - sizeof(h) + 64);
		memcpy(buf + offsetof(struct xsd_sockmsg, len), &l, 4);
		break;
	}
	default:
		break;
	}
	return len;
}

static void test_fuzz(struct ktap *t)
{
	const unsigned long target = 1000000;
	struct xs_ring_stats st;
	struct xs_msg m;
	/* Fixed by default so failures reproduce; XS_FUZZ_SEED explores. */
	uint64_t seed = getenv("XS_FUZZ_SEED") ?
			strtoull(getenv("XS_FUZZ_SEED"), NULL, 0) | 1 :
			0x5eed1234abcdull;
	unsigned long msgs = 0, replies_bad = 0;
	struct rig r;
	clock_t t0 = clock();
	char buf[512], sink[2048];

	rig_init(&r, 0xfffffff0u);
	while (msgs < target) {
		size_t len = fuzz_message(&seed, buf, sizeof(buf));
		size_t off = 0;
		int spins = 0;

		/* Push it, one time in eight torn across several kicks. */
		bool tear = rnd(&seed) % 8 == 0;

		while (off < len && spins++ < 256) {
			size_t piece = tear ? 1 + rnd(&seed) % (len - off) :
					      len - off;

			off += guest_send(r.intf, buf + off, piece);
			xs_ring_kick(r.ring);
			/* Drain replies most of the time. */
			if (rnd(&seed) % 16)
				guest_recv(r.intf, sink, sizeof(sink));
		}
		msgs++;
		/* Sometimes the guest scribbles on the indexes. */
		switch (rnd(&seed) % 1024) {
		case 0:
			r.intf->req_prod = (uint32_t)rnd(&seed);
			xs_ring_kick(r.ring);
			break;
		case 1:
			r.intf->rsp_cons = (uint32_t)rnd(&seed);
			xs_ring_kick(r.ring);
			r.intf->rsp_cons = r.intf->rsp_prod;
			break;
		case 2:
			r.intf->req_cons = (uint32_t)rnd(&seed);
			xs_ring_kick(r.ring);
			break;
		default:
			break;
		}
		if (r.intf->rsp_prod - r.intf->rsp_cons > XENSTORE_RING_SIZE)
			replies_bad++;
	}
	/*
	 * The server still answers a sane guest. Garbage indexes reset the
	 * parser (a partial request may be pending); then drain every queued
	 * byte so the next reply starts on a message boundary.
	 */
	r.intf->req_prod += 0x90000000u;
	xs_ring_kick(r.ring);
	r.intf->rsp_cons = r.intf->rsp_prod;
	for (int i = 0; i < 100000; i++) {
		xs_ring_kick(r.ring);
		if (!guest_recv(r.intf, sink, sizeof(sink)))
			break;
	}
	KTAP_EXPECT(t, guest_request(&r, XS_READ, 424242, "domid", 6));
	KTAP_EXPECT(t, guest_read_msg(&r, &m) && m.hdr.req_id == 424242 &&
			       !strcmp(m.body, "3"));
	xs_ring_get_stats(r.ring, &st);
	printf("# fuzz: %lu messages, %llu parsed, %llu request bytes, "
	       "%llu reply bytes, %llu resets, %.2fs\n", msgs,
	       (unsigned long long)st.requests,
	       (unsigned long long)st.requests_bytes,
	       (unsigned long long)st.reply_bytes,
	       (unsigned long long)st.ring_resets,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	KTAP_EXPECT(t, msgs == target);
	KTAP_EXPECT(t, replies_bad == 0);
	/* Most messages must really have been parsed and answered. */
	KTAP_EXPECT(t, st.requests > target / 2);
	rig_fini(&r);
	ktap_case_end(t, "fuzz: a million random and mutated messages");
}

/* The same traffic from a privileged (socket) client, no ring. */
static void test_fuzz_privileged(struct ktap *t)
{
	struct xs_store *s = xs_store_new();
	struct xs_conn *c = xs_conn_new(s, 0, true, NULL, NULL);
	uint64_t seed = getenv("XS_FUZZ_SEED") ?
			strtoull(getenv("XS_FUZZ_SEED"), NULL, 0) | 1 :
			0xfeedface0001ull;
	unsigned long i, resets = 0;
	char buf[512];

	for (i = 0; i < 200000; i++) {
		size_t len = fuzz_message(&seed, buf, sizeof(buf));
		const void *p;
		size_t n;

		xs_conn_feed(c, buf, len);
		if (xs_conn_desynced(c)) {
			xs_conn_reset_input(c);
			resets++;
		}
		while ((n = xs_conn_peek_output(c, &p)))
			xs_conn_consume_output(c, n);
	}
	/* Still sane afterwards. */
	KTAP_EXPECT(t, !xenstore_write(s, "/after", "ok"));
	KTAP_EXPECT(t, xenstore_exists(s, "/local/domain/0/name"));
	printf("# privileged fuzz: %lu messages, %lu resets\n", i, resets);
	xs_conn_free(c);
	xs_store_free(s);
	ktap_case_end(t, "fuzz: privileged client");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 6);
	test_round_trip_and_wrap(&t);
	test_torn_and_oversized(&t);
	test_big_reply_and_events(&t);
	test_event_does_not_reenter(&t);
	test_fuzz(&t);
	test_fuzz_privileged(&t);
	return ktap_finish(&t);
}
