// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads: one per vCPU, each looping on KVM_RUN and handing exits to
 * the I/O bus, the MSR trap or the Xen hypercall code. A guest exit that
 * makes no sense stops the VM with a message; it never stops the host.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "backend.h"
#include "config.h"
#include "machine.h"
#include "vm.h"
#include "xen.h"

/* The kick signal only interrupts KVM_RUN; its handler has nothing to do. */
#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

static int install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static int setup_lapic_lint(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t lvt0 = 0x700;	/* LINT0: ExtINT, so the PIC reaches the BSP */
	uint32_t lvt1 = 0x400;	/* LINT1: NMI */

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic))
		return -errno;
	memcpy(&lapic.regs[0x350], &lvt0, 4);
	memcpy(&lapic.regs[0x360], &lvt1, 4);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) ? -errno : 0;
}

struct vcpu_work {
	int (*fn)(struct vcpu *, void *);
	void *arg;
	int result;
	bool done;
	struct vcpu_work *next;
};

/* Thread of the vCPU whose thread we are, if any. */
static struct vcpu *current_vcpu(struct vm *vm)
{
	pthread_t self = pthread_self();

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v && v->started && pthread_equal(v->thread, self))
			return v;
	}
	return NULL;
}

static void kick(struct vcpu *vcpu)
{
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->started && !pthread_equal(vcpu->thread, pthread_self()))
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

/* Run what other threads queued for @vcpu; on its own thread only. */
static void drain_work(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->work_lock);
	while (vcpu->work) {
		struct vcpu_work *w = vcpu->work;

		vcpu->work = w->next;
		pthread_mutex_unlock(&vcpu->work_lock);
		w->result = w->fn(vcpu, w->arg);
		pthread_mutex_lock(&vcpu->work_lock);
		w->done = true;
		pthread_cond_broadcast(&vcpu->work_done);
	}
	pthread_mutex_unlock(&vcpu->work_lock);
}

/* Take @w off @vcpu's queue if no one has taken it yet; under work_lock. */
static bool unlink_work(struct vcpu *vcpu, struct vcpu_work *w)
{
	for (struct vcpu_work **pp = &vcpu->work; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return true;
		}
	}
	return false;
}

int vcpu_run_on(struct vcpu *target, int (*fn)(struct vcpu *, void *), void *arg)
{
	struct vcpu *self = current_vcpu(target->vm);
	struct vcpu_work w = { .fn = fn, .arg = arg };

	if (self == target || !target->started)
		return fn(target, arg);
	pthread_mutex_lock(&target->work_lock);
	w.next = target->work;
	target->work = &w;
	pthread_mutex_unlock(&target->work_lock);
	kick(target);
	pthread_mutex_lock(&target->work_lock);
	while (!w.done) {
		struct timespec ts;

		/* Wake up now and then to serve our own queue meanwhile. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&target->work_done, &target->work_lock, &ts);
		if (!w.done && self) {
			pthread_mutex_unlock(&target->work_lock);
			drain_work(self);
			pthread_mutex_lock(&target->work_lock);
		}
		if (!w.done && __atomic_load_n(&target->exited, __ATOMIC_ACQUIRE) &&
		    unlink_work(target, &w)) {
			/* The target's thread is gone (VM stopping): run it here. */
			pthread_mutex_unlock(&target->work_lock);
			return fn(target, arg);
		}
	}
	pthread_mutex_unlock(&target->work_lock);
	return w.result;
}

static struct vcpu *vcpu_create(struct vm *vm, unsigned int index, size_t run_size)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->index = index;
	pthread_mutex_init(&vcpu->work_lock, NULL);
	pthread_cond_init(&vcpu->work_done, NULL);
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		fprintf(stderr, "xenkvm: KVM_CREATE_VCPU %u: %s\n", index, strerror(errno));
		free(vcpu);
		return NULL;
	}
	vcpu->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		fprintf(stderr, "xenkvm: mmap of kvm_run: %s\n", strerror(errno));
		close(vcpu->fd);
		free(vcpu);
		return NULL;
	}
	return vcpu;
}

int vcpus_create(struct vm *vm)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (run_size < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "xenkvm: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return -1;
	}
	if (install_kick_handler())
		return -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vcpu_create(vm, i, (size_t)run_size);
		int ret;

		if (!vcpu)
			return -1;
		vm->vcpus[i] = vcpu;
		ret = cpuid_setup_vcpu(vcpu);
		if (!ret && i == 0)
			ret = setup_lapic_lint(vcpu);
		if (ret) {
			fprintf(stderr, "xenkvm: vCPU %u setup: %s\n", i, strerror(-ret));
			return -1;
		}
		if (vm->backend->ops->init_vcpu && vm->backend->ops->init_vcpu(vcpu))
			return -1;
	}
	return 0;
}

/* The vectors set in one of the LAPIC's 256-bit registers (ISR, IRR). */
static void print_vectors(const struct kvm_lapic_state *l, unsigned int base)
{
	for (unsigned int v = 0; v < 256; v++) {
		uint32_t word;

		memcpy(&word, l->regs + base + (v / 32) * 16, sizeof(word));
		if (word & (1u << (v % 32)))
			fprintf(stderr, " %02x", v);
	}
}

