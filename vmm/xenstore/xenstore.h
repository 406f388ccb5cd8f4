/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's xenstore: one in-process server shared by the guest's store
 * ring (ring.c) and the host's Unix socket (socket.c), both speaking the
 * xs_wire.h protocol. Documentation/xenstore.rst has the whole picture.
 *
 * Threading: everything here runs on one thread (the event loop). The
 * store has no locks because nothing else may touch it.
 *
 * Every entry point returns 0 or a negative errno; the errno values are
 * the ones xs_wire.h names, so a wire reply is just the name of the code.
 */
#ifndef XENKVM_VMM_XENSTORE_H
#define XENKVM_VMM_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct xs_store;
struct xs_conn;
struct xs_ring;
struct xs_socket;

/* Per-domain limits; privileged connections (domain 0) are exempt. */
struct xs_quota {
	unsigned int nodes_per_domain;	 /* nodes owned by one domain */
	unsigned int value_size;	 /* bytes in one node's value */
	unsigned int watches_per_domain;
	unsigned int transactions_per_domain;
	unsigned int perms_per_node;	 /* ACL entries incl. the owner */
	unsigned int tx_accesses;	 /* distinct paths one transaction touches */
	unsigned int pending_events;	 /* queued watch events per connection */
};

/* Xen's C xenstored defaults (xenstored_core.c, docs/misc/xenstore.txt). */
#define XS_QUOTA_NODES		1000
#define XS_QUOTA_VALUE_SIZE	2048
#define XS_QUOTA_WATCHES	128
#define XS_QUOTA_TRANSACTIONS	10
#define XS_QUOTA_PERMS		5
#define XS_QUOTA_TX_ACCESSES	1024
#define XS_QUOTA_EVENTS		256

struct xs_store *xs_store_new(void);
void xs_store_free(struct xs_store *s);
void xs_store_get_quota(const struct xs_store *s, struct xs_quota *q);
/* Consistency of the tree and its quota accounting (tests): 0 or -errno. */
int xs_store_check(struct xs_store *s);
void xs_store_set_quota(struct xs_store *s, const struct xs_quota *q);

/*
 * A connection is one client: a guest ring or a socket client. Replies
 * and watch events queue on it; output_ready() tells the transport that
 * there is something to send (it may be called from inside xs_conn_feed).
 */
struct xs_conn_ops {
	void (*output_ready)(void *opaque);
};

struct xs_conn *xs_conn_new(struct xs_store *s, uint32_t domid,
			    bool privileged, const struct xs_conn_ops *ops,
			    void *opaque);
/* Drops the connection's watches and open transactions. */
void xs_conn_free(struct xs_conn *c);

/*
 * Feed request bytes from the transport. Returns how many were consumed;
 * less than @len means either the connection's output is backlogged (the
 * client is not reading its replies: stop reading until output drains)
 * or it is desynchronised. Malformed requests get EINVAL and the stream
 * goes on; a header longer than XENSTORE_PAYLOAD_MAX gets E2BIG and
 * desynchronises the connection: the transport must drop the stream's
 * unread bytes and call xs_conn_reset_input() (or close).
 */
size_t xs_conn_feed(struct xs_conn *c, const void *buf, size_t len);
bool xs_conn_backlogged(const struct xs_conn *c);
bool xs_conn_desynced(const struct xs_conn *c);
/* Contiguous pending output; consume what the transport managed to send. */
size_t xs_conn_peek_output(struct xs_conn *c, const void **buf);
void xs_conn_consume_output(struct xs_conn *c, size_t n);
/* Forget a half-received request and any desync (transport reset). */
void xs_conn_reset_input(struct xs_conn *c);

/*
 * Host-side API with domain 0 rights, for the machine and for tests. Paths
 * are absolute. xenstore_read returns a malloc'd, NUL-terminated copy.
 */
int xenstore_write(struct xs_store *s, const char *path, const char *value);
int xenstore_write_bytes(struct xs_store *s, const char *path, const void *value,
		   size_t len);
int xenstore_read(struct xs_store *s, const char *path, char **value, size_t *len);
int xenstore_mkdir(struct xs_store *s, const char *path);
int xenstore_rm(struct xs_store *s, const char *path);
/* @perms like the wire: "n0", "r1", ... (owner first). */
int xenstore_set_perms(struct xs_store *s, const char *path,
		 const char *const *perms, unsigned int nr);
bool xenstore_exists(struct xs_store *s, const char *path);

