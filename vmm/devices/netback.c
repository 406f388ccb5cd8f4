// SPDX-License-Identifier: GPL-2.0
/*
 * PV network backend: a guest's netif rings on a host tap
 * (include/netback.h, Documentation/network.rst).
 *
 * Packets are copied through grants (grant_copy_from/to) between the
 * guest's pages and one preallocated buffer per queue and direction, so
 * the data path allocates nothing and never maps anything per request
 * (seed 001). The guest writes the rings concurrently and may lie about
 * everything: indexes are read once and bounded, each request is copied
 * out before use (netif_ring.c), grant refs are checked by grant.c on
 * every copy. A bad packet is answered NETIF_RSP_ERROR and traffic goes
 * on; only indexes that cannot be right, or a chain that never ends,
 * break the ring: the backend then disconnects and goes Closing, as
 * Linux's netback does.
 *
 * Everything runs on one thread (the event loop): the xenstore watch,
 * the tap fds and the per-queue eventfds that the guest's notifications
 * (on vCPU threads) write. They are gathered in one epoll set of our
 * own so the fds can be switched on and off without touching the loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <xen/io/xenbus.h>

#include "devices/netif_ring.h"
#include "devices/tap.h"
#include "event_loop.h"
#include "grant.h"
#include "netback.h"
#include "vm.h"
#include "xen.h"
#include "xenstore/xenstore.h"

#define NB_BACKEND_DOMID	0
#define NB_VNET_HDR_LEN		sizeof(struct virtio_net_hdr)
#define NB_TX_BUF		(NB_MAX_PACKET + 1)
/*
 * The largest frame a frontend can take: XEN_NETIF_NR_SLOTS_MIN slots
 * minus one for the GSO extra. A read that fills the buffer may have
 * been truncated by the tap and is dropped.
 */
#define NB_RX_BUF		((XEN_NETIF_NR_SLOTS_MIN - 1) * NB_PAGE_SIZE)
/* Packets per queue and direction before other fds get a turn. */
#define NB_BUDGET		64
#define NB_PATH_MAX		128

struct nb_queue {
	struct netback *nb;
	unsigned int id;
	int fd;			/* tap queue (or a test's socket) */
	int efd;		/* the guest notified this queue */
	bool active;
	bool fd_polled;
	bool fd_eof;
	bool split;		/* separate tx and rx event channels */
	uint32_t tx_port, rx_port;
	uint32_t tx_ref, rx_ref;
	struct netif_tx_sring *tx;	/* guest pages, pinned while active */
	struct netif_rx_sring *rx;
	uint32_t tx_cons, tx_rsp, tx_pushed;
	uint32_t rx_cons, rx_rsp, rx_pushed;
	struct nb_tx_packet pkt;
	uint8_t *txbuf;
	/* A tap packet waiting for the guest to post enough buffers. */
	struct virtio_net_hdr rx_hdr;
	uint8_t *rxbuf;
	size_t rx_len;
	bool rx_pending;
	struct nb_rx_meta rx_meta;
};

struct netback {
	struct vm *vm;
	struct xs_store *xs;
	struct grant_table *gt;
	struct net_spec spec;
	unsigned int devid;
	uint16_t domid;
	char fe[NB_PATH_MAX];
	char be[NB_PATH_MAX];
	char fe_state[NB_PATH_MAX];
	bool is_tap;
	bool watching;
	bool on_loop;
	bool added;
	int epfd;
	unsigned int nr_fds;
	unsigned int nr_active;
	enum xenbus_state state;
	struct nb_rx_caps caps;
	struct netback_stats st;
	struct nb_queue q[NET_MAX_QUEUES];
};

/* ---- shared ring indexes ---- */

static uint32_t ld_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * Publish responses up to @new; true if the guest asked to be told
 * (its rsp_event lies in what we just published).
 */
static bool push_responses(uint32_t *rsp_prod, const uint32_t *rsp_event,
			   uint32_t *pushed, uint32_t new)
{
	uint32_t old = *pushed;

	if (new == old)
		return false;
	st_rel(rsp_prod, new);
	full_fence();
	*pushed = new;
	return new - ld_acq(rsp_event) < new - old;
}

/* ---- xenstore ---- */

/* Our paths are short; a truncated one would only fail to be found. */
static void path_of(char *buf, const char *dir, const char *key)
{
	if (snprintf(buf, NB_PATH_MAX, "%s/%s", dir, key) >= NB_PATH_MAX)
		buf[0] = '\0';
}

static int read_uint(struct netback *nb, const char *dir, const char *key,
		     unsigned long *out)
{
	char path[NB_PATH_MAX], *val = NULL, *end;
	size_t len;
	int err;

	path_of(path, dir, key);
	err = xenstore_read(nb->xs, path, &val, &len);
	if (err)
		return err;
	errno = 0;
	*out = strtoul(val, &end, 10);
	err = (errno || end == val || *end) ? -EINVAL : 0;
	free(val);
	return err;
}

