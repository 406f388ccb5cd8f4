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
struct backend;
struct event_loop;

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
	struct backend *backend;	/* module | kvm | userspace */
	struct event_loop *loop;
	/* The memory map boot gives the guest; XENMEM_memory_map returns it. */
	struct vm_e820_entry e820[VM_MAX_E820];
	unsigned int nr_e820;
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

#endif
