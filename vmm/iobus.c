// SPDX-License-Identifier: GPL-2.0
/*
 * Routes port I/O and MMIO exits to devices. The table is filled before
 * the vCPUs start and is read-only afterwards, so vCPU threads look up
 * without a lock; each device serialises its own state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vm.h"

#define IOBUS_MAX_RANGES 64

struct io_range {
	enum io_space space;
	uint64_t base, len;
	io_handler_fn fn;
	void *opaque;
};

struct iobus {
	struct io_range r[IOBUS_MAX_RANGES];
	unsigned int n;
};

int iobus_create(struct vm *vm)
{
	vm->iobus = calloc(1, sizeof(*vm->iobus));
	return vm->iobus ? 0 : -ENOMEM;
}

void iobus_destroy(struct vm *vm)
{
	free(vm->iobus);
	vm->iobus = NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int iobus_register(struct vm *vm, enum io_space space, uint64_t base,
		   uint64_t len, io_handler_fn fn, void *opaque)
{
	struct iobus *bus = vm->iobus;

	if (!len || base + len < base || !fn)
		return -EINVAL;
	if (bus->n == IOBUS_MAX_RANGES)
		return -ENOSPC;
	for (unsigned int i = 0; i < bus->n; i++)
		if (bus->r[i].space == space &&
		    ranges_overlap(bus->r[i].base, bus->r[i].len, base, len))
			return -EBUSY;
	bus->r[bus->n++] = (struct io_range){ space, base, len, fn, opaque };
	return 0;
}

bool iobus_access(struct vm *vm, enum io_space space, uint64_t addr,
		  bool is_write, uint8_t *data, unsigned int len)
{
	struct iobus *bus = vm->iobus;

	for (unsigned int i = 0; i < bus->n; i++) {
		const struct io_range *r = &bus->r[i];

		if (r->space != space || addr < r->base || addr - r->base >= r->len)
			continue;
		/* An access straddling the end of a range: only the inside part. */
		if (addr - r->base + len > r->len)
			len = (unsigned int)(r->len - (addr - r->base));
		if (!is_write)
			memset(data, 0, len);
		r->fn(r->opaque, addr - r->base, is_write, data, len);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
