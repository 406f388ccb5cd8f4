// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART: what Linux's 8250 driver needs to find one, print on it
 * with interrupts and read input from it. Transmitted bytes go straight to
 * the output fd with a blocking write, so nothing the guest prints is
 * dropped, even when the reader is slow.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "machine.h"
#include "vm.h"

#define RX_FIFO_SIZE	1024

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_DLAB	0x80
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned int irq;
	int out_fd;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_ipending;	/* "THR empty" interrupt not yet acknowledged */
	bool irq_level;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_len;
};

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* reader gone: the guest keeps running */
		p += n;
		len -= (size_t)n;
	}
}

static uint8_t compute_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

/* The UART's interrupt is a level on IRQ 4; tell KVM only on a change. */
static void update_irq(struct serial *s)
{
	bool level = !(compute_iir(s) & UART_IIR_NO_INT);
	struct kvm_irq_level irq = { .irq = s->irq, .level = level };

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	ioctl(s->vm->vm_fd, KVM_IRQ_LINE, &irq);
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len == RX_FIFO_SIZE)
		return;		/* overrun: the guest did not read in time */
	s->rx[(s->rx_head + s->rx_len++) % RX_FIFO_SIZE] = c;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_len)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
	s->rx_len--;
	return c;
}

static uint8_t modem_status(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback: the modem outputs come back as inputs (8250 probe). */
	return (m & UART_MCR_RTS ? UART_MSR_CTS : 0) | (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

static void transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP)
		rx_push(s, c);
	else
		write_all(s->out_fd, &c, 1);
	s->thr_ipending = true;
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		if (dlab)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case 1:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once, like a 16550. */
		if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case 2:
		s->fcr = v & 0xc9;
		if (v & UART_FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case 0:
		return dlab ? s->dll : rx_pop(s);
	case 1:
		return dlab ? s->dlm : s->ier;
	case 2:
		v = compute_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thr_ipending = false;
		return v;
	case 3:
		return s->lcr;
	case 4:
		return s->mcr;
	case 5:
		return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_len ? UART_LSR_DR : 0);
	case 6:
		return modem_status(s);
	default:
		return s->scr;
	}
}

static void serial_io(void *opaque, uint64_t offset, bool is_write, uint8_t *data,
		      unsigned int len)
{
	struct serial *s = opaque;

	/* Byte registers; a wider access touches the first one only. */
	(void)len;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write_reg(s, (unsigned int)offset, data[0]);
	else
		data[0] = serial_read_reg(s, (unsigned int)offset);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++)
		rx_push(s, buf[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int irq, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	s->mcr = UART_MCR_OUT2;
	pthread_mutex_init(&s->lock, NULL);
	if (iobus_register(vm, IO_PIO, base, 8, serial_io, s)) {
		serial_destroy(s);
		return NULL;
	}
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
