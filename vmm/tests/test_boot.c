// SPDX-License-Identifier: GPL-2.0
/*
 * The boot-time view of the machine: bzImage checks, the e820 map, the
 * command line, the ACPI tables (SMP via the MADT, S5, reset), CPUID and
 * the hypercall page.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/bootparam.h>
#include <linux/kvm.h>
#include <xen/arch-x86/cpuid.h>

#include "backend.h"
#include "config.h"
#include "ktap.h"
#include "machine.h"
#include "vm.h"

#define FAKE_RAM (2ULL << 20)	/* enough for everything below 1M */

struct fake {
	struct vm vm;
	struct vm_config cfg;
	struct backend backend;
};

static struct fake *fake_new(unsigned int nr_vcpus, uint64_t ram_size)
{
	struct fake *f = calloc(1, sizeof(*f));

	config_set_defaults(&f->cfg);
	f->vm.cfg = &f->cfg;
	f->vm.nr_vcpus = nr_vcpus;
	f->vm.ram_size = ram_size;
	f->vm.low_ram_end = ram_size < LAYOUT_PCI_HOLE ? ram_size : LAYOUT_PCI_HOLE;
	f->vm.high_ram_size = ram_size - f->vm.low_ram_end;
	f->vm.mem[0] = (struct mem_region){ .gpa = 0, .size = FAKE_RAM,
					    .hva = calloc(1, FAKE_RAM), .ram = true };
	f->vm.nr_mem = 1;
	f->backend.ops = &backend_kvm_ops;
	f->vm.backend = &f->backend;
	pthread_mutex_init(&f->vm.lock, NULL);
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->vm.mem[0].hva);
	free(f->vm.cpuid);
	free(f);
}

/* ---- bzImage ---------------------------------------------------------- */

static uint8_t *synthetic_bzimage(size_t size)
{
	uint8_t *img = calloc(1, size);
	struct boot_params *bp = (struct boot_params *)img;

	bp->hdr.setup_sects = 4;
	bp->hdr.boot_flag = 0xaa55;
	memcpy(img + 0x202, "HdrS", 4);
	bp->hdr.version = 0x020f;
	bp->hdr.loadflags = LOADED_HIGH;
	bp->hdr.xloadflags = XLF_KERNEL_64;
	bp->hdr.init_size = 0x2000000;
	bp->hdr.initrd_addr_max = 0x7fffffff;
	bp->hdr.cmdline_size = 2047;
	bp->hdr.relocatable_kernel = 1;
	return img;
}

static void test_bzimage_checks(struct ktap *t)
{
	size_t size = 64 * 1024;
	uint8_t *img = synthetic_bzimage(size);
	struct boot_params *bp = (struct boot_params *)img;
	struct bzimage_info info;
	char err[160];

	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == 0);
	KTAP_EXPECT(t, info.setup_size == 5 * 512);
	KTAP_EXPECT(t, info.kernel_size == size - 5 * 512);
	KTAP_EXPECT(t, info.init_size == 0x2000000 && info.cmdline_size == 2047);
	KTAP_EXPECT(t, info.relocatable && info.can_64bit_entry);

	KTAP_EXPECT(t, bzimage_parse(img, 512, &info, err, sizeof(err)) == -1);
	bp->hdr.setup_sects = 200;		/* past the end of the file */
	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "past the end"));
	bp->hdr.setup_sects = 0;		/* means 4 */
	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == 0 &&
		       info.setup_size == 5 * 512);
	bp->hdr.xloadflags = 0;
	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "64-bit"));
	bp->hdr.xloadflags = XLF_KERNEL_64;
	bp->hdr.version = 0x0209;
	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "too old"));
	bp->hdr.version = 0x020f;
	memcpy(img + 0x202, "HdrX", 4);
	KTAP_EXPECT(t, bzimage_parse(img, size, &info, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "not a Linux bzImage"));
	free(img);
	ktap_case_end(t, "bzImage header checks");
}

