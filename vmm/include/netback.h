/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PV network backend (devices/netback.c): a guest's vif (Linux
 * xen-netfront) on a host tap device. Documentation/network.rst has the
 * whole picture; in short:
 *
 *   net_parse_spec() / net_parse_vif()   the user's --net / xl.cfg vif
 *   netback_attach()                     open the tap, create the vif in
 *                                        xenstore, serve it on vm->loop
 *   netback_detach()                     tear it down
 *
 * The backend plays domain 0: it copies packets through the guest's
 * grants (grant_copy_from/to, no foreign mappings) between the netif
 * rings and the tap, with the tap's virtio_net_hdr carrying checksum and
 * TCP segmentation offload both ways.
 *
 * Threading: everything runs on the event loop thread, like the
 * xenstore it negotiates through. The guest's event channel
 * notifications arrive on vCPU threads and only write an eventfd.
 */
#ifndef XENKVM_VMM_NETBACK_H
#define XENKVM_VMM_NETBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

struct vm;
struct xs_store;
struct netback;

#define NET_MAX_QUEUES		8
/* vifs one guest may have (--net may repeat; devid = position). */
#define NET_MAX_VIFS		8
#define NET_DEFAULT_MTU		1500

/* One vif as the user described it. */
struct net_spec {
	char tap[IFNAMSIZ];	/* tap device (created if missing) */
	char bridge[IFNAMSIZ];	/* "" = do not join a bridge */
	uint8_t mac[6];		/* the guest's MAC */
	bool mac_set;		/* false: netback_attach() picks 00:16:3e:... */
	unsigned int queues;	/* 1..NET_MAX_QUEUES offered to the guest */
	unsigned int mtu;
	/*
	 * Checksum and segmentation offloads (default on). Off: neither
	 * the guest nor the tap is offered any, so every packet crosses
	 * whole and checksummed (Documentation/network.rst, "Offloads").
	 */
	bool offload;
};

void net_spec_defaults(struct net_spec *out);

/*
 * --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX][,queues=N][,bridge=BR][,mtu=N]
 *       [,offload=on|off]
 * Returns 0, or -1 with a message naming the bad part in @err.
 */
int net_parse_spec(const char *spec, struct net_spec *out, char *err,
		   size_t errlen);

/*
 * One entry of xl.cfg's vif list, without the quotes:
 * "mac=00:16:3e:01:02:03,bridge=xenbr0,vifname=vif1.0,mtu=1500".
 * xl keys that mean nothing here (type, model, script, ip, rate, backend
 * = 0 or Domain-0) are accepted and ignored; unknown keys are errors.
 * Without vifname the tap is called "xkvif<@domid>.<@devid>".
 */
int net_parse_vif(const char *entry, unsigned int domid, unsigned int devid,
		  struct net_spec *out, char *err, size_t errlen);

/* "00:16:3e:01:02:03" -> 6 bytes; 0 or -1. */
int net_parse_mac(const char *s, uint8_t mac[6]);

struct netback_stats {
	uint64_t tx_packets, tx_bytes;	/* guest -> tap */
	uint64_t tx_errors;		/* packets answered NETIF_RSP_ERROR */
	uint64_t tx_tap_drops;		/* the tap refused a good packet */
	uint64_t tx_gso;		/* of tx_packets, GSO ones */
	uint64_t tx_sw_csum;		/* checksums we filled (offload=off) */
	uint64_t rx_packets, rx_bytes;	/* tap -> guest */
	uint64_t rx_drops;		/* unsupported offload, too large */
	uint64_t rx_grant_errors;	/* a posted buffer's grant was bad */
	uint64_t ring_broken;		/* garbage indexes / fatal chains */
	uint64_t notifies;		/* event channel sends to the guest */
	uint64_t connects;
};

/*
 * The machine's one call, after xs_service_start() and before the guest
 * runs (or on the loop thread): open/create tap @spec->tap with
 * IFF_VNET_HDR (one fd per queue, IFF_MULTI_QUEUE when queues > 1),
 * bring it up, join @spec->bridge if set, create vif @devid of the guest
 * (xen_domid(vm)) in @store and wait for the frontend on vm->loop.
 * Returns NULL with errno set (and a message in @err) on failure.
 */
struct netback *netback_attach(struct vm *vm, struct xs_store *store,
			       unsigned int devid, const struct net_spec *spec,
			       char *err, size_t errlen);
void netback_detach(struct netback *nb);

/*
 * The same over file descriptors the caller opened (a tap's queue fds,
 * or for tests one end of a SOCK_SEQPACKET socketpair each: every read
 * and write is a virtio_net_hdr followed by one frame). @is_tap enables
 * the tap ioctls (offloads, queue attach). The backend takes the fds.
 * Nothing is registered with vm->loop: the caller polls netback_fd()
 * and calls netback_dispatch() when it is readable.
 */
struct netback *netback_create(struct vm *vm, struct xs_store *store,
			       unsigned int devid, const struct net_spec *spec,
			       const int *fds, unsigned int nr_fds,
			       bool is_tap);
void netback_free(struct netback *nb);
int netback_fd(const struct netback *nb);
/* Serve whatever is ready, without blocking. */
void netback_dispatch(struct netback *nb);

/* XenbusState of the backend (1 Initialising .. 6 Closed). */
int netback_state(const struct netback *nb);
unsigned int netback_nr_queues(const struct netback *nb);
void netback_get_stats(const struct netback *nb, struct netback_stats *st);
/*
 * One line (no newline) with the counters and every active queue's ring
 * indexes, ours and the guest's: what a stalled stream is diagnosed
 * from. netback_detach() prints it to stderr.
 */
void netback_describe(const struct netback *nb, char *buf, size_t len);

#endif
