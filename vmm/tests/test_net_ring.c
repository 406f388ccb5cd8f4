// SPDX-License-Identifier: GPL-2.0
/*
 * The netif tx decoder and the offload header mapping (devices/
 * netif_ring.c): well-formed packets with fragments and GSO extras, every
 * refusal reason, chains that run past req_prod, fatal chains, index
 * wraparound, header parsing, and a fuzz run over random and mutated
 * rings checking the decoder's promises (it never writes the ring, never
 * reads past req_prod, and every packet it accepts fits its pages).
 * The ring is malloc'd at exactly one page so ASan flags any stray read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/netif_ring.h"
#include "ktap.h"

struct txr {
	struct netif_tx_sring *s;
};

static void txr_init(struct txr *r)
{
	r->s = aligned_alloc(NB_PAGE_SIZE, NB_PAGE_SIZE);
	memset(r->s, 0, NB_PAGE_SIZE);
}

static void put_req(struct txr *r, uint32_t idx, uint32_t gref,
		    uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	struct netif_tx_request q = { gref, off, flags, id, size };

	r->s->ring[idx & (NB_TX_RING_SIZE - 1)].req = q;
}

static void put_extra(struct txr *r, uint32_t idx, uint8_t type,
		      uint8_t flags, uint16_t gso_size, uint8_t gso_type)
{
	struct netif_extra_info x = { .type = type, .flags = flags };

	x.u.gso.size = gso_size;
	x.u.gso.type = gso_type;
	memcpy(&r->s->ring[idx & (NB_TX_RING_SIZE - 1)].req, &x, sizeof(x));
}

static void test_single(struct ktap *t)
{
	struct nb_tx_packet p;
	struct txr r;

	txr_init(&r);
	put_req(&r, 0, 7, 100, NETTXF_data_validated, 42, 60);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 1, &p) == NB_TX_OK);
	KTAP_EXPECT(t, p.nr_slots == 1 && p.nr_ring == 1 && p.total == 60);
	KTAP_EXPECT(t, p.slot[0].gref == 7 && p.slot[0].offset == 100 &&
			       p.slot[0].size == 60);
	KTAP_EXPECT(t, p.rsp[0].id == 42 && !p.rsp[0].extra);
	KTAP_EXPECT(t, p.flags == NETTXF_data_validated && !p.gso);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 1, 1, &p) == NB_TX_INCOMPLETE);
	free(r.s);
	ktap_case_end(t, "single-slot packet");
}

static void test_gso_frags(struct ktap *t)
{
	uint32_t c = 0xfffffffe;	/* indexes wrap inside the packet */
	struct nb_tx_packet p;
	struct txr r;

	txr_init(&r);
	put_req(&r, c, 1, 0, NETTXF_csum_blank | NETTXF_extra_info |
			       NETTXF_more_data, 10, 9000);
	put_extra(&r, c + 1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1448,
		  XEN_NETIF_GSO_TYPE_TCPV4);
	put_req(&r, c + 2, 2, 0, NETTXF_more_data, 11, 4096);
	put_req(&r, c + 3, 3, 96, 0, 12, 2000);
	KTAP_EXPECT(t, nb_tx_decode(r.s, c, c + 4, &p) == NB_TX_OK);
	KTAP_EXPECT(t, p.nr_slots == 3 && p.nr_ring == 4 && p.total == 9000);
	KTAP_EXPECT(t, p.slot[0].size == 9000 - 4096 - 2000);
	KTAP_EXPECT(t, p.slot[1].gref == 2 && p.slot[1].size == 4096);
	KTAP_EXPECT(t, p.slot[2].gref == 3 && p.slot[2].offset == 96 &&
			       p.slot[2].size == 2000);
	KTAP_EXPECT(t, p.rsp[0].id == 10 && p.rsp[1].extra &&
			       p.rsp[2].id == 11 && p.rsp[3].id == 12);
	KTAP_EXPECT(t, p.gso && p.gso_size == 1448 &&
			       p.gso_type == XEN_NETIF_GSO_TYPE_TCPV4);
	/* The chain is cut at each point: wait, never guess. */
	for (uint32_t prod = c + 1; prod != c + 4; prod++)
		KTAP_EXPECT(t, nb_tx_decode(r.s, c, prod, &p) ==
				       NB_TX_INCOMPLETE);
	free(r.s);
	ktap_case_end(t, "GSO extra and fragments across index wrap");
}