/* Debian's kernels, when the tree has them unpacked (make deps). */
static void test_real_bzimage(struct ktap *t)
{
	glob_t g;
	unsigned int checked = 0;

	if (glob("../.cache/kernel/*/boot/vmlinuz-*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			FILE *f = fopen(g.gl_pathv[i], "rb");
			static uint8_t buf[64 << 20];
			size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
			struct bzimage_info info;
			char err[160];

			if (f)
				fclose(f);
			KTAP_EXPECT(t, n > 0 && bzimage_parse(buf, n, &info, err, sizeof(err)) == 0);
			KTAP_EXPECT(t, info.relocatable && info.version >= 0x020f);
			KTAP_EXPECT(t, info.init_size > info.kernel_size);
			checked++;
		}
		globfree(&g);
	}
	printf("# %u Debian kernels checked\n", checked);
	t->number++;
	printf("%s %d Debian's bzImages are accepted%s\n", t->case_failed ? "not ok" : "ok",
	       t->number, checked ? "" : " # SKIP none unpacked");
	t->failed += t->case_failed;
	t->case_failed = 0;
}

/* ---- e820 and the command line ---------------------------------------- */

static bool e820_sane(const struct vm_e820_entry *e, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		if (e[i].addr < e[i - 1].addr + e[i - 1].size)
			return false;
	return true;
}

static uint64_t e820_ram(const struct vm_e820_entry *e, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		if (e[i].type == 1)
			sum += e[i].size;
	return sum;
}

static void test_e820(struct ktap *t)
{
	struct fake *f = fake_new(1, 512ULL << 20);
	struct vm_e820_entry e[VM_MAX_E820];
	unsigned int n = build_e820(&f->vm, e, VM_MAX_E820);

	KTAP_EXPECT(t, n == 4 && e820_sane(e, n));
	KTAP_EXPECT(t, e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == 1);
	KTAP_EXPECT(t, e[1].addr == 0x9fc00 && e[1].type == 2);
	KTAP_EXPECT(t, e[2].addr == 0x100000 && e[2].addr + e[2].size == 512ULL << 20);
	KTAP_EXPECT(t, e[3].addr == 0xfc000000 && e[3].addr + e[3].size == 1ULL << 32 &&
		       e[3].type == 2);
	/* The EBDA/BIOS area is not RAM; everything else is. */
	KTAP_EXPECT(t, e820_ram(e, n) == (512ULL << 20) - (0x100000 - 0x9fc00));
	fake_free(f);

	f = fake_new(1, 6ULL << 30);
	n = build_e820(&f->vm, e, VM_MAX_E820);
	KTAP_EXPECT(t, n == 5 && e820_sane(e, n));
	KTAP_EXPECT(t, e[2].addr + e[2].size == 0xe0000000);	/* up to the PCI hole */
	KTAP_EXPECT(t, e[4].addr == 1ULL << 32 && e[4].type == 1);
	KTAP_EXPECT(t, e[4].size == (6ULL << 30) - 0xe0000000);
	KTAP_EXPECT(t, e820_ram(e, n) == (6ULL << 30) - (0x100000 - 0x9fc00));
	/* The APICs, the VMX pages and the platform BAR are never RAM. */
	for (unsigned int i = 0; i < n; i++) {
		if (e[i].type != 1)
			continue;
		KTAP_EXPECT(t, !(e[i].addr <= LAYOUT_LAPIC && LAYOUT_LAPIC < e[i].addr + e[i].size));
		KTAP_EXPECT(t, !(e[i].addr <= LAYOUT_TSS && LAYOUT_TSS < e[i].addr + e[i].size));
		KTAP_EXPECT(t, !(e[i].addr <= PLATFORM_MMIO_BAR &&
				 PLATFORM_MMIO_BAR < e[i].addr + e[i].size));
	}
	fake_free(f);
	ktap_case_end(t, "e820: RAM below the PCI hole and above 4G, the top reserved");
}

static void test_cmdline(struct ktap *t)
{
	struct fake *f = fake_new(1, 512ULL << 20);
	char buf[80];

	KTAP_EXPECT(t, boot_cmdline(&f->vm, buf, sizeof(buf)) > 0);
	KTAP_EXPECT(t, !strcmp(buf, "console=ttyS0 no_timer_check xen_legacy_crash"));
	f->cfg.console = CONSOLE_HVC;
	strcpy(f->cfg.cmdline, "quiet");
	KTAP_EXPECT(t, boot_cmdline(&f->vm, buf, sizeof(buf)) > 0);
	KTAP_EXPECT(t, !strcmp(buf, "console=hvc0 no_timer_check xen_legacy_crash quiet"));
	memset(f->cfg.cmdline, 'x', 100);
	f->cfg.cmdline[100] = '\0';
	KTAP_EXPECT(t, boot_cmdline(&f->vm, buf, sizeof(buf)) == -1);	/* does not fit */
	fake_free(f);
	ktap_case_end(t, "the command line: console= and the defaults first, then the user's");
}

