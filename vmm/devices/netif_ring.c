// SPDX-License-Identifier: GPL-2.0
/*
 * netif request decoding and header mapping (devices/netif_ring.h).
 *
 * The tx ring belongs to the guest, which may rewrite any slot at any
 * moment: each request is copied out once and only the copy is checked
 * and used, so a check can never be raced. A packet's chain is walked to
 * its end even when an early slot is bad, because every slot it used
 * must be consumed and answered or the frontend leaks ring space.
 */
#include <string.h>

#include "devices/netif_ring.h"

/* From <linux/if_ether.h>, which virtio_net.h pulls in. */
#define ETH_P_IPV4	ETH_P_IP
#define ETH_P_VLAN	ETH_P_8021Q
#define ETH_P_QINQ	ETH_P_8021AD
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6
#define TCP_MIN_HLEN	20
#define UDP_HLEN	8
/* Enough for any real stack of IPv6 extension headers. */
#define IPV6_MAX_EXT	8

int nb_ring_pending(uint32_t prod, uint32_t cons, uint32_t size)
{
	uint32_t n = prod - cons;

	return n > size ? -1 : (int)n;
}

static void copy_tx_req(const struct netif_tx_sring *s, uint32_t idx,
			struct netif_tx_request *r)
{
	memcpy(r, (const void *)&s->ring[idx & (NB_TX_RING_SIZE - 1)].req,
	       sizeof(*r));
	/* Use only the copy: the compiler must not re-read the ring. */
	__asm__ __volatile__("" ::: "memory");
}

static void set_error(struct nb_tx_packet *pkt, enum nb_tx_error e)
{
	if (pkt->error == NB_TXE_NONE)
		pkt->error = e;
}

static void note_extra(struct nb_tx_packet *pkt, const struct netif_extra_info *x,
		       unsigned int *seen)
{
	unsigned int bit = 1u << (x->type < 32 ? x->type : 31);

	/* Multicast control and hash extras are not advertised. */
	if (x->type != XEN_NETIF_EXTRA_TYPE_GSO || (*seen & bit)) {
		set_error(pkt, NB_TXE_BAD_EXTRA);
		*seen |= bit;
		return;
	}
	*seen |= bit;
	if (!x->u.gso.size || (x->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
			       x->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)) {
		set_error(pkt, NB_TXE_BAD_EXTRA);
		return;
	}
	pkt->gso = true;
	pkt->gso_type = x->u.gso.type;
	pkt->gso_size = x->u.gso.size;
}

/* Extras follow the first request; returns false if the ring ends first. */
static enum nb_tx_verdict read_extras(const struct netif_tx_sring *s,
				      uint32_t *idx, uint32_t prod,
				      struct nb_tx_packet *pkt)
{
	unsigned int seen = 0, n = 0;
	struct netif_tx_request r;
	struct netif_extra_info x;