static unsigned long read_uint_or(struct netback *nb, const char *dir,
				  const char *key, unsigned long dflt)
{
	unsigned long v;

	return read_uint(nb, dir, key, &v) ? dflt : v;
}

static void be_write(struct netback *nb, const char *key, const char *fmt, ...)
{
	char path[NB_PATH_MAX], val[NB_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	path_of(path, nb->be, key);
	xenstore_write(nb->xs, path, val);
}

static void set_state(struct netback *nb, enum xenbus_state s)
{
	nb->state = s;
	be_write(nb, "state", "%d", (int)s);
}

/* ---- epoll set ---- */

static uint64_t ev_key(const struct nb_queue *q, bool is_fd)
{
	return (uint64_t)q->id << 1 | is_fd;
}

static void poll_fd(struct nb_queue *q, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
				  .data.u64 = ev_key(q, true) };

	if (q->fd_polled == on || (on && q->fd_eof))
		return;
	epoll_ctl(q->nb->epfd, EPOLL_CTL_MOD, q->fd, &ev);
	q->fd_polled = on;
}

static void kick_queue(struct nb_queue *q)
{
	uint64_t one = 1;

	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* A full counter already means "look at this queue". */
	}
}

static void drain_efd(struct nb_queue *q)
{
	uint64_t n;

	if (read(q->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was pending. */
	}
}

/* vCPU thread: only wake the loop. */
static void nb_port_notified(void *opaque, uint32_t port)
{
	(void)port;
	kick_queue(opaque);
}

/* ---- connection ---- */

static void disconnect_queue(struct nb_queue *q)
{
	struct netback *nb = q->nb;

	if (!q->active)
		return;
	epoll_ctl(nb->epfd, EPOLL_CTL_DEL, q->efd, NULL);
	epoll_ctl(nb->epfd, EPOLL_CTL_DEL, q->fd, NULL);
	q->fd_polled = false;
	xen_evtchn_close_backend(nb->vm, q->tx_port);
	if (q->split)
		xen_evtchn_close_backend(nb->vm, q->rx_port);
	grant_release(nb->gt, q->tx_ref, true);
	grant_release(nb->gt, q->rx_ref, true);
	q->tx = NULL;
	q->rx = NULL;
	q->rx_pending = false;
	q->active = false;
	drain_efd(q);
}

static void disconnect(struct netback *nb)
{
	unsigned int i;

	for (i = 0; i < nb->nr_fds; i++)
		disconnect_queue(&nb->q[i]);
	nb->nr_active = 0;
}

static void report_error(struct netback *nb, const char *fmt, ...)
{
	char msg[NB_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	be_write(nb, "error", "%s", msg);
}

/* The frontend broke the protocol beyond repair: stop serving it. */
static void ring_broken(struct nb_queue *q, const char *why)
{
	struct netback *nb = q->nb;

	nb->st.ring_broken++;
	report_error(nb, "queue %u: %s", q->id, why);
	disconnect(nb);
	set_state(nb, XenbusStateClosing);
}

static int read_ports(struct netback *nb, struct nb_queue *q, const char *dir)
{
	unsigned long tx, rx;

	if (!read_uint(nb, dir, "event-channel", &tx)) {
		q->split = false;
		rx = tx;
	} else if (!read_uint(nb, dir, "event-channel-tx", &tx) &&
		   !read_uint(nb, dir, "event-channel-rx", &rx)) {
		q->split = tx != rx;
	} else {
		return -ENOENT;
	}
	if (tx > UINT32_MAX || rx > UINT32_MAX)
		return -EINVAL;
	q->tx_port = (uint32_t)tx;
	q->rx_port = (uint32_t)rx;
	return 0;
}

static int map_rings(struct netback *nb, struct nb_queue *q, const char *dir)
{
	unsigned long tx, rx;
	void *tp, *rp;
	int err;

	if (read_uint(nb, dir, "tx-ring-ref", &tx) ||
	    read_uint(nb, dir, "rx-ring-ref", &rx) || tx > UINT32_MAX ||
	    rx > UINT32_MAX)
		return -ENOENT;
	err = grant_access(nb->gt, NB_BACKEND_DOMID, (uint32_t)tx, true, &tp);
	if (err)
		return err;
	err = grant_access(nb->gt, NB_BACKEND_DOMID, (uint32_t)rx, true, &rp);
	if (err) {
		grant_release(nb->gt, (uint32_t)tx, true);
		return err;
	}
	q->tx_ref = (uint32_t)tx;
	q->rx_ref = (uint32_t)rx;
	q->tx = tp;
	q->rx = rp;
	return 0;
}

static int bind_ports(struct netback *nb, struct nb_queue *q)
{
	int err = xen_evtchn_bind_backend(nb->vm, q->tx_port, nb_port_notified,
					  q, q->efd);

	if (err || !q->split)
		return err;
	err = xen_evtchn_bind_backend(nb->vm, q->rx_port, nb_port_notified, q,
				      q->efd);
	if (err)
		xen_evtchn_close_backend(nb->vm, q->tx_port);
	return err;
}

static int start_polling(struct netback *nb, struct nb_queue *q)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = ev_key(q, false) };

	if (epoll_ctl(nb->epfd, EPOLL_CTL_ADD, q->efd, &ev))
		return -errno;
	ev.data.u64 = ev_key(q, true);
	if (!q->fd_eof && epoll_ctl(nb->epfd, EPOLL_CTL_ADD, q->fd, &ev)) {
		int err = -errno;

		epoll_ctl(nb->epfd, EPOLL_CTL_DEL, q->efd, NULL);
		return err;
	}
	q->fd_polled = !q->fd_eof;
	return 0;
}

