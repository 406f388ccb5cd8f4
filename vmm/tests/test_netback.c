// SPDX-License-Identifier: GPL-2.0
/*
 * The network backend end to end on the fake machine: a real xenstore,
 * the real grant table and event channels, and a test playing Linux's
 * xen-netfront (rings in fake guest RAM, grants, xenstore keys, state
 * changes). A SOCK_SEQPACKET socketpair stands in for the tap: each
 * message is a virtio_net_hdr and one frame, as on a tap.
 *
 * Checked: the xenstore negotiation and XenbusState machine incl.
 * reconnect; a multi-fragment GSO packet from the guest reaching the
 * "tap" with the right header and bytes; tap packets (GSO and plain)
 * landing in posted rx buffers with the right responses, also after the
 * guest ran out of buffers; bad grant refs, oversize fragments and
 * garbage indexes refused while good traffic keeps flowing; multi-queue
 * with split event channels; long streams across ring wraparound.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/io/xenbus.h>

#include "devices/netif_ring.h"
#include "devices/tap.h"
#include "event_loop.h"
#include "fake_vm.h"
#include "grant.h"
#include "ktap.h"
#include "netback.h"
#include "xenstore/xenstore.h"

#define DOMID		1
#define SHINFO_GFN	0x10ULL
#define DATA_PAGES	64
#define REF_TX_DATA	10	/* 16 tx data pages: refs 10..25 */
#define REF_RX_DATA	100	/* 48 rx buffer pages: refs 100..147 */
#define NR_RX_PAGES	48
#define REF_UNGRANTED	400
#define REF_BEYOND	100000
#define FE		"/local/domain/1/device/vif/0"
#define BE		"/local/domain/0/backend/vif/1/0"
#define HDR		sizeof(struct virtio_net_hdr)

/* One netfront queue. */
struct fq {
	struct netif_tx_sring *tx;
	struct netif_rx_sring *rx;
	uint64_t tx_gpa, rx_gpa;
	uint32_t tx_ref, rx_ref;
	uint32_t tx_port, rx_port;
	uint32_t tx_prod, tx_cons;	/* requests made, responses seen */
	uint32_t rx_prod, rx_cons;
	uint16_t next_rx_id;
};

struct rig {
	struct fake_vm *f;
	struct xs_store *xs;
	struct grant_table *gt;
	struct netback *nb;
	int sock[NET_MAX_QUEUES];	/* our ends of the "taps" */
	unsigned int nr_queues;
	struct fq q[NET_MAX_QUEUES];
	uint64_t data_gpa;
	uint32_t next_ref;
	uint8_t *buf;			/* scratch for reads */
};

#define BUF_SIZE	(80 * 1024)

static uint8_t *page(struct rig *r, unsigned int i)
{
	return fake_ptr(r->f, r->data_gpa + (uint64_t)i * 4096);
}

static void grant(struct rig *r, uint32_t ref, uint64_t gpa, uint16_t domid,
		  bool ro)
{
	struct grant_entry_v1 *e =
		(struct grant_entry_v1 *)grant_frames_base(r->gt, false) + ref;

	e->domid = domid;
	e->frame = (uint32_t)(gpa >> 12);
	__atomic_store_n(&e->flags,
			 (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

static void fe_write(struct rig *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fe_write(struct rig *r, const char *key, const char *fmt, ...)
{
	char path[256], val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), FE "/%s", key);
	if (xenstore_write(r->xs, path, val))
		abort();
}

static bool be_is(struct rig *r, const char *key, const char *want)
{
	char path[256], *v = NULL;
	size_t len;
	bool eq;

	snprintf(path, sizeof(path), BE "/%s", key);
	if (xenstore_read(r->xs, path, &v, &len))
		return false;
	eq = !strcmp(v, want);
	if (!eq)
		printf("# %s = '%s', expected '%s'\n", path, v, want);
	free(v);
	return eq;
}

/* Backend pins show in the entry as GTF_reading/GTF_writing. */
static bool pinned(struct rig *r, uint32_t ref)
{
	struct grant_entry_v1 *e =
		(struct grant_entry_v1 *)grant_frames_base(r->gt, false) + ref;

	return __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
	       (GTF_reading | GTF_writing);
}

static int alloc_port(struct rig *r)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };

	if (fake_op(r->f, 0, __HYPERVISOR_event_channel_op,
		    EVTCHNOP_alloc_unbound, &a, sizeof(a)))
		abort();
	return (int)a.port;
}

static void guest_kick(struct rig *r, uint32_t port)
{
	struct evtchn_send s = { .port = port };

	fake_op(r->f, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, &s,
		sizeof(s));
}

static unsigned int deliveries(struct rig *r, uint32_t port)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->f->nr_calls; i++)
		n += r->f->calls[i].op == FAKE_DELIVER_PORT &&
		     r->f->calls[i].a == port;
	return n;
}

/* @tap_fd >= 0: a real tap's single queue instead of a socketpair. */
static void rig_init_spec(struct rig *r, unsigned int queues, int tap_fd,
			  const char *spec_text)
{
	struct xs_domain_info info = { "net", 16384, 1 };
	struct net_spec spec;
	int fds[NET_MAX_QUEUES];
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->f = fake_vm_new(1, 16 << 20);
	if (fake_map_shared_info(r->f, SHINFO_GFN))
		abort();
	r->xs = xs_store_new();
	if (!r->xs || xs_domain_introduce(r->xs, DOMID, &info))
		abort();
	r->gt = vm_grant_table(&r->f->vm);
	r->data_gpa = fake_alloc(r->f, DATA_PAGES * 4096, 4096);
	for (i = 0; i < 16; i++)
		grant(r, REF_TX_DATA + i, r->data_gpa + i * 4096ULL, 0, true);
	for (i = 0; i < NR_RX_PAGES; i++)
		grant(r, REF_RX_DATA + i, r->data_gpa + (16 + i) * 4096ULL, 0,
		      false);
	r->next_ref = 1;
	r->nr_queues = queues;
	for (i = 0; i < queues; i++) {
		int sv[2];

		if (tap_fd >= 0) {
			r->sock[i] = -1;
			fds[i] = tap_fd;
			continue;
		}
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
			abort();
		r->sock[i] = sv[0];
		fds[i] = sv[1];
	}
	if (net_parse_spec(spec_text, &spec, NULL, 0))
		abort();
	spec.queues = queues;
	r->nb = netback_create(&r->f->vm, r->xs, 0, &spec, fds, queues,
			       tap_fd >= 0);
	if (!r->nb)
		abort();
	r->buf = malloc(BUF_SIZE);
}

#define SPEC_DEFAULT	"tap=fake0,mac=00:16:3e:aa:bb:cc"

static void rig_init_on(struct rig *r, unsigned int queues, int tap_fd)
{
	rig_init_spec(r, queues, tap_fd, SPEC_DEFAULT);
}

