// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables, written straight into guest memory at 0xe0000 (the RSDP
 * is also found there by Linux's legacy scan). Just enough for Linux:
 *
 *   RSDP -> XSDT -> FADT -> FACS, DSDT
 *                -> MADT   one LAPIC per vCPU, the IOAPIC, IRQ overrides
 *
 * The MADT is how the guest finds its vCPUs (SMP). The FADT's PM1a
 * control block and the DSDT's \_S5 are how it powers off; the FADT reset
 * register (0xcf9) is how it reboots. The DSDT also declares the PCI root
 * bridge, since with ACPI Linux only scans buses ACPI tells it about.
 * Fixed hardware lives in devices/pm.c and devices/pci.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vm.h"

#define ACPI_HDR_LEN	36
#define ACPI_BUF_LEN	(LAYOUT_ACPI_END - LAYOUT_ACPI)

struct acpi_buf {
	uint8_t b[ACPI_BUF_LEN];
	size_t used;
};

static void put8(uint8_t *p, uint8_t v) { p[0] = v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Reserve @len bytes aligned to @align; returns the offset in the buffer. */
static size_t alloc_table(struct acpi_buf *a, size_t len, size_t align)
{
	size_t off = (a->used + align - 1) & ~(align - 1);

	if (off + len > sizeof(a->b))
		return (size_t)-1;
	a->used = off + len;
	return off;
}

static void table_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	put8(t + 8, rev);
	memcpy(t + 10, "XENKVM", 6);
	memcpy(t + 16, "XENKVM  ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "XKVM", 4);
	put32(t + 32, 1);
}

static void table_finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* A Generic Address Structure for an I/O port. */
static void put_gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
	p[0] = 1;		/* SystemIO */
	p[1] = bits;
	p[2] = 0;
	p[3] = access;		/* 1 byte, 2 word, 3 dword */
	put64(p + 4, port);
}

/* ---- AML for the DSDT ---------------------------------------------- */

struct aml {
	uint8_t b[512];
	size_t n;
};

static void aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (a->n + len <= sizeof(a->b)) {
		memcpy(a->b + a->n, p, len);
		a->n += len;
	}
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* PkgLength counts itself: 1 byte up to 63, else 2 bytes (up to 4095). */
static void aml_pkg(struct aml *out, const uint8_t *op, size_t oplen, const struct aml *body)
{
	size_t len = body->n + 1;

	aml_bytes(out, op, oplen);
	if (len <= 63) {
		aml_byte(out, (uint8_t)len);
	} else {
		len++;
		aml_byte(out, (uint8_t)(0x40 | (len & 0xf)));
		aml_byte(out, (uint8_t)(len >> 4));
	}
	aml_bytes(out, body->b, body->n);
}

static void aml_name_dword(struct aml *a, const char name[4], uint32_t v)
{
	aml_byte(a, 0x08);		/* NameOp */
	aml_bytes(a, name, 4);
	aml_byte(a, 0x0c);		/* DWordPrefix */
	aml_bytes(a, &v, 4);
}

static void aml_name_zero(struct aml *a, const char name[4])
{
	aml_byte(a, 0x08);
	aml_bytes(a, name, 4);
	aml_byte(a, 0x00);		/* ZeroOp */
}

static void res_word(struct aml *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, type, 0x0c, tflags };

	put16(d + 6, 0);			/* granularity */
	put16(d + 8, min);
	put16(d + 10, max);
	put16(d + 12, 0);			/* translation */
	put16(d + 14, (uint16_t)(max - min + 1));
	aml_bytes(r, d, sizeof(d));
}

static void res_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
	uint8_t d[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 /* read-write */ };

	put32(d + 6, 0);
	put32(d + 10, min);
	put32(d + 14, max);
	put32(d + 18, 0);
	put32(d + 22, max - min + 1);
	aml_bytes(r, d, sizeof(d));
}

