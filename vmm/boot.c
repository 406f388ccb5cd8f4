// SPDX-License-Identifier: GPL-2.0
/*
 * Linux's x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit
 * entry: the protected-mode kernel is loaded at 1M and entered at
 * +0x200 in long mode, with identity page tables for 0-4G, a flat GDT
 * (__BOOT_CS 0x10, __BOOT_DS 0x18) and %rsi pointing at boot_params.
 * No firmware runs: the VMM writes boot_params, e820 and ACPI directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/bootparam.h>
#include <linux/kvm.h>

#include "config.h"
#include "machine.h"
#include "vm.h"

#define E820_RAM	1
#define E820_RESERVED	2

#define SETUP_HDR_OFF	0x1f1
#define BOOT_FLAG_OFF	0x1fe
#define HDRS_OFF	0x202
#define MAX_IMAGE_SIZE	(512ULL << 20)

#define BOOT_CS		0x10
#define BOOT_DS		0x18

int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info,
		  char *err, size_t errlen)
{
	struct boot_params bp;
	unsigned int setup_sects;

	if (size < 1024 || size > MAX_IMAGE_SIZE) {
		snprintf(err, errlen, "size %zu is not that of a bzImage", size);
		return -1;
	}
	memset(&bp, 0, sizeof(bp));
	memcpy(&bp, img, size < sizeof(bp) ? size : sizeof(bp));
	if (bp.hdr.boot_flag != 0xaa55 || memcmp(img + HDRS_OFF, "HdrS", 4)) {
		snprintf(err, errlen, "not a Linux bzImage (no boot sector signature or HdrS)");
		return -1;
	}
	if (bp.hdr.version < 0x020c) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old (need 2.12, 64-bit entry)",
			 bp.hdr.version >> 8, bp.hdr.version & 0xff);
		return -1;
	}
	if (!(bp.hdr.loadflags & LOADED_HIGH) || !(bp.hdr.xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "not a 64-bit bzImage (no LOADED_HIGH / XLF_KERNEL_64)");
		return -1;
	}
	setup_sects = bp.hdr.setup_sects ? bp.hdr.setup_sects : 4;
	info->setup_size = (setup_sects + 1) * 512;
	if (info->setup_size >= size) {
		snprintf(err, errlen, "setup_sects %u points past the end of the file", setup_sects);
		return -1;
	}
	info->version = bp.hdr.version;
	info->kernel_size = size - info->setup_size;
	info->init_size = bp.hdr.init_size;
	info->initrd_addr_max = bp.hdr.initrd_addr_max;
	info->cmdline_size = bp.hdr.cmdline_size;
	info->relocatable = bp.hdr.relocatable_kernel;
	info->can_64bit_entry = true;
	if (info->init_size < info->kernel_size)
		info->init_size = (uint32_t)info->kernel_size;
	return 0;
}

static void add_e820(struct vm_e820_entry *e, unsigned int *n, unsigned int max,
		     uint64_t start, uint64_t end, uint32_t type)
{
	if (*n < max && end > start)
		e[(*n)++] = (struct vm_e820_entry){ .addr = start, .size = end - start,
						    .type = type };
}

unsigned int build_e820(const struct vm *vm, struct vm_e820_entry *e, unsigned int max)
{
	unsigned int n = 0;

	add_e820(e, &n, max, 0, LAYOUT_EBDA, E820_RAM);
	/* EBDA, VGA hole, option ROMs and the ACPI tables at 0xe0000. */
	add_e820(e, &n, max, LAYOUT_EBDA, LAYOUT_KERNEL, E820_RESERVED);
	add_e820(e, &n, max, LAYOUT_KERNEL, vm->low_ram_end, E820_RAM);
	/*
	 * [low RAM end, 0xfc000000) stays out of the map: Linux takes the
	 * biggest gap below 4G as the PCI hole. The top 64M hold the APICs
	 * and the VMX TSS/identity page, which must never be RAM.
	 */
	add_e820(e, &n, max, LAYOUT_RESERVED, LAYOUT_4G, E820_RESERVED);
	if (vm->high_ram_size)
		add_e820(e, &n, max, LAYOUT_4G, LAYOUT_4G + vm->high_ram_size, E820_RAM);
	return n;
}

