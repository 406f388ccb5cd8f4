// SPDX-License-Identifier: GPL-2.0
/*
 * The VM: /dev/kvm, the VM fd, the in-kernel interrupt controllers and
 * guest RAM. RAM is one region below the PCI hole and, when it does not
 * fit there, a second one from 4G up: exactly what e820 tells the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "config.h"
#include "event_loop.h"
#include "machine.h"
#include "vm.h"

void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	for (unsigned int i = 0; i < vm->nr_mem; i++) {
		const struct mem_region *r = &vm->mem[i];

		if (!r->ram || gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return (uint8_t *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_read(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
	const void *src = gpa_to_hva(vm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(buf, src, len);
	return 0;
}

int guest_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	void *dst = gpa_to_hva(vm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, buf, len);
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_exit_reason why)
{
	int expected = 0;

	/* The first reason wins: a crash while powering off stays a poweroff. */
	if (!__atomic_compare_exchange_n(&vm->stopping, &expected, 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	vm->exit_reason = why;
	vcpus_kick_all(vm);
	if (vm->loop)
		event_loop_stop(vm->loop);
}

static int set_memslot(struct vm *vm, uint32_t slot, uint64_t gpa,
		       uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

static int add_ram(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct mem_region *r = &vm->mem[vm->nr_mem];
	void *hva;
	int ret;

	hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hva == MAP_FAILED) {
		fprintf(stderr, "xenkvm: cannot allocate %llu MiB of guest RAM: %s\n",
			(unsigned long long)(size >> 20), strerror(errno));
		return -ENOMEM;
	}
	/* Guest RAM in a core dump of the VMM is noise and a data leak. */
	madvise(hva, size, MADV_DONTDUMP);
	ret = set_memslot(vm, vm->nr_mem, gpa, size, hva);
	if (ret) {
		fprintf(stderr, "xenkvm: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(-ret));
		munmap(hva, size);
		return ret;
	}
	*r = (struct mem_region){ .gpa = gpa, .size = size, .hva = hva,
				  .slot = vm->nr_mem, .ram = true };
	__atomic_store_n(&vm->nr_mem, vm->nr_mem + 1, __ATOMIC_RELEASE);
	return 0;
}

static int setup_ram(struct vm *vm, uint64_t size)
{
	uint64_t low = size < LAYOUT_PCI_HOLE ? size : LAYOUT_PCI_HOLE;
	int ret;

	vm->ram_size = size;
	vm->low_ram_end = low;
	vm->high_ram_size = size - low;
	ret = add_ram(vm, 0, low);
	if (!ret && vm->high_ram_size)
		ret = add_ram(vm, LAYOUT_4G, vm->high_ram_size);
	return ret;
}

int vm_map_overlay(struct vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i;
	int ret;

	if (!size || (gpa | size) & 0xfff || gpa + size < gpa)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_mem; i++) {
		const struct mem_region *r = &vm->mem[i];

		if (r->size && gpa < r->gpa + r->size && r->gpa < gpa + size) {
			pthread_mutex_unlock(&vm->lock);
			return -EEXIST;
		}
	}
	/* Reuse a slot an earlier overlay gave back, else take a new one. */
	for (i = 0; i < vm->nr_mem && vm->mem[i].size; i++)
		;
	if (i == VM_MAX_MEMSLOTS) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOSPC;
	}
	ret = set_memslot(vm, i, gpa, size, hva);
	if (!ret) {
		vm->mem[i] = (struct mem_region){ .gpa = gpa, .size = size, .hva = hva,
						  .slot = i, .ram = false };
		if (i == vm->nr_mem)
			__atomic_store_n(&vm->nr_mem, i + 1, __ATOMIC_RELEASE);
		ret = (int)i;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int vm_unmap_overlay(struct vm *vm, uint64_t gpa)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_mem; i++) {
		struct mem_region *r = &vm->mem[i];

		if (r->ram || !r->size || r->gpa != gpa)
			continue;
		ret = set_memslot(vm, r->slot, r->gpa, 0, r->hva);
		if (!ret)
			r->size = 0;
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static int open_kvm(struct vm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		fprintf(stderr, "xenkvm: cannot open /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "xenkvm: /dev/kvm API version %d, need %d\n",
			version, KVM_API_VERSION);
		return -1;
	}
	return 0;
}

/*
 * GSI routing as on a PC with an IOAPIC: ISA IRQs to the PICs, every GSI
 * to its IOAPIC pin, except that the PIT's IRQ 0 is wired to pin 2 (the
 * MADT says so with an interrupt source override).
 */
static int setup_gsi_routing(struct vm *vm)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + 64 * sizeof(r->entries[0]));
	unsigned int n = 0;
	int ret;

	if (!r)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;	/* the cascade */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						      KVM_IRQCHIP_PIC_SLAVE, .pin = gsi % 8 },
		};
	}
	for (uint32_t gsi = 0; gsi < 24; gsi++) {
		if (gsi == 2)
			continue;
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi ? gsi : 2 },
		};
	}
	r->nr = n;
	ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) ? -errno : 0;
	free(r);
	if (ret)
		fprintf(stderr, "xenkvm: KVM_SET_GSI_ROUTING: %s\n", strerror(-ret));
	return ret;
}

/* The PC chipset KVM emulates in-kernel: PIC, IOAPIC, LAPICs and the PIT. */
static int create_chipset(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = LAYOUT_IDENTITY_MAP;

	/* Needed by VMX for real mode and unpaged guests; harmless on SVM. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity)) {
		fprintf(stderr, "xenkvm: KVM_SET_TSS_ADDR/IDENTITY_MAP_ADDR: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) {
		fprintf(stderr, "xenkvm: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) {
		fprintf(stderr, "xenkvm: KVM_CREATE_PIT2: %s\n", strerror(errno));
		return -1;
	}
	return setup_gsi_routing(vm);
}

struct vm *vm_create(const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->cfg = cfg;
	vm->nr_vcpus = cfg->nr_cpus;
	pthread_mutex_init(&vm->lock, NULL);
	if (open_kvm(vm))
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		fprintf(stderr, "xenkvm: KVM_CREATE_VM: %s\n", strerror(errno));
		goto fail;
	}
	if (create_chipset(vm) || setup_ram(vm, cfg->mem_size) || iobus_create(vm))
		goto fail;
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	iobus_destroy(vm);
	free(vm->cpuid);
	for (unsigned int i = 0; i < vm->nr_mem; i++)
		if (vm->mem[i].ram)
			munmap(vm->mem[i].hva, vm->mem[i].size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