/* The standard tree Xen's toolstack writes for an HVM guest. */
struct xs_domain_info {
	const char *name;
	uint64_t memory_kib;	/* memory/target and memory/static-max */
	unsigned int vcpus;	/* cpu/N/availability = online */
};

/*
 * Create /local/domain/<domid> with the standard nodes, mark the domain
 * introduced and fire @introduceDomain. Release removes the domain's
 * nodes and fires @releaseDomain.
 */
int xs_domain_introduce(struct xs_store *s, uint32_t domid,
			const struct xs_domain_info *info);
int xs_domain_release(struct xs_store *s, uint32_t domid);
bool xs_domain_is_introduced(const struct xs_store *s, uint32_t domid);

/*
 * Create a PV device's frontend and backend directories the way a Xen
 * toolstack does:
 *   /local/domain/<fe>/device/<type>/<devid>           owned by fe, be reads
 *   /local/domain/<be>/backend/<type>/<fe>/<devid>     owned by be, fe reads
 * each with state=1 (XenbusStateInitialising) and the cross links; then
 * the NULL-terminated key/value lists @fe_kv and @be_kv ("k", "v", ...).
 */
int xs_device_add(struct xs_store *s, uint32_t fe_domid, uint32_t be_domid,
		  const char *type, unsigned int devid,
		  const char *const *fe_kv, const char *const *be_kv);
int xs_device_remove(struct xs_store *s, uint32_t fe_domid,
		     uint32_t be_domid, const char *type, unsigned int devid);

/*
 * Host-side watch for the machine (e.g. a device backend waiting for the
 * frontend's state): @cb runs after each change at or below @path.
 */
typedef void (*xs_watch_cb)(void *opaque, const char *path);
int xenstore_watch(struct xs_store *s, const char *path, xs_watch_cb cb,
		  void *opaque);
int xenstore_unwatch(struct xs_store *s, const char *path, xs_watch_cb cb,
		    void *opaque);

/* ring.c: the guest's struct xenstore_domain_interface. */
struct xs_ring_ops {
	/* Raise the store event channel in the guest. */
	void (*notify_guest)(void *opaque);
	/*
	 * Data moved: kick the ring again shortly even if the guest does
	 * not notify (it may rightly think we are still busy; ring.c).
	 */
	void (*recheck_soon)(void *opaque);
};

struct xs_ring *xs_ring_new(struct xs_store *s, uint32_t domid, void *page,
			    const struct xs_ring_ops *ops, void *opaque);
void xs_ring_free(struct xs_ring *r);
/* The guest notified the store port (or the transport may move again). */
void xs_ring_kick(struct xs_ring *r);
/* Counters for tests and diagnostics. */
struct xs_ring_stats {
	uint64_t requests;	/* whole requests parsed and answered */
	uint64_t requests_bytes;
	uint64_t reply_bytes;
	uint64_t ring_resets;	/* garbage indexes or oversized requests */
	uint64_t notifies;
};
void xs_ring_get_stats(const struct xs_ring *r, struct xs_ring_stats *st);
/* The ring's four indexes and the counters, on one line. */
void xs_ring_dump(const struct xs_ring *r, FILE *f);

/*
 * socket.c: a Unix socket speaking xs_wire with domain 0 rights. The
 * returned object exposes one pollable fd (an epoll set); when it is
 * readable, call xs_socket_dispatch().
 */
struct xs_socket *xs_socket_open(struct xs_store *s, const char *path);
void xs_socket_close(struct xs_socket *sk);
int xs_socket_fd(const struct xs_socket *sk);
/* Serve whatever is ready without blocking; returns -errno on failure. */
int xs_socket_dispatch(struct xs_socket *sk);

/*
 * service.c: the store wired into the machine. Zeroes guest page
 * @store_gfn and serves the guest's ring there, allocates the store event
 * channel, publishes HVM_PARAM_STORE_PFN/EVTCHN, introduces the guest
 * (xen_domid(vm)) with the standard tree from @info, and, when
 * @socket_path is given, opens the host socket. Everything is served on
 * vm->loop; use xs_service_store() for the host API only before the loop
 * runs or from the loop thread. NULL with errno set on failure.
 */
struct vm;
struct xs_service;
struct xs_service *xs_service_start(struct vm *vm, uint64_t store_gfn,
				    const char *socket_path,
				    const struct xs_domain_info *info);
struct xs_store *xs_service_store(struct xs_service *svc);
/* Once the vCPUs and the event loop have stopped. */
void xs_service_stop(struct xs_service *svc);
/* The guest ring's indexes and counters, for a guest that looks stuck. */
void xs_service_dump(struct xs_service *svc, FILE *f);

#endif