/* ---- ACPI ---------------------------------------------------------------- */

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static const uint8_t *table_at(struct fake *f, uint64_t gpa, const char *sig)
{
	const uint8_t *t = gpa_to_hva(&f->vm, gpa, 36);
	uint32_t len;

	if (!t || memcmp(t, sig, 4))
		return NULL;
	memcpy(&len, t + 4, 4);
	if (len < 36 || !gpa_to_hva(&f->vm, gpa, len) || sum(t, len) != 0)
		return NULL;
	return t;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void test_acpi(struct ktap *t)
{
	struct fake *f = fake_new(8, 512ULL << 20);
	const uint8_t *rsdp, *xsdt, *fadt = NULL, *madt = NULL, *dsdt;
	uint64_t rsdp_gpa = 0;
	unsigned int lapics = 0, ioapics = 0;

	KTAP_EXPECT(t, acpi_build(&f->vm, &rsdp_gpa) == 0);
	/* Linux's legacy scan looks at 16-byte boundaries in 0xe0000-0xfffff. */
	KTAP_EXPECT(t, rsdp_gpa >= 0xe0000 && rsdp_gpa < 0x100000 && !(rsdp_gpa & 15));
	rsdp = gpa_to_hva(&f->vm, rsdp_gpa, 36);
	KTAP_EXPECT(t, !memcmp(rsdp, "RSD PTR ", 8) && rsdp[15] == 2);
	KTAP_EXPECT(t, sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0);
	xsdt = table_at(f, rd64(rsdp + 24), "XSDT");
	KTAP_EXPECT(t, xsdt != NULL);
	for (uint32_t off = 36; xsdt && off < rd32(xsdt + 4); off += 8) {
		uint64_t gpa = rd64(xsdt + off);

		if (table_at(f, gpa, "FACP"))
			fadt = table_at(f, gpa, "FACP");
		if (table_at(f, gpa, "APIC"))
			madt = table_at(f, gpa, "APIC");
	}
	KTAP_EXPECT(t, fadt && madt);
	if (!fadt || !madt) {
		fake_free(f);
		ktap_case_end(t, "ACPI tables");
		return;
	}
	/* FADT: PM1a control for S5, the reset register, the DSDT. */
	KTAP_EXPECT(t, rd32(fadt + 64) == PM1A_CNT_PORT && fadt[89] == 2);
	KTAP_EXPECT(t, rd32(fadt + 112) & (1 << 10));			/* RESET_REG_SUP */
	KTAP_EXPECT(t, fadt[116] == 1 && rd64(fadt + 120) == RESET_PORT && fadt[128] == 6);
	KTAP_EXPECT(t, (fadt[109] & 2) == 0);	/* no 8042 */
	dsdt = table_at(f, rd64(fadt + 140), "DSDT");
	KTAP_EXPECT(t, dsdt && rd32(fadt + 40) == rd64(fadt + 140));
	KTAP_EXPECT(t, dsdt && memmem(dsdt, rd32(dsdt + 4), "_S5_", 4));
	KTAP_EXPECT(t, dsdt && memmem(dsdt, rd32(dsdt + 4), "\x0c\x41\xd0\x0a\x03", 5));
	KTAP_EXPECT(t, table_at(f, rd64(fadt + 132), "FACS") == NULL);	/* no checksum */
	KTAP_EXPECT(t, !memcmp(gpa_to_hva(&f->vm, rd64(fadt + 132), 4), "FACS", 4));
	/* MADT: one enabled LAPIC per vCPU, APIC id == index, one IOAPIC. */
	KTAP_EXPECT(t, rd32(madt + 36) == LAYOUT_LAPIC);
	for (uint32_t off = 44; off + 2 <= rd32(madt + 4); off += madt[off + 1]) {
		if (madt[off + 1] < 2)
			break;
		if (madt[off] == 0) {
			KTAP_EXPECT(t, madt[off + 3] == lapics && (rd32(madt + off + 4) & 1));
			lapics++;
		} else if (madt[off] == 1) {
			KTAP_EXPECT(t, rd32(madt + off + 4) == LAYOUT_IOAPIC);
			ioapics++;
		}
	}
	KTAP_EXPECT(t, lapics == 8 && ioapics == 1);
	fake_free(f);
	ktap_case_end(t, "ACPI: RSDP/XSDT/FADT/DSDT/MADT valid, 8 vCPUs enumerated");
}

/* ---- CPUID and the hypercall page ------------------------------------ */

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t eax, uint32_t ebx)
{
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = fn, .eax = eax, .ebx = ebx };
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void test_cpuid(struct ktap *t)
{
	struct fake *f = fake_new(4, 512ULL << 20);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(c->entries[0]));
	const struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *g;
	uint32_t sig[3];

	add(c, 0, 0xd, 0x68747541);			/* "Auth" */
	add(c, 1, 0x800f12, 0x00020800);
	add(c, 0x40000000, 0x40000001, 0x4b4d564b);	/* KVM's own signature */
	add(c, 0x40000001, 0xffffffff, 0);
	f->vm.cpuid = c;
	f->cfg.xen_major = 4;
	f->cfg.xen_minor = 19;
	g = cpuid_for_vcpu(&f->vm, 3);
	KTAP_EXPECT(t, g != NULL);
	e = find(g, 0x40000000, 0);
	KTAP_EXPECT(t, e && e->eax == 0x40000004);
	if (e) {
		sig[0] = e->ebx; sig[1] = e->ecx; sig[2] = e->edx;
		KTAP_EXPECT(t, !memcmp(sig, "XenVMMXenVMM", 12));
	}
	KTAP_EXPECT(t, (e = find(g, 0x40000001, 0)) && e->eax == (4u << 16 | 19));
	KTAP_EXPECT(t, (e = find(g, 0x40000002, 0)) && e->eax == 1 && e->ebx == 0x40000000);
	e = find(g, 0x40000004, 0);
	KTAP_EXPECT(t, e && (e->eax & XEN_HVM_CPUID_VCPU_ID_PRESENT) &&
		       (e->eax & XEN_HVM_CPUID_UPCALL_VECTOR) && e->ebx == 3);
	KTAP_EXPECT(t, (e = find(g, 1, 0)) && e->ebx >> 24 == 3);	/* APIC id */
	/* KVM's paravirt leaves are gone: exactly one 0x40000000. */
	unsigned int n = 0;
	for (uint32_t i = 0; i < g->nent; i++)
		n += g->entries[i].function == 0x40000000;
	KTAP_EXPECT(t, n == 1);
	KTAP_EXPECT(t, !(find(g, 0x40000001, 0)->eax == 0xffffffff));
	free(g);
	fake_free(f);
	ktap_case_end(t, "CPUID: Xen leaves replace KVM's, per-vCPU ids");
}

