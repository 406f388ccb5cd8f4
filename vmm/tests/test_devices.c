// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated devices through the I/O bus, as a guest drives them:
 * 16550A, PCI configuration space and the Xen platform device, ACPI PM
 * and reset registers, RTC. A fake VM without KVM (vm_fd -1: interrupt
 * line changes go nowhere).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktap.h"
#include "machine.h"
#include "vm.h"

static struct vm *fake_vm(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	vm->vm_fd = -1;
	vm->kvm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	iobus_create(vm);
	return vm;
}

static void free_vm(struct vm *vm)
{
	devices_destroy(vm);
	iobus_destroy(vm);
	free(vm);
}

static uint32_t in(struct vm *vm, uint16_t port, unsigned int len)
{
	uint8_t d[4] = { 0 };
	uint32_t v = 0;

	iobus_access(vm, IO_PIO, port, false, d, len);
	memcpy(&v, d, len);
	return v;
}

static void out(struct vm *vm, uint16_t port, unsigned int len, uint32_t v)
{
	uint8_t d[4];

	memcpy(d, &v, 4);
	iobus_access(vm, IO_PIO, port, true, d, len);
}

static void noop(void *o, uint64_t off, bool w, uint8_t *d, unsigned int l)
{
	(void)o; (void)off; (void)w; (void)d; (void)l;
}

static void test_iobus(struct ktap *t)
{
	struct vm *vm = fake_vm();
	uint8_t d[4] = { 0 };

	KTAP_EXPECT(t, iobus_register(vm, IO_PIO, 0x100, 8, noop, NULL) == 0);
	KTAP_EXPECT(t, iobus_register(vm, IO_PIO, 0x104, 8, noop, NULL) < 0);	/* overlap */
	KTAP_EXPECT(t, iobus_register(vm, IO_MMIO, 0x100, 8, noop, NULL) == 0);	/* other space */
	KTAP_EXPECT(t, iobus_register(vm, IO_PIO, 0x200, 0, noop, NULL) < 0);
	KTAP_EXPECT(t, iobus_register(vm, IO_MMIO, ~0ULL - 4, 16, noop, NULL) < 0);	/* wraps */
	KTAP_EXPECT(t, !iobus_access(vm, IO_PIO, 0x300, false, d, 4));
	KTAP_EXPECT(t, d[0] == 0xff && d[3] == 0xff);	/* nothing there: all ones */
	KTAP_EXPECT(t, iobus_access(vm, IO_PIO, 0x107, false, d, 4));	/* straddles the end */
	free_vm(vm);
	ktap_case_end(t, "I/O bus: overlaps refused, unclaimed reads are all ones");
}