static int connect_queue(struct netback *nb, struct nb_queue *q,
			 const char *dir)
{
	int err = read_ports(nb, q, dir);

	if (err) {
		report_error(nb, "%s: no event-channel", dir);
		return err;
	}
	err = map_rings(nb, q, dir);
	if (err) {
		report_error(nb, "%s: ring refs unusable (%d)", dir, err);
		return err;
	}
	q->tx_cons = q->tx_rsp = q->tx_pushed = 0;
	q->rx_cons = q->rx_rsp = q->rx_pushed = 0;
	q->rx_pending = false;
	err = bind_ports(nb, q);
	if (err) {
		report_error(nb, "%s: cannot bind event channel(s) %u/%u", dir,
			     q->tx_port, q->rx_port);
		goto unmap;
	}
	err = start_polling(nb, q);
	if (err) {
		xen_evtchn_close_backend(nb->vm, q->tx_port);
		if (q->split)
			xen_evtchn_close_backend(nb->vm, q->rx_port);
		goto unmap;
	}
	q->active = true;
	return 0;
unmap:
	grant_release(nb->gt, q->tx_ref, true);
	grant_release(nb->gt, q->rx_ref, true);
	q->tx = NULL;
	q->rx = NULL;
	return err;
}

static int read_frontend_features(struct netback *nb, unsigned int *nr)
{
	unsigned long n;

	if (read_uint_or(nb, nb->fe, "request-rx-copy", 0) != 1) {
		report_error(nb, "frontend does not do rx-copy");
		return -EOPNOTSUPP;
	}
	/* Without it we would have to poll for rx buffers. */
	if (read_uint_or(nb, nb->fe, "feature-rx-notify", 0) != 1) {
		report_error(nb, "frontend lacks feature-rx-notify");
		return -EOPNOTSUPP;
	}
	/* offload=off: whatever the frontend offers, send it plain packets. */
	nb->caps.sg = nb->spec.offload &&
		      read_uint_or(nb, nb->fe, "feature-sg", 0);
	nb->caps.csum = nb->spec.offload &&
			!read_uint_or(nb, nb->fe, "feature-no-csum-offload", 0);
	/* A GSO packet never fits one buffer: GSO needs SG, as in Linux. */
	nb->caps.gso_tcpv4 = nb->caps.csum && nb->caps.sg &&
			     read_uint_or(nb, nb->fe, "feature-gso-tcpv4", 0);
	nb->caps.gso_tcpv6 = nb->caps.csum && nb->caps.sg &&
			     read_uint_or(nb, nb->fe, "feature-gso-tcpv6", 0);
	n = read_uint_or(nb, nb->fe, "multi-queue-num-queues", 1);
	if (n < 1 || n > nb->nr_fds) {
		report_error(nb, "multi-queue-num-queues %lu not in 1..%u", n,
			     nb->nr_fds);
		return -EINVAL;
	}
	*nr = (unsigned int)n;
	return 0;
}

/* What the tap may hand us: only what the frontend can take. */
static void configure_tap(struct netback *nb, unsigned int nr)
{
	unsigned int off = (nb->caps.csum ? TUN_F_CSUM : 0) |
			   (nb->caps.gso_tcpv4 ? TUN_F_TSO4 : 0) |
			   (nb->caps.gso_tcpv6 ? TUN_F_TSO6 : 0);
	unsigned int i;

	if (!nb->is_tap)
		return;
	for (i = 0; i < nb->nr_fds; i++) {
		tap_set_offload(nb->q[i].fd, off);
		/* The kernel steers to every attached queue: idle ones must go. */
		if (nb->nr_fds > 1)
			tap_queue_enable(nb->q[i].fd, i < nr);
	}
}

