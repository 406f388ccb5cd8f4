// SPDX-License-Identifier: GPL-2.0
/*
 * The fake machine behind the xen/ unit tests (see fake_vm.h).
 *
 * The guest-memory functions of vm.h are defined weak here: until the
 * machine's vm.c is in libvmm these serve, and once it is, its strong
 * definitions win and run over the same struct vm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/kvm.h>

#include "fake_vm.h"
#include "xen/xen_state.h"
#include <xen/memory.h>

__attribute__((weak)) void *gpa_to_hva(struct vm *vm, uint64_t gpa,
				       uint64_t len)
{
	unsigned int i;

	for (i = 0; i < vm->nr_mem; i++) {
		const struct mem_region *r = &vm->mem[i];

		if (!r->ram || gpa < r->gpa || len > r->size ||
		    gpa - r->gpa > r->size - len)
			continue;
		return (uint8_t *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

__attribute__((weak)) int guest_read(struct vm *vm, uint64_t gpa, void *buf,
				     size_t len)
{
	void *p = gpa_to_hva(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

__attribute__((weak)) int guest_write(struct vm *vm, uint64_t gpa,
				      const void *buf, size_t len)
{
	void *p = gpa_to_hva(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

__attribute__((weak)) void vm_request_stop(struct vm *vm,
					   enum vm_exit_reason why)
{
	if (!vm->stopping) {
		vm->stopping = 1;
		vm->exit_reason = why;
	}
}

static struct fake_vm *fake_of(struct vm *vm)
{
	return (struct fake_vm *)vm;
}

static struct fake_call *record(struct vm *vm, enum fake_op op, uint64_t a,
				uint64_t b, uint64_t c)
{
	struct fake_vm *f = fake_of(vm);

	if (f->nr_calls >= FAKE_MAX_CALLS)
		return NULL;
	f->calls[f->nr_calls] = (struct fake_call){ op, a, b, c, 0 };
	return &f->calls[f->nr_calls++];
}


static int fb_set_long_mode(struct vm *vm, bool lm)
{
	record(vm, FAKE_SET_LONG_MODE, lm, 0, 0);
	return 0;
}

static int fb_set_shared_info(struct vm *vm, uint64_t gfn)
{
	fake_of(vm)->shinfo_gfn = gfn;
	record(vm, FAKE_SET_SHARED_INFO, gfn, 0, 0);
	return 0;
}

static int fb_set_vcpu_info(struct vcpu *vcpu, uint64_t gpa)
{
	fake_of(vcpu->vm)->vcpu_info_gpa[vcpu->index] = gpa;
	record(vcpu->vm, FAKE_SET_VCPU_INFO, vcpu->index, gpa, 0);
	return 0;
}

static int fb_set_upcall_vector(struct vcpu *vcpu, uint8_t vector)
{
	record(vcpu->vm, FAKE_SET_UPCALL_VECTOR, vcpu->index, vector, 0);
	return 0;
}

static int fb_set_runstate_area(struct vcpu *vcpu, uint64_t gpa)
{
	record(vcpu->vm, FAKE_SET_RUNSTATE, vcpu->index, gpa, 0);
	return 0;
}

static uint8_t *fake_byte(struct fake_vm *f, uint64_t gpa)
{
	return gpa < f->ram_size ? f->ram + gpa : NULL;
}

/* 2-level delivery in Xen's order and by Xen's rules, on the latched layout. */
static int fb_deliver_port(struct vm *vm, uint32_t port, uint32_t vcpu_id)
{
	struct fake_vm *f = fake_of(vm);
	bool lm = vm->xen ? vm->xen->long_mode : true;
	uint64_t shinfo = f->shinfo_gfn << 12;
	uint64_t vi;
	uint8_t *pend, *mask, *sel, *upcall;
	unsigned int word;

	record(vm, FAKE_DELIVER_PORT, port, vcpu_id, 0);
	if (f->shinfo_gfn == 0 || f->shinfo_gfn == ~0ULL || vcpu_id >= 8)
		return -EINVAL;
	vi = f->vcpu_info_gpa[vcpu_id] ? f->vcpu_info_gpa[vcpu_id]
				       : shinfo + vcpu_id * 64;
	pend = fake_byte(f, shinfo + 2048 + port / 8);
	mask = fake_byte(f, shinfo + (lm ? 2560 : 2176) + port / 8);
	word = port / (lm ? 64 : 32);
	sel = fake_byte(f, vi + (lm ? 8 : 4) + word / 8);
	upcall = fake_byte(f, vi);
	if (!pend || !mask || !sel || !upcall)
		return -EFAULT;
	if (*pend & (1u << (port % 8)))
		return 0;
	*pend |= 1u << (port % 8);
	if (*mask & (1u << (port % 8)))
		return 0;
	/* Xen's (and KVM's) rule: an upcall only when the word's bit is new. */
	if (*sel & (1u << (word % 8)))
		return 0;
	*sel |= 1u << (word % 8);
	*upcall = 1;
	return 0;
}