static enum nb_tx_verdict one(struct txr *r, uint16_t off, uint16_t flags,
			      uint16_t size, struct nb_tx_packet *p)
{
	put_req(r, 0, 1, off, flags, 1, size);
	return nb_tx_decode(r->s, 0, 1, p);
}

static void test_refusals(struct ktap *t)
{
	struct nb_tx_packet p;
	struct txr r;
	unsigned int i;

	txr_init(&r);
	KTAP_EXPECT(t, one(&r, 0, 0, 13, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_TOO_SHORT && p.nr_ring == 1);
	KTAP_EXPECT(t, one(&r, 4000, 0, 200, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_SLOT_CROSSES_PAGE);
	KTAP_EXPECT(t, one(&r, 0, 0, 4096, &p) == NB_TX_OK);
	KTAP_EXPECT(t, one(&r, 0, 0, 4097, &p) == NB_TX_DROP);
	KTAP_EXPECT(t, one(&r, 65535, 0, 60, &p) == NB_TX_DROP);

	/* A fragment bigger than the whole packet. */
	put_req(&r, 0, 1, 0, NETTXF_more_data, 1, 100);
	put_req(&r, 1, 2, 0, 0, 2, 200);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 2, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_FRAGS_EXCEED_TOTAL &&
			       p.nr_ring == 2);
	/* A fragment that crosses its page; the whole chain is consumed. */
	put_req(&r, 0, 1, 0, NETTXF_more_data, 1, 3000);
	put_req(&r, 1, 2, 4000, NETTXF_more_data, 2, 100);
	put_req(&r, 2, 3, 0, 0, 3, 100);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 3, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_SLOT_CROSSES_PAGE &&
			       p.nr_ring == 3 && p.rsp[2].id == 3);

	/* 19 data slots: dropped, all answered. */
	put_req(&r, 0, 1, 0, NETTXF_more_data, 0, 19 * 100);
	for (i = 1; i < 19; i++)
		put_req(&r, i, 1, 0, i < 18 ? NETTXF_more_data : 0,
			(uint16_t)i, 100);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 19, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_TOO_MANY_SLOTS &&
			       p.nr_ring == 19);
	/* 18 is what every backend must take. */
	put_req(&r, 17, 1, 0, 0, 17, 100);
	put_req(&r, 0, 1, 0, NETTXF_more_data, 0, 18 * 100);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 18, &p) == NB_TX_OK &&
			       p.nr_slots == 18);
	/* A chain that never ends within the fatal bound. */
	for (i = 0; i < 40; i++)
		put_req(&r, i, 1, 0, NETTXF_more_data, (uint16_t)i, 10);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 40, &p) == NB_TX_FATAL);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 20, &p) == NB_TX_INCOMPLETE);

	/* Extras: unadvertised type, duplicate GSO, bad GSO, endless. */
	put_req(&r, 0, 1, 0, NETTXF_extra_info | NETTXF_csum_blank, 1, 60);
	put_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 2, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_BAD_EXTRA && p.nr_ring == 2);
	put_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE,
		  1000, XEN_NETIF_GSO_TYPE_TCPV4);
	put_extra(&r, 2, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1000,
		  XEN_NETIF_GSO_TYPE_TCPV4);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 3, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_BAD_EXTRA && p.nr_ring == 3);
	put_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 0,
		  XEN_NETIF_GSO_TYPE_TCPV4);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 2, &p) == NB_TX_DROP);
	put_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1000, 9);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 2, &p) == NB_TX_DROP);
	put_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_GSO, 0, 1000,
		  XEN_NETIF_GSO_TYPE_TCPV6);
	put_req(&r, 0, 1, 0, NETTXF_extra_info, 1, 60);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 2, &p) == NB_TX_DROP &&
			       p.error == NB_TXE_GSO_WITHOUT_CSUM);
	for (i = 1; i < 10; i++)
		put_extra(&r, i, XEN_NETIF_EXTRA_TYPE_HASH,
			  XEN_NETIF_EXTRA_FLAG_MORE, 0, 0);
	KTAP_EXPECT(t, nb_tx_decode(r.s, 0, 10, &p) == NB_TX_FATAL);
	free(r.s);
	ktap_case_end(t, "every refusal: drop with the chain consumed, or fatal");
}

