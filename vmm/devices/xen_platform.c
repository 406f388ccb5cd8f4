// SPDX-License-Identifier: GPL-2.0
/*
 * The Xen platform PCI device (vendor 0x5853 "XenSource", device 0x0001),
 * as Xen's device model presents it: class 0xff80, revision 1, BAR0 a
 * 256-byte I/O window, BAR1 a 16M prefetchable MMIO window. Linux's
 * xen-platform-pci binds to it, carves its grant-table frames out of
 * BAR1 and then starts xenbus; without the device, no PV front ends.
 *
 * Also the fixed "unplug" ports at 0x10 (Linux's platform-pci-unplug.c):
 * a magic number, a protocol version, and a register the guest writes
 * the emulated devices it takes over into. We emulate no IDE disks or
 * NICs, so the mask is only recorded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vm.h"

#define XEN_PLATFORM_VENDOR	0x5853
#define XEN_PLATFORM_DEVICE	0x0001
#define XEN_PLATFORM_SLOT	3
#define UNPLUG_PORT		0x10
#define UNPLUG_MAGIC		0x49d2
#define UNPLUG_PROTOCOL		1

struct xen_platform {
	struct vm *vm;
	pthread_mutex_t lock;
	struct pci_device pci;
	uint8_t flags;
	unsigned int unplugged;
	uint16_t product;
	uint32_t driver_version;
};

static void unplug_write(struct xen_platform *p, uint64_t off, const uint8_t *data, unsigned int len)
{
	uint32_t v = 0;

	memcpy(&v, data, len);
	if (off == 0 && len == 2)
		p->unplugged |= v;
	else if (off == 0 && len == 4)
		p->driver_version = v;
	else if (off == 0 && len == 1)
		p->flags = (uint8_t)v;
	else if (off == 2 && len == 2)
		p->product = (uint16_t)v;
	/* off 2, len 1 is a syslog byte stream: the serial console has it all. */
}

static void unplug_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct xen_platform *p = opaque;
	uint16_t magic = UNPLUG_MAGIC;

	pthread_mutex_lock(&p->lock);
	if (is_write)
		unplug_write(p, off, data, len);
	else if (off == 0 && len >= 2)
		memcpy(data, &magic, 2);
	else if (off == 0)
		data[0] = p->flags;
	else if (off == 2)
		data[0] = UNPLUG_PROTOCOL;
	pthread_mutex_unlock(&p->lock);
}

/* BAR0 and the part of BAR1 no grant frame is mapped over: no registers. */
static void bar_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	(void)opaque; (void)off; (void)is_write; (void)data; (void)len;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void init_config_space(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	put16(d->cfg + 0x00, XEN_PLATFORM_VENDOR);
	put16(d->cfg + 0x02, XEN_PLATFORM_DEVICE);
	put16(d->cfg + 0x04, 0x0003);		/* I/O and memory decode on */
	d->cfg[0x08] = 1;			/* revision */
	d->cfg[0x0a] = 0x80;			/* class 0xff80: "other" */
	d->cfg[0x0b] = 0xff;
	put32(d->cfg + 0x10, PLATFORM_IO_BAR | 0x1);
	put32(d->cfg + 0x14, (uint32_t)PLATFORM_MMIO_BAR | 0x8);	/* prefetchable */
	put16(d->cfg + 0x2c, XEN_PLATFORM_VENDOR);	/* subsystem */
	put16(d->cfg + 0x2e, XEN_PLATFORM_DEVICE);
	/* No INTx: the guest gets events through the callback vector. */
	d->bar_size[0] = PLATFORM_IO_SIZE;
	d->bar_io[0] = true;
	d->bar_size[1] = (uint32_t)PLATFORM_MMIO_SIZE;
	d->slot = XEN_PLATFORM_SLOT;
}

struct xen_platform *xen_platform_create(struct vm *vm)
{
	struct xen_platform *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	init_config_space(&p->pci);
	p->pci.opaque = p;
	if (pci_add_device(vm->devices->pci, &p->pci) ||
	    iobus_register(vm, IO_PIO, UNPLUG_PORT, 4, unplug_io, p) ||
	    iobus_register(vm, IO_PIO, PLATFORM_IO_BAR, PLATFORM_IO_SIZE, bar_io, p) ||
	    iobus_register(vm, IO_MMIO, PLATFORM_MMIO_BAR, PLATFORM_MMIO_SIZE, bar_io, p)) {
		xen_platform_destroy(p);
		return NULL;
	}
	return p;
}

unsigned int xen_platform_unplugged(const struct xen_platform *p)
{
	return p->unplugged;
}

void xen_platform_destroy(struct xen_platform *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
