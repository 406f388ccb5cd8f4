/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host tap devices for the network backend (devices/tap.c): opened with
 * IFF_VNET_HDR so checksum and segmentation offloads cross with each
 * packet, one fd per queue with IFF_MULTI_QUEUE.
 */
#ifndef XENKVM_VMM_TAP_H
#define XENKVM_VMM_TAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Open (creating if needed) tap @name with @queues queue fds in @fds,
 * non-blocking, vnet header of sizeof(struct virtio_net_hdr). 0 or
 * -errno with a message in @err (e.g. no /dev/net/tun, no CAP_NET_ADMIN).
 */
int tap_open(const char *name, unsigned int queues, int *fds, char *err,
	     size_t errlen);
/* TUN_F_* offloads the reader (the guest) accepts. 0 or -errno. */
int tap_set_offload(int fd, unsigned int tun_flags);
/* Attach (@on) or detach a queue fd of a multi-queue tap. 0 or -errno. */
int tap_queue_enable(int fd, bool on);
/* Set the link's MTU and bring it up. 0 or -errno. */
int tap_link_up(const char *name, unsigned int mtu);
/* Enslave the tap to Linux bridge @bridge. 0 or -errno. */
int tap_join_bridge(const char *name, const char *bridge);

#endif
