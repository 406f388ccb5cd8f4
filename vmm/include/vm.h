/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's core objects: a VM, its guest memory and its vCPUs.
 *
 * There is no global state: everything hangs off struct vm, which is
 * passed explicitly. Threads: one per vCPU (vcpu.c), one event loop
 * (event_loop.c) for devices and backends. Fields marked (loop) are only
 * touched by the event loop thread; (vcpu) only by the owning vCPU thread;
 * (lock) under vm->lock.
 */
#ifndef XENKVM_VMM_VM_H
#define XENKVM_VMM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

struct vm;
struct vcpu;
struct xen;
struct grant_table;
struct backend;
struct event_loop;
struct vm_config;
struct iobus;
struct devices;
struct kvm_cpuid2;

#define VM_MAX_VCPUS	64
#define VM_MAX_MEMSLOTS	32
#define VM_MAX_E820	32

/* One entry of the guest's memory map (E820 types: 1 RAM, 2 reserved...). */
struct vm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	uint32_t slot;		/* KVM memslot id */
	bool ram;		/* guest RAM (false: an overlay, e.g. grant frames) */
};

struct vcpu {
	struct vm *vm;
	unsigned int index;	/* KVM vCPU index == Xen vCPU id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;		/* thread is running (vcpu.c) */
	bool exited;		/* thread left its run loop (vcpu.c) */
	/* Work other threads asked this vCPU's thread to run (vcpu_run_on). */
	pthread_mutex_t work_lock;
	pthread_cond_t work_done;
	struct vcpu_work *work;
	struct vcpu_xen *xen;	/* per-vCPU Xen state, owned by xen/ */
};

/* Why the guest stopped; the VMM's exit status (Documentation/xenkvm.1). */
enum vm_exit_reason {
	VM_EXIT_POWEROFF = 0,
	VM_EXIT_REBOOT = 1,
	VM_EXIT_CRASH = 2,
	VM_EXIT_ERROR = 3,	/* the VMM itself failed */
	VM_EXIT_WATCHDOG = 4,
	VM_EXIT_SUSPEND = 5,
};

struct vm {
	int kvm_fd;
	int vm_fd;
	struct mem_region mem[VM_MAX_MEMSLOTS];
	unsigned int nr_mem;
	uint64_t ram_size;
	unsigned int nr_vcpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	struct xen *xen;		/* the Xen ABI state (xen/) */
	struct grant_table *gnttab;	/* grant.c; made on first use */
	struct backend *backend;	/* module | kvm | userspace */
	struct event_loop *loop;
	/* The memory map boot gives the guest; XENMEM_memory_map returns it. */
	struct vm_e820_entry e820[VM_MAX_E820];
	unsigned int nr_e820;
	const struct vm_config *cfg;	/* what the user asked for */
	struct iobus *iobus;		/* port I/O and MMIO handlers (iobus.c) */
	struct devices *devices;	/* serial, PCI, platform, PM (devices/) */
	struct kvm_cpuid2 *cpuid;	/* KVM's supported CPUID, fetched once */
	uint64_t low_ram_end;		/* RAM [0, low_ram_end) */
	uint64_t high_ram_size;		/* RAM [4G, 4G + high_ram_size) */
	int signal_fd;			/* SIGINT/SIGTERM (main.c) */
	bool interrupted;		/* stopped by one of them */
	pthread_mutex_t lock;
	/* Set once by the first vCPU or device that stops the guest. */
	volatile int stopping;
	enum vm_exit_reason exit_reason;
};

/*
 * Guest memory access. Return a host pointer to [gpa, gpa+len) only when
 * the whole range lies in one RAM region, else NULL: a guest address is
 * never trusted.
 */
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
int guest_read(struct vm *vm, uint64_t gpa, void *buf, size_t len);
int guest_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len);

/* Stop the guest: every vCPU thread returns, the event loop ends. */
void vm_request_stop(struct vm *vm, enum vm_exit_reason why);

/*
 * Lifecycle (vm.c): open /dev/kvm, create the VM and its RAM memslots as
 * @cfg says. vm_destroy() undoes whatever vm_create() managed to do.
 */
struct vm *vm_create(const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/*
 * Map host memory at a guest physical range outside RAM (e.g. grant
 * frames in the platform device's MMIO BAR). Returns the memslot id or
 * -errno. vm_unmap_overlay() takes it away again.
 */
int vm_map_overlay(struct vm *vm, uint64_t gpa, uint64_t size, void *hva);
int vm_unmap_overlay(struct vm *vm, uint64_t gpa);

/* vCPU threads (vcpu.c). */
int vcpus_create(struct vm *vm);
int vcpus_start(struct vm *vm);
void vcpus_join(struct vm *vm);
/* Make every vCPU leave KVM_RUN soon (safe from any thread). */
void vcpus_kick_all(struct vm *vm);
/*
 * Run @fn on @target's own thread, between two KVM_RUNs, and return its
 * result. Needed for vCPU ioctls: a vCPU ioctl from another thread waits
 * for KVM_RUN to return, and a vCPU waiting for INIT/SIPI never returns
 * by itself. Runs @fn at once when called from @target's thread or before
 * the vCPU threads start. The caller keeps serving its own queue while it
 * waits, so two vCPUs calling each other do not deadlock.
 */
int vcpu_run_on(struct vcpu *target, int (*fn)(struct vcpu *, void *), void *arg);
void vcpus_destroy(struct vm *vm);

#endif