static void rig_init(struct rig *r, unsigned int queues)
{
	rig_init_on(r, queues, -1);
}

static void rig_fini(struct rig *r)
{
	unsigned int i;

	netback_free(r->nb);
	for (i = 0; i < r->nr_queues; i++)
		if (r->sock[i] >= 0)
			close(r->sock[i]);
	xs_store_free(r->xs);
	vm_grant_table_free(&r->f->vm);
	fake_vm_free(r->f);
	free(r->buf);
}

/* netfront's setup_netfront() + write_queue_xenstore_keys() for queue @i. */
static void fe_setup_queue(struct rig *r, unsigned int i, bool split)
{
	struct fq *q = &r->q[i];
	char dir[32] = "", key[64];

	memset(q, 0, sizeof(*q));
	q->tx_gpa = fake_alloc(r->f, 4096, 4096);
	q->rx_gpa = fake_alloc(r->f, 4096, 4096);
	q->tx = fake_ptr(r->f, q->tx_gpa);
	q->rx = fake_ptr(r->f, q->rx_gpa);
	SHARED_RING_INIT(q->tx);
	SHARED_RING_INIT(q->rx);
	q->tx_ref = 200 + 2 * i;
	q->rx_ref = 201 + 2 * i;
	grant(r, q->tx_ref, q->tx_gpa, 0, false);
	grant(r, q->rx_ref, q->rx_gpa, 0, false);
	q->tx_port = (uint32_t)alloc_port(r);
	q->rx_port = split ? (uint32_t)alloc_port(r) : q->tx_port;
	if (r->nr_queues > 1)
		snprintf(dir, sizeof(dir), "queue-%u/", i);
#define K(name) (snprintf(key, sizeof(key), "%s%s", dir, name), key)
	fe_write(r, K("tx-ring-ref"), "%u", q->tx_ref);
	fe_write(r, K("rx-ring-ref"), "%u", q->rx_ref);
	if (split) {
		fe_write(r, K("event-channel-tx"), "%u", q->tx_port);
		fe_write(r, K("event-channel-rx"), "%u", q->rx_port);
	} else {
		fe_write(r, K("event-channel"), "%u", q->tx_port);
	}
#undef K
}

static void fe_connect(struct rig *r, bool split)
{
	unsigned int i;

	fe_write(r, "state", "%d", XenbusStateInitialising);
	if (r->nr_queues > 1)
		fe_write(r, "multi-queue-num-queues", "%u", r->nr_queues);
	for (i = 0; i < r->nr_queues; i++)
		fe_setup_queue(r, i, split);
	fe_write(r, "request-rx-copy", "1");
	fe_write(r, "feature-rx-notify", "1");
	fe_write(r, "feature-sg", "1");
	fe_write(r, "feature-gso-tcpv4", "1");
	fe_write(r, "feature-gso-tcpv6", "1");
	fe_write(r, "feature-ipv6-csum-offload", "1");
	fe_write(r, "state", "%d", XenbusStateConnected);
}

/* Post @n rx buffers (one page each) and notify as netfront does. */
static void fe_post_rx(struct rig *r, unsigned int qi, unsigned int n,
		       uint32_t gref_override)
{
	struct fq *q = &r->q[qi];
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct netif_rx_request *req =
			&q->rx->ring[q->rx_prod & (NB_RX_RING_SIZE - 1)].req;
		uint16_t id = q->next_rx_id++ % NB_RX_RING_SIZE;

		req->id = id;
		req->gref = gref_override ? gref_override :
					    REF_RX_DATA + (q->rx_prod % NR_RX_PAGES);
		q->rx_prod++;
	}
	__atomic_store_n(&q->rx->req_prod, q->rx_prod, __ATOMIC_RELEASE);
	guest_kick(r, q->rx_port);
}

static void put_tx(struct fq *q, uint32_t gref, uint16_t off, uint16_t flags,
		   uint16_t id, uint16_t size)
{
	struct netif_tx_request req = { gref, off, flags, id, size };

	q->tx->ring[q->tx_prod++ & (NB_TX_RING_SIZE - 1)].req = req;
}

static void put_gso_extra(struct fq *q, uint8_t type, uint16_t size)
{
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

	x.u.gso.type = type;
	x.u.gso.size = size;
	memcpy(&q->tx->ring[q->tx_prod++ & (NB_TX_RING_SIZE - 1)].req, &x,
	       sizeof(x));
}

static void push_tx(struct rig *r, unsigned int qi)
{
	struct fq *q = &r->q[qi];

	__atomic_store_n(&q->tx->req_prod, q->tx_prod, __ATOMIC_RELEASE);
	guest_kick(r, q->tx_port);
}

static struct netif_tx_response tx_rsp(struct fq *q, uint32_t i)
{
	return q->tx->ring[i & (NB_TX_RING_SIZE - 1)].rsp;
}

static struct netif_rx_response rx_rsp(struct fq *q, uint32_t i)
{
	return q->rx->ring[i & (NB_RX_RING_SIZE - 1)].rsp;
}

/* A TCP frame: Ethernet, IPv4 or IPv6, 20-byte TCP, patterned payload. */
static size_t make_frame(uint8_t *f, size_t len, bool v6, unsigned int seed)
{
	size_t l4 = v6 ? 54 : 34, i;

	memset(f, 0, l4 + 20);
	memcpy(f, "\x00\x16\x3e\xaa\xbb\xcc\x02\x00\x00\x00\x00\x01", 12);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[14] = 0x60;
		f[20] = 6;
	} else {
		f[14] = 0x45;
		f[23] = 6;
	}
	f[l4 + 12] = 5 << 4;
	for (i = l4 + 20; i < len; i++)
		f[i] = (uint8_t)(i * 31 + seed);
	return l4;
}

static ssize_t tap_recv(struct rig *r, unsigned int qi)
{
	return recv(r->sock[qi], r->buf, BUF_SIZE, MSG_DONTWAIT);
}

static void tap_send(struct rig *r, unsigned int qi,
		     const struct virtio_net_hdr *h, const uint8_t *frame,
		     size_t len)
{
	memcpy(r->buf, h, HDR);
	memcpy(r->buf + HDR, frame, len);
	if (send(r->sock[qi], r->buf, HDR + len, 0) != (ssize_t)(HDR + len))
		abort();
}

/* ---- cases ---- */

