// SPDX-License-Identifier: GPL-2.0
/*
 * xknet: TCP throughput and request/response rate between a Xen guest and
 * its host, for `make bench` (tests/bench/50-net). One static binary for
 * both sides: the testbed runs the server in L1 and the clients in the
 * guest.
 *
 *   xknet server [-p PORT]
 *       serve clients one after the other until killed: sink a stream and
 *       acknowledge what arrived, send one, or echo 1-byte requests
 *   xknet stream HOST [-p PORT] [-t SECONDS] [-n RUNS] [-f FIGURE]
 *       send to HOST for SECONDS; the rate counts only the bytes the
 *       server acknowledged having read, up to the moment the ack
 *       arrives, so filling socket buffers does not count
 *   xknet stream-rev HOST [...]
 *       the server sends for SECONDS, we count what arrives until its EOF
 *   xknet rr HOST [...]
 *       1-byte request, 1-byte response, as many as fit in SECONDS
 *   xknet features IFACE
 *       the interface's offloads, as ethtool -k would say (busybox has no
 *       ethtool): sg, tso, tx-csum, rx-csum, gso
 *
 * Every client prints one line per figure, the median of RUNS runs:
 *   BENCH FIGURE VALUE UNIT runs=N spread=X%
 * where spread is (max - min) / median. Exit 0, or 1 with a message on
 * stderr; 2 for a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PORT	5201
#define MAX_RUNS	20
#define CHUNK		(128 * 1024)

enum mode { MODE_STREAM = 'S', MODE_REVERSE = 'W', MODE_RR = 'R' };

/* What a client asks for: its mode and, for the server's sends, how long. */
struct hello {
	uint8_t mode;
	uint8_t pad[3];
	uint32_t seconds;	/* network order */
};

struct opts {
	const char *host;
	unsigned int port;
	unsigned int seconds;
	unsigned int runs;
	const char *figure;
};

static uint8_t buf[CHUNK];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: xknet server [-p PORT]\n"
		"       xknet stream|stream-rev|rr HOST [-p PORT] [-t SECONDS] [-n RUNS] [-f FIGURE]\n"
		"       xknet features IFACE\n");
	return 2;
}

static int fail(const char *what)
{
	fprintf(stderr, "xknet: %s: %s\n", what, strerror(errno));
	return -1;
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, or -1 on error or an early EOF. */
static int read_all(int fd, void *p, size_t len)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = read(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EPIPE;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Read until EOF; the count, or -1. */
static int64_t sink(int fd)
{
	int64_t total = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			return total;
		total += n;
	}
}

/* Write for @seconds; the count, or -1. */
static int64_t source(int fd, unsigned int seconds)
{
	double end = now() + seconds;
	int64_t total = 0;

	while (now() < end) {
		if (write_all(fd, buf, sizeof(buf)))
			return -1;
		total += (int64_t)sizeof(buf);
	}
	return total;
}

/* ---- server ---- */

static int put_u64(int fd, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return write_all(fd, b, sizeof(b));
}

static int get_u64(int fd, uint64_t *v)
{
	uint8_t b[8];

	if (read_all(fd, b, sizeof(b)))
		return -1;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | b[i];
	return 0;
}

static void echo_bytes(int fd)
{
	uint8_t c;

	while (!read_all(fd, &c, 1) && !write_all(fd, &c, 1))
		;
}

static void serve_one(int fd)
{
	struct hello h;
	int64_t n;

	if (read_all(fd, &h, sizeof(h)))
		return;
	switch (h.mode) {
	case MODE_STREAM:
		/* The ack: what we read, sent after the client's EOF. */
		n = sink(fd);
		if (n >= 0)
			put_u64(fd, (uint64_t)n);
		break;
	case MODE_REVERSE:
		if (source(fd, ntohl(h.seconds) ? ntohl(h.seconds) : 1) >= 0)
			shutdown(fd, SHUT_WR);
		sink(fd);	/* until the client closes */
		break;
	case MODE_RR:
		set_nodelay(fd);
		echo_bytes(fd);
		break;
	default:
		fprintf(stderr, "xknet: server: unknown mode 0x%02x\n", h.mode);
	}
}

static int run_server(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (ls < 0)
		return fail("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4))
		return fail("bind/listen");
	for (;;) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return fail("accept");
		}
		serve_one(fd);
		close(fd);
	}
}

/* ---- clients ---- */

static int connect_to(const struct opts *o, uint8_t mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)o->port) };
	struct hello h = { .mode = mode, .seconds = htonl(o->seconds) };
	int fd;

	if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1) {
		fprintf(stderr, "xknet: '%s' is not an IPv4 address\n", o->host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "xknet: connect %s:%u: %s\n", o->host, o->port,
			strerror(errno));
		close(fd);
		return -1;
	}
	if (mode == MODE_RR)
		set_nodelay(fd);
	if (write_all(fd, &h, sizeof(h))) {
		close(fd);
		return fail("hello");
	}
	return fd;
}

