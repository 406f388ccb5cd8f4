// SPDX-License-Identifier: GPL-2.0
/*
 * xsctl: a small xenstore client speaking the xs_wire.h protocol.
 *
 *   xsctl [--socket PATH] [--timeout SECS] COMMAND ARGS...
 *     read PATH | write PATH VALUE | rm PATH | ls PATH
 *     watch PATH TOKEN [COUNT]
 *
 * Without --socket it talks to the guest kernel's /dev/xen/xenbus (a Xen
 * guest); with --socket to a xenstore Unix socket (the VMM's
 * --xenstore-socket, domain 0 rights). Both carry the same messages:
 * a struct xsd_sockmsg header then len bytes of payload; watch events
 * arrive as XS_WATCH_EVENT on the same connection.
 *
 * watch prints "PATH TOKEN" for each event after the one the store sends
 * when the watch is registered, and exits after COUNT (default 1) of them
 * or fails after the timeout (default 60 s).
 *
 * Exit status: 0 success; 1 error (an XS_ERROR reply is printed as its
 * errno name); 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

static const char *prog = "xsctl";
static int timeout_ms = 60000;
static int fd = -1;
static uint32_t next_req_id = 1;

/* Bytes read but not yet consumed (a read may return several messages). */
static char inbuf[2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)];
static size_t inlen;

struct msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];	/* NUL-terminated copy */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--socket PATH] [--timeout SECS] COMMAND ARGS...\n"
		"  read PATH\n  write PATH VALUE\n  rm PATH\n  ls PATH\n"
		"  watch PATH TOKEN [COUNT]\n", prog);
	exit(2);
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void open_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path,
			strerror(errno));
		exit(1);
	}
}

static void open_xenbus(void)
{
	static const char dev[] = "/dev/xen/xenbus";

	fd = open(dev, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s (not a Xen guest, or "
			"no xenbus?)\n", prog, dev, strerror(errno));
		exit(1);
	}
}

/* Send one request whose payload is the given NUL-terminated arguments
 * (the last one without its NUL if raw_last). */
static uint32_t send_req(uint32_t type, const char **args, int nargs, int raw_last)
{
	char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg hdr = { .type = type, .req_id = next_req_id++ };
	size_t len = 0, off = 0;
	ssize_t n;

	for (int i = 0; i < nargs; i++) {
		size_t l = strlen(args[i]) + !(raw_last && i == nargs - 1);

		if (len + l > XENSTORE_PAYLOAD_MAX)
			die("request too long (%s)", "over XENSTORE_PAYLOAD_MAX");
		memcpy(buf + sizeof(hdr) + len, args[i], l);
		len += l;
	}
	hdr.len = (uint32_t)len;
	memcpy(buf, &hdr, sizeof(hdr));
	len += sizeof(hdr);
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to xenstore: %s", n < 0 ? strerror(errno) : "short");
		off += (size_t)n;
	}
	return hdr.req_id;
}

/* Read the next message; 0 on success, -1 on timeout (deadline in ms). */
static int recv_msg(struct msg *m, long long deadline)
{
	for (;;) {
		if (inlen >= sizeof(m->hdr)) {
			memcpy(&m->hdr, inbuf, sizeof(m->hdr));
			if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
				die("oversized message from xenstore (%s)", "len");
			size_t total = sizeof(m->hdr) + m->hdr.len;

			if (inlen >= total) {
				memcpy(m->body, inbuf + sizeof(m->hdr), m->hdr.len);
				m->body[m->hdr.len] = '\0';
				memmove(inbuf, inbuf + total, inlen - total);
				inlen -= total;
				return 0;
			}
		}
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (left <= 0)
			return -1;
		int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll: %s", strerror(errno));
		if (r == 0)
			continue;
		ssize_t n = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read from xenstore: %s", strerror(errno));
		if (n == 0)
			die("xenstore closed the connection%s", "");
		inlen += (size_t)n;
	}
}

