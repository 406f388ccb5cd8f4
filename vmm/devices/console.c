// SPDX-License-Identifier: GPL-2.0
/*
 * PV console backend: the guest's struct xencons_interface to a host
 * terminal (include/pv_console.h).
 *
 * The page is the guest's: indexes are read once, checked against the
 * ring size and used masked, so no access leaves in[] or out[]. Indexes
 * claiming more than a ring of data are garbage: we resynchronise rather
 * than copy junk, and count it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <xen/io/console.h>

#include "event_loop.h"
#include "pv_console.h"
#include "vm.h"
#include "xen.h"

/* HVM params (xen/hvm/params.h), without pulling in all of xen.h. */
#define PARAM_CONSOLE_PFN	17
#define PARAM_CONSOLE_EVTCHN	18

struct pv_console {
	pthread_mutex_t lock;
	struct xencons_interface *intf;
	const struct pv_console_ops *ops;
	void *opaque;
	/* Output the sink has not taken yet: a circular buffer. */
	char out[PV_CONSOLE_OUTBUF];
	size_t out_head;	/* oldest byte */
	size_t out_len;
	bool sink_gone;
	bool sink_wanted;	/* last want_sink() we reported */
	/* Input the guest's ring has no room for yet. */
	char in[PV_CONSOLE_INBUF];
	size_t in_len;
	struct pv_console_stats st;

	/* pv_console_attach() glue. */
	struct vm *vm;
	int in_fd, out_fd;
	uint32_t port;
	bool in_paused;
	bool out_polled;
};