static void test_ring_pending(struct ktap *t)
{
	KTAP_EXPECT(t, nb_ring_pending(5, 5, 256) == 0);
	KTAP_EXPECT(t, nb_ring_pending(3, 0xffffffffu, 256) == 4);
	KTAP_EXPECT(t, nb_ring_pending(256, 0, 256) == 256);
	KTAP_EXPECT(t, nb_ring_pending(257, 0, 256) == -1);
	KTAP_EXPECT(t, nb_ring_pending(0, 1, 256) == -1);
	ktap_case_end(t, "ring index arithmetic rejects garbage");
}

/* Build Ethernet + IP + TCP/UDP headers; returns the transport offset. */
static size_t build_frame(uint8_t *f, size_t len, bool v6, bool vlan,
			  uint8_t proto, unsigned int ip_opts)
{
	size_t off = 12;

	memset(f, 0, len);
	if (vlan) {
		f[off++] = 0x81;
		f[off++] = 0x00;
		off += 2;
	}
	f[off++] = v6 ? 0x86 : 0x08;
	f[off++] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[off] = 0x60;
		f[off + 6] = 60;	/* a destination options header */
		off += 40;
		f[off] = proto;
		f[off + 1] = 0;		/* 8 bytes */
		off += 8;
	} else {
		f[off] = (uint8_t)(0x45 + ip_opts);
		f[off + 9] = proto;
		off += 20 + 4 * ip_opts;
	}
	if (proto == 6)
		f[off + 12] = 8 << 4;	/* 32-byte TCP header */
	return off;
}

static void test_find_l4(struct ktap *t)
{
	uint8_t f[200];
	size_t l4, want;
	uint8_t proto;
	bool v6;

	want = build_frame(f, sizeof(f), false, false, 6, 0);
	KTAP_EXPECT(t, !nb_find_l4(f, 100, &l4, &proto, &v6) && l4 == want &&
			       l4 == 34 && proto == 6 && !v6);
	want = build_frame(f, sizeof(f), false, true, 17, 3);
	KTAP_EXPECT(t, !nb_find_l4(f, 100, &l4, &proto, &v6) && l4 == want &&
			       l4 == 18 + 32 && proto == 17);
	want = build_frame(f, sizeof(f), true, false, 6, 0);
	KTAP_EXPECT(t, !nb_find_l4(f, 200, &l4, &proto, &v6) && l4 == want &&
			       l4 == 14 + 48 && v6);
	/* Truncated transport header, later fragment, not IP. */
	KTAP_EXPECT(t, nb_find_l4(f, want + 19, &l4, &proto, &v6) == -1);
	build_frame(f, sizeof(f), false, false, 6, 0);
	f[14 + 7] = 1;
	KTAP_EXPECT(t, nb_find_l4(f, 100, &l4, &proto, &v6) == -1);
	build_frame(f, sizeof(f), false, false, 6, 0);
	f[12] = 0x08;
	f[13] = 0x06;
	KTAP_EXPECT(t, nb_find_l4(f, 100, &l4, &proto, &v6) == -1);
	build_frame(f, sizeof(f), false, false, 1, 0);	/* ICMP */
	KTAP_EXPECT(t, nb_find_l4(f, 100, &l4, &proto, &v6) == -1);
	ktap_case_end(t, "transport header found behind VLAN, options, v6 extensions");
}