/* The reply to a request (watch events meanwhile are dropped). */
static void reply(uint32_t req_id, uint32_t type, struct msg *m)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		if (recv_msg(m, deadline) < 0)
			die("no reply from xenstore within the timeout%s", "");
		if (m->hdr.type == XS_WATCH_EVENT)
			continue;
		if (m->hdr.req_id != req_id)
			continue;
		if (m->hdr.type == XS_ERROR)
			die("%s", m->body);
		if (m->hdr.type != type) {
			fprintf(stderr, "%s: reply of type %u to request %u\n",
				prog, m->hdr.type, type);
			exit(1);
		}
		return;
	}
}

static struct msg m;

static int cmd_watch(const char *path, const char *token, long count)
{
	const char *args[] = { path, token };
	long long deadline = now_ms() + timeout_ms;
	uint32_t id = send_req(XS_WATCH, args, 2, 0);
	int acked = 0, initial = 0;
	long seen = 0;

	while (seen < count) {
		if (recv_msg(&m, deadline) < 0) {
			fprintf(stderr, "%s: watch %s: %ld of %ld event(s) "
				"within %d s\n", prog, path, seen, count,
				timeout_ms / 1000);
			return 1;
		}
		if (m.hdr.type == XS_WATCH_EVENT) {
			/* "PATH\0TOKEN\0" */
			const char *ep = m.body;
			size_t pl = strnlen(m.body, m.hdr.len);
			const char *et = pl < m.hdr.len ? m.body + pl + 1 : "";

			if (strcmp(et, token) != 0)
				continue;
			if (!initial) {	/* the one sent on registration */
				initial = 1;
				continue;
			}
			printf("%s %s\n", ep, et);
			fflush(stdout);
			seen++;
			continue;
		}
		if (m.hdr.req_id != id)
			continue;
		if (m.hdr.type == XS_ERROR)
			die("%s", m.body);
		if (m.hdr.type != XS_WATCH)
			die("unexpected reply to XS_WATCH%s", "");
		acked = 1;
	}
	(void)acked;
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int i = 1;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			sock = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			long t = strtol(argv[i + 1], &end, 10);

			if (*end || t <= 0 || t > 3600)
				usage();
			timeout_ms = (int)t * 1000;
			i += 2;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	const char *cmd = argv[i++];
	int nargs = argc - i;
	char **a = argv + i;

	if (strcmp(cmd, "read") == 0 || strcmp(cmd, "rm") == 0 ||
	    strcmp(cmd, "ls") == 0) {
		if (nargs != 1)
			usage();
	} else if (strcmp(cmd, "write") == 0) {
		if (nargs != 2)
			usage();
	} else if (strcmp(cmd, "watch") == 0) {
		if (nargs != 2 && nargs != 3)
			usage();
	} else {
		usage();
	}

	if (sock)
		open_socket(sock);
	else
		open_xenbus();

	if (strcmp(cmd, "read") == 0) {
		const char *args[] = { a[0] };

		reply(send_req(XS_READ, args, 1, 0), XS_READ, &m);
		fwrite(m.body, 1, m.hdr.len, stdout);
		putchar('\n');
	} else if (strcmp(cmd, "write") == 0) {
		const char *args[] = { a[0], a[1] };

		reply(send_req(XS_WRITE, args, 2, 1), XS_WRITE, &m);
	} else if (strcmp(cmd, "rm") == 0) {
		const char *args[] = { a[0] };

		reply(send_req(XS_RM, args, 1, 0), XS_RM, &m);
	} else if (strcmp(cmd, "ls") == 0) {
		const char *args[] = { a[0] };

		reply(send_req(XS_DIRECTORY, args, 1, 0), XS_DIRECTORY, &m);
		for (uint32_t off = 0; off < m.hdr.len;) {
			size_t l = strnlen(m.body + off, m.hdr.len - off);

			if (l)
				printf("%.*s\n", (int)l, m.body + off);
			off += (uint32_t)l + 1;
		}
	} else {
		long count = 1;

		if (nargs == 3) {
			char *end;

			count = strtol(a[2], &end, 10);
			if (*end || count <= 0)
				usage();
		}
		return cmd_watch(a[0], a[1], count);
	}
	if (fflush(stdout) != 0)
		die("stdout: %s", strerror(errno));
	return 0;
}