/* The root bridge's windows: all buses, I/O but 0xcf8, the PCI hole. */
static void aml_pci_crs(struct aml *dev, const struct vm *vm)
{
	struct aml res = { .n = 0 }, buf = { .n = 0 };
	uint32_t hole = vm->low_ram_end > LAYOUT_PCI_HOLE ? (uint32_t)vm->low_ram_end :
			(uint32_t)LAYOUT_PCI_HOLE;
	static const uint8_t end_tag[2] = { 0x79, 0 };
	const uint8_t buffer_op = 0x11;

	res_word(&res, 2, 0, 0, 0xff);			/* bus numbers */
	res_word(&res, 1, 3, 0, 0xcf7);			/* I/O */
	res_word(&res, 1, 3, 0xd00, 0xffff);
	res_dword_mem(&res, 0xa0000, 0xbffff);		/* legacy VGA window */
	res_dword_mem(&res, hole, (uint32_t)LAYOUT_RESERVED - 1);
	aml_bytes(&res, end_tag, sizeof(end_tag));

	aml_byte(&buf, 0x0b);				/* WordPrefix: buffer size */
	aml_byte(&buf, (uint8_t)res.n);
	aml_byte(&buf, (uint8_t)(res.n >> 8));
	aml_bytes(&buf, res.b, res.n);

	aml_byte(dev, 0x08);
	aml_bytes(dev, "_CRS", 4);
	aml_pkg(dev, &buffer_op, 1, &buf);
}

static void build_dsdt_body(struct aml *out, const struct vm *vm)
{
	struct aml dev = { .n = 0 }, scope = { .n = 0 }, s5 = { .n = 0 };
	static const uint8_t device_op[2] = { 0x5b, 0x82 };
	static const uint8_t scope_op = 0x10, package_op = 0x12;

	aml_bytes(&dev, "PCI0", 4);
	aml_name_dword(&dev, "_HID", 0x030ad041);	/* EISAID("PNP0A03") */
	aml_name_zero(&dev, "_UID");
	aml_name_zero(&dev, "_ADR");
	aml_name_zero(&dev, "_BBN");
	aml_pci_crs(&dev, vm);

	aml_bytes(&scope, "\\_SB_", 5);
	aml_pkg(&scope, device_op, 2, &dev);
	aml_pkg(out, &scope_op, 1, &scope);

	/* Name (_S5, Package () { 5, 5, 0, 0 }): SLP_TYPa/b for soft-off. */
	aml_byte(&s5, 4);
	aml_byte(&s5, 0x0a);
	aml_byte(&s5, ACPI_S5_TYP);
	aml_byte(&s5, 0x0a);
	aml_byte(&s5, ACPI_S5_TYP);
	aml_byte(&s5, 0);
	aml_byte(&s5, 0);
	aml_byte(out, 0x08);
	aml_bytes(out, "_S5_", 4);
	aml_pkg(out, &package_op, 1, &s5);
}

/* ---- tables ------------------------------------------------------------ */

static size_t build_dsdt(struct acpi_buf *a, const struct vm *vm)
{
	struct aml body = { .n = 0 };
	size_t off, len;

	build_dsdt_body(&body, vm);
	len = ACPI_HDR_LEN + body.n;
	off = alloc_table(a, len, 16);
	if (off == (size_t)-1)
		return off;
	table_header(a->b + off, "DSDT", (uint32_t)len, 2);
	memcpy(a->b + off + ACPI_HDR_LEN, body.b, body.n);
	table_finish(a->b + off, (uint32_t)len);
	return off;
}

static size_t build_facs(struct acpi_buf *a)
{
	size_t off = alloc_table(a, 64, 64);

	if (off != (size_t)-1) {
		memcpy(a->b + off, "FACS", 4);
		put32(a->b + off + 4, 64);
		put32(a->b + off + 32, 2);	/* version */
	}
	return off;
}

static size_t build_fadt(struct acpi_buf *a, uint64_t dsdt, uint64_t facs)
{
	const uint32_t len = 276;	/* ACPI 6 FADT */
	size_t off = alloc_table(a, len, 16);
	uint8_t *t;

	if (off == (size_t)-1)
		return off;
	t = a->b + off;
	table_header(t, "FACP", len, 6);
	put32(t + 36, (uint32_t)facs);
	put32(t + 40, (uint32_t)dsdt);
	put16(t + 46, ACPI_SCI_IRQ);
	/* SMI_CMD 0: already in ACPI mode, nothing to switch. */
	put32(t + 56, PM1A_EVT_PORT);
	put32(t + 64, PM1A_CNT_PORT);
	put32(t + 76, PM_TMR_PORT);
	put8(t + 88, 4);		/* PM1_EVT_LEN */
	put8(t + 89, 2);		/* PM1_CNT_LEN */
	put8(t + 91, 4);		/* PM_TMR_LEN */
	put16(t + 96, 101);		/* C2 latency: no C2 */
	put16(t + 98, 1001);		/* C3 latency: no C3 */
	/*
	 * IAPC_BOOT_ARCH 0: no 8042 (Linux skips the i8042 probe). The RTC
	 * and VGA stay "present": with both gone Linux would take this HVM
	 * guest for a PVH one.
	 */
	put16(t + 109, 0);
	/* WBINVD | PROC_C1 | PWR_BUTTON | SLP_BUTTON | RESET_REG_SUP */
	put32(t + 112, (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 10));
	put_gas_io(t + 116, RESET_PORT, 8, 1);
	put8(t + 128, 0x06);		/* reset value: CPU reset + system reset */
	put64(t + 132, facs);
	put64(t + 140, dsdt);
	put_gas_io(t + 148, PM1A_EVT_PORT, 32, 0);
	put_gas_io(t + 172, PM1A_CNT_PORT, 16, 0);
	put_gas_io(t + 208, PM_TMR_PORT, 32, 0);
	table_finish(t, len);
	return off;
}

