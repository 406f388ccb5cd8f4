/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The netif rings as a hostile guest writes them: decoding and checking
 * tx requests, and the header work that maps Xen's checksum/GSO metadata
 * to the tap's virtio_net_hdr and back. Pure functions over memory,
 * without grants or fds, so they are unit-tested and fuzzed on their own
 * (tests/test_net_ring.c); devices/netback.c does the I/O.
 */
#ifndef XENKVM_VMM_NETIF_RING_H
#define XENKVM_VMM_NETIF_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>
#include <xen/io/netif.h>

#define NB_PAGE_SIZE		4096u
#define NB_TX_RING_SIZE		__CONST_RING_SIZE(netif_tx, NB_PAGE_SIZE)
#define NB_RX_RING_SIZE		__CONST_RING_SIZE(netif_rx, NB_PAGE_SIZE)

/*
 * Data slots one tx packet may use: Xen's promise to every frontend.
 * Longer chains are dropped with errors; chains longer than
 * NB_TX_FATAL_SLOTS (or that never end) mean a broken frontend, as in
 * Linux's netback (fatal_skb_slots).
 */
#define NB_TX_MAX_SLOTS		XEN_NETIF_NR_SLOTS_MIN
#define NB_TX_FATAL_SLOTS	32
/* One of each extra type at most (GSO, MCAST_ADD, MCAST_DEL, HASH). */
#define NB_TX_MAX_EXTRAS	(XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define NB_TX_MAX_RING_SLOTS	(NB_TX_FATAL_SLOTS + NB_TX_MAX_EXTRAS)

#define NB_ETH_HLEN		14
#define NB_MAX_PACKET		XEN_NETIF_MAX_TX_SIZE

/* Why a packet was refused (counted per reason by the backend). */
enum nb_tx_error {
	NB_TXE_NONE = 0,
	NB_TXE_TOO_SHORT,	/* total below an Ethernet header */
	NB_TXE_SLOT_CROSSES_PAGE,	/* offset + size beyond the page */
	NB_TXE_FRAGS_EXCEED_TOTAL,	/* fragments larger than first.size */
	NB_TXE_TOO_MANY_SLOTS,
	NB_TXE_BAD_EXTRA,	/* unknown, duplicate or malformed extra */
	NB_TXE_GSO_WITHOUT_CSUM,
	NB_TXE_NR
};

/* One data slot of a tx packet, copied out of the shared ring. */
struct nb_tx_slot {
	uint32_t gref;
	uint16_t offset;
	uint16_t size;		/* bytes of the packet in this slot */
};

/* What each consumed ring slot gets as its response. */
struct nb_tx_rsp {
	uint16_t id;
	bool extra;		/* an extra-info slot: NETIF_RSP_NULL */
};

struct nb_tx_packet {
	uint16_t flags;		/* NETTXF_csum_blank / data_validated */
	uint32_t total;		/* bytes in the packet (first.size) */
	unsigned int nr_slots;	/* data slots */
	struct nb_tx_slot slot[NB_TX_MAX_SLOTS];
	unsigned int nr_ring;	/* ring slots consumed (data + extras) */
	struct nb_tx_rsp rsp[NB_TX_MAX_RING_SLOTS];
	bool gso;
	uint8_t gso_type;	/* XEN_NETIF_GSO_TYPE_TCPV4/6 */
	uint16_t gso_size;
	enum nb_tx_error error;
};

enum nb_tx_verdict {
	NB_TX_OK,		/* send it */
	NB_TX_DROP,		/* consume pkt->nr_ring slots, respond ERROR */
	NB_TX_INCOMPLETE,	/* the chain goes past req_prod: wait */
	NB_TX_FATAL,		/* the frontend is broken: stop the ring */
};

/*
 * Number of unconsumed requests between @cons and @prod, or -1 when the
 * indexes are garbage (more than a ring's worth).
 */
int nb_ring_pending(uint32_t prod, uint32_t cons, uint32_t size);

/*
 * Decode the packet starting at @cons of a tx ring whose producer was
 * read (once) as @prod, with prod - cons <= NB_TX_RING_SIZE. Every
 * request is copied out before it is looked at; the ring is never
 * written.
 */
enum nb_tx_verdict nb_tx_decode(const struct netif_tx_sring *s, uint32_t cons,
				uint32_t prod, struct nb_tx_packet *pkt);

/*
 * The tap's header for a gathered tx packet @frame (@len bytes): checksum
 * offload needs the transport header's offset, which Xen does not send,
 * so it is parsed from the frame. -1 when the packet asks for an offload
 * its headers do not support (drop it).
 */
int nb_tx_vnet_hdr(const uint8_t *frame, size_t len,
		   const struct nb_tx_packet *pkt, struct virtio_net_hdr *h);

/*
 * Finish a NETTXF_csum_blank frame's checksum in place, as a NIC with
 * checksum offload would: the guest left the pseudo-header sum in the
 * TCP/UDP checksum field (Linux's convention), so the checksum is the
 * folded sum from the transport header to the end. -1 when the frame has
 * no whole TCP/UDP header (drop it).
 */
int nb_fill_csum(uint8_t *frame, size_t len);

/*
 * Locate the TCP/UDP header of an Ethernet frame (VLAN tags, IPv4 with
 * options, IPv6 with extension headers). Returns 0 and fills @l4off,
 * @proto (6 or 17), @ipv6; -1 when there is none or it is not whole.
 */
int nb_find_l4(const uint8_t *frame, size_t len, size_t *l4off,
	       uint8_t *proto, bool *ipv6);

/* What the frontend said it can receive. */
struct nb_rx_caps {
	bool sg;		/* packets over several buffers (feature-sg) */
	bool csum;		/* !feature-no-csum-offload */
	bool gso_tcpv4;
	bool gso_tcpv6;
};

/* The first rx response's flags and the GSO extra for a tap packet. */
struct nb_rx_meta {
	uint16_t flags;		/* NETRXF_csum_blank / data_validated */
	bool gso;
	struct netif_extra_info extra;
};

/* -1: the frontend cannot take this packet (unsupported GSO). */
int nb_rx_meta_from_vnet(const struct virtio_net_hdr *h,
			 const struct nb_rx_caps *caps, struct nb_rx_meta *m);

/* Ring slots an rx packet of @len bytes needs (data pages + GSO extra). */
unsigned int nb_rx_slots_needed(size_t len, bool gso);

#endif