/*
 * A guest that stopped taking interrupts often shows why here: a vector
 * stuck in service (no EOI) blocks every lower one; one pending in the
 * IRR with IF clear is waiting for the guest.
 */
static void vcpu_dump_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &l))
		return;
	fprintf(stderr, "xenkvm:   lapic in service:");
	print_vectors(&l, 0x100);
	fprintf(stderr, "; requested:");
	print_vectors(&l, 0x200);
	fprintf(stderr, "\n");
}

void vcpu_dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) || ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return;
	fprintf(stderr,
		"xenkvm: vCPU %u: rip %016llx rsp %016llx rflags %08llx\n"
		"xenkvm:   rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"xenkvm:   rsi %016llx rdi %016llx cr0 %llx cr3 %llx cr4 %llx efer %llx cs %04x\n",
		vcpu->index, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		r.rsi, r.rdi, s.cr0, s.cr3, s.cr4, s.efer, s.cs.selector);
	vcpu_dump_lapic(vcpu);
}

static void handle_pio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++)
		iobus_access(vcpu->vm, IO_PIO, run->io.port, out,
			     data + i * run->io.size, run->io.size);
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len <= 8 ? run->mmio.len : 8;

	iobus_access(vcpu->vm, IO_MMIO, run->mmio.phys_addr, run->mmio.is_write,
		     run->mmio.data, len);
}

static bool handle_hcall(struct vcpu *vcpu)
{
	const struct backend_ops *ops = vcpu->vm->backend->ops;
	struct xen_hcall hc;
	int64_t ret;

	if (!ops->decode_hcall(vcpu, &hc))
		return false;
	ret = xen_hypercall(vcpu, &hc);
	if (vcpu->vm->cfg->trace_hcalls)
		fprintf(stderr, "xenkvm: vCPU %u: hypercall %llu (%#llx, %#llx, %#llx) = %lld\n",
			vcpu->index, (unsigned long long)hc.nr, (unsigned long long)hc.args[0],
			(unsigned long long)hc.args[1], (unsigned long long)hc.args[2],
			(long long)ret);
	ops->complete_hcall(vcpu, &hc, ret);
	return true;
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, VM_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, VM_EXIT_REBOOT);
		break;
	default:
		vm_request_stop(vcpu->vm, VM_EXIT_CRASH);
		break;
	}
}

/* Returns false when this vCPU must stop running. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (handle_hcall(vcpu))
		return true;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_pio(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (hcall_msr_exit(vcpu)) {
			vm_request_stop(vcpu->vm, VM_EXIT_ERROR);
			return false;
		}
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: Linux's last-resort reboot method. */
		fprintf(stderr, "xenkvm: vCPU %u: triple fault, treating as reboot\n", vcpu->index);
		vcpu_dump_regs(vcpu);
		vm_request_stop(vcpu->vm, VM_EXIT_REBOOT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "xenkvm: vCPU %u: KVM internal error, suberror %u\n",
			vcpu->index, run->internal.suberror);
		vcpu_dump_regs(vcpu);
		vm_request_stop(vcpu->vm, VM_EXIT_CRASH);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "xenkvm: vCPU %u: VM entry failed, reason 0x%llx\n", vcpu->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump_regs(vcpu);
		vm_request_stop(vcpu->vm, VM_EXIT_ERROR);
		return false;
	default:
		fprintf(stderr, "xenkvm: vCPU %u: unexpected exit reason %u\n",
			vcpu->index, run->exit_reason);
		vcpu_dump_regs(vcpu);
		vm_request_stop(vcpu->vm, VM_EXIT_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	/* pthread_create may not have stored it yet; current_vcpu() needs it. */
	vcpu->thread = pthread_self();
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE)) {
		/* Clear the kick before looking at the work a kick announces. */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		drain_work(vcpu);
		if (__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "xenkvm: vCPU %u: KVM_RUN: %s\n", vcpu->index, strerror(errno));
			vcpu_dump_regs(vcpu);
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		}
		if (!handle_exit(vcpu))
			break;
	}
	__atomic_store_n(&vcpu->exited, true, __ATOMIC_RELEASE);
	drain_work(vcpu);
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	sigset_t set, old;
	int ret = 0;

	/* Only vCPU threads take the kick signal; they unblock it themselves. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		/* Before the thread runs: it must recognise itself at once. */
		vcpu->started = true;
		ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
		if (ret) {
			vcpu->started = false;
			fprintf(stderr, "xenkvm: cannot start vCPU thread: %s\n", strerror(ret));
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		}
	}
	return ret ? -1 : 0;
}

void vcpus_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu || !vcpu->run)
			continue;
		kick(vcpu);
	}
}

void vcpus_join(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vcpu && vcpu->started) {
			pthread_join(vcpu->thread, NULL);
			vcpu->started = false;
		}
	}
}

void vcpus_destroy(struct vm *vm)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		if (run_size > 0)
			munmap(vcpu->run, (size_t)run_size);
		pthread_mutex_destroy(&vcpu->work_lock);
		pthread_cond_destroy(&vcpu->work_done);
		close(vcpu->fd);
		free(vcpu);
		vm->vcpus[i] = NULL;
	}
}