/* Like the module and KVM: one entry per send port, no silent replace. */
static int fb_bind_port(struct vm *vm, uint32_t port,
			const struct evtchn_send_target *to)
{
	struct fake_vm *f = fake_of(vm);
	struct fake_call *c = record(vm, FAKE_BIND_PORT, port, to->vcpu_id,
				     (uint64_t)(int64_t)to->eventfd);

	if (c)
		c->d = to->port;
	if (port >= 4096)
		return -EINVAL;
	if (f->sends[port].bound)
		return -EEXIST;
	f->sends[port] = (struct fake_send){ .bound = true, .to = *to };
	return 0;
}

static int fb_unbind_port(struct vm *vm, uint32_t port)
{
	struct fake_vm *f = fake_of(vm);

	record(vm, FAKE_UNBIND_PORT, port, 0, 0);
	if (port >= 4096 || !f->sends[port].bound) {
		f->bad_unbinds++;
		return -ENOENT;
	}
	f->sends[port].bound = false;
	return 0;
}

static int fb_set_timer_port(struct vcpu *vcpu, uint32_t port)
{
	record(vcpu->vm, FAKE_SET_TIMER_PORT, vcpu->index, port, 0);
	return 0;
}

static int fb_set_callback_vector(struct vm *vm, uint8_t vector)
{
	record(vm, FAKE_SET_CALLBACK_VECTOR, vector, 0, 0);
	return 0;
}

static const struct backend_ops fake_backend_ops = {
	.set_callback_vector = fb_set_callback_vector,
	.name = "fake",
	.set_long_mode = fb_set_long_mode,
	.set_shared_info = fb_set_shared_info,
	.set_vcpu_info = fb_set_vcpu_info,
	.set_upcall_vector = fb_set_upcall_vector,
	.set_runstate_area = fb_set_runstate_area,
	.deliver_port = fb_deliver_port,
	.bind_port = fb_bind_port,
	.unbind_port = fb_unbind_port,
	.set_timer_port = fb_set_timer_port,
};

static int fake_translate(struct vcpu *vcpu, uint64_t gva, uint64_t *gpa)
{
	struct fake_vm *f = fake_of(vcpu->vm);

	if (f->bad_gva && (gva & ~0xfffULL) == f->bad_gva)
		return -EFAULT;
	*gpa = gva;
	return 0;
}

struct fake_vm *fake_vm_new(unsigned int nr_vcpus, uint64_t ram_size)
{
	struct fake_vm *f = calloc(1, sizeof(*f));
	unsigned int i;

	if (!f || nr_vcpus > 8)
		abort();
	f->ram = aligned_alloc(4096, ram_size);
	if (!f->ram)
		abort();
	memset(f->ram, 0, ram_size);
	f->ram_size = ram_size;
	f->longmode = true;
	f->next_alloc = 0x100000;	/* low pages are the tests' to place */
	f->vm.kvm_fd = f->vm.vm_fd = -1;
	f->vm.mem[0] = (struct mem_region){ .gpa = 0, .size = ram_size,
					    .hva = f->ram, .slot = 0,
					    .ram = true };
	f->vm.nr_mem = 1;
	f->vm.ram_size = ram_size;
	pthread_mutex_init(&f->vm.lock, NULL);
	f->backend.ops = &fake_backend_ops;
	f->backend.priv = f;
	f->vm.backend = &f->backend;
	f->vm.nr_vcpus = nr_vcpus;
	for (i = 0; i < nr_vcpus; i++) {
		f->vcpus[i].vm = &f->vm;
		f->vcpus[i].index = i;
		f->vcpus[i].fd = -1;
		/* vm.c's vm_request_stop() kicks vCPUs through run. */
		f->vcpus[i].run = calloc(1, sizeof(struct kvm_run));
		if (!f->vcpus[i].run)
			abort();
		f->vm.vcpus[i] = &f->vcpus[i];
	}
	if (xen_init(&f->vm, 4, 17))
		abort();
	f->vm.xen->translate = fake_translate;
	return f;
}