static void test_negotiation(struct ktap *t)
{
	struct rig r;

	rig_init(&r, 1);
	KTAP_EXPECT(t, be_is(&r, "state", "2"));
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateInitWait);
	KTAP_EXPECT(t, be_is(&r, "feature-sg", "1") &&
			       be_is(&r, "feature-gso-tcpv4", "1") &&
			       be_is(&r, "feature-gso-tcpv6", "1") &&
			       be_is(&r, "feature-ipv6-csum-offload", "1") &&
			       be_is(&r, "feature-rx-copy", "1") &&
			       be_is(&r, "feature-rx-flip", "0") &&
			       be_is(&r, "feature-split-event-channels", "1") &&
			       be_is(&r, "multi-queue-max-queues", "1") &&
			       be_is(&r, "feature-ctrl-ring", "0") &&
			       be_is(&r, "mac", "00:16:3e:aa:bb:cc") &&
			       be_is(&r, "handle", "0") &&
			       be_is(&r, "frontend", FE));
	/* netfront reads the MAC from its own directory. */
	{
		char *v = NULL;
		size_t len;

		KTAP_EXPECT(t, !xenstore_read(r.xs, FE "/mac", &v, &len) &&
				       !strcmp(v, "00:16:3e:aa:bb:cc"));
		free(v);
	}
	/* Missing rx-copy: refused, Closing. */
	fe_write(&r, "state", "%d", XenbusStateConnected);
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateClosing);
	KTAP_EXPECT(t, be_is(&r, "error", "frontend does not do rx-copy"));
	fe_write(&r, "state", "%d", XenbusStateClosed);
	KTAP_EXPECT(t, be_is(&r, "state", "6"));
	/* Reconnect, properly this time. */
	fe_connect(&r, false);
	KTAP_EXPECT(t, be_is(&r, "state", "4"));
	KTAP_EXPECT(t, netback_nr_queues(r.nb) == 1);
	rig_fini(&r);
	ktap_case_end(t, "xenstore negotiation, refusal and reconnect");
}

static void test_tx_gso(struct ktap *t)
{
	const size_t total = 9000, first = 2000, mid = 4096;
	uint8_t *frame = malloc(total);
	struct netback_stats st;
	struct virtio_net_hdr h;
	struct fq *q;
	struct rig r;
	size_t l4;
	ssize_t n;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	l4 = make_frame(frame, total, false, 1);
	/* The frame spread over three pages at odd offsets. */
	memcpy(page(&r, 0) + 100, frame, first);
	memcpy(page(&r, 1), frame + first, mid);
	memcpy(page(&r, 2) + 50, frame + first + mid, total - first - mid);
	put_tx(q, REF_TX_DATA, 100,
	       NETTXF_csum_blank | NETTXF_extra_info | NETTXF_more_data, 7,
	       (uint16_t)total);
	put_gso_extra(q, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	put_tx(q, REF_TX_DATA + 1, 0, NETTXF_more_data, 8, (uint16_t)mid);
	put_tx(q, REF_TX_DATA + 2, 50, 0, 9,
	       (uint16_t)(total - first - mid));
	fake_clear_calls(r.f);
	push_tx(&r, 0);
	netback_dispatch(r.nb);

	n = tap_recv(&r, 0);
	KTAP_EXPECT(t, n == (ssize_t)(HDR + total));
	memcpy(&h, r.buf, HDR);
	KTAP_EXPECT(t, h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
			       h.csum_start == l4 && h.csum_offset == 16);
	KTAP_EXPECT(t, h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
			       h.gso_size == 1448 && h.hdr_len == l4 + 20);
	KTAP_EXPECT(t, n > 0 && !memcmp(r.buf + HDR, frame, total));
	/* Four responses: the extra's is NULL, the rest OKAY with their ids. */
	KTAP_EXPECT(t, q->tx->rsp_prod == 4);
	KTAP_EXPECT(t, tx_rsp(q, 0).id == 7 && tx_rsp(q, 0).status == NETIF_RSP_OKAY);
	KTAP_EXPECT(t, tx_rsp(q, 1).status == NETIF_RSP_NULL);
	KTAP_EXPECT(t, tx_rsp(q, 2).id == 8 && tx_rsp(q, 2).status == NETIF_RSP_OKAY);
	KTAP_EXPECT(t, tx_rsp(q, 3).id == 9 && tx_rsp(q, 3).status == NETIF_RSP_OKAY);
	/* Asked to be told of the next request; told of these responses. */
	KTAP_EXPECT(t, q->tx->req_event == 5);
	KTAP_EXPECT(t, deliveries(&r, q->tx_port) == 1);
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, st.tx_packets == 1 && st.tx_bytes == total &&
			       !st.tx_errors);
	free(frame);
	rig_fini(&r);
	ktap_case_end(t, "guest tx: multi-fragment GSO packet reaches the tap");
}

static void test_rx(struct ktap *t)
{
	const size_t total = 10000;
	uint8_t *frame = malloc(total);
	struct virtio_net_hdr h = { 0 };
	struct netif_rx_response x;
	struct netif_extra_info ex;
	struct fq *q;
	struct rig r;
	uint32_t c;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	fe_post_rx(&r, 0, 8, 0);
	netback_dispatch(r.nb);
	make_frame(frame, total, true, 2);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h.gso_size = 1400;
	h.csum_start = 54;
	h.csum_offset = 16;
	tap_send(&r, 0, &h, frame, total);
	fake_clear_calls(r.f);
	netback_dispatch(r.nb);

	KTAP_EXPECT(t, q->rx->rsp_prod == 4);
	x = rx_rsp(q, 0);
	KTAP_EXPECT(t, x.id == 0 && x.offset == 0 && x.status == 4096 &&
			       x.flags == (NETRXF_csum_blank | NETRXF_data_validated |
					   NETRXF_extra_info | NETRXF_more_data));
	memcpy(&ex, &q->rx->ring[1], sizeof(ex));
	KTAP_EXPECT(t, ex.type == XEN_NETIF_EXTRA_TYPE_GSO && !ex.flags &&
			       ex.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6 &&
			       ex.u.gso.size == 1400);
	x = rx_rsp(q, 2);
	KTAP_EXPECT(t, x.id == 2 && x.status == 4096 && x.flags == NETRXF_more_data);
	x = rx_rsp(q, 3);
	KTAP_EXPECT(t, x.id == 3 && x.status == (int16_t)(total - 8192) &&
			       x.flags == 0);
	/* Buffers 0, 2, 3 hold the frame (1 was the extra's). */
	KTAP_EXPECT(t, !memcmp(page(&r, 16), frame, 4096) &&
			       !memcmp(page(&r, 18), frame + 4096, 4096) &&
			       !memcmp(page(&r, 19), frame + 8192, total - 8192));
	KTAP_EXPECT(t, deliveries(&r, q->rx_port) == 1);

	/* A small validated packet takes one buffer. */
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	make_frame(frame, 60, false, 3);
	tap_send(&r, 0, &h, frame, 60);
	netback_dispatch(r.nb);
	c = 4;
	x = rx_rsp(q, c);
	KTAP_EXPECT(t, q->rx->rsp_prod == 5 && x.status == 60 &&
			       x.flags == NETRXF_data_validated && x.id == 4);
	KTAP_EXPECT(t, !memcmp(page(&r, 16 + 4), frame, 60));
	free(frame);
	rig_fini(&r);
	ktap_case_end(t, "tap rx: GSO packet over several buffers, then a small one");
}

