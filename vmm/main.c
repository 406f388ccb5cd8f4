// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: run an unmodified Xen HVM guest on KVM.
 *
 * Exit status (Documentation/xenkvm.1): 0 the guest powered off,
 * 1 it rebooted, 2 it crashed, 3 the VMM failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "backend.h"
#include "blkback.h"
#include "config.h"
#include "event_loop.h"
#include "grant.h"
#include "machine.h"
#include "netback.h"
#include "pv_console.h"
#include "vm.h"
#include "xen.h"
#include "xenstore/xenstore.h"

/* The guest's PV devices: its xenstore, hvc0, disks and vifs. */
struct pv_devices {
	struct xs_service *xs;
	struct pv_console *console;
	struct blkback *disks[BLK_MAX_DISKS];
	struct netback *nets[NET_MAX_VIFS];
};

static const char *const reason_names[] = {
	[VM_EXIT_POWEROFF] = "powered off",
	[VM_EXIT_REBOOT] = "rebooted",
	[VM_EXIT_CRASH] = "crashed",
	[VM_EXIT_ERROR] = "stopped: VMM error",
	[VM_EXIT_WATCHDOG] = "stopped by its watchdog",
	[VM_EXIT_SUSPEND] = "suspended",
};

/* Guest input: whatever arrives on stdin goes to the UART. */
static void stdin_ready(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	uint8_t buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)events;
	if (n > 0) {
		serial_receive(vm->devices->serial, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	event_loop_del(vm->loop, fd);	/* EOF: no more input */
}

/* SIGINT/SIGTERM: stop the guest, show where each vCPU was. */
static void signal_ready(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	fprintf(stderr, "xenkvm: %s, stopping the guest\n", strsignal((int)si.ssi_signo));
	vm->interrupted = true;
	vm_request_stop(vm, VM_EXIT_ERROR);
}

static int watch_signals(struct vm *vm)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Blocked before the vCPU threads exist, so they inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -1;
	vm->signal_fd = fd;
	return event_loop_add(vm->loop, fd, EPOLLIN, signal_ready, vm);
}

/* The store and the console, on their reserved pages (machine.h). */
static int start_xenstore_and_console(struct vm *vm, const struct vm_config *cfg,
				      struct pv_devices *pv)
{
	struct xs_domain_info info = {
		.name = cfg->name,
		.memory_kib = cfg->mem_size >> 10,
		.vcpus = cfg->nr_cpus,
	};
	bool hvc = cfg->console == CONSOLE_HVC;

	pv->xs = xs_service_start(vm, LAYOUT_XENSTORE_PAGE >> 12,
				  cfg->xenstore_socket[0] ? cfg->xenstore_socket : NULL,
				  &info);
	if (!pv->xs) {
		fprintf(stderr, "xenkvm: cannot start the xenstore: %s\n", strerror(errno));
		return -1;
	}
	/* With --console serial, hvc0 still exists but only writes out. */
	pv->console = pv_console_attach(vm, LAYOUT_CONSOLE_PAGE >> 12,
					hvc ? STDIN_FILENO : -1, STDOUT_FILENO);
	if (!pv->console) {
		fprintf(stderr, "xenkvm: cannot attach the PV console: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int attach_disks(struct vm *vm, const struct vm_config *cfg,
			struct pv_devices *pv)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		/* blkback_attach() names the disk and the reason itself. */
		pv->disks[i] = blkback_attach(vm, xs_service_store(pv->xs), &cfg->disks[i]);
		if (!pv->disks[i])
			return -1;
	}
	return 0;
}