	do {
		if (n == NB_TX_MAX_EXTRAS)
			return NB_TX_FATAL;
		if (*idx == prod)
			return NB_TX_INCOMPLETE;
		copy_tx_req(s, *idx, &r);
		memcpy(&x, &r, sizeof(x));
		pkt->rsp[pkt->nr_ring++] = (struct nb_tx_rsp){ 0, true };
		(*idx)++;
		n++;
		note_extra(pkt, &x, &seen);
	} while (x.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	return NB_TX_OK;
}

static bool crosses_page(uint32_t offset, uint32_t size)
{
	return offset > NB_PAGE_SIZE || size > NB_PAGE_SIZE - offset;
}

/* The fragments after the first slot; sums their sizes into *fragsum. */
static enum nb_tx_verdict read_frags(const struct netif_tx_sring *s,
				     uint32_t *idx, uint32_t prod,
				     struct nb_tx_packet *pkt, bool more,
				     uint32_t *fragsum)
{
	unsigned int n = 1;
	struct netif_tx_request r;

	while (more) {
		if (n >= NB_TX_FATAL_SLOTS)
			return NB_TX_FATAL;
		if (*idx == prod)
			return NB_TX_INCOMPLETE;
		copy_tx_req(s, *idx, &r);
		pkt->rsp[pkt->nr_ring++] = (struct nb_tx_rsp){ r.id, false };
		(*idx)++;
		if (n < NB_TX_MAX_SLOTS)
			pkt->slot[n] = (struct nb_tx_slot){ r.gref, r.offset,
							    r.size };
		n++;
		*fragsum += r.size;
		if (crosses_page(r.offset, r.size))
			set_error(pkt, NB_TXE_SLOT_CROSSES_PAGE);
		more = r.flags & NETTXF_more_data;
	}
	pkt->nr_slots = n;
	return NB_TX_OK;
}

/* Whole-packet rules, once the chain is known. */
static void check_packet(struct nb_tx_packet *pkt,
			 const struct netif_tx_request *first, uint32_t fragsum)
{
	if (pkt->nr_slots > NB_TX_MAX_SLOTS)
		set_error(pkt, NB_TXE_TOO_MANY_SLOTS);
	if (pkt->total < NB_ETH_HLEN)
		set_error(pkt, NB_TXE_TOO_SHORT);
	if (fragsum > pkt->total) {
		set_error(pkt, NB_TXE_FRAGS_EXCEED_TOTAL);
		return;
	}
	pkt->slot[0] = (struct nb_tx_slot){ first->gref, first->offset,
					     (uint16_t)(pkt->total - fragsum) };
	if (crosses_page(first->offset, pkt->total - fragsum))
		set_error(pkt, NB_TXE_SLOT_CROSSES_PAGE);
	if (pkt->gso && !(pkt->flags & NETTXF_csum_blank))
		set_error(pkt, NB_TXE_GSO_WITHOUT_CSUM);
}

enum nb_tx_verdict nb_tx_decode(const struct netif_tx_sring *s, uint32_t cons,
				uint32_t prod, struct nb_tx_packet *pkt)
{
	struct netif_tx_request first;
	uint32_t idx = cons, fragsum = 0;
	enum nb_tx_verdict v;

	pkt->nr_slots = 0;
	pkt->nr_ring = 0;
	pkt->gso = false;
	pkt->error = NB_TXE_NONE;
	if (idx == prod)
		return NB_TX_INCOMPLETE;
	copy_tx_req(s, idx++, &first);
	pkt->flags = first.flags & (NETTXF_csum_blank | NETTXF_data_validated);
	pkt->total = first.size;
	pkt->rsp[pkt->nr_ring++] = (struct nb_tx_rsp){ first.id, false };
	if (first.flags & NETTXF_extra_info) {
		v = read_extras(s, &idx, prod, pkt);
		if (v != NB_TX_OK)
			return v;
	}
	v = read_frags(s, &idx, prod, pkt, first.flags & NETTXF_more_data,
		       &fragsum);
	if (v != NB_TX_OK)
		return v;
	check_packet(pkt, &first, fragsum);
	return pkt->error == NB_TXE_NONE ? NB_TX_OK : NB_TX_DROP;
}

/* ---- headers ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int skip_vlans(const uint8_t *f, size_t len, size_t *off,
		      uint16_t *type)
{
	int i;

	if (len < NB_ETH_HLEN)
		return -1;
	*type = be16(f + 12);
	*off = NB_ETH_HLEN;
	for (i = 0; i < 2 && (*type == ETH_P_VLAN || *type == ETH_P_QINQ); i++) {
		if (len < *off + 4)
			return -1;
		*type = be16(f + *off + 2);
		*off += 4;
	}
	return 0;
}

static int parse_ipv4(const uint8_t *f, size_t len, size_t *off, uint8_t *proto)
{
	size_t ihl;

	if (len < *off + 20 || (f[*off] >> 4) != 4)
		return -1;
	ihl = (size_t)(f[*off] & 15) * 4;
	/* A later fragment has no transport header to offload. */
	if (ihl < 20 || len < *off + ihl || (be16(f + *off + 6) & 0x1fff))
		return -1;
	*proto = f[*off + 9];
	*off += ihl;
	return 0;
}

static int parse_ipv6(const uint8_t *f, size_t len, size_t *off, uint8_t *proto)
{
	uint8_t nh;
	int i;

	if (len < *off + 40 || (f[*off] >> 4) != 6)
		return -1;
	nh = f[*off + 6];
	*off += 40;
	for (i = 0; i < IPV6_MAX_EXT; i++) {
		size_t hl;

		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (len < *off + 8)
			return -1;
		if (nh == 44) {
			if (be16(f + *off + 2) & 0xfff8)
				return -1;
			hl = 8;
		} else if (nh == 51) {
			hl = ((size_t)f[*off + 1] + 2) * 4;
		} else {
			hl = ((size_t)f[*off + 1] + 1) * 8;
		}
		nh = f[*off];
		*off += hl;
	}
	*proto = nh;
	return 0;
}