static void test_rx_starved(struct ktap *t)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[6000];
	struct fq *q;
	struct rig r;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	make_frame(frame, sizeof(frame), false, 4);
	tap_send(&r, 0, &h, frame, sizeof(frame));
	tap_send(&r, 0, &h, frame, 100);
	netback_dispatch(r.nb);
	/* No buffers: nothing delivered, asked to hear of two more. */
	KTAP_EXPECT(t, q->rx->rsp_prod == 0);
	KTAP_EXPECT(t, q->rx->req_event == 2);
	/* One buffer is not enough for 6000 bytes. */
	fe_post_rx(&r, 0, 1, 0);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, q->rx->rsp_prod == 0);
	fe_post_rx(&r, 0, 1, 0);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, q->rx->rsp_prod == 2);
	KTAP_EXPECT(t, rx_rsp(q, 0).status == 4096 &&
			       rx_rsp(q, 1).status == 6000 - 4096);
	KTAP_EXPECT(t, !memcmp(page(&r, 16), frame, 4096) &&
			       !memcmp(page(&r, 17), frame + 4096, 6000 - 4096));
	/* The second packet waits for the next buffer, then arrives. */
	fe_post_rx(&r, 0, 1, 0);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, q->rx->rsp_prod == 3 && rx_rsp(q, 2).status == 100);
	rig_fini(&r);
	ktap_case_end(t, "rx waits for posted buffers and loses nothing");
}

/* One good single-slot packet from the guest; true if it reached the tap. */
static bool tx_one(struct rig *r, unsigned int qi, unsigned int seed,
		   size_t len)
{
	struct fq *q = &r->q[qi];
	uint8_t frame[1500];
	ssize_t n;

	make_frame(frame, len, false, seed);
	memcpy(page(r, 3), frame, len);
	put_tx(q, REF_TX_DATA + 3, 0, 0, (uint16_t)seed, (uint16_t)len);
	push_tx(r, qi);
	netback_dispatch(r->nb);
	n = tap_recv(r, qi);
	return n == (ssize_t)(HDR + len) && !memcmp(r->buf + HDR, frame, len) &&
	       tx_rsp(q, q->tx_prod - 1).status == NETIF_RSP_OKAY &&
	       tx_rsp(q, q->tx_prod - 1).id == (uint16_t)seed;
}

static void test_malicious_tx(struct ktap *t)
{
	struct netback_stats st;
	struct fq *q;
	struct rig r;
	uint32_t p;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	KTAP_EXPECT(t, tx_one(&r, 0, 1, 200));
	/* Never granted, beyond the table, granted to someone else. */
	grant(&r, 401, r.data_gpa, 5, true);
	put_tx(q, REF_UNGRANTED, 0, 0, 20, 100);
	put_tx(q, REF_BEYOND, 0, 0, 21, 100);
	put_tx(q, 401, 0, 0, 22, 100);
	/* An oversize fragment inside a chain, and a runt. */
	put_tx(q, REF_TX_DATA, 0, NETTXF_more_data, 23, 3000);
	put_tx(q, REF_TX_DATA + 1, 4000, 0, 24, 500);
	put_tx(q, REF_TX_DATA, 0, 0, 25, 10);
	p = q->tx_prod;
	push_tx(&r, 0);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, q->tx->rsp_prod == p);
	for (uint32_t i = p - 6; i != p; i++)
		KTAP_EXPECT(t, tx_rsp(q, i).status == NETIF_RSP_ERROR &&
				       tx_rsp(q, i).id == 20 + (i - (p - 6)));
	KTAP_EXPECT(t, tap_recv(&r, 0) < 0 && errno == EAGAIN);
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, st.tx_errors == 5 && st.tx_packets == 1);
	/* Traffic keeps flowing. */
	KTAP_EXPECT(t, tx_one(&r, 0, 2, 300));
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateConnected);
	rig_fini(&r);
	ktap_case_end(t, "tx: bad refs and sizes answered ERROR, good traffic flows");
}

static void test_malicious_rx(struct ktap *t)
{
	struct virtio_net_hdr h = { 0 };
	struct netback_stats st;
	uint8_t frame[200];
	struct fq *q;
	struct rig r;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	/* A read-only grant and an ungranted ref as rx buffers. */
	grant(&r, 402, r.data_gpa + 5 * 4096, 0, true);
	fe_post_rx(&r, 0, 1, 402);
	fe_post_rx(&r, 0, 1, REF_UNGRANTED);
	fe_post_rx(&r, 0, 1, 0);
	make_frame(frame, sizeof(frame), false, 5);
	tap_send(&r, 0, &h, frame, sizeof(frame));
	tap_send(&r, 0, &h, frame, sizeof(frame));
	tap_send(&r, 0, &h, frame, sizeof(frame));
	/* A GSO type the frontend never offered is dropped, not delivered. */
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	h.gso_size = 100;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	tap_send(&r, 0, &h, frame, sizeof(frame));
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, q->rx->rsp_prod == 3);
	KTAP_EXPECT(t, rx_rsp(q, 0).status == NETIF_RSP_ERROR);
	KTAP_EXPECT(t, rx_rsp(q, 1).status == NETIF_RSP_ERROR);
	KTAP_EXPECT(t, rx_rsp(q, 2).status == sizeof(frame));
	KTAP_EXPECT(t, !memcmp(page(&r, 16 + 2), frame, sizeof(frame)));
	KTAP_EXPECT(t, page(&r, 5)[0] == 0);	/* read-only stayed untouched */
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, st.rx_grant_errors == 2 && st.rx_packets == 3 &&
			       st.rx_drops == 1);
	rig_fini(&r);
	ktap_case_end(t, "rx: bad buffers answered ERROR, unsupported GSO dropped");
}

static void test_no_sg(struct ktap *t)
{
	struct virtio_net_hdr h = { 0 };
	struct netback_stats st;
	uint8_t frame[6000];
	struct rig r;

	rig_init(&r, 1);
	/* A minimal frontend: rx-copy and rx-notify, nothing else. */
	fe_setup_queue(&r, 0, false);
	fe_write(&r, "request-rx-copy", "1");
	fe_write(&r, "feature-rx-notify", "1");
	fe_write(&r, "state", "%d", XenbusStateConnected);
	KTAP_EXPECT(t, be_is(&r, "state", "4"));
	fe_post_rx(&r, 0, 4, 0);
	make_frame(frame, sizeof(frame), false, 7);
	tap_send(&r, 0, &h, frame, sizeof(frame));
	tap_send(&r, 0, &h, frame, 1500);
	netback_dispatch(r.nb);
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, st.rx_drops == 1 && st.rx_packets == 1);
	KTAP_EXPECT(t, r.q[0].rx->rsp_prod == 1 &&
			       rx_rsp(&r.q[0], 0).status == 1500 &&
			       !rx_rsp(&r.q[0], 0).flags);
	rig_fini(&r);
	ktap_case_end(t, "a frontend without feature-sg never gets multi-slot packets");
}