static void test_serial(struct ktap *t)
{
	struct vm *vm = fake_vm();
	int p[2];
	char buf[16] = { 0 };
	struct serial *s;

	KTAP_EXPECT(t, pipe(p) == 0);
	s = serial_create(vm, 0x3f8, 4, p[1]);
	KTAP_EXPECT(t, s != NULL);
	KTAP_EXPECT(t, in(vm, 0x3fd, 1) == 0x60);		/* THR empty, idle */
	out(vm, 0x3f8, 1, 'o');
	out(vm, 0x3f8, 1, 'k');
	KTAP_EXPECT(t, read(p[0], buf, sizeof(buf)) == 2 && !strcmp(buf, "ok"));
	/* Enabling THRI with the THR empty raises it; reading IIR acks it. */
	KTAP_EXPECT(t, (in(vm, 0x3fa, 1) & 0x0f) == 0x01);
	out(vm, 0x3f9, 1, 0x02);
	KTAP_EXPECT(t, (in(vm, 0x3fa, 1) & 0x0f) == 0x02);
	KTAP_EXPECT(t, (in(vm, 0x3fa, 1) & 0x0f) == 0x01);
	/* Loopback as the 8250 probe does it: RTS|OUT2 read back as CTS|DCD. */
	out(vm, 0x3fc, 1, 0x10 | 0x0a);
	KTAP_EXPECT(t, (in(vm, 0x3fe, 1) & 0xf0) == 0x90);
	out(vm, 0x3f8, 1, 'x');					/* loops back */
	KTAP_EXPECT(t, in(vm, 0x3fd, 1) & 0x01);
	KTAP_EXPECT(t, in(vm, 0x3f8, 1) == 'x');
	out(vm, 0x3fc, 1, 0x08);
	/* Input from the host, with the receive interrupt enabled. */
	out(vm, 0x3f9, 1, 0x01);
	serial_receive(s, (const uint8_t *)"hi", 2);
	KTAP_EXPECT(t, (in(vm, 0x3fa, 1) & 0x0f) == 0x04);
	KTAP_EXPECT(t, in(vm, 0x3f8, 1) == 'h' && in(vm, 0x3f8, 1) == 'i');
	KTAP_EXPECT(t, !(in(vm, 0x3fd, 1) & 0x01));
	/* Divisor latch. */
	out(vm, 0x3fb, 1, 0x83);
	out(vm, 0x3f8, 1, 0x01);
	KTAP_EXPECT(t, in(vm, 0x3f8, 1) == 0x01);
	out(vm, 0x3fb, 1, 0x03);
	/* A flood of input is bounded, not an overflow. */
	for (int i = 0; i < 5000; i++)
		serial_receive(s, (const uint8_t *)"z", 1);
	KTAP_EXPECT(t, in(vm, 0x3f8, 1) == 'z');
	serial_destroy(s);
	close(p[0]);
	close(p[1]);
	free_vm(vm);
	ktap_case_end(t, "16550A: output, THRE interrupt, loopback probe, input");
}

static uint32_t cfg_read(struct vm *vm, unsigned int slot, unsigned int reg)
{
	out(vm, 0xcf8, 4, 0x80000000U | slot << 11 | reg);
	return in(vm, 0xcfc, 4);
}

static void test_pci_and_platform(struct ktap *t)
{
	struct vm *vm = fake_vm();

	KTAP_EXPECT(t, devices_create(vm) == 0);
	KTAP_EXPECT(t, cfg_read(vm, 0, 0) == 0x00081b36);		/* host bridge */
	KTAP_EXPECT(t, cfg_read(vm, 3, 0) == 0x00015853);		/* platform device */
	KTAP_EXPECT(t, cfg_read(vm, 3, 8) >> 8 == 0xff8000);		/* class */
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x2c) == 0x00015853);		/* subsystem */
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x10) == (PLATFORM_IO_BAR | 1));
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x14) == (uint32_t)(PLATFORM_MMIO_BAR | 8));
	KTAP_EXPECT(t, cfg_read(vm, 7, 0) == 0xffffffff);		/* empty slot */
	/* BAR sizing as Linux does it: write ones, read the size mask. */
	out(vm, 0xcf8, 4, 0x80000000U | 3 << 11 | 0x14);
	out(vm, 0xcfc, 4, 0xffffffff);
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x14) == (uint32_t)(~(PLATFORM_MMIO_SIZE - 1) | 8));
	out(vm, 0xcfc, 4, (uint32_t)PLATFORM_MMIO_BAR);
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x14) == (uint32_t)(PLATFORM_MMIO_BAR | 8));
	out(vm, 0xcf8, 4, 0x80000000U | 3 << 11 | 0x10);
	out(vm, 0xcfc, 4, 0xffffffff);
	KTAP_EXPECT(t, cfg_read(vm, 3, 0x10) == (~(uint32_t)(PLATFORM_IO_SIZE - 1) | 1));
	/* Read-only registers stay so. */
	out(vm, 0xcf8, 4, 0x80000000U | 3 << 11);
	out(vm, 0xcfc, 4, 0x12345678);
	KTAP_EXPECT(t, cfg_read(vm, 3, 0) == 0x00015853);
	/* Byte access inside the data window. */
	out(vm, 0xcf8, 4, 0x80000000U | 3 << 11);
	KTAP_EXPECT(t, in(vm, 0xcfe, 2) == 0x0001);
	/* The unplug protocol, as platform-pci-unplug.c drives it. */
	KTAP_EXPECT(t, in(vm, 0x10, 2) == 0x49d2);
	KTAP_EXPECT(t, in(vm, 0x12, 1) == 1);
	out(vm, 0x12, 2, 3);
	out(vm, 0x10, 4, 1);
	KTAP_EXPECT(t, in(vm, 0x10, 2) == 0x49d2);		/* not blacklisted */
	out(vm, 0x10, 2, 3);
	KTAP_EXPECT(t, xen_platform_unplugged(vm->devices->platform) == 3);
	free_vm(vm);
	ktap_case_end(t, "PCI: host bridge, Xen platform device, BAR sizing, unplug ports");
}