static size_t build_madt(struct acpi_buf *a, const struct vm *vm)
{
	uint32_t len = ACPI_HDR_LEN + 8 + vm->nr_vcpus * 8 + 12 + 2 * 10;
	size_t off = alloc_table(a, len, 16);
	uint8_t *t, *p;

	if (off == (size_t)-1)
		return off;
	t = a->b + off;
	table_header(t, "APIC", len, 4);
	put32(t + 36, (uint32_t)LAYOUT_LAPIC);
	put32(t + 40, 1);		/* PCAT_COMPAT: there are 8259s too */
	p = t + 44;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++, p += 8) {
		p[0] = 0;		/* processor local APIC */
		p[1] = 8;
		p[2] = (uint8_t)i;	/* ACPI processor UID */
		p[3] = (uint8_t)i;	/* APIC id == KVM vCPU index */
		put32(p + 4, 1);	/* enabled */
	}
	p[0] = 1;			/* I/O APIC */
	p[1] = 12;
	p[2] = (uint8_t)vm->nr_vcpus;	/* id after the LAPICs' */
	p[3] = 0;
	put32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(p + 8, 0);		/* GSI base */
	p += 12;
	/* The PIT's IRQ 0 arrives on IOAPIC pin 2, as on every PC. */
	p[0] = 2; p[1] = 10; p[2] = 0; p[3] = 0;
	put32(p + 4, 2);
	put16(p + 8, 0);
	p += 10;
	/* The SCI: level-triggered, active high. */
	p[0] = 2; p[1] = 10; p[2] = 0; p[3] = ACPI_SCI_IRQ;
	put32(p + 4, ACPI_SCI_IRQ);
	put16(p + 8, 0x000d);
	table_finish(t, len);
	return off;
}

static size_t build_xsdt(struct acpi_buf *a, const uint64_t *tables, unsigned int n)
{
	uint32_t len = ACPI_HDR_LEN + n * 8;
	size_t off = alloc_table(a, len, 16);

	if (off == (size_t)-1)
		return off;
	table_header(a->b + off, "XSDT", len, 1);
	for (unsigned int i = 0; i < n; i++)
		put64(a->b + off + ACPI_HDR_LEN + i * 8, tables[i]);
	table_finish(a->b + off, len);
	return off;
}

static void build_rsdp(uint8_t *r, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "XENKVM", 6);
	put8(r + 15, 2);		/* ACPI 2.0+: use the XSDT */
	put32(r + 20, 36);
	put64(r + 24, xsdt);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
}

int acpi_build(struct vm *vm, uint64_t *rsdp_gpa)
{
	struct acpi_buf *a = calloc(1, sizeof(*a));
	size_t rsdp, dsdt, facs, fadt, madt, xsdt;
	uint64_t tables[2];
	int ret = -ENOSPC;

	if (!a)
		return -ENOMEM;
	rsdp = alloc_table(a, 36, 16);
	facs = build_facs(a);
	dsdt = build_dsdt(a, vm);
	fadt = build_fadt(a, LAYOUT_ACPI + dsdt, LAYOUT_ACPI + facs);
	madt = build_madt(a, vm);
	if (rsdp == (size_t)-1 || facs == (size_t)-1 || dsdt == (size_t)-1 ||
	    fadt == (size_t)-1 || madt == (size_t)-1)
		goto out;
	tables[0] = LAYOUT_ACPI + fadt;
	tables[1] = LAYOUT_ACPI + madt;
	xsdt = build_xsdt(a, tables, 2);
	if (xsdt == (size_t)-1)
		goto out;
	build_rsdp(a->b + rsdp, LAYOUT_ACPI + xsdt);
	ret = guest_write(vm, LAYOUT_ACPI, a->b, sizeof(a->b));
	*rsdp_gpa = LAYOUT_ACPI + rsdp;
out:
	if (ret == -ENOSPC)
		fprintf(stderr, "xenkvm: ACPI tables do not fit below 1M\n");
	free(a);
	return ret;
}