/*
 * offload=off: nothing advertised, and whatever the frontend offers, the
 * tap sees only plain, checksummed frames and the guest only plain ones.
 */
static void test_offload_off(struct ktap *t)
{
	struct virtio_net_hdr h = { 0 };
	struct netback_stats st;
	uint8_t frame[6000], want[1500];
	struct fq *q;
	struct rig r;
	size_t l4;
	ssize_t n;

	rig_init_spec(&r, 1, -1, SPEC_DEFAULT ",offload=off");
	KTAP_EXPECT(t, be_is(&r, "feature-sg", "0") &&
			       be_is(&r, "feature-gso-tcpv4", "0") &&
			       be_is(&r, "feature-gso-tcpv6", "0") &&
			       be_is(&r, "feature-ipv6-csum-offload", "0") &&
			       be_is(&r, "feature-no-csum-offload", "1"));
	fe_connect(&r, false);	/* it offers everything regardless */
	KTAP_EXPECT(t, be_is(&r, "state", "4"));
	q = &r.q[0];

	/* A csum_blank packet (as Linux always sends): we fill the sum. */
	l4 = make_frame(frame, sizeof(want), false, 4);
	frame[l4 + 16] = 0x12;	/* a pseudo-header sum */
	frame[l4 + 17] = 0x34;
	memcpy(want, frame, sizeof(want));
	KTAP_EXPECT(t, !nb_fill_csum(want, sizeof(want)));
	memcpy(page(&r, 0), frame, sizeof(want));
	put_tx(q, REF_TX_DATA, 0, NETTXF_csum_blank | NETTXF_data_validated, 1,
	       sizeof(want));
	/* A GSO packet was not offered: refused. */
	put_tx(q, REF_TX_DATA, 0, NETTXF_csum_blank | NETTXF_extra_info, 2,
	       sizeof(want));
	put_gso_extra(q, XEN_NETIF_GSO_TYPE_TCPV4, 1000);
	push_tx(&r, 0);
	netback_dispatch(r.nb);
	n = tap_recv(&r, 0);
	memcpy(&h, r.buf, HDR);
	KTAP_EXPECT(t, n == (ssize_t)(HDR + sizeof(want)) && !h.flags &&
			       h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	KTAP_EXPECT(t, n > 0 && !memcmp(r.buf + HDR, want, sizeof(want)) &&
			       (want[l4 + 16] != 0x12 || want[l4 + 17] != 0x34));
	KTAP_EXPECT(t, tap_recv(&r, 0) < 0);
	KTAP_EXPECT(t, tx_rsp(q, 0).status == NETIF_RSP_OKAY &&
			       tx_rsp(q, 1).status == NETIF_RSP_ERROR);

	/* rx: DATA_VALID is not passed on; partial sums and big ones dropped. */
	fe_post_rx(&r, 0, 8, 0);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	tap_send(&r, 0, &h, frame, 1500);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .csum_start = (uint16_t)l4,
				     .csum_offset = 16 };
	tap_send(&r, 0, &h, frame, 1500);
	h = (struct virtio_net_hdr){ 0 };
	tap_send(&r, 0, &h, frame, sizeof(frame));
	netback_dispatch(r.nb);
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, q->rx->rsp_prod == 1 && rx_rsp(q, 0).status == 1500 &&
			       !rx_rsp(q, 0).flags);
	KTAP_EXPECT(t, st.rx_packets == 1 && st.rx_drops == 2 &&
			       st.tx_sw_csum == 1 && st.tx_errors == 1 &&
			       !st.tx_gso);
	{
		char line[1024], tiny[40];

		netback_describe(r.nb, line, sizeof(line));
		KTAP_EXPECT(t, strstr(line, "offload=off sg=0 csum=0") &&
				       strstr(line, " tx-sw-csum=1 ") &&
				       strstr(line, " rx-drops=2 ") &&
				       strstr(line, "q0 tx req_prod=3 ") &&
				       strstr(line, " rx req_prod=8 "));
		netback_describe(r.nb, tiny, sizeof(tiny));
		KTAP_EXPECT(t, strlen(tiny) == sizeof(tiny) - 1);
	}
	rig_fini(&r);
	ktap_case_end(t, "offload=off: nothing advertised, plain packets both ways");
}

static void test_garbage_indexes(struct ktap *t)
{
	struct netback_stats st;
	struct fq *q;
	struct rig r;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	KTAP_EXPECT(t, tx_one(&r, 0, 1, 100));
	KTAP_EXPECT(t, pinned(&r, q->tx_ref) && pinned(&r, q->rx_ref));
	__atomic_store_n(&q->tx->req_prod, q->tx_prod + 1000, __ATOMIC_RELEASE);
	guest_kick(&r, q->tx_port);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateClosing);
	KTAP_EXPECT(t, be_is(&r, "state", "5"));
	netback_get_stats(r.nb, &st);
	KTAP_EXPECT(t, st.ring_broken == 1);
	/* Nothing more is read from the broken rings. */
	guest_kick(&r, q->tx_port);
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, tap_recv(&r, 0) < 0);
	/* netfront's answer to Closing, then a reconnect with new rings. */
	fe_write(&r, "state", "%d", XenbusStateClosed);
	KTAP_EXPECT(t, be_is(&r, "state", "6"));
	/* The guest may now revoke its ring grants. */
	KTAP_EXPECT(t, !pinned(&r, q->tx_ref) && !pinned(&r, q->rx_ref));
	fe_connect(&r, false);
	KTAP_EXPECT(t, be_is(&r, "state", "4"));
	KTAP_EXPECT(t, tx_one(&r, 0, 2, 100));

	/* The rx ring too. */
	q = &r.q[0];
	__atomic_store_n(&q->rx->req_prod, q->rx_prod - 5, __ATOMIC_RELEASE);
	{
		struct virtio_net_hdr h = { 0 };
		uint8_t frame[100];

		make_frame(frame, sizeof(frame), false, 9);
		tap_send(&r, 0, &h, frame, sizeof(frame));
	}
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateClosing);
	rig_fini(&r);
	ktap_case_end(t, "garbage indexes break the ring; the frontend reconnects");
}