int nb_find_l4(const uint8_t *frame, size_t len, size_t *l4off,
	       uint8_t *proto, bool *ipv6)
{
	uint16_t type;
	size_t off;
	int r;

	if (skip_vlans(frame, len, &off, &type))
		return -1;
	if (type == ETH_P_IPV4)
		r = parse_ipv4(frame, len, &off, proto);
	else if (type == ETH_P_IPV6)
		r = parse_ipv6(frame, len, &off, proto);
	else
		return -1;
	if (r)
		return -1;
	if (*proto == IPPROTO_TCP_ ? len < off + TCP_MIN_HLEN :
	    *proto == IPPROTO_UDP_ ? len < off + UDP_HLEN : true)
		return -1;
	*l4off = off;
	*ipv6 = type == ETH_P_IPV6;
	return 0;
}

/* The 16-bit ones' complement sum of @len bytes, not yet folded. */
static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

int nb_fill_csum(uint8_t *frame, size_t len)
{
	size_t l4off, at;
	uint8_t proto;
	uint16_t csum;
	bool ipv6;

	if (nb_find_l4(frame, len, &l4off, &proto, &ipv6))
		return -1;
	at = l4off + (proto == IPPROTO_TCP_ ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	csum = (uint16_t)~sum16(frame + l4off, len - l4off);
	/* In UDP, 0 means "no checksum": a computed 0 is sent as all ones. */
	if (proto == IPPROTO_UDP_ && !csum)
		csum = 0xffff;
	frame[at] = (uint8_t)(csum >> 8);
	frame[at + 1] = (uint8_t)csum;
	return 0;
}

static int set_gso(const uint8_t *frame, size_t len,
		   const struct nb_tx_packet *pkt, size_t l4off, uint8_t proto,
		   bool ipv6, struct virtio_net_hdr *h)
{
	size_t thl;

	if (proto != IPPROTO_TCP_ ||
	    ipv6 != (pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV6))
		return -1;
	thl = (size_t)(frame[l4off + 12] >> 4) * 4;
	if (thl < TCP_MIN_HLEN || len < l4off + thl)
		return -1;
	h->gso_type = ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = pkt->gso_size;
	h->hdr_len = (uint16_t)(l4off + thl);
	return 0;
}

int nb_tx_vnet_hdr(const uint8_t *frame, size_t len,
		   const struct nb_tx_packet *pkt, struct virtio_net_hdr *h)
{
	size_t l4off;
	uint8_t proto;
	bool ipv6;

	memset(h, 0, sizeof(*h));
	if (!(pkt->flags & NETTXF_csum_blank)) {
		if (pkt->gso)
			return -1;
		if (pkt->flags & NETTXF_data_validated)
			h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	if (nb_find_l4(frame, len, &l4off, &proto, &ipv6))
		return -1;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4off;
	h->csum_offset = proto == IPPROTO_TCP_ ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	if (pkt->gso)
		return set_gso(frame, len, pkt, l4off, proto, ipv6, h);
	return 0;
}

int nb_rx_meta_from_vnet(const struct virtio_net_hdr *h,
			 const struct nb_rx_caps *caps, struct nb_rx_meta *m)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	memset(m, 0, sizeof(*m));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!caps->csum)
			return -1;
		m->flags = NETRXF_csum_blank | NETRXF_data_validated;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		m->flags = NETRXF_data_validated;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	/* Xen's GSO always comes with a partial checksum. */
	if (!h->gso_size || !(m->flags & NETRXF_csum_blank))
		return -1;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && caps->gso_tcpv4)
		m->extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && caps->gso_tcpv6)
		m->extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
	else
		return -1;
	m->gso = true;
	m->extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
	m->extra.u.gso.size = h->gso_size;
	return 0;
}

unsigned int nb_rx_slots_needed(size_t len, bool gso)
{
	size_t pages = (len + NB_PAGE_SIZE - 1) / NB_PAGE_SIZE;

	return (unsigned int)(pages ? pages : 1) + (gso ? 1 : 0);
}