static void test_vnet_hdr(struct ktap *t)
{
	struct nb_tx_packet p = { 0 };
	struct virtio_net_hdr h;
	uint8_t f[200];
	size_t l4;

	l4 = build_frame(f, sizeof(f), true, false, 6, 0);
	p.flags = NETTXF_csum_blank;
	p.gso = true;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	p.gso_size = 1400;
	KTAP_EXPECT(t, nb_tx_vnet_hdr(f, 200, &p, &h) == 0);
	KTAP_EXPECT(t, h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
			       h.csum_start == l4 && h.csum_offset == 16);
	KTAP_EXPECT(t, h.gso_type == VIRTIO_NET_HDR_GSO_TCPV6 &&
			       h.gso_size == 1400 && h.hdr_len == l4 + 32);
	/* GSO type must match the IP version. */
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	KTAP_EXPECT(t, nb_tx_vnet_hdr(f, 200, &p, &h) == -1);
	/* Partial UDP checksum without GSO. */
	l4 = build_frame(f, sizeof(f), false, false, 17, 0);
	p.gso = false;
	KTAP_EXPECT(t, nb_tx_vnet_hdr(f, 100, &p, &h) == 0 &&
			       h.csum_start == l4 && h.csum_offset == 6 &&
			       h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	p.flags = NETTXF_data_validated;
	KTAP_EXPECT(t, nb_tx_vnet_hdr(f, 100, &p, &h) == 0 &&
			       h.flags == VIRTIO_NET_HDR_F_DATA_VALID);
	p.flags = 0;
	KTAP_EXPECT(t, nb_tx_vnet_hdr(f, 100, &p, &h) == 0 && h.flags == 0);
	ktap_case_end(t, "tx csum/GSO -> virtio_net_hdr");
}

static void test_rx_meta(struct ktap *t)
{
	struct nb_rx_caps all = { .sg = true, .csum = true, .gso_tcpv4 = true,
				  .gso_tcpv6 = true }, none = { 0 };
	struct virtio_net_hdr h = { 0 };
	struct nb_rx_meta m;

	KTAP_EXPECT(t, !nb_rx_meta_from_vnet(&h, &none, &m) && !m.flags &&
			       !m.gso);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	KTAP_EXPECT(t, !nb_rx_meta_from_vnet(&h, &none, &m) &&
			       m.flags == NETRXF_data_validated);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	KTAP_EXPECT(t, nb_rx_meta_from_vnet(&h, &none, &m) == -1);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	KTAP_EXPECT(t, !nb_rx_meta_from_vnet(&h, &all, &m) && m.gso &&
			       m.flags == (NETRXF_csum_blank |
					   NETRXF_data_validated) &&
			       m.extra.type == XEN_NETIF_EXTRA_TYPE_GSO &&
			       m.extra.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 &&
			       m.extra.u.gso.size == 1448 && !m.extra.flags);
	all.gso_tcpv4 = false;
	KTAP_EXPECT(t, nb_rx_meta_from_vnet(&h, &all, &m) == -1);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	KTAP_EXPECT(t, nb_rx_meta_from_vnet(&h, &all, &m) == -1);
	KTAP_EXPECT(t, nb_rx_slots_needed(60, false) == 1);
	KTAP_EXPECT(t, nb_rx_slots_needed(4096, false) == 1);
	KTAP_EXPECT(t, nb_rx_slots_needed(4097, true) == 3);
	KTAP_EXPECT(t, nb_rx_slots_needed(65535 + 14, true) == 18);
	ktap_case_end(t, "rx virtio_net_hdr -> Xen flags and GSO extra");
}

/* ---- fuzz ---- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A plausible packet, so mutations explore near the accepted space. */
static uint32_t fuzz_valid(struct txr *r, uint32_t cons, uint64_t *s)
{
	unsigned int frags = (unsigned int)(rnd(s) % 20), i;
	bool gso = rnd(s) & 1;
	uint32_t idx = cons + 1 + gso;
	uint32_t total = 14 + (uint32_t)(rnd(s) % 2000);

	for (i = 0; i < frags; i++) {
		uint16_t sz = (uint16_t)(rnd(s) % 4097);

		put_req(r, idx++, (uint32_t)rnd(s) % 64, 0,
			i + 1 < frags ? NETTXF_more_data : 0, (uint16_t)i, sz);
		total += sz;
	}
	put_req(r, cons, 1, (uint16_t)(rnd(s) % 2048),
		(uint16_t)(NETTXF_csum_blank | (frags ? NETTXF_more_data : 0) |
			   (gso ? NETTXF_extra_info : 0)),
		99, (uint16_t)total);
	if (gso)
		put_extra(r, cons + 1, XEN_NETIF_EXTRA_TYPE_GSO, 0,
			  (uint16_t)(rnd(s) % 9000),
			  (uint8_t)(1 + rnd(s) % 2));
	return idx;
}

static void check_invariants(struct ktap *t, const struct nb_tx_packet *p,
			     enum nb_tx_verdict v, uint32_t pending,
			     unsigned int *bad)
{
	uint32_t sum = 0;
	unsigned int i;

	if (v != NB_TX_OK && v != NB_TX_DROP)
		return;
	if (!p->nr_ring || p->nr_ring > pending ||
	    p->nr_ring > NB_TX_MAX_RING_SLOTS)
		(*bad)++;
	if (v == NB_TX_DROP && p->error == NB_TXE_NONE)
		(*bad)++;
	if (v != NB_TX_OK)
		return;
	if (!p->nr_slots || p->nr_slots > NB_TX_MAX_SLOTS ||
	    p->total < NB_ETH_HLEN || p->error != NB_TXE_NONE)
		(*bad)++;
	for (i = 0; i < p->nr_slots && i < NB_TX_MAX_SLOTS; i++) {
		if ((uint32_t)p->slot[i].offset + p->slot[i].size > NB_PAGE_SIZE)
			(*bad)++;
		sum += p->slot[i].size;
	}
	if (sum != p->total)
		(*bad)++;
	(void)t;
}

static void test_fuzz(struct ktap *t)
{
	const unsigned int iters = 300000;
	uint64_t seed = 0x6e657462616b6bull, s = seed;
	uint8_t *before = malloc(NB_PAGE_SIZE), *frame = malloc(NB_MAX_PACKET);
	unsigned int bad = 0, ok = 0, drop = 0, inc = 0, fatal = 0, i;
	struct nb_tx_packet p;
	struct txr r;

	txr_init(&r);
	for (i = 0; i < NB_MAX_PACKET; i++)
		frame[i] = (uint8_t)rnd(&s);
	printf("# fuzz seed %#llx, %u rings\n", (unsigned long long)seed, iters);
	for (i = 0; i < iters; i++) {
		uint32_t cons = (uint32_t)rnd(&s), prod;
		uint32_t pending;
		enum nb_tx_verdict v;
		struct virtio_net_hdr h;

		if (i % 3 == 0) {
			/* Pure noise. */
			for (size_t k = 0; k < NB_PAGE_SIZE; k += 8) {
				uint64_t x = rnd(&s);

				memcpy((uint8_t *)r.s + k, &x, 8);
			}
			prod = cons + (uint32_t)(rnd(&s) % (NB_TX_RING_SIZE + 1));
		} else {
			prod = fuzz_valid(&r, cons, &s);
			/* Flip a few bits in the packet's slots. */
			for (unsigned int m = (unsigned int)(rnd(&s) % 4); m; m--) {
				uint32_t at = cons + (uint32_t)(rnd(&s) % 8);
				uint8_t *b = (uint8_t *)&r.s->ring[at & (NB_TX_RING_SIZE - 1)];

				b[rnd(&s) % 12] ^= (uint8_t)(1u << (rnd(&s) % 8));
			}
			if (rnd(&s) % 4 == 0)
				prod = cons + (uint32_t)(rnd(&s) % (prod - cons + 1));
		}
		pending = prod - cons;
		memcpy(before, r.s, NB_PAGE_SIZE);
		v = nb_tx_decode(r.s, cons, prod, &p);
		if (memcmp(before, r.s, NB_PAGE_SIZE))
			bad++;
		check_invariants(t, &p, v, pending, &bad);
		if (v == NB_TX_OK) {
			ok++;
			/* Header parsing over whatever bytes came with it. */
			if (!nb_tx_vnet_hdr(frame, p.total, &p, &h) &&
			    (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			    (size_t)h.csum_start + h.csum_offset + 2 > p.total)
				bad++;
			if (!nb_tx_vnet_hdr(frame, p.total, &p, &h) &&
			    h.gso_type && h.hdr_len > p.total)
				bad++;
		}
		drop += v == NB_TX_DROP;
		inc += v == NB_TX_INCOMPLETE;
		fatal += v == NB_TX_FATAL;
	}
	printf("# ok %u drop %u incomplete %u fatal %u\n", ok, drop, inc, fatal);
	KTAP_EXPECT(t, bad == 0);
	/* The generator must reach every verdict, or it tests too little. */
	KTAP_EXPECT(t, ok > 1000 && drop > 1000 && inc > 1000 && fatal > 10);
	free(before);
	free(frame);
	free(r.s);
	ktap_case_end(t, "fuzz: random and mutated tx rings");
}

/* Sum of 16-bit big-endian words, folded: the receiver's check. */
static uint16_t fold_words(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* The pseudo-header sum a stack leaves in the field for csum_blank. */
static uint16_t pseudo_sum(const uint8_t *f, size_t l3, bool v6,
			   uint8_t proto, size_t l4len)
{
	uint32_t sum = proto + (uint32_t)l4len;

	if (v6)
		return fold_words(f + l3 + 8, 32, sum);
	return fold_words(f + l3 + 12, 8, sum);
}

/* Build, leave the pseudo sum, fill; the receiver's sum must be 0xffff. */
static bool csum_verifies(bool v6, uint8_t proto, size_t len, unsigned int seed,
			  uint16_t *field)
{
	uint8_t f[1600];
	size_t l4 = build_frame(f, len, v6, false, proto, 0);
	size_t l3 = 14, at = l4 + (proto == 6 ? 16 : 6);
	uint16_t ps;

	for (size_t i = l4 + (proto == 6 ? 32 : 8); i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
	/* Addresses: IPv4's 8 bytes at 12, IPv6's 32 at 8. */
	for (size_t i = 0; i < (v6 ? 32u : 8u); i++)
		f[l3 + (v6 ? 8 : 12) + i] = (uint8_t)(seed * 3 + i);
	ps = pseudo_sum(f, l3, v6, proto, len - l4);
	f[at] = (uint8_t)(ps >> 8);
	f[at + 1] = (uint8_t)ps;
	if (nb_fill_csum(f, len))
		return false;
	*field = (uint16_t)(f[at] << 8 | f[at + 1]);
	/* Without the partial sum: pseudo header + segment with the result. */
	return fold_words(f + l4, len - l4,
			  pseudo_sum(f, l3, v6, proto, len - l4)) == 0xffff;
}

static void test_fill_csum(struct ktap *t)
{
	unsigned int bad = 0, zero_udp = 0;
	uint16_t field;
	uint8_t f[64];

	for (unsigned int seed = 0; seed < 200; seed++) {
		size_t len = 100 + seed * 7;	/* odd and even lengths */

		bad += !csum_verifies(false, 6, len, seed, &field);
		bad += !csum_verifies(true, 6, len, seed, &field);
		bad += !csum_verifies(false, 17, len, seed, &field);
		bad += !csum_verifies(true, 17, len, seed, &field);
	}
	KTAP_EXPECT(t, bad == 0);
	/* UDP never carries 0 ("no checksum"): some seed computes to 0. */
	for (unsigned int seed = 0; seed < 65536 && !zero_udp; seed++) {
		uint8_t g[100];
		size_t l4 = build_frame(g, sizeof(g), false, false, 17, 0);

		g[l4 + 8] = (uint8_t)(seed >> 8);
		g[l4 + 9] = (uint8_t)seed;
		if (nb_fill_csum(g, sizeof(g)))
			break;
		zero_udp = g[l4 + 6] == 0xff && g[l4 + 7] == 0xff;
		KTAP_EXPECT(t, g[l4 + 6] || g[l4 + 7]);
	}
	KTAP_EXPECT(t, zero_udp);
	/* No transport header: refused, nothing written. */
	build_frame(f, sizeof(f), false, false, 1, 0);
	KTAP_EXPECT(t, nb_fill_csum(f, sizeof(f)) == -1);
	KTAP_EXPECT(t, nb_fill_csum(f, 20) == -1);
	ktap_case_end(t, "software checksums (offload=off) verify at the receiver");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 9);
	test_single(&t);
	test_gso_frags(&t);
	test_refusals(&t);
	test_ring_pending(&t);
	test_find_l4(&t);
	test_vnet_hdr(&t);
	test_rx_meta(&t);
	test_fill_csum(&t);
	test_fuzz(&t);
	return ktap_finish(&t);
}