static void test_multiqueue(struct ktap *t)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[300];
	struct rig r;

	rig_init(&r, 2);
	KTAP_EXPECT(t, be_is(&r, "multi-queue-max-queues", "2"));
	fe_connect(&r, true);
	KTAP_EXPECT(t, be_is(&r, "state", "4") && netback_nr_queues(r.nb) == 2);
	KTAP_EXPECT(t, r.q[0].tx_port != r.q[0].rx_port);
	KTAP_EXPECT(t, tx_one(&r, 1, 3, 200));
	KTAP_EXPECT(t, tap_recv(&r, 0) < 0);
	KTAP_EXPECT(t, tx_one(&r, 0, 4, 200));
	/* Rx on queue 1's tap lands in queue 1's ring; notified on rx port. */
	fe_post_rx(&r, 1, 4, 0);
	make_frame(frame, sizeof(frame), false, 6);
	fake_clear_calls(r.f);
	tap_send(&r, 1, &h, frame, sizeof(frame));
	netback_dispatch(r.nb);
	KTAP_EXPECT(t, r.q[1].rx->rsp_prod == 1 && r.q[0].rx->rsp_prod == 0);
	KTAP_EXPECT(t, deliveries(&r, r.q[1].rx_port) == 1 &&
			       deliveries(&r, r.q[1].tx_port) == 0);
	/* Asking for more queues than offered is refused. */
	fe_write(&r, "state", "%d", XenbusStateClosing);
	fe_write(&r, "state", "%d", XenbusStateClosed);
	fe_write(&r, "multi-queue-num-queues", "3");
	fe_write(&r, "state", "%d", XenbusStateInitialising);
	KTAP_EXPECT(t, be_is(&r, "state", "2"));
	fe_write(&r, "state", "%d", XenbusStateConnected);
	KTAP_EXPECT(t, be_is(&r, "state", "5"));
	rig_fini(&r);
	ktap_case_end(t, "two queues with split event channels");
}

/* netfront's rx: consume responses, repost one buffer per slot. */
static unsigned int fe_reap_rx(struct rig *r, unsigned int qi, uint8_t *out,
			       size_t *len)
{
	struct fq *q = &r->q[qi];
	uint32_t prod = __atomic_load_n(&q->rx->rsp_prod, __ATOMIC_ACQUIRE);
	unsigned int pkts = 0;

	*len = 0;
	while (q->rx_cons != prod) {
		struct netif_rx_response x = rx_rsp(q, q->rx_cons);
		/* The buffer posted at this index. */
		unsigned int pg = 16 + (q->rx_cons % NR_RX_PAGES);

		if (x.status > 0) {
			memcpy(out + *len, page(r, pg) + x.offset, (size_t)x.status);
			*len += (size_t)x.status;
		}
		q->rx_cons++;
		if (!(x.flags & NETRXF_more_data))
			pkts++;
	}
	return pkts;
}

static void test_streams(struct ktap *t)
{
	const unsigned int packets = 3000;
	struct virtio_net_hdr h = { 0 };
	unsigned int i, sent_ok = 0, rx_ok = 0;
	uint8_t *frame = malloc(8000), *got = malloc(80000);
	struct fq *q;
	struct rig r;

	rig_init(&r, 1);
	fe_connect(&r, false);
	q = &r.q[0];
	/* Tx: 3000 packets, so the ring and its indexes wrap many times. */
	for (i = 0; i < packets; i++)
		sent_ok += tx_one(&r, 0, i, 60 + i % 1400);
	KTAP_EXPECT(t, sent_ok == packets);
	/* Rx: 3000 packets of 1-2 pages, the guest reposting as it reaps. */
	fe_post_rx(&r, 0, NR_RX_PAGES, 0);
	for (i = 0; i < packets; i++) {
		size_t len = 100 + (i * 37) % 7000, got_len;

		make_frame(frame, len, i & 1, i);
		tap_send(&r, 0, &h, frame, len);
		netback_dispatch(r.nb);
		if (fe_reap_rx(&r, 0, got, &got_len) == 1 && got_len == len &&
		    !memcmp(got, frame, len))
			rx_ok++;
		fe_post_rx(&r, 0, q->rx_cons + NR_RX_PAGES - q->rx_prod, 0);
		if (i % 100 == 0)
			fake_clear_calls(r.f);
	}
	KTAP_EXPECT(t, rx_ok == packets);
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateConnected);
	free(frame);
	free(got);
	rig_fini(&r);
	ktap_case_end(t, "3000 packets each way across ring wraparound");
}

/* ---- a hostile frontend ---- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Requests that are mostly nonsense, sometimes nearly right. */
static void junk_tx(struct fq *q, uint64_t *s, unsigned int n)
{
	while (n--) {
		uint32_t gref = rnd(s) % 3 ? REF_TX_DATA + (uint32_t)(rnd(s) % 16) :
					     (uint32_t)rnd(s);
		uint16_t size = rnd(s) % 4 ? (uint16_t)(rnd(s) % 4200) :
					     (uint16_t)rnd(s);

		put_tx(q, gref, (uint16_t)(rnd(s) % 4200), (uint16_t)(rnd(s) & 0xf),
		       (uint16_t)rnd(s), size);
		if (rnd(s) % 8 == 0) {
			uint64_t x = rnd(s);

			memcpy(&q->tx->ring[(q->tx_prod - 1) & (NB_TX_RING_SIZE - 1)],
			       &x, sizeof(x));
		}
	}
}

static void junk_rx(struct rig *r, uint64_t *s)
{
	struct fq *q = &r->q[0];
	struct virtio_net_hdr h;
	uint8_t frame[9000];
	size_t len = rnd(s) % 2 ? rnd(s) % sizeof(frame) : 60;
	uint64_t x[2] = { rnd(s), rnd(s) };

	/* Forget what was delivered; keep at most 64 buffers posted. */
	q->rx_cons = __atomic_load_n(&q->rx->rsp_prod, __ATOMIC_ACQUIRE);
	if (q->rx_prod - q->rx_cons < 64)
		fe_post_rx(r, 0, (unsigned int)(rnd(s) % 8),
			   rnd(s) % 4 ? 0 : (uint32_t)rnd(s));
	memcpy(&h, x, sizeof(h));
	if (x[1] & 1)
		h = (struct virtio_net_hdr){ .flags = (uint8_t)(x[1] & 2) };
	make_frame(frame, len < 74 ? 74 : len, rnd(s) & 1, (unsigned int)x[0]);
	tap_send(r, 0, &h, frame, len < 74 ? 74 : len);
}