static void test_hypercall_page(struct ktap *t)
{
	static const uint8_t vmmcall[3] = { 0x0f, 0x01, 0xd9 };
	static const uint8_t out[2] = { 0xe7, XENKVM_HCALL_PORT };
	uint8_t page[4096];

	hcall_page_fill(page, vmmcall, 3);
	for (uint32_t nr = 0; nr < 128; nr++) {
		uint32_t imm;

		memcpy(&imm, page + nr * 32 + 1, 4);
		KTAP_EXPECT(t, page[nr * 32] == 0xb8 && imm == nr);
		KTAP_EXPECT(t, !memcmp(page + nr * 32 + 5, vmmcall, 3));
		KTAP_EXPECT(t, page[nr * 32 + 8] == 0xc3 && page[nr * 32 + 9] == 0xcc);
	}
	hcall_page_fill(page, out, 2);
	KTAP_EXPECT(t, page[37] == 0xe7 && page[38] == XENKVM_HCALL_PORT && page[39] == 0xc3);
	ktap_case_end(t, "hypercall page: mov $nr,%eax; trap; ret, 32 bytes apart");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 7);
	test_bzimage_checks(&t);
	test_real_bzimage(&t);
	test_e820(&t);
	test_cmdline(&t);
	test_acpi(&t);
	test_cpuid(&t);
	test_hypercall_page(&t);
	return ktap_finish(&t);
}
