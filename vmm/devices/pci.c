// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration mechanism #1 (0xcf8 address, 0xcfc data) for bus 0,
 * a host bridge at 00:00.0 and whatever devices register. BARs come
 * pre-assigned inside the PCI hole the ACPI root bridge declares; Linux
 * sizes them and keeps them where they are.
 *
 * 0xcf9, inside the address register's dword, is the PC's reset control
 * register: the FADT names it as the reset register, so the byte access
 * there is handled here rather than as a device of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vm.h"

#define PCI_MAX_SLOTS		32
#define PCI_CONFIG_PORT		0xcf8
#define RESET_SYSTEM		0x02
#define RESET_CPU		0x04

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t address;
	uint8_t reset_control;
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device host_bridge;
};

static uint32_t cfg_dword(const struct pci_device *d, unsigned int reg)
{
	uint32_t v;

	memcpy(&v, d->cfg + reg, 4);
	return v;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned int slot, unsigned int fn,
			 unsigned int reg, unsigned int len)
{
	const struct pci_device *d = slot < PCI_MAX_SLOTS ? bus->slots[slot] : NULL;
	uint32_t v;

	if (!d || fn || reg > 255 || reg + len > 256)
		return len == 4 ? 0xffffffff : (1U << (len * 8)) - 1;
	v = cfg_dword(d, reg & ~3U) >> ((reg & 3) * 8);
	return len == 4 ? v : v & ((1U << (len * 8)) - 1);
}

/* Which bits of config dword @reg the guest may change. */
static uint32_t writable_bits(const struct pci_device *d, unsigned int reg)
{
	if (reg == 0x04)
		return 0x0547;			/* command: io, mem, master, ... */
	if (reg == 0x0c)
		return 0x0000ffff;		/* cache line size, latency timer */
	if (reg == 0x3c)
		return 0x000000ff;		/* interrupt line */
	if (reg >= 0x10 && reg < 0x28) {
		unsigned int bar = (reg - 0x10) / 4;

		if (!d->bar_size[bar])
			return 0;
		return ~(d->bar_size[bar] - 1) & (d->bar_io[bar] ? ~0x3U : ~0xfU);
	}
	return 0;
}

void pci_config_write(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		      unsigned int reg, unsigned int len, uint32_t val)
{
	struct pci_device *d = slot < PCI_MAX_SLOTS ? bus->slots[slot] : NULL;
	unsigned int base = reg & ~3U, shift = (reg & 3) * 8;
	uint32_t mask, old, wmask;

	if (!d || fn || reg + len > 256 || len == 0 || len > 4)
		return;
	mask = (len == 4 ? 0xffffffff : (1U << (len * 8)) - 1) << shift;
	old = cfg_dword(d, base);
	wmask = writable_bits(d, base) & mask;
	old = (old & ~wmask) | ((val << shift) & wmask);
	memcpy(d->cfg + base, &old, 4);
}

static void reset_control_write(struct pci_bus *bus, uint8_t v)
{
	bus->reset_control = v & (RESET_SYSTEM | RESET_CPU);
	if (v & RESET_CPU) {
		fprintf(stderr, "xenkvm: guest reset the machine (port 0xcf9)\n");
		vm_request_stop(bus->vm, VM_EXIT_REBOOT);
	}
}

static void pci_io(void *opaque, uint64_t offset, bool is_write, uint8_t *data,
		   unsigned int len)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&bus->lock);
	if (offset < 4) {
		if (offset == 0 && len == 4) {
			if (is_write)
				memcpy(&bus->address, data, 4);
			else
				memcpy(data, &bus->address, 4);
		} else if (offset == 1 && len == 1) {
			if (is_write)
				reset_control_write(bus, data[0]);
			else
				data[0] = bus->reset_control;
		}
	} else if (bus->address & 0x80000000U) {
		unsigned int busno = (bus->address >> 16) & 0xff;
		unsigned int slot = (bus->address >> 11) & 0x1f;
		unsigned int fn = (bus->address >> 8) & 7;
		unsigned int reg = (bus->address & 0xfc) + (unsigned int)(offset - 4);

		if (is_write) {
			memcpy(&v, data, len);
			if (busno == 0)
				pci_config_write(bus, slot, fn, reg, len, v);
		} else {
			v = busno == 0 ? pci_config_read(bus, slot, fn, reg, len) : 0xffffffff;
			memcpy(data, &v, len);
		}
	} else if (!is_write) {
		memset(data, 0xff, len);
	}
	pthread_mutex_unlock(&bus->lock);
}

int pci_add_device(struct pci_bus *bus, struct pci_device *dev)
{
	if (dev->slot >= PCI_MAX_SLOTS || bus->slots[dev->slot])
		return -EBUSY;
	bus->slots[dev->slot] = dev;
	return 0;
}

static void init_host_bridge(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	/* Red Hat's generic "QEMU PCIe host bridge" id: no chipset quirks. */
	d->cfg[0x00] = 0x36; d->cfg[0x01] = 0x1b;	/* vendor 0x1b36 */
	d->cfg[0x02] = 0x08; d->cfg[0x03] = 0x00;	/* device 0x0008 */
	d->cfg[0x0a] = 0x00; d->cfg[0x0b] = 0x06;	/* class: host bridge */
	d->slot = 0;
}

struct pci_bus *pci_create(struct vm *vm)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->vm = vm;
	pthread_mutex_init(&bus->lock, NULL);
	init_host_bridge(&bus->host_bridge);
	pci_add_device(bus, &bus->host_bridge);
	if (iobus_register(vm, IO_PIO, PCI_CONFIG_PORT, 8, pci_io, bus)) {
		pci_destroy(bus);
		return NULL;
	}
	return bus;
}

void pci_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}