static void test_hostile_fuzz(struct ktap *t)
{
	uint64_t s = 0x686f7374696c65ull;
	unsigned int i, reconnects = 0, overrun = 0;
	struct netback_stats st;
	struct rig r;

	rig_init(&r, 1);
	fe_connect(&r, false);
	for (i = 0; i < 4000; i++) {
		struct fq *q = &r.q[0];

		junk_tx(q, &s, (unsigned int)(rnd(&s) % 24));
		if (rnd(&s) % 300 == 0)
			q->tx_prod += 300;	/* garbage index */
		push_tx(&r, 0);
		junk_rx(&r, &s);
		netback_dispatch(r.nb);
		while (tap_recv(&r, 0) > 0)
			;
		/* Never more responses than requests. */
		if (netback_state(r.nb) == XenbusStateConnected &&
		    (q->tx->rsp_prod - 0 > q->tx_prod - 0 ||
		     q->rx->rsp_prod - 0 > q->rx_prod - 0))
			overrun++;
		if (netback_state(r.nb) != XenbusStateConnected) {
			fe_write(&r, "state", "%d", XenbusStateClosed);
			fe_connect(&r, false);
			reconnects++;
		}
		if (i % 100 == 0)
			fake_clear_calls(r.f);
	}
	netback_get_stats(r.nb, &st);
	printf("# tx ok %llu err %llu, rx %llu drops %llu grant errors %llu, broken %llu, reconnects %u\n",
	       (unsigned long long)st.tx_packets,
	       (unsigned long long)st.tx_errors,
	       (unsigned long long)st.rx_packets,
	       (unsigned long long)st.rx_drops,
	       (unsigned long long)st.rx_grant_errors,
	       (unsigned long long)st.ring_broken, reconnects);
	KTAP_EXPECT(t, overrun == 0);
	KTAP_EXPECT(t, reconnects == st.ring_broken && reconnects > 0);
	KTAP_EXPECT(t, st.tx_packets > 100 && st.tx_errors > 100);
	/* A well-behaved frontend afterwards is served normally. */
	fe_write(&r, "state", "%d", XenbusStateClosed);
	fe_connect(&r, false);
	KTAP_EXPECT(t, tx_one(&r, 0, 1, 500));
	rig_fini(&r);
	ktap_case_end(t, "hostile frontend fuzz: 4000 rounds of junk, no crash");
}

/* ---- a real tap in a network namespace of our own ---- */

#define TAP_NAME	"xkt0"
#define HOST_IP		"10.99.0.1"
#define GUEST_IP	"10.99.0.2"
#define GUEST_MAC	"\x00\x16\x3e\xaa\xbb\xcc"

static void ktap_skip(struct ktap *t, const char *name, const char *why)
{
	t->number++;
	printf("ok %d %s # SKIP %s\n", t->number, name, why);
	fflush(stdout);
}

static int inet_ioctl(unsigned long req, void *arg)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0), r;

	r = s < 0 ? -1 : ioctl(s, req, arg);
	if (s >= 0)
		close(s);
	return r;
}

static void set_sin(struct sockaddr *sa, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
}

