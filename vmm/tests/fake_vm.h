/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake machine for host unit tests of xen/: a real struct vm whose RAM
 * is malloc'd memory in vm->mem[], vCPUs without KVM fds, an identity
 * GVA->GPA translation (with one optional unmapped page), and a backend
 * that records every call and implements 2-level delivery on the fake
 * guest memory the way the real backends do.
 */
#ifndef XENKVM_TESTS_FAKE_VM_H
#define XENKVM_TESTS_FAKE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"
#include "backend.h"
#include "xen.h"

#define FAKE_MAX_CALLS 512

enum fake_op {
	FAKE_SET_LONG_MODE = 1,
	FAKE_SET_SHARED_INFO,
	FAKE_SET_VCPU_INFO,
	FAKE_SET_UPCALL_VECTOR,
	FAKE_SET_RUNSTATE,
	FAKE_DELIVER_PORT,
	FAKE_BIND_PORT,
	FAKE_UNBIND_PORT,
	FAKE_SET_TIMER_PORT,
	FAKE_SET_CALLBACK_VECTOR,
};

struct fake_call {
	enum fake_op op;
	uint64_t a, b, c;	/* the call's arguments, in order; bind_port: */
	uint64_t d;		/* (send port, vCPU, eventfd, port to raise) */
};

/* The kernel side's send table as bind_port/unbind_port left it. */
struct fake_send {
	bool bound;
	struct evtchn_send_target to;
};

struct fake_vm {
	struct vm vm;
	struct backend backend;
	struct vcpu vcpus[8];
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t next_alloc;	/* bump allocator for test buffers */
	uint64_t bad_gva;	/* this page does not translate (0: none) */
	bool longmode;		/* ABI of the hypercalls fake_hcall makes */
	uint64_t shinfo_gfn;	/* as the backend was told */
	uint64_t vcpu_info_gpa[8];
	struct fake_send sends[4096];	/* by send port */
	unsigned int bad_unbinds;	/* unbind_port of an unbound port */
	struct fake_call calls[FAKE_MAX_CALLS];
	unsigned int nr_calls;
};

/* RAM is [0, ram_size); xen_init() has run. */
struct fake_vm *fake_vm_new(unsigned int nr_vcpus, uint64_t ram_size);
void fake_vm_free(struct fake_vm *f);

/* A hypercall from vCPU @vcpu (CPL 0, ABI per f->longmode). */
int64_t fake_hcall(struct fake_vm *f, unsigned int vcpu, uint64_t nr,
		   uint64_t a0, uint64_t a1, uint64_t a2);

/* Zeroed guest memory for arguments: returns its GPA (== GVA). */
uint64_t fake_alloc(struct fake_vm *f, uint64_t size, uint64_t align);
void *fake_ptr(struct fake_vm *f, uint64_t gpa);

/*
 * Hypercall @nr with (@cmd, pointer to a copy of @buf in guest memory);
 * the guest's copy is read back into @buf afterwards.
 */
int64_t fake_op(struct fake_vm *f, unsigned int vcpu, uint64_t nr,
		uint64_t cmd, void *buf, size_t size);
/* VCPUOP @cmd on @target with @buf as above. */
int64_t fake_vcpu_op(struct fake_vm *f, unsigned int vcpu, uint64_t cmd,
		     uint32_t target, void *buf, size_t size);
/* XENMEM_add_to_physmap(XENMAPSPACE_shared_info, 0, @gfn) from vCPU 0. */
int64_t fake_map_shared_info(struct fake_vm *f, uint64_t gfn);
bool fake_test_bit(struct fake_vm *f, uint64_t gpa, unsigned int bit);
void fake_set_bit(struct fake_vm *f, uint64_t gpa, unsigned int bit);

/* Count / find recorded backend calls. */
unsigned int fake_count(struct fake_vm *f, enum fake_op op);
const struct fake_call *fake_last(struct fake_vm *f, enum fake_op op);
void fake_clear_calls(struct fake_vm *f);

/* CLOCK_MONOTONIC in ns, for tests that time what they wait for. */
uint64_t fake_now_ns(void);

#endif