static int attach_nets(struct vm *vm, const struct vm_config *cfg,
		       struct pv_devices *pv)
{
	char msg[256];

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		msg[0] = '\0';
		pv->nets[i] = netback_attach(vm, xs_service_store(pv->xs), i,
					     &cfg->nets[i], msg, sizeof(msg));
		if (!pv->nets[i]) {
			fprintf(stderr, "xenkvm: vif %u (tap %s): %s\n", i,
				cfg->nets[i].tap, msg[0] ? msg : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Once the vCPUs and the event loop have stopped. */
static void detach_pv_devices(struct vm *vm, struct pv_devices *pv)
{
	for (unsigned int i = 0; i < NET_MAX_VIFS; i++)
		if (pv->nets[i])
			netback_detach(pv->nets[i]);
	for (unsigned int i = 0; i < BLK_MAX_DISKS; i++)
		if (pv->disks[i])
			blkback_detach(pv->disks[i]);
	if (pv->console)
		pv_console_detach(pv->console);
	if (pv->xs)
		xs_service_stop(pv->xs);
	vm_grant_table_free(vm);
}

static int setup(struct vm *vm, const struct vm_config *cfg, struct pv_devices *pv)
{
	if (cpuid_init(vm) || backend_select(vm))
		return -1;
	vm->loop = event_loop_create(vm);
	if (!vm->loop || devices_create(vm) || watch_signals(vm))
		return -1;
	if (vcpus_create(vm))
		return -1;
	/*
	 * After the vCPUs: xen_init() sets up the Xen state of those that
	 * exist, and hangs its timers on the event loop itself.
	 */
	if (xen_init(vm, cfg->xen_major, cfg->xen_minor)) {
		fprintf(stderr, "xenkvm: cannot set up the Xen ABI emulation\n");
		return -1;
	}
	if (start_xenstore_and_console(vm, cfg, pv) || attach_disks(vm, cfg, pv) ||
	    attach_nets(vm, cfg, pv))
		return -1;
	if (boot_load(vm) || boot_setup_bsp(vm->vcpus[0]))
		return -1;
	/* Best effort: stdin may be closed or a file epoll cannot watch. */
	if (cfg->console == CONSOLE_SERIAL)
		event_loop_add(vm->loop, STDIN_FILENO, EPOLLIN, stdin_ready, vm);
	return 0;
}

static void teardown(struct vm *vm, struct pv_devices *pv)
{
	detach_pv_devices(vm, pv);
	vcpus_destroy(vm);
	if (vm->xen)
		xen_destroy(vm);
	devices_destroy(vm);
	event_loop_destroy(vm->loop);
	vm->loop = NULL;
	backend_release(vm);
	vm_destroy(vm);
}

static enum vm_exit_reason run_once(const struct vm_config *cfg)
{
	struct vm *vm = vm_create(cfg);
	struct pv_devices pv = { 0 };
	enum vm_exit_reason why;

	if (!vm)
		return VM_EXIT_ERROR;
	if (setup(vm, cfg, &pv) || vcpus_start(vm)) {
		vm_request_stop(vm, VM_EXIT_ERROR);
	} else if (event_loop_run(vm->loop)) {
		fprintf(stderr, "xenkvm: event loop failed\n");
		vm_request_stop(vm, VM_EXIT_ERROR);
	}
	/* The loop only ends once a stop was requested; make sure of it. */
	vm_request_stop(vm, VM_EXIT_ERROR);
	vcpus_join(vm);
	why = vm->exit_reason;
	if (vm->interrupted) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i])
				vcpu_dump_regs(vm->vcpus[i]);
		xen_evtchn_dump(vm, stderr);
		xs_service_dump(pv.xs, stderr);
	}
	if (vm->signal_fd > 0)
		close(vm->signal_fd);
	teardown(vm, &pv);
	return why;
}

static bool wants_restart(const struct vm_config *cfg, enum vm_exit_reason why)
{
	switch (why) {
	case VM_EXIT_POWEROFF: return cfg->on_poweroff == ACTION_RESTART;
	case VM_EXIT_REBOOT: return cfg->on_reboot == ACTION_RESTART;
	case VM_EXIT_CRASH: return cfg->on_crash == ACTION_RESTART;
	default: return false;
	}
}

int main(int argc, char **argv)
{
	struct vm_config *cfg = malloc(sizeof(*cfg));
	enum vm_exit_reason why;
	int ret;

	if (!cfg)
		return VM_EXIT_ERROR;
	/* A console reader that goes away must not kill the guest. */
	signal(SIGPIPE, SIG_IGN);
	ret = cli_parse(argc, argv, cfg, stderr);
	if (ret) {
		free(cfg);
		return ret > 0 ? 0 : VM_EXIT_ERROR;
	}
	cfg->trace_hcalls = getenv("XENKVM_TRACE") && !strcmp(getenv("XENKVM_TRACE"), "1");
	if (config_validate(cfg, stderr)) {
		free(cfg);
		return VM_EXIT_ERROR;
	}
	do {
		why = run_once(cfg);
		fprintf(stderr, "xenkvm: guest '%s' %s\n", cfg->name,
			(unsigned int)why < sizeof(reason_names) / sizeof(reason_names[0]) ?
			reason_names[why] : "stopped");
	} while (wants_restart(cfg, why));
	free(cfg);
	return (int)why;
}