/* One run: bytes per second the server acknowledged, or -1. */
static double stream_once(const struct opts *o)
{
	int fd = connect_to(o, MODE_STREAM);
	uint64_t acked;
	int64_t sent;
	double t0, rate = -1;

	if (fd < 0)
		return -1;
	t0 = now();
	sent = source(fd, o->seconds);
	if (sent < 0) {
		fail("stream: send");
	} else if (shutdown(fd, SHUT_WR) || get_u64(fd, &acked)) {
		fail("stream: the server's ack");
	} else if (acked != (uint64_t)sent) {
		fprintf(stderr, "xknet: stream: sent %" PRId64 " bytes, the server read %" PRIu64 "\n",
			sent, acked);
	} else {
		rate = (double)acked / (now() - t0);
	}
	close(fd);
	return rate;
}

/* One run: bytes per second received from the server until its EOF. */
static double reverse_once(const struct opts *o)
{
	int fd = connect_to(o, MODE_REVERSE);
	int64_t got;
	double t0;

	if (fd < 0)
		return -1;
	t0 = now();
	got = sink(fd);
	close(fd);
	if (got <= 0) {
		fprintf(stderr, "xknet: stream-rev: received %" PRId64 " bytes\n", got);
		return -1;
	}
	return (double)got / (now() - t0);
}

/* One run: transactions per second. */
static double rr_once(const struct opts *o)
{
	int fd = connect_to(o, MODE_RR);
	double t0, end;
	uint64_t n = 0;
	uint8_t c = 'x';

	if (fd < 0)
		return -1;
	t0 = now();
	end = t0 + o->seconds;
	while (now() < end) {
		if (write_all(fd, &c, 1) || read_all(fd, &c, 1)) {
			fail("rr");
			close(fd);
			return -1;
		}
		n++;
	}
	close(fd);
	return (double)n / (now() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int report(const char *figure, const char *unit, double scale,
		  double *v, unsigned int n)
{
	double med, spread;

	qsort(v, n, sizeof(*v), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	spread = med > 0 ? (v[n - 1] - v[0]) / med * 100 : 0;
	printf("BENCH %s %.*f %s runs=%u spread=%.0f%%\n", figure,
	       med / scale < 100 ? 2 : 0, med / scale, unit, n, spread);
	return 0;
}

static int run_client(const char *mode, const struct opts *o)
{
	double (*once)(const struct opts *);
	const char *figure, *unit;
	double v[MAX_RUNS], scale;

	if (!strcmp(mode, "stream")) {
		once = stream_once, figure = "tcp_stream", unit = "MB/s", scale = 1e6;
	} else if (!strcmp(mode, "stream-rev")) {
		once = reverse_once, figure = "tcp_stream_rev", unit = "MB/s", scale = 1e6;
	} else if (!strcmp(mode, "rr")) {
		once = rr_once, figure = "tcp_rr", unit = "trans/s", scale = 1;
	} else {
		return usage();
	}
	for (unsigned int i = 0; i < o->runs; i++) {
		v[i] = once(o);
		if (v[i] < 0)
			return 1;
	}
	return report(o->figure ? o->figure : figure, unit, scale, v, o->runs);
}

/* ---- features ---- */

static int ethtool_get(int s, const char *ifname, uint32_t cmd, bool *on)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (char *)&ev;
	if (ioctl(s, SIOCETHTOOL, &ifr))
		return -1;
	*on = ev.data != 0;
	return 0;
}

static int run_features(const char *ifname)
{
	static const struct { const char *name; uint32_t cmd; } f[] = {
		{ "sg", ETHTOOL_GSG },
		{ "tso", ETHTOOL_GTSO },
		{ "tx-csum", ETHTOOL_GTXCSUM },
		{ "rx-csum", ETHTOOL_GRXCSUM },
		{ "gso", ETHTOOL_GGSO },
	};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		fail("socket");
		return 1;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		bool on;

		if (ethtool_get(s, ifname, f[i].cmd, &on)) {
			fprintf(stderr, "xknet: %s: %s: %s\n", ifname, f[i].name,
				strerror(errno));
			close(s);
			return 1;
		}
		printf("%s%s %s", i ? " " : "", f[i].name, on ? "on" : "off");
	}
	printf("\n");
	close(s);
	return 0;
}

/* ---- options ---- */

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "xknet: '%s' is not a number in %u..%u\n", s, min,
			max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, int first, struct opts *o)
{
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc || a[0] != '-' || !a[1] || a[2]) {
			fprintf(stderr, "xknet: unexpected '%s'\n", a);
			return -1;
		}
		switch (a[1]) {
		case 'p':
			if (parse_uint(argv[++i], 1, 65535, &o->port))
				return -1;
			break;
		case 't':
			if (parse_uint(argv[++i], 1, 3600, &o->seconds))
				return -1;
			break;
		case 'n':
			if (parse_uint(argv[++i], 1, MAX_RUNS, &o->runs))
				return -1;
			break;
		case 'f':
			o->figure = argv[++i];
			break;
		default:
			fprintf(stderr, "xknet: unknown option '%s'\n", a);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = DEFAULT_PORT, .seconds = 5, .runs = 3 };

	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A peer that goes away is an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "server")) {
		if (parse_opts(argc, argv, 2, &o))
			return usage();
		return run_server(o.port) ? 1 : 0;
	}
	if (!strcmp(argv[1], "features"))
		return argc == 3 ? run_features(argv[2]) : usage();
	if (argc < 3 || parse_opts(argc, argv, 3, &o))
		return usage();
	o.host = argv[2];
	return run_client(argv[1], &o);
}
