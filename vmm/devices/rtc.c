// SPDX-License-Identifier: GPL-2.0
/*
 * An MC146818 RTC that shows the host's UTC time in BCD, 24-hour mode,
 * and never reports an update in progress. Linux reads it for the wall
 * clock before Xen's clock is up; without it the reads would see 0xff,
 * i.e. "update in progress" forever. Writes are ignored: the guest
 * cannot set the host's clock, and alarms are not offered.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "machine.h"
#include "vm.h"

#define RTC_PORT	0x70

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
};

static uint8_t bcd(unsigned int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static uint8_t rtc_register(unsigned int index)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (index) {
	case 0x00: return bcd((unsigned int)tm.tm_sec);
	case 0x02: return bcd((unsigned int)tm.tm_min);
	case 0x04: return bcd((unsigned int)tm.tm_hour);
	case 0x06: return bcd((unsigned int)tm.tm_wday + 1);
	case 0x07: return bcd((unsigned int)tm.tm_mday);
	case 0x08: return bcd((unsigned int)tm.tm_mon + 1);
	case 0x09: return bcd((unsigned int)tm.tm_year % 100);
	case 0x0a: return 0x26;		/* 32.768 kHz, 1024 Hz; UIP clear */
	case 0x0b: return 0x02;		/* 24-hour, BCD, no interrupts */
	case 0x0d: return 0x80;		/* battery good */
	case 0x32: return bcd((unsigned int)(tm.tm_year + 1900) / 100);
	default: return 0;
	}
}

static void rtc_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned int len)
{
	struct rtc *rtc = opaque;

	(void)len;
	pthread_mutex_lock(&rtc->lock);
	if (off == 0 && is_write)
		rtc->index = data[0] & 0x7f;	/* bit 7 is the NMI mask */
	else if (off == 1 && !is_write)
		data[0] = rtc_register(rtc->index);
	pthread_mutex_unlock(&rtc->lock);
}

struct rtc *rtc_create(struct vm *vm)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	pthread_mutex_init(&rtc->lock, NULL);
	if (iobus_register(vm, IO_PIO, RTC_PORT, 2, rtc_io, rtc)) {
		rtc_destroy(rtc);
		return NULL;
	}
	return rtc;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