/*
 * Prepended to the user's command line, so that the user's own settings
 * come later and win:
 *
 * no_timer_check  Linux's boot-time test of the PIT through the IOAPIC
 *                 expects 4 ticks in 40 ms; on a nested or overcommitted
 *                 host they arrive late, Linux decides the timer is broken
 *                 and panics. A Xen guest runs on Xen's timer anyway.
 * xen_legacy_crash  an HVM Linux reports a panic as a plain reset (0xcf9);
 *                 with this it says SCHEDOP_shutdown(crash) first, so the
 *                 VMM can tell a crash (status 2) from a reboot (1).
 */
#define CMDLINE_DEFAULTS "no_timer_check xen_legacy_crash"

int boot_cmdline(const struct vm *vm, char *buf, size_t len)
{
	const char *console = vm->cfg->console == CONSOLE_HVC ? "hvc0" : "ttyS0";
	int n;

	n = snprintf(buf, len, "console=%s " CMDLINE_DEFAULTS "%s%s", console,
		     vm->cfg->cmdline[0] ? " " : "", vm->cfg->cmdline);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int read_file(const char *path, uint8_t **data, size_t *size, uint64_t max)
{
	struct stat st;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "xenkvm: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		fprintf(stderr, "xenkvm: %s: not a regular file of at most %llu MiB\n",
			path, (unsigned long long)(max >> 20));
		close(fd);
		return -1;
	}
	*size = (size_t)st.st_size;
	*data = malloc(*size ? *size : 1);
	if (!*data) {
		close(fd);
		return -1;
	}
	while (done < *size) {
		ssize_t r = read(fd, *data + done, *size - done);

		if (r <= 0) {
			fprintf(stderr, "xenkvm: %s: short read\n", path);
			free(*data);
			close(fd);
			return -1;
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

static int load_initrd(struct vm *vm, struct boot_params *bp, const struct bzimage_info *k)
{
	uint64_t top, addr, kernel_end = LAYOUT_KERNEL + k->init_size;
	uint8_t *data;
	size_t size;

	if (!vm->cfg->initrd[0])
		return 0;
	if (read_file(vm->cfg->initrd, &data, &size, vm->low_ram_end))
		return -1;
	top = vm->low_ram_end;
	if (k->initrd_addr_max && top > (uint64_t)k->initrd_addr_max + 1)
		top = (uint64_t)k->initrd_addr_max + 1;
	addr = (top - size) & ~0xfffULL;
	if (size >= top || addr < kernel_end) {
		fprintf(stderr, "xenkvm: initrd of %zu MiB does not fit below %llu MiB next to "
			"the kernel: give the guest more memory\n", size >> 20,
			(unsigned long long)(top >> 20));
		free(data);
		return -1;
	}
	guest_write(vm, addr, data, size);
	bp->hdr.ramdisk_image = (uint32_t)addr;
	bp->hdr.ramdisk_size = (uint32_t)size;
	free(data);
	return 0;
}

void boot_write_page_tables(struct vm *vm)
{
	uint64_t gdt[4] = {
		0, 0,
		0x00af9b000000ffffULL,	/* 0x10: 64-bit code, DPL 0 */
		0x00cf93000000ffffULL,	/* 0x18: flat data */
	};
	uint64_t *pml4 = gpa_to_hva(vm, LAYOUT_PML4, 6 * 4096);

	guest_write(vm, LAYOUT_GDT, gdt, sizeof(gdt));
	memset(pml4, 0, 6 * 4096);
	uint64_t *pdpt = pml4 + 512, *pd = pdpt + 512;

	pml4[0] = (LAYOUT_PML4 + 0x1000) | 3;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PML4 + 0x2000 + i * 0x1000) | 3;
	/* 2M pages, present + writable + PS: identity for 0-4G. */
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;
}

static int write_boot_params(struct vm *vm, const uint8_t *img, const struct bzimage_info *k)
{
	struct boot_params *bp = gpa_to_hva(vm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	size_t hdr_end = HDRS_OFF + img[0x201];	/* the header says how long it is */
	char cmdline[CONFIG_CMDLINE_MAX + 32];
	uint64_t rsdp;
	unsigned int n;
	int len;

	memset(bp, 0, sizeof(*bp));
	if (hdr_end > sizeof(*bp))
		hdr_end = sizeof(*bp);
	memcpy((uint8_t *)bp + SETUP_HDR_OFF, img + SETUP_HDR_OFF, hdr_end - SETUP_HDR_OFF);
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00 - 0x200;
	bp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;

	len = boot_cmdline(vm, cmdline, sizeof(cmdline));
	if (len < 0 || (k->cmdline_size && (uint32_t)len > k->cmdline_size)) {
		fprintf(stderr, "xenkvm: the kernel command line is longer than the %u bytes "
			"this kernel accepts\n", k->cmdline_size);
		return -1;
	}
	guest_write(vm, LAYOUT_CMDLINE, cmdline, (size_t)len + 1);

	/* Kept in the VM too: XENMEM_memory_map hands out the same map. */
	n = build_e820(vm, vm->e820, VM_MAX_E820);
	vm->nr_e820 = n;
	for (unsigned int i = 0; i < n; i++) {
		bp->e820_table[i].addr = vm->e820[i].addr;
		bp->e820_table[i].size = vm->e820[i].size;
		bp->e820_table[i].type = vm->e820[i].type;
	}
	bp->e820_entries = (uint8_t)n;

	if (acpi_build(vm, &rsdp))
		return -1;
	bp->acpi_rsdp_addr = rsdp;
	return load_initrd(vm, bp, k);
}

int boot_load(struct vm *vm)
{
	struct bzimage_info k;
	char err[160];
	uint8_t *img;
	size_t size;
	int ret = -1;

	if (read_file(vm->cfg->kernel, &img, &size, MAX_IMAGE_SIZE))
		return -1;
	if (bzimage_parse(img, size, &k, err, sizeof(err))) {
		fprintf(stderr, "xenkvm: %s: %s\n", vm->cfg->kernel, err);
		goto out;
	}
	if (LAYOUT_KERNEL + k.init_size + (4ULL << 20) > vm->low_ram_end) {
		fprintf(stderr, "xenkvm: %s needs %u MiB to decompress: give the guest more memory\n",
			vm->cfg->kernel, k.init_size >> 20);
		goto out;
	}
	guest_write(vm, LAYOUT_KERNEL, img + k.setup_size, k.kernel_size);
	boot_write_page_tables(vm);
	ret = write_boot_params(vm, img, &k);
out:
	free(img);
	return ret;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

int boot_setup_bsp(struct vcpu *vcpu)
{
	struct kvm_sregs s;
	struct kvm_regs r = {
		.rip = LAYOUT_KERNEL + 0x200,	/* startup_64 */
		.rsi = LAYOUT_ZERO_PAGE,
		.rflags = 0x2,
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return -errno;
	flat_segment(&s.cs, BOOT_CS, 0xb, true);
	flat_segment(&s.ds, BOOT_DS, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = 4 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr3 = LAYOUT_PML4;
	s.cr4 = 1 << 5;				/* PAE */
	s.cr0 = 0x80000000 | 0x20 | 0x10 | 0x1;	/* PG | NE | ET | PE */
	s.efer = (1 << 8) | (1 << 10);		/* LME | LMA */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) || ioctl(vcpu->fd, KVM_SET_REGS, &r))
		return -errno;
	return 0;
}
