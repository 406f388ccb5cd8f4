/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's one event loop thread. Devices and PV backends register file
 * descriptors (eventfds from the kernel side, timerfds, sockets, stdin)
 * with a callback; the callback runs on the loop thread. Registration is
 * allowed from any thread, also while the loop runs.
 */
#ifndef XENKVM_VMM_EVENT_LOOP_H
#define XENKVM_VMM_EVENT_LOOP_H

#include <stdint.h>

struct vm;
struct event_loop;

/* @events: EPOLLIN etc. */
typedef void (*event_fn)(void *opaque, int fd, uint32_t events);

struct event_loop *event_loop_create(struct vm *vm);
void event_loop_destroy(struct event_loop *loop);
int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_fn fn, void *opaque);
int event_loop_del(struct event_loop *loop, int fd);
/* Runs callbacks until event_loop_stop(); returns 0 or -errno. */
int event_loop_run(struct event_loop *loop);
/* Async-signal-safe and thread-safe: wakes the loop and ends it. */
void event_loop_stop(struct event_loop *loop);

#endif