/* 10.99.0.1/24 on the tap, the guest's MAC for 10.99.0.2, tap's MAC out. */
static int host_side_setup(uint8_t tap_mac[6])
{
	struct ifreq ifr = { 0 };
	struct arpreq arp = { 0 };
	FILE *f;

	f = fopen("/proc/sys/net/ipv6/conf/" TAP_NAME "/disable_ipv6", "w");
	if (f) {
		/* Fewer unsolicited packets to wade through. */
		fputs("1", f);
		fclose(f);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	set_sin(&ifr.ifr_addr, HOST_IP);
	if (inet_ioctl(SIOCSIFADDR, &ifr))
		return -1;
	set_sin(&ifr.ifr_netmask, "255.255.255.0");
	if (inet_ioctl(SIOCSIFNETMASK, &ifr) || inet_ioctl(SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	set_sin(&arp.arp_pa, GUEST_IP);
	arp.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(arp.arp_ha.sa_data, GUEST_MAC, 6);
	arp.arp_flags = ATF_COM | ATF_PERM;
	snprintf(arp.arp_dev, sizeof(arp.arp_dev), TAP_NAME);
	return inet_ioctl(SIOCSARP, &arp);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * The guest's UDP datagram to the host, with the checksum left to the
 * backend as netfront leaves it: the pseudo-header sum in the field and
 * NETTXF_csum_blank.
 */
static size_t guest_udp(uint8_t *f, const uint8_t tap_mac[6],
			const char *payload)
{
	size_t plen = strlen(payload), ulen = 8 + plen, iplen = 20 + ulen;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t c;

	memcpy(f, tap_mac, 6);
	memcpy(f + 6, GUEST_MAC, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, GUEST_IP, ip + 12);
	inet_pton(AF_INET, HOST_IP, ip + 16);
	c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 6000 >> 8;
	udp[1] = 6000 & 0xff;
	udp[2] = 5000 >> 8;
	udp[3] = 5000 & 0xff;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	c = fold(sum16(ip + 12, 8, 17 + (uint32_t)ulen));
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	memcpy(udp + 8, payload, plen);
	return 14 + iplen;
}

/* Reap one whole packet from queue 0's rx ring; false if none yet. */
static bool fe_reap_one(struct rig *r, uint8_t *out, size_t *len,
			uint16_t *flags)
{
	struct fq *q = &r->q[0];
	uint32_t prod = __atomic_load_n(&q->rx->rsp_prod, __ATOMIC_ACQUIRE);
	uint32_t c = q->rx_cons;

	*len = 0;
	while (c != prod) {
		struct netif_rx_response x = rx_rsp(q, c);

		if (c == q->rx_cons)
			*flags = x.flags;
		if (x.status > 0 && !(c != q->rx_cons && c - 1 == q->rx_cons &&
				      (*flags & NETRXF_extra_info))) {
			memcpy(out + *len,
			       page(r, 16 + (c % NR_RX_PAGES)) + x.offset,
			       (size_t)x.status);
			*len += (size_t)x.status;
		}
		c++;
		if (!(x.flags & NETRXF_more_data) &&
		    !(c - 1 == q->rx_cons && (x.flags & NETRXF_extra_info))) {
			q->rx_cons = c;
			return true;
		}
	}
	return false;
}

static void pump(struct rig *r, int ms)
{
	struct pollfd p = { .fd = netback_fd(r->nb), .events = POLLIN };

	if (poll(&p, 1, ms) > 0)
		netback_dispatch(r->nb);
}

static bool host_to_guest(struct ktap *t, struct rig *r, int us)
{
	const char *msg = "hello guest, from the host over a real tap";
	struct sockaddr_in to;
	uint8_t got[9000];
	uint16_t flags = 0;
	size_t len;
	int i;

	set_sin((struct sockaddr *)&to, GUEST_IP);
	to.sin_port = htons(6000);
	KTAP_EXPECT(t, sendto(us, msg, strlen(msg), 0, (struct sockaddr *)&to,
			      sizeof(to)) == (ssize_t)strlen(msg));
	for (i = 0; i < 50; i++) {
		pump(r, 20);
		while (fe_reap_one(r, got, &len, &flags)) {
			fe_post_rx(r, 0, 1, 0);
			if (len >= 42 + strlen(msg) && got[23] == 17 &&
			    !memcmp(got + 42, msg, strlen(msg))) {
				printf("# host->guest: %zu bytes, rx flags %#x\n",
				       len, flags);
				return !memcmp(got, GUEST_MAC, 6);
			}
		}
	}
	return false;
}

static bool guest_to_host(struct rig *r, int us, const uint8_t tap_mac[6])
{
	const char *msg = "hello host, from the guest with csum_blank";
	struct fq *q = &r->q[0];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = us, .events = POLLIN };
	char got[256];
	size_t len = guest_udp(page(r, 3), tap_mac, msg);
	ssize_t n;

	put_tx(q, REF_TX_DATA + 3, 0, NETTXF_csum_blank, 77, (uint16_t)len);
	push_tx(r, 0);
	netback_dispatch(r->nb);
	if (tx_rsp(q, q->tx_prod - 1).status != NETIF_RSP_OKAY ||
	    poll(&p, 1, 2000) != 1)
		return false;
	n = recvfrom(us, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
	return n == (ssize_t)strlen(msg) && !memcmp(got, msg, strlen(msg)) &&
	       ntohs(from.sin_port) == 6000 &&
	       from.sin_addr.s_addr == inet_addr(GUEST_IP);
}

/* The tap's own check of our virtio_net_hdr for a GSO packet. */
static bool guest_gso_accepted(struct rig *r)
{
	const size_t total = 8000, first = 4000;
	struct fq *q = &r->q[0];
	struct netback_stats st;
	uint8_t *frame = malloc(total);

	make_frame(frame, total, false, 8);
	memcpy(page(r, 4), frame, first);
	memcpy(page(r, 5), frame + first, total - first);
	put_tx(q, REF_TX_DATA + 4, 0,
	       NETTXF_csum_blank | NETTXF_extra_info | NETTXF_more_data, 1,
	       (uint16_t)total);
	put_gso_extra(q, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	put_tx(q, REF_TX_DATA + 5, 0, 0, 2, (uint16_t)(total - first));
	push_tx(r, 0);
	netback_dispatch(r->nb);
	netback_get_stats(r->nb, &st);
	free(frame);
	printf("# GSO tx: status %d, tx_packets %llu, tap drops %llu\n",
	       tx_rsp(q, q->tx_prod - 1).status,
	       (unsigned long long)st.tx_packets,
	       (unsigned long long)st.tx_tap_drops);
	return tx_rsp(q, q->tx_prod - 1).status == NETIF_RSP_OKAY &&
	       st.tx_packets == 2 && st.tx_tap_drops == 0;
}

/* The machine's path: netback_attach() makes the tap itself. */
static bool attach_makes_tap(struct rig *r)
{
	struct ifreq ifr = { 0 };
	struct net_spec spec;
	struct netback *nb;
	char err[256] = "", *v = NULL;
	size_t len;
	bool ok = true;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xkbr0");
	if (inet_ioctl(SIOCBRADDBR, ifr.ifr_name))
		return false;
	r->f->vm.loop = event_loop_create(&r->f->vm);
	net_parse_spec("tap=xkt1,queues=2,mtu=1400,bridge=xkbr0", &spec, err,
		       sizeof(err));
	nb = netback_attach(&r->f->vm, r->xs, 1, &spec, err, sizeof(err));
	if (!nb) {
		printf("# netback_attach: %s\n", err);
		ok = false;
		goto out;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xkt1");
	ok &= !inet_ioctl(SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
	ok &= !inet_ioctl(SIOCGIFMTU, &ifr) && ifr.ifr_mtu == 1400;
	ok &= !xenstore_read(r->xs, "/local/domain/0/backend/vif/1/1/multi-queue-max-queues",
			     &v, &len) && !strcmp(v, "2");
	free(v);
	/* The tap is a bridge port: removing it works only then. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xkbr0");
	ifr.ifr_ifindex = (int)if_nametoindex("xkt1");
	ok &= ifr.ifr_ifindex > 0 && !inet_ioctl(SIOCBRDELIF, &ifr);
	netback_detach(nb);
	/* Nothing left behind: the vif's nodes and the (non-persistent) tap. */
	ok &= !xenstore_exists(r->xs, "/local/domain/0/backend/vif/1/1");
	ok &= if_nametoindex("xkt1") == 0;
out:
	event_loop_destroy(r->f->vm.loop);
	r->f->vm.loop = NULL;
	return ok;
}

static void test_real_tap(struct ktap *t)
{
	const char *name = "real tap in a private netns: UDP both ways, GSO accepted, attach/bridge";
	uint8_t tap_mac[6];
	struct sockaddr_in a;
	char err[256];
	struct rig r;
	int fd, us;

	if (access("/dev/net/tun", R_OK | W_OK))
		return ktap_skip(t, name, "no /dev/net/tun");
	if (unshare(CLONE_NEWNET)) {
		snprintf(err, sizeof(err),
			 "cannot create a network namespace (CAP_NET_ADMIN?): %s",
			 strerror(errno));
		return ktap_skip(t, name, err);
	}
	if (tap_open(TAP_NAME, 1, &fd, err, sizeof(err)))
		return ktap_skip(t, name, err);
	KTAP_EXPECT(t, tap_link_up(TAP_NAME, 1500) == 0);
	KTAP_EXPECT(t, host_side_setup(tap_mac) == 0);
	rig_init_on(&r, 1, fd);
	fe_connect(&r, false);
	KTAP_EXPECT(t, netback_state(r.nb) == XenbusStateConnected);
	fe_post_rx(&r, 0, 32, 0);
	us = socket(AF_INET, SOCK_DGRAM, 0);
	set_sin((struct sockaddr *)&a, HOST_IP);
	a.sin_port = htons(5000);
	KTAP_EXPECT(t, bind(us, (struct sockaddr *)&a, sizeof(a)) == 0);
	KTAP_EXPECT(t, host_to_guest(t, &r, us));
	KTAP_EXPECT(t, guest_to_host(&r, us, tap_mac));
	KTAP_EXPECT(t, guest_gso_accepted(&r));
	KTAP_EXPECT(t, attach_makes_tap(&r));
	close(us);
	rig_fini(&r);
	ktap_case_end(t, name);
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 13);
	test_negotiation(&t);
	test_tx_gso(&t);
	test_rx(&t);
	test_rx_starved(&t);
	test_malicious_tx(&t);
	test_malicious_rx(&t);
	test_no_sg(&t);
	test_offload_off(&t);
	test_garbage_indexes(&t);
	test_multiqueue(&t);
	test_streams(&t);
	test_hostile_fuzz(&t);
	test_real_tap(&t);	/* last: it moves us into a new netns */
	return ktap_finish(&t);
}