static uint32_t load_idx(const XENCONS_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_idx(XENCONS_RING_IDX *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Ring out[] -> our buffer, as far as the buffer has room. */
static bool pull_output(struct pv_console *c)
{
	struct xencons_interface *in = c->intf;
	bool moved = false;

	while (c->out_len < sizeof(c->out)) {
		uint32_t cons = load_idx(&in->out_cons);
		uint32_t prod = load_idx(&in->out_prod);
		uint32_t avail = prod - cons;
		size_t off = MASK_XENCONS_IDX(cons, in->out);
		size_t tail = (c->out_head + c->out_len) % sizeof(c->out);
		size_t n = avail;

		if (avail > sizeof(in->out)) {
			store_idx(&in->out_cons, prod);
			c->st.ring_resets++;
			return true;
		}
		if (!avail)
			break;
		if (n > sizeof(in->out) - off)
			n = sizeof(in->out) - off;
		if (n > sizeof(c->out) - c->out_len)
			n = sizeof(c->out) - c->out_len;
		if (n > sizeof(c->out) - tail)
			n = sizeof(c->out) - tail;
		memcpy(c->out + tail, in->out + off, n);
		c->out_len += n;
		store_idx(&in->out_cons, cons + (uint32_t)n);
		moved = true;
	}
	return moved;
}

/* Our buffer -> sink, until it stops taking. */
static void flush_output(struct pv_console *c)
{
	while (c->out_len) {
		size_t n = c->out_len;
		ssize_t k;

		if (n > sizeof(c->out) - c->out_head)
			n = sizeof(c->out) - c->out_head;
		k = c->sink_gone ? -1 :
				   c->ops->write_out(c->opaque, c->out + c->out_head, n);
		if (k < 0) {
			/* Nobody will ever read it: do not stall the guest. */
			c->sink_gone = true;
			c->st.dropped += n;
			k = (ssize_t)n;
		} else {
			c->st.out_bytes += (uint64_t)k;
		}
		if (k == 0)
			break;
		if ((size_t)k > n)
			k = (ssize_t)n;
		c->out_head = (c->out_head + (size_t)k) % sizeof(c->out);
		c->out_len -= (size_t)k;
		if (!c->out_len)
			c->out_head = 0;
	}
}

/* Pending input -> ring in[], as far as the guest made room. */
static bool push_input(struct pv_console *c)
{
	struct xencons_interface *in = c->intf;
	size_t done = 0;

	while (done < c->in_len) {
		uint32_t cons = load_idx(&in->in_cons);
		uint32_t prod = load_idx(&in->in_prod);
		uint32_t used = prod - cons;
		size_t off = MASK_XENCONS_IDX(prod, in->in);
		size_t n = c->in_len - done;

		if (used > sizeof(in->in)) {
			/* Garbage in_cons: start the ring over, empty. */
			store_idx(&in->in_prod, cons);
			c->st.ring_resets++;
			continue;
		}
		if (used == sizeof(in->in))
			break;
		if (n > sizeof(in->in) - used)
			n = sizeof(in->in) - used;
		if (n > sizeof(in->in) - off)
			n = sizeof(in->in) - off;
		memcpy(in->in + off, c->in + done, n);
		store_idx(&in->in_prod, prod + (uint32_t)n);
		done += n;
	}
	memmove(c->in, c->in + done, c->in_len - done);
	c->in_len -= done;
	c->st.in_bytes += done;
	return done > 0;
}

/* Move everything that can move; returns whether to notify the guest. */
static bool pump_locked(struct pv_console *c)
{
	bool notify = false;
	bool more;

	do {
		more = pull_output(c);
		notify |= more;
		flush_output(c);
	} while (more && c->out_len < sizeof(c->out));
	notify |= push_input(c);
	return notify;
}

static void unlock_and_report(struct pv_console *c, bool notify)
{
	bool want = c->out_len > 0, changed = want != c->sink_wanted;

	c->sink_wanted = want;
	if (notify)
		c->st.notifies++;
	pthread_mutex_unlock(&c->lock);
	if (notify && c->ops->notify_guest)
		c->ops->notify_guest(c->opaque);
	if (changed && c->ops->want_sink)
		c->ops->want_sink(c->opaque, want);
}

void pv_console_kick(struct pv_console *c)
{
	pthread_mutex_lock(&c->lock);
	unlock_and_report(c, pump_locked(c));
}

size_t pv_console_input(struct pv_console *c, const void *buf, size_t len)
{
	const char *p = buf;
	const char *esc = memchr(p, PV_CONSOLE_ESCAPE, len);
	size_t want = esc ? (size_t)(esc - p) : len, take = 0;
	bool notify = false;

	pthread_mutex_lock(&c->lock);
	/* Fill our buffer, let the ring drain it, repeat while it moves. */
	for (;;) {
		size_t n = sizeof(c->in) - c->in_len;

		if (n > want - take)
			n = want - take;
		memcpy(c->in + c->in_len, p + take, n);
		c->in_len += n;
		take += n;
		if (!push_input(c))
			break;
		notify = true;
	}
	unlock_and_report(c, notify);
	if (take < want)
		return take;	/* the escape, if any, comes with the rest */
	if (esc) {
		if (c->ops->escape)
			c->ops->escape(c->opaque);
		return len;
	}
	return take;
}

bool pv_console_backlogged(struct pv_console *c)
{
	bool b;

	pthread_mutex_lock(&c->lock);
	b = c->out_len > 0;
	pthread_mutex_unlock(&c->lock);
	return b;
}

void pv_console_get_stats(struct pv_console *c, struct pv_console_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}

struct pv_console *pv_console_new(void *page, const struct pv_console_ops *ops,
				  void *opaque)
{
	struct pv_console *c;

	if (!page || !ops || !ops->write_out)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->intf = page;
	c->ops = ops;
	c->opaque = opaque;
	c->in_fd = c->out_fd = -1;
	return c;
}

void pv_console_free(struct pv_console *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- pv_console_attach(): wiring into the machine ---- */

static void attach_notify_guest(void *opaque)
{
	struct pv_console *c = opaque;

	xen_evtchn_notify_guest(c->vm, c->port);
}

/*
 * Never block a vCPU on a slow terminal, without making the fd
 * non-blocking (stdout usually shares its file description with stderr
 * and the shell). A tty or pipe that polls writable takes at least this
 * much without blocking (a tty wakes writers at 256 free bytes, a pipe
 * at PIPE_BUF); regular files always do.
 */
#define SAFE_WRITE	256

static ssize_t attach_write_out(void *opaque, const void *buf, size_t len)
{
	struct pv_console *c = opaque;
	struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
	ssize_t k;

	if (poll(&p, 1, 0) < 0)
		return errno == EINTR ? 0 : -1;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return -1;
	if (!(p.revents & POLLOUT))
		return 0;
	k = write(c->out_fd, buf, len < SAFE_WRITE ? len : SAFE_WRITE);
	if (k >= 0)
		return k;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static void attach_sink_ready(void *opaque, int fd, uint32_t events);

static void attach_want_sink(void *opaque, bool want)
{
	struct pv_console *c = opaque;

	if (want && !__atomic_exchange_n(&c->out_polled, true, __ATOMIC_ACQ_REL))
		event_loop_add(c->vm->loop, c->out_fd, EPOLLOUT,
			       attach_sink_ready, c);
	else if (!want &&
		 __atomic_exchange_n(&c->out_polled, false, __ATOMIC_ACQ_REL))
		event_loop_del(c->vm->loop, c->out_fd);
}

static void attach_escape(void *opaque)
{
	struct pv_console *c = opaque;

	vm_request_stop(c->vm, VM_EXIT_POWEROFF);
}

static const struct pv_console_ops attach_ops = {
	.notify_guest = attach_notify_guest,
	.write_out = attach_write_out,
	.want_sink = attach_want_sink,
	.escape = attach_escape,
};

static void attach_input_ready(void *opaque, int fd, uint32_t events);

/* Resume reading the terminal once the guest made room. */
static void attach_maybe_resume_input(struct pv_console *c)
{
	bool room;

	pthread_mutex_lock(&c->lock);
	room = c->in_len < sizeof(c->in);
	pthread_mutex_unlock(&c->lock);
	if (room && __atomic_exchange_n(&c->in_paused, false, __ATOMIC_ACQ_REL))
		event_loop_add(c->vm->loop, c->in_fd, EPOLLIN,
			       attach_input_ready, c);
}

static void attach_kick(struct pv_console *c)
{
	pv_console_kick(c);
	attach_maybe_resume_input(c);
}

static void attach_port_notified(void *opaque, uint32_t port)
{
	(void)port;
	attach_kick(opaque);
}

static void attach_sink_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	attach_kick(opaque);
}

static void attach_input_ready(void *opaque, int fd, uint32_t events)
{
	struct pv_console *c = opaque;
	char buf[PV_CONSOLE_INBUF];
	size_t room;
	ssize_t n;

	(void)events;
	pthread_mutex_lock(&c->lock);
	room = sizeof(c->in) - c->in_len;
	pthread_mutex_unlock(&c->lock);
	if (!room) {
		/* The guest is not reading: leave input in the terminal. */
		__atomic_store_n(&c->in_paused, true, __ATOMIC_RELEASE);
		event_loop_del(c->vm->loop, fd);
		return;
	}
	n = read(fd, buf, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		event_loop_del(c->vm->loop, fd);	/* EOF: no more input */
		return;
	}
	if (n > 0)
		pv_console_input(c, buf, (size_t)n);
}

struct pv_console *pv_console_attach(struct vm *vm, uint64_t gfn, int in_fd,
				     int out_fd)
{
	void *page = gfn < (1ULL << 40) ? gpa_to_hva(vm, gfn << 12, 4096) :
					   NULL;
	struct pv_console *c;
	int port, err;

	if (!page) {
		errno = EINVAL;
		return NULL;
	}
	memset(page, 0, 4096);
	c = pv_console_new(page, &attach_ops, NULL);
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->opaque = c;
	c->vm = vm;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	port = xen_evtchn_alloc_backend(vm, attach_port_notified, c, -1);
	if (port < 0) {
		err = -port;
		goto fail;
	}
	c->port = (uint32_t)port;
	err = -xen_set_hvm_param(vm, PARAM_CONSOLE_PFN, gfn);
	if (!err)
		err = -xen_set_hvm_param(vm, PARAM_CONSOLE_EVTCHN, c->port);
	if (err)
		goto fail_port;
	/* Best effort: stdin may be closed or a file epoll cannot watch. */
	if (in_fd >= 0 && event_loop_add(vm->loop, in_fd, EPOLLIN,
					 attach_input_ready, c))
		c->in_fd = -1;
	return c;
fail_port:
	xen_evtchn_close_backend(vm, c->port);
fail:
	pv_console_free(c);
	errno = err;
	return NULL;
}

void pv_console_detach(struct pv_console *c)
{
	if (!c)
		return;
	if (c->in_fd >= 0 && !c->in_paused)
		event_loop_del(c->vm->loop, c->in_fd);
	if (c->out_polled)
		event_loop_del(c->vm->loop, c->out_fd);
	xen_evtchn_close_backend(c->vm, c->port);
	pv_console_free(c);
}
