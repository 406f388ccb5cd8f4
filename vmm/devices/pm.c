// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI fixed hardware at the ports the FADT names: PM1a event (status and
 * enable), PM1a control (SCI_EN always set; SLP_EN with \_S5's type is
 * soft-off) and the 3.579545 MHz PM timer. Also the keyboard controller's
 * reset command (0xfe to port 0x64), Linux's fallback reboot method.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machine.h"
#include "vm.h"

#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP(v)	(((v) >> 10) & 7)
#define PM1_SLP_EN	0x2000
#define PM_TIMER_HZ	3579545ULL
#define KBD_STATUS_PORT	0x64
#define KBD_CMD_RESET	0xfe

struct pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t status, enable, control;
};

static void pm1_evt_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct pm *pm = opaque;
	uint8_t regs[4];
	uint16_t v;

	pthread_mutex_lock(&pm->lock);
	memcpy(regs, &pm->status, 2);
	memcpy(regs + 2, &pm->enable, 2);
	if (!is_write) {
		memcpy(data, regs + off, len);
	} else {
		memcpy(regs + off, data, len);
		memcpy(&v, regs, 2);
		/* Status bits are write-one-to-clear. */
		if (off < 2)
			pm->status &= (uint16_t)~v;
		memcpy(&pm->enable, regs + 2, 2);
	}
	pthread_mutex_unlock(&pm->lock);
}

static void pm1_cnt_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct pm *pm = opaque;
	uint8_t regs[2];
	uint16_t v;

	pthread_mutex_lock(&pm->lock);
	memcpy(regs, &pm->control, 2);
	if (!is_write) {
		memcpy(data, regs + off, len);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	memcpy(regs + off, data, len);
	memcpy(&v, regs, 2);
	pm->control = (uint16_t)((v & ~PM1_SLP_EN) | PM1_SCI_EN);
	pthread_mutex_unlock(&pm->lock);
	/* Only S5 exists; other sleep states are not offered in the DSDT. */
	if ((v & PM1_SLP_EN) && PM1_SLP_TYP(v) == ACPI_S5_TYP) {
		fprintf(stderr, "xenkvm: guest entered ACPI S5 (soft off)\n");
		vm_request_stop(pm->vm, VM_EXIT_POWEROFF);
	}
}

static void pm_tmr_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct timespec ts;
	uint64_t ns;
	uint32_t ticks;

	(void)opaque;
	if (is_write)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	/* Split to keep ns * HZ from overflowing 64 bits. */
	ticks = (uint32_t)((ns / 1000000000ULL) * PM_TIMER_HZ +
			   (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL);
	ticks &= 0xffffff;	/* a 24-bit timer: TMR_VAL_EXT is not set */
	memcpy(data, (uint8_t *)&ticks + off, len);
}

static void kbd_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct pm *pm = opaque;

	(void)off; (void)len;
	if (is_write && data[0] == KBD_CMD_RESET) {
		fprintf(stderr, "xenkvm: guest reset the machine (keyboard controller)\n");
		vm_request_stop(pm->vm, VM_EXIT_REBOOT);
	}
	/* Reads: status 0, no data and an empty input buffer. */
}

struct pm *pm_create(struct vm *vm)
{
	struct pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->vm = vm;
	pm->control = PM1_SCI_EN;
	pthread_mutex_init(&pm->lock, NULL);
	if (iobus_register(vm, IO_PIO, PM1A_EVT_PORT, 4, pm1_evt_io, pm) ||
	    iobus_register(vm, IO_PIO, PM1A_CNT_PORT, 2, pm1_cnt_io, pm) ||
	    iobus_register(vm, IO_PIO, PM_TMR_PORT, 4, pm_tmr_io, pm) ||
	    iobus_register(vm, IO_PIO, KBD_STATUS_PORT, 1, kbd_io, pm)) {
		pm_destroy(pm);
		return NULL;
	}
	return pm;
}

void pm_destroy(struct pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