static void test_power(struct ktap *t)
{
	struct vm *vm = fake_vm();

	KTAP_EXPECT(t, devices_create(vm) == 0);
	KTAP_EXPECT(t, in(vm, PM1A_CNT_PORT, 2) & 1);			/* SCI_EN */
	out(vm, PM1A_CNT_PORT, 2, 5 << 10);			/* SLP_TYP only */
	KTAP_EXPECT(t, !vm->stopping);
	out(vm, PM1A_CNT_PORT, 2, 3 << 10 | 1 << 13);		/* S3: not offered */
	KTAP_EXPECT(t, !vm->stopping);
	out(vm, 0xcf9, 1, 0x02);				/* no CPU reset bit */
	KTAP_EXPECT(t, !vm->stopping);
	out(vm, PM1A_CNT_PORT, 2, 5 << 10 | 1 << 13);
	KTAP_EXPECT(t, vm->stopping && vm->exit_reason == VM_EXIT_POWEROFF);
	out(vm, 0xcf9, 1, 0x06);				/* too late: first wins */
	KTAP_EXPECT(t, vm->exit_reason == VM_EXIT_POWEROFF);
	free_vm(vm);

	vm = fake_vm();
	KTAP_EXPECT(t, devices_create(vm) == 0);
	out(vm, 0xcf9, 1, 0x06);
	KTAP_EXPECT(t, vm->stopping && vm->exit_reason == VM_EXIT_REBOOT);
	free_vm(vm);

	vm = fake_vm();
	KTAP_EXPECT(t, devices_create(vm) == 0);
	out(vm, 0x64, 1, 0xfe);
	KTAP_EXPECT(t, vm->stopping && vm->exit_reason == VM_EXIT_REBOOT);
	free_vm(vm);
	ktap_case_end(t, "ACPI S5 powers off; 0xcf9 and the 8042 reset reboot");
}

static void test_pm_timer_and_rtc(struct ktap *t)
{
	struct vm *vm = fake_vm();
	uint32_t a, b;

	KTAP_EXPECT(t, devices_create(vm) == 0);
	a = in(vm, PM_TMR_PORT, 4);
	usleep(2000);
	b = in(vm, PM_TMR_PORT, 4);
	KTAP_EXPECT(t, a <= 0xffffff && b <= 0xffffff);
	KTAP_EXPECT(t, ((b - a) & 0xffffff) > 0);		/* it runs */
	out(vm, 0x70, 1, 0x0a);
	KTAP_EXPECT(t, !(in(vm, 0x71, 1) & 0x80));		/* no update in progress */
	out(vm, 0x70, 1, 0x0b);
	KTAP_EXPECT(t, in(vm, 0x71, 1) == 0x02);			/* BCD, 24 hours */
	out(vm, 0x70, 1, 0x08);
	a = in(vm, 0x71, 1);
	KTAP_EXPECT(t, a >= 1 && a <= 0x12 && (a & 0xf) <= 9);	/* a BCD month */
	out(vm, 0x71, 1, 0x55);					/* read-only */
	KTAP_EXPECT(t, in(vm, 0x71, 1) == a);
	free_vm(vm);
	ktap_case_end(t, "PM timer runs; RTC shows BCD time, never busy");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 5);
	test_iobus(&t);
	test_serial(&t);
	test_pci_and_platform(&t);
	test_power(&t);
	test_pm_timer_and_rtc(&t);
	return ktap_finish(&t);
}