void fake_vm_free(struct fake_vm *f)
{
	unsigned int i;

	xen_destroy(&f->vm);
	for (i = 0; i < f->vm.nr_vcpus; i++)
		free(f->vcpus[i].run);
	pthread_mutex_destroy(&f->vm.lock);
	free(f->ram);
	free(f);
}

int64_t fake_hcall(struct fake_vm *f, unsigned int vcpu, uint64_t nr,
		   uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct xen_hcall hc = {
		.nr = nr, .args = { a0, a1, a2 }, .longmode = f->longmode,
		.cpl = 0,
	};

	return xen_hypercall(&f->vcpus[vcpu], &hc);
}

uint64_t fake_alloc(struct fake_vm *f, uint64_t size, uint64_t align)
{
	uint64_t gpa = (f->next_alloc + align - 1) & ~(align - 1);

	if (gpa + size > f->ram_size)
		abort();
	f->next_alloc = gpa + size;
	memset(f->ram + gpa, 0, size);
	return gpa;
}

void *fake_ptr(struct fake_vm *f, uint64_t gpa)
{
	return f->ram + gpa;
}

unsigned int fake_count(struct fake_vm *f, enum fake_op op)
{
	unsigned int i, n = 0;

	for (i = 0; i < f->nr_calls; i++)
		n += f->calls[i].op == op;
	return n;
}

const struct fake_call *fake_last(struct fake_vm *f, enum fake_op op)
{
	unsigned int i;

	for (i = f->nr_calls; i-- > 0;)
		if (f->calls[i].op == op)
			return &f->calls[i];
	return NULL;
}

void fake_clear_calls(struct fake_vm *f)
{
	f->nr_calls = 0;
}

uint64_t fake_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int64_t fake_op(struct fake_vm *f, unsigned int vcpu, uint64_t nr,
		uint64_t cmd, void *buf, size_t size)
{
	uint64_t gpa = fake_alloc(f, size ? size : 1, 8);
	int64_t r;

	if (size)
		memcpy(f->ram + gpa, buf, size);
	r = fake_hcall(f, vcpu, nr, cmd, gpa, 0);
	if (size)
		memcpy(buf, f->ram + gpa, size);
	return r;
}

int64_t fake_vcpu_op(struct fake_vm *f, unsigned int vcpu, uint64_t cmd,
		     uint32_t target, void *buf, size_t size)
{
	uint64_t gpa = fake_alloc(f, size ? size : 1, 8);
	int64_t r;

	if (size)
		memcpy(f->ram + gpa, buf, size);
	r = fake_hcall(f, vcpu, 24 /* __HYPERVISOR_vcpu_op */, cmd, target, gpa);
	if (size)
		memcpy(buf, f->ram + gpa, size);
	return r;
}

int64_t fake_map_shared_info(struct fake_vm *f, uint64_t gfn)
{
	struct xen_add_to_physmap a = {
		.domid = DOMID_SELF, .space = XENMAPSPACE_shared_info,
		.idx = 0, .gpfn = gfn,
	};
	struct {
		uint16_t domid, size;
		uint32_t space, idx, gpfn;
	} c = { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0, (uint32_t)gfn };

	if (f->longmode)
		return fake_op(f, 0, __HYPERVISOR_memory_op,
			       XENMEM_add_to_physmap, &a, sizeof(a));
	return fake_op(f, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, &c,
		       sizeof(c));
}

bool fake_test_bit(struct fake_vm *f, uint64_t gpa, unsigned int bit)
{
	return f->ram[gpa + bit / 8] & (1u << (bit % 8));
}

void fake_set_bit(struct fake_vm *f, uint64_t gpa, unsigned int bit)
{
	f->ram[gpa + bit / 8] |= 1u << (bit % 8);
}
