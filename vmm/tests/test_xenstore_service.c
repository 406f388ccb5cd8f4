// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore wired into a (fake) machine: HVM params, the store event
 * channel both ways through xen/, the real event loop, and the host
 * socket next to the guest's ring. Also the PV console's attach path.
 */
#include "xen/xen_state.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/event_channel.h>
#include <xen/io/console.h>

#include "event_loop.h"
#include "fake_vm.h"
#include "ktap.h"
#include "pv_console.h"
#include "xs_client.h"

#define EVTCHN_HCALL 32	/* __HYPERVISOR_event_channel_op */

static void *loop_thread(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

static int64_t guest_send(struct fake_vm *f, uint32_t port)
{
	uint64_t gpa = fake_alloc(f, 8, 8);
	struct evtchn_send s = { .port = port };

	memcpy(fake_ptr(f, gpa), &s, sizeof(s));
	return fake_hcall(f, 0, EVTCHN_HCALL, EVTCHNOP_send, gpa, 0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait for a whole reply in the ring (the loop thread writes it). */
static bool ring_reply(struct xenstore_domain_interface *in, struct xs_msg *m)
{
	size_t got = 0, need = sizeof(m->hdr);
	int waited = 0;

	while (got < need && waited < 2000) {
		uint32_t cons = in->rsp_cons;
		uint32_t prod = __atomic_load_n(&in->rsp_prod, __ATOMIC_ACQUIRE);

		if (cons == prod) {
			sleep_ms(1);
			waited++;
			continue;
		}
		if (got < sizeof(m->hdr))
			((char *)&m->hdr)[got] = in->rsp[MASK_XENSTORE_IDX(cons)];
		else
			m->body[got - sizeof(m->hdr)] =
				in->rsp[MASK_XENSTORE_IDX(cons)];
		got++;
		if (got == sizeof(m->hdr)) {
			if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
				return false;
			need += m->hdr.len;
		}
		__atomic_store_n(&in->rsp_cons, cons + 1, __ATOMIC_RELEASE);
	}
	if (got < need)
		return false;
	m->body[m->hdr.len] = '\0';
	return true;
}

/* The guest's side of a write: bytes, then the producer index. */
static void ring_write(struct xenstore_domain_interface *in, const void *buf,
		       size_t len)
{
	uint32_t prod = in->req_prod;
	size_t i;

	for (i = 0; i < len; i++)
		in->req[MASK_XENSTORE_IDX(prod + i)] = ((const char *)buf)[i];
	__atomic_store_n(&in->req_prod, prod + (uint32_t)len, __ATOMIC_RELEASE);
}

static void ring_request(struct xenstore_domain_interface *in, uint32_t type,
			 uint32_t req_id, const char *payload, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, 0, (uint32_t)len };
	char buf[sizeof(h) + 256];

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	ring_write(in, buf, sizeof(h) + len);
}

/* A fake machine with its loop thread and the store service on it. */
struct wired {
	struct fake_vm *f;
	pthread_t loop;
	struct xs_service *svc;
	struct xenstore_domain_interface *in;
	uint64_t gpa;
	uint32_t port;
};

static bool wired_start(struct wired *w, const struct xs_domain_info *info,
			const char *socket_path)
{
	memset(w, 0, sizeof(*w));
	w->f = fake_vm_new(1, 4 << 20);
	w->f->vm.loop = event_loop_create(&w->f->vm);
	pthread_create(&w->loop, NULL, loop_thread, w->f->vm.loop);
	w->gpa = fake_alloc(w->f, 4096, 4096);
	w->svc = xs_service_start(&w->f->vm, w->gpa >> 12, socket_path, info);
	w->in = fake_ptr(w->f, w->gpa);
	w->port = (uint32_t)xen_get_hvm_param(&w->f->vm, 2);
	return w->svc != NULL;
}

static void wired_stop(struct wired *w)
{
	event_loop_stop(w->f->vm.loop);
	pthread_join(w->loop, NULL);
	xs_service_stop(w->svc);
	event_loop_destroy(w->f->vm.loop);
	w->f->vm.loop = NULL;
	fake_vm_free(w->f);
}

static void test_store_service(struct ktap *t)
{
	struct xs_domain_info info = { "wired", 4096, 1 };
	char path[] = "/tmp/xs-svc-XXXXXX/sock";
	unsigned int delivered;
	struct xs_msg m;
	struct wired w;

	*strrchr(path, '/') = '\0';
	KTAP_EXPECT(t, mkdtemp(path) != NULL);
	strcat(path, "/sock");
	KTAP_EXPECT(t, wired_start(&w, &info, path));
	if (!w.svc)
		goto out;
	KTAP_EXPECT(t, xen_get_hvm_param(&w.f->vm, 1) == w.gpa >> 12);
	KTAP_EXPECT(t, w.port != 0);

	/* The guest asks through the ring and notifies the store port. */
	delivered = fake_count(w.f, FAKE_DELIVER_PORT);
	ring_request(w.in, XS_READ, 11, "name", 5);
	KTAP_EXPECT(t, guest_send(w.f, w.port) == 0);
	KTAP_EXPECT(t, ring_reply(w.in, &m) && m.hdr.req_id == 11 &&
			       !strcmp(m.body, "wired"));
	/* ... and the store raised the port back in the guest. */
	KTAP_EXPECT(t, fake_count(w.f, FAKE_DELIVER_PORT) > delivered);

	/* The host socket sees the same tree, with dom0 rights. */
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		struct xsd_sockmsg h = { XS_READ, 5, 0, 0 };
		char req[128], rep[256];
		const char *p = "/local/domain/1/domid";
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t k = 0;

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		KTAP_EXPECT(t, !connect(fd, (struct sockaddr *)&a, sizeof(a)));
		h.len = (uint32_t)strlen(p) + 1;
		memcpy(req, &h, sizeof(h));
		memcpy(req + sizeof(h), p, h.len);
		KTAP_EXPECT(t, write(fd, req, sizeof(h) + h.len) ==
				       (ssize_t)(sizeof(h) + h.len));
		{
			struct pollfd pf = { .fd = fd, .events = POLLIN };

			if (poll(&pf, 1, 2000) > 0)
				k = read(fd, rep, sizeof(rep));
		}
		/* READ replies carry the value without a NUL. */
		KTAP_EXPECT(t, k == (ssize_t)sizeof(h) + 1 &&
				       rep[sizeof(h)] == '1');
		close(fd);
	}
out:
	wired_stop(&w);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	ktap_case_end(t, "xenstore on the machine: ring, event channel, socket");
}

/*
 * Linux writes a request's header and payload separately and notifies
 * after the payload only if it sees that we had consumed the header
 * (ring.c): a payload written while we consume the header comes with no
 * notification. Played here deterministically: header and notification,
 * then, as soon as the store has taken the header, the payload alone.
 * The reply must still come. The store looks again 10 ms after moving
 * data; an attempt whose payload went in later than 5 ms after the header
 * was seen taken cannot tell, and is retried.
 */
static void test_unannounced_payload(struct ktap *t)
{
	struct xs_domain_info info = { "quiet", 4096, 1 };
	bool answered = false, timely = false;
	struct xs_msg m;
	struct wired w;
	int attempt;

	KTAP_EXPECT(t, wired_start(&w, &info, NULL));
	if (!w.svc)
		goto out;
	for (attempt = 1; attempt <= 5 && !timely; attempt++) {
		struct xsd_sockmsg h = { XS_READ, 20 + attempt, 0, 5 };
		uint64_t seen, deadline = fake_now_ns() + 2000000000ULL;

		ring_write(w.in, &h, sizeof(h));
		KTAP_EXPECT(t, guest_send(w.f, w.port) == 0);
		while (__atomic_load_n(&w.in->req_cons, __ATOMIC_ACQUIRE) !=
		       w.in->req_prod && fake_now_ns() < deadline)
			;
		seen = fake_now_ns();
		ring_write(w.in, "name", 5);
		timely = fake_now_ns() - seen < 5000000;
		answered = ring_reply(w.in, &m) && m.hdr.req_id == h.req_id &&
			   !strcmp(m.body, "quiet");
		if (!answered && !timely) {
			/* Too slow to tell: announce it, drain, try again. */
			KTAP_EXPECT(t, guest_send(w.f, w.port) == 0);
			KTAP_EXPECT(t, ring_reply(w.in, &m));
		}
	}
	KTAP_EXPECT(t, timely);
	KTAP_EXPECT(t, answered);
out:
	wired_stop(&w);
	ktap_case_end(t, "xenstore: a payload written without a notification is still answered");
}

static void test_console_attach(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 4 << 20);
	struct xencons_interface *in;
	struct pv_console *c;
	int out[2], inp[2];
	uint64_t gpa, port;
	char buf[64] = { 0 };
	ssize_t k = 0;
	pthread_t th;
	int i;

	KTAP_EXPECT(t, !pipe(out) && !pipe(inp));
	f->vm.loop = event_loop_create(&f->vm);
	pthread_create(&th, NULL, loop_thread, f->vm.loop);
	gpa = fake_alloc(f, 4096, 4096);
	c = pv_console_attach(&f->vm, gpa >> 12, inp[0], out[1]);
	KTAP_EXPECT(t, c != NULL);
	if (!c)
		goto out;
	KTAP_EXPECT(t, xen_get_hvm_param(&f->vm, 17) == gpa >> 12);
	port = xen_get_hvm_param(&f->vm, 18);
	in = fake_ptr(f, gpa);
	/*
	 * The terminal is full (a blocking fd, as stdout usually is): the
	 * notifying vCPU must not block, and nothing may be lost.
	 */
	{
		int fl = fcntl(out[1], F_GETFL);
		char junk[4096];
		size_t filled = 0;
		ssize_t w;

		memset(junk, '.', sizeof(junk));
		fcntl(out[1], F_SETFL, fl | O_NONBLOCK);
		while ((w = write(out[1], junk, sizeof(junk))) > 0)
			filled += (size_t)w;
		fcntl(out[1], F_SETFL, fl);
		memcpy(in->out, "boot ok\n", 8);
		__atomic_store_n(&in->out_prod, 8, __ATOMIC_RELEASE);
		KTAP_EXPECT(t, guest_send(f, (uint32_t)port) == 0);
		/* Drain the filler; the loop then delivers the rest. */
		while (filled) {
			w = read(out[0], junk, filled < sizeof(junk) ?
						       filled : sizeof(junk));
			if (w <= 0)
				break;
			filled -= (size_t)w;
		}
		KTAP_EXPECT(t, filled == 0);
	}
	{
		struct pollfd pf = { .fd = out[0], .events = POLLIN };

		if (poll(&pf, 1, 2000) > 0)
			k = read(out[0], buf, sizeof(buf) - 1);
	}
	KTAP_EXPECT(t, k == 8 && !strcmp(buf, "boot ok\n"));
	/* Host input reaches the guest's ring via the event loop. */
	KTAP_EXPECT(t, write(inp[1], "root\n", 5) == 5);
	for (i = 0; i < 2000 && __atomic_load_n(&in->in_prod,
						__ATOMIC_ACQUIRE) < 5; i++)
		sleep_ms(1);
	KTAP_EXPECT(t, in->in_prod == 5 && !memcmp(in->in, "root\n", 5));
	/* The escape key stops the VM. */
	KTAP_EXPECT(t, write(inp[1], "\x1d", 1) == 1);
	for (i = 0; i < 2000 && !f->vm.stopping; i++)
		sleep_ms(1);
	KTAP_EXPECT(t, f->vm.stopping);
out:
	event_loop_stop(f->vm.loop);
	pthread_join(th, NULL);
	pv_console_detach(c);
	event_loop_destroy(f->vm.loop);
	f->vm.loop = NULL;
	close(out[0]);
	close(out[1]);
	close(inp[0]);
	close(inp[1]);
	fake_vm_free(f);
	ktap_case_end(t, "PV console on the machine: params, port, fds, escape");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 3);
	test_store_service(&t);
	test_unannounced_payload(&t);
	test_console_attach(&t);
	return ktap_finish(&t);
}
