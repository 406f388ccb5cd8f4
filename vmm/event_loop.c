// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: epoll over registered fds, plus an eventfd that stops
 * it. PV backends to come hang their kernel eventfds, timerfds and
 * sockets here; vCPU threads never block on them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "vm.h"

#define LOOP_MAX_EVENTS 32

struct loop_entry {
	int fd;
	event_fn fn;
	void *opaque;
	struct loop_entry *next;
};

struct event_loop {
	struct vm *vm;
	int epfd;
	int stop_fd;
	pthread_mutex_t lock;		/* the entry list */
	struct loop_entry *entries;
	/* Entries removed while the loop may still use them; freed at destroy. */
	struct loop_entry *retired;
};

struct event_loop *event_loop_create(struct vm *vm)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	loop->vm = vm;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.ptr = NULL;	/* NULL marks the stop eventfd */
	if (loop->epfd < 0 || loop->stop_fd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev)) {
		event_loop_destroy(loop);
		return NULL;
	}
	return loop;
}

static void free_list(struct loop_entry *e)
{
	while (e) {
		struct loop_entry *next = e->next;

		free(e);
		e = next;
	}
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	free_list(loop->entries);
	free_list(loop->retired);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	struct loop_entry *e = calloc(1, sizeof(*e));
	struct epoll_event ev = { .events = events };

	if (!e)
		return -ENOMEM;
	*e = (struct loop_entry){ .fd = fd, .fn = fn, .opaque = opaque };
	ev.data.ptr = e;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		pthread_mutex_unlock(&loop->lock);
		free(e);
		return err;
	}
	e->next = loop->entries;
	loop->entries = e;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	struct loop_entry **pp;
	int ret = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	for (pp = &loop->entries; *pp; pp = &(*pp)->next) {
		struct loop_entry *e = *pp;

		if (e->fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = e->next;
		/* An epoll_wait already returned may still point at it. */
		e->fn = NULL;
		e->next = loop->retired;
		loop->retired = e;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct loop_entry *e = evs[i].data.ptr;

			if (!e)
				return 0;	/* stopped */
			if (e->fn)
				e->fn(e->opaque, e->fd, evs[i].events);
		}
	}
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;
	ssize_t r = write(loop->stop_fd, &one, sizeof(one));

	(void)r;
}
