// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore wired into the machine: the guest's ring on a page of its
 * RAM with a backend event channel, the host socket, both served on the
 * event loop thread (the store is single-threaded by design).
 *
 * The guest's notifications arrive on vCPU threads (or in-kernel, as an
 * eventfd signal); both end up as one eventfd that the event loop reads
 * before it kicks the ring, so the store is only ever touched by the loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "vm.h"
#include "xen.h"
#include "xenstore/xenstore.h"

#define PARAM_STORE_PFN		1
#define PARAM_STORE_EVTCHN	2

/*
 * How long after moving data the ring is looked at again without a
 * notification (ring.c says why): far longer than a guest store takes to
 * become visible, far shorter than anything a guest would notice.
 */
#define RECHECK_NS		(10 * 1000 * 1000)

struct xs_service {
	struct vm *vm;
	struct xs_store *store;
	struct xs_ring *ring;
	struct xs_socket *sock;
	int efd;
	int recheck_fd;		/* one-shot timerfd */
	uint32_t port;
	bool port_open;
	/* The guest's notifications as the loop saw them (for the dump). */
	uint64_t wakeups, signals;
	/* Rechecks that found data no notification had announced. */
	uint64_t rechecks, recheck_finds;
};

/* vCPU thread: just wake the loop. */
static void svc_port_notified(void *opaque, uint32_t port)
{
	struct xs_service *svc = opaque;
	uint64_t one = 1;

	(void)port;
	if (write(svc->efd, &one, sizeof(one)) < 0) {
		/* Counter full (impossible in practice) or closing: harmless. */
	}
}

static void svc_ring_ready(void *opaque, int fd, uint32_t events)
{
	struct xs_service *svc = opaque;
	uint64_t n;

	(void)events;
	svc->wakeups++;
	if (read(fd, &n, sizeof(n)) == sizeof(n))
		svc->signals += n;
	/* Otherwise a spurious wakeup or a closing fd: the kick is harmless. */
	xs_ring_kick(svc->ring);
}

static void svc_notify_guest(void *opaque)
{
	struct xs_service *svc = opaque;

	xen_evtchn_notify_guest(svc->vm, svc->port);
}

/*
 * Loop thread (the ring's callback; the ring is created after the
 * timerfd). Re-armed on every move, so the recheck comes after the last
 * one, whose race it is there to cover.
 */
static void svc_recheck_soon(void *opaque)
{
	struct xs_service *svc = opaque;
	struct itimerspec it = { .it_value = { 0, RECHECK_NS } };

	timerfd_settime(svc->recheck_fd, 0, &it, NULL);
}

static void svc_recheck(void *opaque, int fd, uint32_t events)
{
	struct xs_service *svc = opaque;
	struct xs_ring_stats before, after;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;		/* re-armed meanwhile: not due yet */
	svc->rechecks++;
	xs_ring_get_stats(svc->ring, &before);
	xs_ring_kick(svc->ring);	/* may arm the timer again */
	xs_ring_get_stats(svc->ring, &after);
	if (after.requests_bytes != before.requests_bytes)
		svc->recheck_finds++;
}

static const struct xs_ring_ops svc_ring_ops = {
	.notify_guest = svc_notify_guest,
	.recheck_soon = svc_recheck_soon,
};

static void svc_socket_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	xs_socket_dispatch(opaque);
}

static int svc_setup_ring(struct xs_service *svc, uint64_t gfn)
{
	void *page = gfn < (1ULL << 40) ? gpa_to_hva(svc->vm, gfn << 12, 4096) :
					   NULL;
	int port, err;

	if (!page)
		return -EINVAL;
	memset(page, 0, 4096);
	svc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (svc->efd < 0)
		return -errno;
	svc->recheck_fd = timerfd_create(CLOCK_MONOTONIC,
					 TFD_NONBLOCK | TFD_CLOEXEC);
	if (svc->recheck_fd < 0)
		return -errno;
	svc->ring = xs_ring_new(svc->store, xen_domid(svc->vm), page,
				&svc_ring_ops, svc);
	if (!svc->ring)
		return -ENOMEM;
	port = xen_evtchn_alloc_backend(svc->vm, svc_port_notified, svc,
					svc->efd);
	if (port < 0)
		return port;
	svc->port = (uint32_t)port;
	svc->port_open = true;
	err = xen_set_hvm_param(svc->vm, PARAM_STORE_PFN, gfn);
	if (!err)
		err = xen_set_hvm_param(svc->vm, PARAM_STORE_EVTCHN, svc->port);
	if (!err)
		err = event_loop_add(svc->vm->loop, svc->efd, EPOLLIN,
				     svc_ring_ready, svc);
	if (!err)
		err = event_loop_add(svc->vm->loop, svc->recheck_fd, EPOLLIN,
				     svc_recheck, svc);
	return err;
}

/*
 * At the end of a stuck run: whether the guest's last notification
 * reached the eventfd but not the loop (unread), or never came at all.
 */
void xs_service_dump(struct xs_service *svc, FILE *f)
{
	uint64_t unread = 0;

	if (!svc || !svc->ring)
		return;
	xs_ring_dump(svc->ring, f);
	if (svc->efd >= 0 && read(svc->efd, &unread, sizeof(unread)) != sizeof(unread))
		unread = 0;
	fprintf(f, "xenkvm: xenstore port %u: %llu notifications in %llu wakeups, %llu unread; %llu of %llu rechecks found requests\n",
		svc->port, (unsigned long long)svc->signals,
		(unsigned long long)svc->wakeups, (unsigned long long)unread,
		(unsigned long long)svc->recheck_finds,
		(unsigned long long)svc->rechecks);
}

struct xs_service *xs_service_start(struct vm *vm, uint64_t store_gfn,
				    const char *socket_path,
				    const struct xs_domain_info *info)
{
	struct xs_service *svc = calloc(1, sizeof(*svc));
	int err = -ENOMEM;

	if (!svc)
		goto fail_errno;
	svc->vm = vm;
	svc->efd = -1;
	svc->recheck_fd = -1;
	svc->store = xs_store_new();
	if (!svc->store)
		goto fail;
	err = xs_domain_introduce(svc->store, xen_domid(vm), info);
	if (!err)
		err = svc_setup_ring(svc, store_gfn);
	if (!err && socket_path) {
		svc->sock = xs_socket_open(svc->store, socket_path);
		err = svc->sock ? event_loop_add(vm->loop,
						 xs_socket_fd(svc->sock),
						 EPOLLIN, svc_socket_ready,
						 svc->sock) :
				  -errno;
	}
	if (!err)
		return svc;
fail:
	xs_service_stop(svc);
fail_errno:
	errno = -err;
	return NULL;
}

struct xs_store *xs_service_store(struct xs_service *svc)
{
	return svc->store;
}

void xs_service_stop(struct xs_service *svc)
{
	if (!svc)
		return;
	if (svc->sock) {
		event_loop_del(svc->vm->loop, xs_socket_fd(svc->sock));
		xs_socket_close(svc->sock);
	}
	if (svc->efd >= 0) {
		event_loop_del(svc->vm->loop, svc->efd);
	}
	if (svc->recheck_fd >= 0)
		event_loop_del(svc->vm->loop, svc->recheck_fd);
	if (svc->port_open)
		xen_evtchn_close_backend(svc->vm, svc->port);
	xs_ring_free(svc->ring);
	if (svc->efd >= 0)
		close(svc->efd);
	if (svc->recheck_fd >= 0)
		close(svc->recheck_fd);
	xs_store_free(svc->store);
	free(svc);
}
