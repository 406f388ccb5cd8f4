// SPDX-License-Identifier: GPL-2.0
/* The machine's fixed set of devices, created once per VM. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "machine.h"
#include "vm.h"

#define COM1_PORT	0x3f8
#define COM1_IRQ	4

int devices_create(struct vm *vm)
{
	struct devices *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	vm->devices = d;
	d->serial = serial_create(vm, COM1_PORT, COM1_IRQ, STDOUT_FILENO);
	d->pci = pci_create(vm);
	d->pm = pm_create(vm);
	d->rtc = rtc_create(vm);
	if (!d->serial || !d->pci || !d->pm || !d->rtc)
		goto fail;
	d->platform = xen_platform_create(vm);
	if (!d->platform)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "xenkvm: cannot create the machine's devices\n");
	devices_destroy(vm);
	return -1;
}

void devices_destroy(struct vm *vm)
{
	struct devices *d = vm->devices;

	if (!d)
		return;
	xen_platform_destroy(d->platform);
	rtc_destroy(d->rtc);
	pm_destroy(d->pm);
	pci_destroy(d->pci);
	serial_destroy(d->serial);
	free(d);
	vm->devices = NULL;
}
