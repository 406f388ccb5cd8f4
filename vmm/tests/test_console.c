// SPDX-License-Identifier: GPL-2.0
/*
 * PV console backend: ring wraparound, a slow and a vanished sink (no
 * loss, back-pressure on the ring), input, the escape key, garbage
 * indexes. The page is malloc'd at exactly the interface's size so ASan
 * flags any access outside the rings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/console.h>

#include "ktap.h"
#include "pv_console.h"

struct rig {
	struct xencons_interface *intf;
	struct pv_console *c;
	/* What the sink received. */
	char *got;
	size_t got_len, got_cap;
	size_t per_call;	/* sink takes at most this much per call */
	bool full;		/* sink takes nothing right now */
	bool gone;
	unsigned int notifies, escapes, want_true, want_false;
	bool wanted;
};

static void r_notify(void *o)
{
	((struct rig *)o)->notifies++;
}

static ssize_t r_write(void *o, const void *buf, size_t len)
{
	struct rig *r = o;

	if (r->gone)
		return -1;
	if (r->full)
		return 0;
	if (r->per_call && len > r->per_call)
		len = r->per_call;
	if (r->got_len + len > r->got_cap) {
		r->got_cap = (r->got_len + len) * 2;
		r->got = realloc(r->got, r->got_cap);
	}
	memcpy(r->got + r->got_len, buf, len);
	r->got_len += len;
	return (ssize_t)len;
}

static void r_want(void *o, bool want)
{
	struct rig *r = o;

	r->wanted = want;
	if (want)
		r->want_true++;
	else
		r->want_false++;
}

static void r_escape(void *o)
{
	((struct rig *)o)->escapes++;
}

static const struct pv_console_ops r_ops = {
	.notify_guest = r_notify,
	.write_out = r_write,
	.want_sink = r_want,
	.escape = r_escape,
};

static void rig_init(struct rig *r, uint32_t start)
{
	memset(r, 0, sizeof(*r));
	r->intf = calloc(1, sizeof(*r->intf));
	r->intf->out_cons = r->intf->out_prod = start;
	r->intf->in_cons = r->intf->in_prod = start;
	r->c = pv_console_new(r->intf, &r_ops, r);
}

static void rig_fini(struct rig *r)
{
	pv_console_free(r->c);
	free(r->intf);
	free(r->got);
}

/* hvc_xen's write side: as much as fits. */
static size_t guest_write(struct xencons_interface *in, const char *p,
			  size_t len)
{
	uint32_t cons = __atomic_load_n(&in->out_cons, __ATOMIC_ACQUIRE);
	uint32_t prod = in->out_prod;
	size_t n = 0;

	while (n < len && prod - cons < sizeof(in->out))
		in->out[MASK_XENCONS_IDX(prod++, in->out)] = p[n++];
	__atomic_store_n(&in->out_prod, prod, __ATOMIC_RELEASE);
	return n;
}

/* hvc_xen's read side. */
static size_t guest_read(struct xencons_interface *in, char *p, size_t max)
{
	uint32_t cons = in->in_cons;
	uint32_t prod = __atomic_load_n(&in->in_prod, __ATOMIC_ACQUIRE);
	size_t n = 0;

	while (n < max && cons != prod)
		p[n++] = in->in[MASK_XENCONS_IDX(cons++, in->in)];
	__atomic_store_n(&in->in_cons, cons, __ATOMIC_RELEASE);
	return n;
}

static void pattern(char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + seed) % 26);
}

static void test_output_wraparound(struct ktap *t)
{
	const size_t total = 10000;
	char *src = malloc(total);
	size_t sent = 0;
	struct rig r;
	int spins = 0;

	rig_init(&r, 0xfffffc00u);	/* indexes wrap mid-stream */
	pattern(src, total, 1);
	while (sent < total && spins++ < 10000) {
		sent += guest_write(r.intf, src + sent,
				    (total - sent) < 333 ? total - sent : 333);
		pv_console_kick(r.c);
	}
	KTAP_EXPECT(t, sent == total);
	KTAP_EXPECT(t, r.got_len == total && !memcmp(r.got, src, total));
	KTAP_EXPECT(t, r.intf->out_cons == r.intf->out_prod);
	KTAP_EXPECT(t, r.intf->out_prod < 0x10000u);	/* it did wrap */
	KTAP_EXPECT(t, r.notifies > 0 && !pv_console_backlogged(r.c));
	free(src);
	rig_fini(&r);
	ktap_case_end(t, "output across ring and index wraparound");
}

