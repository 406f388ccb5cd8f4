// SPDX-License-Identifier: GPL-2.0
/*
 * The host xenstore socket: dom0 rights over a Unix socket, watches that
 * reach socket clients, private permissions, misbehaving clients.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ktap.h"
#include "xs_client.h"

struct srv {
	char dir[64];
	char path[100];
	struct xs_store *s;
	struct xs_socket *sk;
};

static bool srv_init(struct srv *v)
{
	struct xs_domain_info info = { "sockguest", 2048, 1 };

	snprintf(v->dir, sizeof(v->dir), "/tmp/xs-test-XXXXXX");
	if (!mkdtemp(v->dir))
		return false;
	snprintf(v->path, sizeof(v->path), "%s/xenstore.sock", v->dir);
	v->s = xs_store_new();
	xs_domain_introduce(v->s, 5, &info);
	v->sk = xs_socket_open(v->s, v->path);
	return v->sk != NULL;
}

static void srv_fini(struct srv *v)
{
	xs_socket_close(v->sk);
	xs_store_free(v->s);
	rmdir(v->dir);
}

static int dial(const struct srv *v)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", v->path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run the server until @fd has input or ~1 s passed. */
static bool pump_until_readable(struct srv *v, int fd)
{
	int i;

	for (i = 0; i < 200; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		xs_socket_dispatch(v->sk);
		if (poll(&p, 1, 5) > 0)
			return true;
	}
	return false;
}