static int nb_connect(struct netback *nb)
{
	char dir[NB_PATH_MAX];
	unsigned int nr, i;
	int err = read_frontend_features(nb, &nr);

	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		int len = nr == 1 ?
			  snprintf(dir, sizeof(dir), "%s", nb->fe) :
			  snprintf(dir, sizeof(dir), "%s/queue-%u", nb->fe, i);

		err = len >= (int)sizeof(dir) ? -ENAMETOOLONG :
						connect_queue(nb, &nb->q[i], dir);
		if (err) {
			disconnect(nb);
			return err;
		}
	}
	nb->nr_active = nr;
	configure_tap(nb, nr);
	nb->st.connects++;
	/* The frontend may have posted buffers and packets already. */
	for (i = 0; i < nr; i++)
		kick_queue(&nb->q[i]);
	return 0;
}

static void frontend_changed(struct netback *nb, unsigned long fs)
{
	switch (fs) {
	case XenbusStateInitialising:
		/* A reconnect (or a guest that rebooted under us). */
		if (nb->state == XenbusStateClosed ||
		    nb->state == XenbusStateClosing ||
		    nb->state == XenbusStateConnected) {
			disconnect(nb);
			set_state(nb, XenbusStateInitWait);
		}
		break;
	case XenbusStateConnected:
		if (nb->state != XenbusStateInitWait)
			break;
		if (nb_connect(nb))
			set_state(nb, XenbusStateClosing);
		else
			set_state(nb, XenbusStateConnected);
		break;
	case XenbusStateClosing:
		disconnect(nb);
		if (nb->state != XenbusStateClosed)
			set_state(nb, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		disconnect(nb);
		if (nb->state != XenbusStateClosed)
			set_state(nb, XenbusStateClosed);
		break;
	default:
		break;
	}
}

static void on_frontend_state(void *opaque, const char *path)
{
	struct netback *nb = opaque;
	unsigned long fs;

	(void)path;
	if (read_uint(nb, nb->fe, "state", &fs))
		fs = XenbusStateUnknown;
	frontend_changed(nb, fs);
}

/* ---- guest tx -> tap ---- */

/*
 * offload=off: the tap gets no offload metadata. Linux's netfront always
 * leaves IPv4 TCP/UDP checksums to its backend (there is no key to stop
 * it), so we finish them here, as a NIC without offloads makes its host
 * do; GSO was not advertised, so a GSO packet is the frontend's error.
 */
static int tx_plain(struct nb_queue *q, size_t len, struct virtio_net_hdr *h)
{
	const struct nb_tx_packet *pkt = &q->pkt;

	memset(h, 0, sizeof(*h));
	if (pkt->gso)
		return -1;
	if (!(pkt->flags & NETTXF_csum_blank))
		return 0;
	q->nb->st.tx_sw_csum++;
	return nb_fill_csum(q->txbuf, len);
}

static int16_t tx_send(struct nb_queue *q)
{
	struct nb_tx_packet *pkt = &q->pkt;
	struct virtio_net_hdr h;
	struct iovec iov[2];
	size_t pos = 0;
	unsigned int i;

	for (i = 0; i < pkt->nr_slots; i++) {
		const struct nb_tx_slot *s = &pkt->slot[i];

		if (s->size &&
		    grant_copy_from(q->nb->gt, NB_BACKEND_DOMID, s->gref,
				    s->offset, q->txbuf + pos, s->size))
			return NETIF_RSP_ERROR;
		pos += s->size;
	}
	if (q->nb->spec.offload ? nb_tx_vnet_hdr(q->txbuf, pos, pkt, &h) :
				  tx_plain(q, pos, &h))
		return NETIF_RSP_ERROR;
	q->nb->st.tx_gso += pkt->gso;
	iov[0] = (struct iovec){ &h, NB_VNET_HDR_LEN };
	iov[1] = (struct iovec){ q->txbuf, pos };
	/* A full or downed tap is a drop on the wire, not the guest's fault. */
	if (writev(q->fd, iov, 2) < 0)
		q->nb->st.tx_tap_drops++;
	q->nb->st.tx_packets++;
	q->nb->st.tx_bytes += pos;
	return NETIF_RSP_OKAY;
}

static void tx_respond(struct nb_queue *q, int16_t status)
{
	const struct nb_tx_packet *pkt = &q->pkt;
	unsigned int i;

	if (status != NETIF_RSP_OKAY)
		q->nb->st.tx_errors++;
	for (i = 0; i < pkt->nr_ring; i++) {
		struct netif_tx_response r = {
			.id = pkt->rsp[i].id,
			.status = pkt->rsp[i].extra ? NETIF_RSP_NULL : status,
		};

		memcpy(&q->tx->ring[q->tx_rsp++ & (NB_TX_RING_SIZE - 1)].rsp, &r,
		       sizeof(r));
	}
	q->tx_cons += pkt->nr_ring;
}

/*
 * Wait for more requests: set req_event, then look again in case the
 * guest produced in between (it checks req_event after producing).
 * Returns the fresh producer, or tx_cons when there is nothing.
 */
static uint32_t tx_rearm(struct nb_queue *q, uint32_t want)
{
	st_rel(&q->tx->req_event, want);
	full_fence();
	return ld_acq(&q->tx->req_prod);
}

/* Returns true when the budget ran out with work left. */
static bool tx_service(struct nb_queue *q)
{
	unsigned int done = 0;

	/*
	 * Every pass either consumes a packet or sees the guest move
	 * req_prod: bound both, so a guest that keeps moving it without
	 * finishing a packet cannot hold the loop thread.
	 */
	for (unsigned int turns = 0;; turns++) {
		uint32_t prod = ld_acq(&q->tx->req_prod);
		int pending = nb_ring_pending(prod, q->tx_cons, NB_TX_RING_SIZE);

		if (turns == 2 * NB_BUDGET)
			return true;
		if (pending < 0) {
			ring_broken(q, "tx req_prod beyond the ring");
			return false;
		}
		if (!pending && tx_rearm(q, q->tx_cons + 1) == q->tx_cons)
			return false;
		if (!pending)
			continue;
		if (done == NB_BUDGET)
			return true;
		switch (nb_tx_decode(q->tx, q->tx_cons, prod, &q->pkt)) {
		case NB_TX_OK:
			tx_respond(q, tx_send(q));
			break;
		case NB_TX_DROP:
			tx_respond(q, NETIF_RSP_ERROR);
			break;
		case NB_TX_INCOMPLETE:
			if (tx_rearm(q, prod + 1) == prod)
				return false;
			continue;
		case NB_TX_FATAL:
			ring_broken(q, "tx packet chain too long");
			return false;
		}
		done++;
	}
}

/* ---- tap -> guest rx ---- */

/* Read one packet from the tap; false when there is none. */
static bool rx_read(struct nb_queue *q)
{
	struct netback *nb = q->nb;
	struct iovec iov[2] = {
		{ &q->rx_hdr, NB_VNET_HDR_LEN },
		{ q->rxbuf, NB_RX_BUF },
	};
	ssize_t n = readv(q->fd, iov, 2);

	if (n == 0) {
		/*
		 * Our peer closed (tests' sockets): it would stay readable
		 * (and hung up) forever, so stop watching it at all.
		 */
		epoll_ctl(nb->epfd, EPOLL_CTL_DEL, q->fd, NULL);
		q->fd_polled = false;
		q->fd_eof = true;
		return false;
	}
	if (n < 0) {
		poll_fd(q, true);
		return false;
	}
	if ((size_t)n < NB_VNET_HDR_LEN + NB_ETH_HLEN ||
	    (size_t)n >= NB_VNET_HDR_LEN + NB_RX_BUF ||
	    (!nb->caps.sg && (size_t)n > NB_VNET_HDR_LEN + NB_PAGE_SIZE) ||
	    nb_rx_meta_from_vnet(&q->rx_hdr, &nb->caps, &q->rx_meta)) {
		nb->st.rx_drops++;
		return true;
	}
	/* offload=off: the guest checks every checksum itself. */
	if (!nb->spec.offload)
		q->rx_meta.flags = 0;
	q->rx_len = (size_t)n - NB_VNET_HDR_LEN;
	q->rx_pending = true;
	return true;
}

static void rx_put_response(struct nb_queue *q, uint32_t k, const void *rsp,
			    size_t len)
{
	memcpy(&q->rx->ring[(q->rx_rsp + k) & (NB_RX_RING_SIZE - 1)], rsp, len);
}

/* Copy the pending packet into the next @need posted buffers. */
static void rx_deliver(struct nb_queue *q, unsigned int need)
{
	const struct nb_rx_meta *m = &q->rx_meta;
	size_t off = 0;
	uint32_t k;

	for (k = 0; k < need; k++) {
		struct netif_rx_request req;
		struct netif_rx_response r = { 0 };
		size_t chunk;

		memcpy(&req, &q->rx->ring[(q->rx_cons + k) & (NB_RX_RING_SIZE - 1)].req,
		       sizeof(req));
		if (k == 1 && m->gso) {
			rx_put_response(q, k, &m->extra, sizeof(m->extra));
			continue;
		}
		chunk = q->rx_len - off < NB_PAGE_SIZE ? q->rx_len - off :
							 NB_PAGE_SIZE;
		r.id = req.id;
		r.status = (int16_t)chunk;
		if (grant_copy_to(q->nb->gt, NB_BACKEND_DOMID, req.gref, 0,
				  q->rxbuf + off, chunk)) {
			r.status = NETIF_RSP_ERROR;
			q->nb->st.rx_grant_errors++;
		}
		if (k == 0)
			r.flags = m->flags | (m->gso ? NETRXF_extra_info : 0);
		off += chunk;
		if (off < q->rx_len)
			r.flags |= NETRXF_more_data;
		rx_put_response(q, k, &r, sizeof(r));
	}
	q->rx_cons += need;
	q->rx_rsp += need;
	q->nb->st.rx_packets++;
	q->nb->st.rx_bytes += q->rx_len;
	q->rx_pending = false;
}

/* Posted buffers beyond rx_cons, -1 if the index is garbage. */
static int rx_avail(struct nb_queue *q)
{
	return nb_ring_pending(ld_acq(&q->rx->req_prod), q->rx_cons,
			       NB_RX_RING_SIZE);
}

static bool rx_service(struct nb_queue *q)
{
	unsigned int done = 0;

	for (;;) {
		unsigned int need;
		int avail;

		if (!q->rx_pending) {
			if (done == NB_BUDGET)
				return true;
			if (q->fd_eof || !rx_read(q))
				return false;
			if (!q->rx_pending) {
				done++;	/* dropped ones count: a flood must yield */
				continue;
			}
		}
		need = nb_rx_slots_needed(q->rx_len, q->rx_meta.gso);
		avail = rx_avail(q);
		if (avail >= 0 && (unsigned int)avail < need) {
			/* Ask to be told when enough are posted, then recheck. */
			st_rel(&q->rx->req_event, q->rx_cons + need);
			full_fence();
			avail = rx_avail(q);
		}
		if (avail < 0) {
			ring_broken(q, "rx req_prod beyond the ring");
			return false;
		}
		if ((unsigned int)avail < need) {
			poll_fd(q, false);
			return false;
		}
		rx_deliver(q, need);
		done++;
	}
}

/* ---- dispatch ---- */

static void notify_port(struct nb_queue *q, uint32_t port)
{
	q->nb->st.notifies++;
	xen_evtchn_notify_guest(q->nb->vm, port);
}

static void push_and_notify(struct nb_queue *q)
{
	bool tx = push_responses(&q->tx->rsp_prod, &q->tx->rsp_event,
				 &q->tx_pushed, q->tx_rsp);
	bool rx = push_responses(&q->rx->rsp_prod, &q->rx->rsp_event,
				 &q->rx_pushed, q->rx_rsp);

	if (q->split) {
		if (tx)
			notify_port(q, q->tx_port);
		if (rx)
			notify_port(q, q->rx_port);
	} else if (tx || rx) {
		notify_port(q, q->tx_port);
	}
}

static void service_queue(struct nb_queue *q)
{
	bool more;

	if (!q->active)
		return;
	more = tx_service(q);
	if (!q->active)
		return;
	more |= rx_service(q);
	if (!q->active)
		return;
	push_and_notify(q);
	if (more)
		kick_queue(q);
}

void netback_dispatch(struct netback *nb)
{
	struct epoll_event ev[2 * NET_MAX_QUEUES];
	int n = epoll_wait(nb->epfd, ev, 2 * NET_MAX_QUEUES, 0);
	int i;

	for (i = 0; i < n; i++) {
		unsigned int id = (unsigned int)(ev[i].data.u64 >> 1);
		struct nb_queue *q;

		if (id >= nb->nr_fds)
			continue;
		q = &nb->q[id];
		if (!(ev[i].data.u64 & 1))
			drain_efd(q);
		service_queue(q);
	}
}

/* ---- lifetime ---- */

static void format_mac(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

static int add_device(struct netback *nb)
{
	char mac[18], handle[12], queues[12], mtu[12];
	const char *fe_kv[] = { "mac", mac, "handle", handle, NULL };
	/* Only what is implemented is claimed. */
	const char *on = nb->spec.offload ? "1" : "0";
	const char *be_kv[] = {
		"mac", mac, "handle", handle, "mtu", mtu,
		"feature-sg", on,
		"feature-gso-tcpv4", on,
		"feature-gso-tcpv6", on,
		"feature-ipv6-csum-offload", on,
		/* Linux's netfront ignores it; other frontends may not. */
		"feature-no-csum-offload", nb->spec.offload ? "0" : "1",
		"feature-rx-copy", "1",
		"feature-rx-flip", "0",
		"feature-multicast-control", "0",
		"feature-split-event-channels", "1",
		"multi-queue-max-queues", queues,
		"feature-ctrl-ring", "0",
		NULL,
	};
	int err;

	format_mac(nb->spec.mac, mac, sizeof(mac));
	snprintf(handle, sizeof(handle), "%u", nb->devid);
	snprintf(queues, sizeof(queues), "%u", nb->nr_fds);
	snprintf(mtu, sizeof(mtu), "%u", nb->spec.mtu);
	err = xs_device_add(nb->xs, nb->domid, NB_BACKEND_DOMID, "vif",
			    nb->devid, fe_kv, be_kv);
	if (err)
		return err;
	nb->added = true;
	if (nb->spec.bridge[0])
		be_write(nb, "bridge", "%s", nb->spec.bridge);
	set_state(nb, XenbusStateInitWait);
	return 0;
}

static void pick_mac(struct net_spec *spec, unsigned int domid,
		     unsigned int devid)
{
	uint8_t r[3];

	if (spec->mac_set)
		return;
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		r[0] = (uint8_t)(domid >> 8);
		r[1] = (uint8_t)domid;
		r[2] = (uint8_t)devid;
	}
	/* Xen's OUI, as xl picks it. */
	spec->mac[0] = 0x00;
	spec->mac[1] = 0x16;
	spec->mac[2] = 0x3e;
	spec->mac[3] = r[0] & 0x7f;
	spec->mac[4] = r[1];
	spec->mac[5] = r[2];
	spec->mac_set = true;
}

static void close_fds(const int *fds, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr && i < NET_MAX_QUEUES; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Every fd is ours from here on, also if this fails. */
static int init_queues(struct netback *nb, const int *fds)
{
	unsigned int i;

	for (i = 0; i < nb->nr_fds; i++)
		nb->q[i].fd = fds[i];
	for (i = 0; i < nb->nr_fds; i++) {
		struct nb_queue *q = &nb->q[i];

		q->nb = nb;
		q->id = i;
		q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->txbuf = malloc(NB_TX_BUF);
		q->rxbuf = malloc(NB_RX_BUF);
		if (q->efd < 0 || !q->txbuf || !q->rxbuf)
			return -ENOMEM;
	}
	return 0;
}

struct netback *netback_create(struct vm *vm, struct xs_store *store,
			       unsigned int devid, const struct net_spec *spec,
			       const int *fds, unsigned int nr_fds,
			       bool is_tap)
{
	struct netback *nb;
	unsigned int i;
	int err = -EINVAL;

	if (!nr_fds || nr_fds > NET_MAX_QUEUES || !vm->xen || !store) {
		close_fds(fds, nr_fds);
		errno = EINVAL;
		return NULL;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb) {
		close_fds(fds, nr_fds);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < NET_MAX_QUEUES; i++)
		nb->q[i].fd = nb->q[i].efd = -1;
	nb->vm = vm;
	nb->xs = store;
	nb->spec = *spec;
	nb->devid = devid;
	nb->domid = xen_domid(vm);
	nb->is_tap = is_tap;
	nb->nr_fds = nr_fds;
	nb->gt = vm_grant_table(vm);
	nb->epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(nb->fe, sizeof(nb->fe), "/local/domain/%u/device/vif/%u",
		 nb->domid, devid);
	snprintf(nb->be, sizeof(nb->be), "/local/domain/0/backend/vif/%u/%u",
		 nb->domid, devid);
	path_of(nb->fe_state, nb->fe, "state");
	pick_mac(&nb->spec, nb->domid, devid);
	err = init_queues(nb, fds);
	if (!err && (!nb->gt || nb->epfd < 0))
		err = -ENOMEM;
	if (!err)
		err = add_device(nb);
	if (!err)
		err = xenstore_watch(store, nb->fe_state, on_frontend_state, nb);
	if (!err) {
		nb->watching = true;
		return nb;
	}
	netback_free(nb);
	errno = -err;
	return NULL;
}

void netback_free(struct netback *nb)
{
	unsigned int i;

	if (!nb)
		return;
	if (nb->watching)
		xenstore_unwatch(nb->xs, nb->fe_state, on_frontend_state, nb);
	disconnect(nb);
	if (nb->added)
		xs_device_remove(nb->xs, nb->domid, NB_BACKEND_DOMID, "vif",
				 nb->devid);
	for (i = 0; i < NET_MAX_QUEUES; i++) {
		struct nb_queue *q = &nb->q[i];

		if (q->fd >= 0)
			close(q->fd);
		if (q->efd >= 0)
			close(q->efd);
		free(q->txbuf);
		free(q->rxbuf);
	}
	if (nb->epfd >= 0)
		close(nb->epfd);
	free(nb);
}

int netback_fd(const struct netback *nb)
{
	return nb->epfd;
}

int netback_state(const struct netback *nb)
{
	return (int)nb->state;
}

unsigned int netback_nr_queues(const struct netback *nb)
{
	return nb->nr_active;
}

void netback_get_stats(const struct netback *nb, struct netback_stats *st)
{
	*st = nb->st;
}

static size_t describe_queue(const struct nb_queue *q, char *buf, size_t len)
{
	int n;

	if (!q->active)
		return (size_t)snprintf(buf, len, " q%u idle;", q->id);
	n = snprintf(buf, len,
		     " q%u tx req_prod=%u req_event=%u cons=%u rsp_prod=%u rsp_event=%u,"
		     " rx req_prod=%u req_event=%u cons=%u rsp_prod=%u rsp_event=%u,"
		     " waiting=%zu tap=%s;",
		     q->id, ld_acq(&q->tx->req_prod), ld_acq(&q->tx->req_event),
		     q->tx_cons, q->tx_pushed, ld_acq(&q->tx->rsp_event),
		     ld_acq(&q->rx->req_prod), ld_acq(&q->rx->req_event),
		     q->rx_cons, q->rx_pushed, ld_acq(&q->rx->rsp_event),
		     q->rx_pending ? q->rx_len : 0,
		     q->fd_eof ? "eof" : q->fd_polled ? "polled" : "off");
	return n < 0 ? 0 : (size_t)n;
}

void netback_describe(const struct netback *nb, char *buf, size_t len)
{
	const struct netback_stats *st = &nb->st;
	size_t off;
	int n;

	n = snprintf(buf, len,
		     "vif %u: state=%d offload=%s sg=%d csum=%d gso4=%d gso6=%d"
		     " tx-pkts=%" PRIu64 " tx-bytes=%" PRIu64 " tx-gso=%" PRIu64
		     " tx-sw-csum=%" PRIu64 " tx-errors=%" PRIu64
		     " tx-tap-drops=%" PRIu64 " rx-pkts=%" PRIu64
		     " rx-bytes=%" PRIu64 " rx-drops=%" PRIu64
		     " rx-grant-errors=%" PRIu64 " notifies=%" PRIu64
		     " connects=%" PRIu64 " broken=%" PRIu64 ";",
		     nb->devid, (int)nb->state, nb->spec.offload ? "on" : "off",
		     nb->caps.sg, nb->caps.csum, nb->caps.gso_tcpv4,
		     nb->caps.gso_tcpv6, st->tx_packets, st->tx_bytes, st->tx_gso,
		     st->tx_sw_csum, st->tx_errors, st->tx_tap_drops,
		     st->rx_packets, st->rx_bytes, st->rx_drops,
		     st->rx_grant_errors, st->notifies, st->connects,
		     st->ring_broken);
	off = n < 0 ? 0 : (size_t)n;
	for (unsigned int i = 0; i < nb->nr_fds && off < len; i++)
		off += describe_queue(&nb->q[i], buf + off, len - off);
}

/* ---- the machine's entry points ---- */

static void nb_loop_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	netback_dispatch(opaque);
}

static int open_tap(const struct net_spec *spec, int *fds, char *err,
		    size_t errlen)
{
	int r = tap_open(spec->tap, spec->queues, fds, err, errlen);

	if (r)
		return r;
	r = tap_link_up(spec->tap, spec->mtu);
	if (r)
		snprintf(err, errlen, "tap %s: cannot bring it up: %s",
			 spec->tap, strerror(-r));
	if (!r && spec->bridge[0]) {
		r = tap_join_bridge(spec->tap, spec->bridge);
		if (r)
			snprintf(err, errlen, "tap %s: cannot join bridge %s: %s",
				 spec->tap, spec->bridge, strerror(-r));
	}
	if (r)
		for (unsigned int i = 0; i < spec->queues; i++)
			close(fds[i]);
	return r;
}

struct netback *netback_attach(struct vm *vm, struct xs_store *store,
			       unsigned int devid, const struct net_spec *spec,
			       char *err, size_t errlen)
{
	int fds[NET_MAX_QUEUES];
	struct netback *nb;
	int r;

	if (!spec->queues || spec->queues > NET_MAX_QUEUES || !vm->loop) {
		snprintf(err, errlen, "netback: bad queue count or no event loop");
		errno = EINVAL;
		return NULL;
	}
	r = open_tap(spec, fds, err, errlen);
	if (r) {
		errno = -r;
		return NULL;
	}
	nb = netback_create(vm, store, devid, spec, fds, spec->queues, true);
	if (!nb) {
		r = errno;
		snprintf(err, errlen, "vif %u: cannot create the backend: %s",
			 devid, strerror(r));
		errno = r;	/* netback_create() closed the fds */
		return NULL;
	}
	r = event_loop_add(vm->loop, nb->epfd, EPOLLIN, nb_loop_ready, nb);
	if (r) {
		snprintf(err, errlen, "vif %u: event loop: %s", devid,
			 strerror(-r));
		netback_free(nb);
		errno = -r;
		return NULL;
	}
	nb->on_loop = true;
	return nb;
}

void netback_detach(struct netback *nb)
{
	char line[1024];

	if (!nb)
		return;
	if (nb->on_loop)
		event_loop_del(nb->vm->loop, nb->epfd);
	/* The evidence a test (or a user) needs when traffic stalled. */
	netback_describe(nb, line, sizeof(line));
	fprintf(stderr, "xenkvm: %s\n", line);
	netback_free(nb);
}
