/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PV console backend (devices/console.c): the guest's hvc0 ring
 * (struct xencons_interface, HVM_PARAM_CONSOLE_PFN/EVTCHN) to a host
 * terminal and back.
 *
 * Output is never lost: what the sink cannot take now is buffered, and
 * when the buffer is full we stop consuming the ring, so the guest's
 * hvc driver sees a full ring and waits. Input is offered to the guest as
 * ring space allows; the escape key (Ctrl-], 0x1d) is never forwarded
 * and calls ops->escape instead.
 *
 * All functions take the console's lock and may be called from any
 * thread (vCPU threads notify, the event loop reads the terminal).
 */
#ifndef XENKVM_VMM_PV_CONSOLE_H
#define XENKVM_VMM_PV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pv_console;
struct vm;

#define PV_CONSOLE_ESCAPE	0x1d	/* Ctrl-] */
#define PV_CONSOLE_OUTBUF	(64 * 1024)
#define PV_CONSOLE_INBUF	4096

struct pv_console_ops {
	/* Raise the console event channel in the guest. */
	void (*notify_guest)(void *opaque);
	/*
	 * Take up to @len bytes of guest output; return how many were taken
	 * (0 when the sink is full right now), or -1 if it is gone for good
	 * (then output is discarded so the guest never stalls on it).
	 */
	ssize_t (*write_out)(void *opaque, const void *buf, size_t len);
	/*
	 * Output is waiting (@want) or no longer waiting for the sink: poll
	 * it for writability and call pv_console_kick() when it is. Called
	 * without the console's lock held.
	 */
	void (*want_sink)(void *opaque, bool want);
	/* The user pressed the escape key. Called without the lock held. */
	void (*escape)(void *opaque);
};

struct pv_console_stats {
	uint64_t out_bytes;	/* guest output delivered to the sink */
	uint64_t in_bytes;	/* host input placed in the guest's ring */
	uint64_t ring_resets;	/* garbage indexes seen */
	uint64_t notifies;
	uint64_t dropped;	/* output discarded because the sink is gone */
};

/* @page: the guest's console page (a struct xencons_interface). */
struct pv_console *pv_console_new(void *page, const struct pv_console_ops *ops,
				  void *opaque);
void pv_console_free(struct pv_console *c);

/* The guest notified us, or the sink became writable: move data. */
void pv_console_kick(struct pv_console *c);
/*
 * Host input. Returns how many bytes were accepted (fewer than @len when
 * the guest is not reading: stop reading the terminal until a kick).
 * Bytes after an escape key are dropped (the user is leaving).
 */
size_t pv_console_input(struct pv_console *c, const void *buf, size_t len);
/* Output waiting for the sink? */
bool pv_console_backlogged(struct pv_console *c);
void pv_console_get_stats(struct pv_console *c, struct pv_console_stats *st);

/*
 * The machine's one-call setup: use guest page @gfn (zeroed here) as the
 * console ring, allocate its event channel, publish both as
 * HVM_PARAM_CONSOLE_PFN/EVTCHN, read input from @in_fd (< 0: none; best
 * effort, like stdin) on the event loop and write output to @out_fd only
 * as far as it polls writable, so a slow terminal never blocks a vCPU and
 * the fd's flags stay as they are. The escape key stops the VM
 * (VM_EXIT_POWEROFF). Returns NULL with errno set on failure.
 */
struct pv_console *pv_console_attach(struct vm *vm, uint64_t gfn, int in_fd,
				     int out_fd);
/* Once the vCPUs and the event loop have stopped. */
void pv_console_detach(struct pv_console *c);

#endif