static bool recv_all(struct srv *v, int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k;

		if (!pump_until_readable(v, fd))
			return false;
		k = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

static bool recv_msg(struct srv *v, int fd, struct xs_msg *m)
{
	if (!recv_all(v, fd, &m->hdr, sizeof(m->hdr)) ||
	    m->hdr.len > XENSTORE_PAYLOAD_MAX ||
	    !recv_all(v, fd, m->body, m->hdr.len))
		return false;
	m->body[m->hdr.len] = '\0';
	return true;
}

static bool send_req(int fd, uint32_t type, uint32_t req_id, const void *p,
		     size_t len)
{
	struct xsd_sockmsg h = { type, req_id, 0, (uint32_t)len };

	return send(fd, &h, sizeof(h), MSG_NOSIGNAL) == sizeof(h) &&
	       send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static void test_dom0_over_socket(struct ktap *t)
{
	struct srv v;
	struct xs_msg m;
	struct stat st;
	char buf[256];
	size_t n;
	int fd;
	char *val = NULL;

	KTAP_EXPECT(t, srv_init(&v));
	KTAP_EXPECT(t, !stat(v.path, &st) && S_ISSOCK(st.st_mode) &&
			       (st.st_mode & 0777) == 0600);
	fd = dial(&v);
	KTAP_EXPECT(t, fd >= 0);
	/* Read the guest's tree with dom0 rights. */
	n = xs_args(buf, "/local/domain/5/name", NULL);
	KTAP_EXPECT(t, send_req(fd, XS_READ, 1, buf, n) && recv_msg(&v, fd, &m) &&
			       m.hdr.req_id == 1 && !strcmp(m.body, "sockguest"));
	/* Write where the guest cannot. */
	n = xs_args(buf, "/local/domain/5/name", NULL);
	memcpy(buf + n, "renamed", 7);
	KTAP_EXPECT(t, send_req(fd, XS_WRITE, 2, buf, n + 7) &&
			       recv_msg(&v, fd, &m) && xs_is_ok(&m, XS_WRITE));
	KTAP_EXPECT(t, !xenstore_read(v.s, "/local/domain/5/name", &val, NULL) &&
			       !strcmp(val, "renamed"));
	free(val);
	/* A relative path from dom0 is relative to /local/domain/0. */
	n = xs_args(buf, "name", NULL);
	KTAP_EXPECT(t, send_req(fd, XS_READ, 3, buf, n) && recv_msg(&v, fd, &m) &&
			       !strcmp(m.body, "Domain-0"));
	/* Privileged operations are allowed. */
	n = xs_args(buf, "5", NULL);
	KTAP_EXPECT(t, send_req(fd, XS_IS_DOMAIN_INTRODUCED, 4, buf, n) &&
			       recv_msg(&v, fd, &m) && !strcmp(m.body, "T"));
	close(fd);
	srv_fini(&v);
	KTAP_EXPECT(t, access(v.path, F_OK) != 0);
	ktap_case_end(t, "dom0 reads and writes the guest tree over the socket");
}

static void test_watch_over_socket(struct ktap *t)
{
	struct srv v;
	struct xs_msg m;
	char buf[256];
	size_t n;
	int a, b;

	KTAP_EXPECT(t, srv_init(&v));
	a = dial(&v);
	b = dial(&v);
	n = xs_args(buf, "/local/domain/5/device", "devtok", NULL);
	KTAP_EXPECT(t, send_req(a, XS_WATCH, 9, buf, n) && recv_msg(&v, a, &m) &&
			       xs_is_ok(&m, XS_WATCH));
	KTAP_EXPECT(t, recv_msg(&v, a, &m) && m.hdr.type == XS_WATCH_EVENT &&
			       !strcmp(m.body, "/local/domain/5/device"));
	/* A change by another client ... */
	n = xs_args(buf, "/local/domain/5/device/vif", NULL);
	KTAP_EXPECT(t, send_req(b, XS_MKDIR, 1, buf, n) && recv_msg(&v, b, &m) &&
			       xs_is_ok(&m, XS_MKDIR));
	KTAP_EXPECT(t, recv_msg(&v, a, &m) && m.hdr.type == XS_WATCH_EVENT &&
			       !strcmp(m.body, "/local/domain/5/device/vif") &&
			       !strcmp(m.body + strlen(m.body) + 1, "devtok"));
	/* ... and by the machine through the host API. */
	xenstore_write(v.s, "/local/domain/5/device/vif/0", "x");
	KTAP_EXPECT(t, recv_msg(&v, a, &m) && m.hdr.type == XS_WATCH_EVENT &&
			       !strcmp(m.body, "/local/domain/5/device/vif/0"));
	/* A closed client's watches go away with it. */
	close(a);
	xs_socket_dispatch(v.sk);
	xenstore_write(v.s, "/local/domain/5/device/vif/1", "x");
	xs_socket_dispatch(v.sk);
	close(b);
	srv_fini(&v);
	ktap_case_end(t, "watches reach socket clients");
}

static void test_bad_clients(struct ktap *t)
{
	struct xsd_sockmsg h = { XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };
	struct srv v;
	struct xs_msg m;
	char buf[64];
	size_t n;
	int fd, good;

	KTAP_EXPECT(t, srv_init(&v));
	/* Oversized: E2BIG, then the server hangs up. */
	fd = dial(&v);
	send(fd, &h, sizeof(h), MSG_NOSIGNAL);
	KTAP_EXPECT(t, recv_msg(&v, fd, &m) && xs_is_error(&m, "E2BIG"));
	KTAP_EXPECT(t, pump_until_readable(&v, fd) &&
			       recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 0);
	close(fd);
	/* A client that floods without reading does not stop others. */
	fd = dial(&v);
	good = dial(&v);
	{
		struct xsd_sockmsg r = { XS_READ, 2, 0, sizeof("/local") };
		char req[sizeof(r) + sizeof("/local")];
		int i;

		memcpy(req, &r, sizeof(r));
		memcpy(req + sizeof(r), "/local", sizeof("/local"));
		for (i = 0; i < 20000; i++) {
			if (send(fd, req, sizeof(req),
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
			if (i % 64 == 0)
				xs_socket_dispatch(v.sk);
		}
	}
	n = xs_args(buf, "/local/domain/5/domid", NULL);
	KTAP_EXPECT(t, send_req(good, XS_READ, 7, buf, n) &&
			       recv_msg(&v, good, &m) && !strcmp(m.body, "5"));
	/* The flooder's unread requests must not keep the server busy. */
	{
		struct pollfd p = { .fd = xs_socket_fd(v.sk), .events = POLLIN };
		int i;

		for (i = 0; i < 8; i++)
			xs_socket_dispatch(v.sk);
		KTAP_EXPECT(t, poll(&p, 1, 0) == 0);
	}
	close(fd);
	close(good);
	srv_fini(&v);
	ktap_case_end(t, "oversized and flooding clients");
}

static void test_refuses_to_clobber(struct ktap *t)
{
	char dir[] = "/tmp/xs-test-XXXXXX", path[64];
	struct xs_store *s = xs_store_new();
	FILE *f;

	KTAP_EXPECT(t, mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notasocket", dir);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	KTAP_EXPECT(t, xs_socket_open(s, path) == NULL);
	KTAP_EXPECT(t, access(path, F_OK) == 0);	/* still there */
	unlink(path);
	rmdir(dir);
	xs_store_free(s);
	ktap_case_end(t, "never replaces a file that is not a socket");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 4);
	test_dom0_over_socket(&t);
	test_watch_over_socket(&t);
	test_bad_clients(&t);
	test_refuses_to_clobber(&t);
	return ktap_finish(&t);
}