static void test_slow_sink(struct ktap *t)
{
	const size_t total = 200000;
	char *src = malloc(total);
	size_t sent = 0;
	struct rig r;
	int rounds = 0;

	rig_init(&r, 0);
	pattern(src, total, 2);
	/* The terminal is stuck: we buffer, then stop consuming the ring. */
	r.full = true;
	while (sent < total && rounds++ < 1000) {
		size_t n = guest_write(r.intf, src + sent, total - sent);

		sent += n;
		pv_console_kick(r.c);
		if (!n)
			break;
	}
	KTAP_EXPECT(t, sent == PV_CONSOLE_OUTBUF + sizeof(r.intf->out));
	KTAP_EXPECT(t, r.intf->out_prod - r.intf->out_cons ==
			       sizeof(r.intf->out));
	KTAP_EXPECT(t, pv_console_backlogged(r.c) && r.wanted &&
			       r.want_true == 1);
	KTAP_EXPECT(t, r.got_len == 0);
	/* Now it drains, 7 bytes a call and sometimes not at all. */
	r.full = false;
	r.per_call = 7;
	rounds = 0;
	while ((sent < total || pv_console_backlogged(r.c)) &&
	       rounds++ < 1000000) {
		r.full = rounds % 5 == 0;
		sent += guest_write(r.intf, src + sent, total - sent);
		pv_console_kick(r.c);
	}
	r.full = false;
	pv_console_kick(r.c);
	KTAP_EXPECT(t, sent == total);
	KTAP_EXPECT(t, r.got_len == total && !memcmp(r.got, src, total));
	KTAP_EXPECT(t, !r.wanted && r.want_false >= 1);
	free(src);
	rig_fini(&r);
	ktap_case_end(t, "slow sink: nothing lost, ring back-pressure");
}

static void test_sink_gone(struct ktap *t)
{
	struct pv_console_stats st;
	char buf[1500];
	struct rig r;
	int i;

	rig_init(&r, 0);
	r.gone = true;
	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < 100; i++) {
		KTAP_EXPECT(t, guest_write(r.intf, buf, sizeof(buf)) ==
				       sizeof(buf));
		pv_console_kick(r.c);
	}
	pv_console_get_stats(r.c, &st);
	KTAP_EXPECT(t, st.dropped == 100 * sizeof(buf) && st.out_bytes == 0);
	KTAP_EXPECT(t, !pv_console_backlogged(r.c));
	rig_fini(&r);
	ktap_case_end(t, "a vanished sink never stalls the guest");
}

static void test_input_and_escape(struct ktap *t)
{
	char big[PV_CONSOLE_INBUF + 3000], got[sizeof(big)];
	size_t acc, n, have = 0;
	struct rig r;

	rig_init(&r, 0xfffffff0u);
	KTAP_EXPECT(t, pv_console_input(r.c, "ls\r", 3) == 3);
	KTAP_EXPECT(t, r.notifies == 1);
	n = guest_read(r.intf, got, sizeof(got));
	KTAP_EXPECT(t, n == 3 && !memcmp(got, "ls\r", 3));

	/* More than ring + buffer: the excess is refused, not lost. */
	pattern(big, sizeof(big), 3);
	acc = pv_console_input(r.c, big, sizeof(big));
	KTAP_EXPECT(t, acc == PV_CONSOLE_INBUF + sizeof(r.intf->in));
	while (have < sizeof(big)) {
		size_t k = guest_read(r.intf, got + have, sizeof(got) - have);

		have += k;
		pv_console_kick(r.c);	/* the guest notifies after reading */
		if (acc < sizeof(big))
			acc += pv_console_input(r.c, big + acc,
						sizeof(big) - acc);
		if (!k && acc == sizeof(big) && have < sizeof(big) &&
		    r.intf->in_prod == r.intf->in_cons)
			break;
	}
	KTAP_EXPECT(t, have == sizeof(big) && !memcmp(got, big, sizeof(big)));

	/* Ctrl-] leaves: it and what follows never reach the guest. */
	KTAP_EXPECT(t, pv_console_input(r.c, "ab\x1d" "cd", 5) == 5);
	KTAP_EXPECT(t, r.escapes == 1);
	n = guest_read(r.intf, got, sizeof(got));
	KTAP_EXPECT(t, n == 2 && !memcmp(got, "ab", 2));
	KTAP_EXPECT(t, pv_console_input(r.c, "\x1d", 1) == 1 && r.escapes == 2);
	KTAP_EXPECT(t, guest_read(r.intf, got, sizeof(got)) == 0);
	rig_fini(&r);
	ktap_case_end(t, "input, flow control and the escape key");
}

static void test_garbage_indexes(struct ktap *t)
{
	struct pv_console_stats st;
	char got[16];
	struct rig r;

	rig_init(&r, 100);
	/* A producer index a world away: resync, copy nothing. */
	r.intf->out_prod = r.intf->out_cons + 0x70000000u;
	pv_console_kick(r.c);
	KTAP_EXPECT(t, r.intf->out_cons == r.intf->out_prod && r.got_len == 0);
	/* A consumer index that runs ahead of what we produced. */
	r.intf->in_cons = r.intf->in_prod + 5;
	KTAP_EXPECT(t, pv_console_input(r.c, "ok", 2) == 2);
	KTAP_EXPECT(t, guest_read(r.intf, got, sizeof(got)) == 2 &&
			       !memcmp(got, "ok", 2));
	pv_console_get_stats(r.c, &st);
	KTAP_EXPECT(t, st.ring_resets == 2);
	/* And normal service afterwards. */
	guest_write(r.intf, "fine", 4);
	pv_console_kick(r.c);
	KTAP_EXPECT(t, r.got_len == 4 && !memcmp(r.got, "fine", 4));
	rig_fini(&r);
	ktap_case_end(t, "garbage ring indexes");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 5);
	test_output_wraparound(&t);
	test_slow_sink(&t);
	test_sink_gone(&t);
	test_input_and_escape(&t);
	test_garbage_indexes(&t);
	return ktap_finish(&t);
}
