// SPDX-License-Identifier: GPL-2.0
/*
 * xkblk: block I/O figures from inside a guest, on a raw disk opened with
 * O_DIRECT (no guest page cache between the tool and the PV frontend).
 *
 *   xkblk [-d DEV]... [-n RUNS] [-t MS] [-w MIB] [-j THREADS] [-v MIB]
 *
 * Every run measures, for MS milliseconds each and on each DEV:
 *   seq_write_1m, seq_read_1m     1 MiB requests through the first MIB
 *                                 MiB of DEV, wrapping (MB/s, 10^6 bytes)
 *   rand_write_4k, rand_read_4k   4 KiB requests at random 4 KiB-aligned
 *                                 offsets in that window, one at a time
 *                                 (queue depth 1; IO/s)
 *   rand_write_4k_jN, rand_read_4k_jN
 *                                 the same from THREADS threads at once,
 *                                 each with one request outstanding
 *                                 (queue depth THREADS; -j 0 skips them)
 * and prints, per figure,
 *
 *   BENCH <figure> <value> <unit> runs=<n> spread=<x>%
 *
 * value being the median over the runs and spread (max - min) / median;
 * with several disks, `BENCH <disk> <figure> ...` (<disk> the name without
 * /dev/). The figures and disks take turns, run after run, so a burst of
 * load on the host touches all of them alike: two disks of one guest
 * served two ways are compared side by side.
 *
 * -v MIB first writes 1 MiB of the text `yes xenkvm-blk-0123456789abc
 * defghijklmnopqrstuvwxyz` prints at MIB MiB, reads it back with O_DIRECT
 * and compares (keep it outside the window: the host can check the image
 * there afterwards). Everything the benchmarks write is a pattern too,
 * never all zeroes.
 *
 * Exit status: 0 done, 1 usage, 2 the device is missing, too small or
 * refuses O_DIRECT, 3 an I/O error or a read-back mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL		4096u
#define BIG		(1u << 20)
#define MAX_RUNS	64
#define MAX_THREADS	16
#define MAX_FIGURES	6
#define MAX_DISKS	4
#define VERIFY_TEXT	"xenkvm-blk-0123456789abcdefghijklmnopqrstuvwxyz\n"

struct opts {
	const char *dev[MAX_DISKS];
	unsigned int ndev;
	unsigned int runs;
	unsigned int ms;
	uint64_t window;	/* bytes */
	unsigned int threads;
	long long verify_mib;	/* -1: no verification */
};

/* One figure: what to do, and its result of every run. */
struct figure {
	char name[32];
	const char *unit;
	bool write;
	bool sequential;
	unsigned int threads;
	double value[MAX_RUNS];
};

/* One worker of a timed measurement; the main thread owns @stop. */
struct worker {
	int fd;
	const struct figure *fig;
	uint64_t window;
	uint64_t seed;
	atomic_bool *stop;
	uint64_t ops;
	int err;		/* errno of a failed request, or 0 */
	pthread_t thread;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: xkblk [-d DEV]... [-n RUNS] [-t MS] [-w MIB] [-j THREADS] [-v MIB]\n"
		"  -d DEV      a disk, opened O_DIRECT (default /dev/xvda; up to %d)\n"
		"  -n RUNS     runs per figure, 1..%d (default 5)\n"
		"  -t MS       milliseconds per figure and run (default 1000)\n"
		"  -w MIB      the window the benchmarks read and write (default 64)\n"
		"  -j THREADS  threads of the parallel 4 KiB figures, 0..%d (default 4)\n"
		"  -v MIB      first write, read back and compare 1 MiB at MIB MiB\n",
		MAX_DISKS, MAX_RUNS, MAX_THREADS);
	exit(1);
}

static bool parse_num(const char *s, unsigned long long max,
		      unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end && *v <= max;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	unsigned long long v;
	int c;

	*o = (struct opts){ .runs = 5, .ms = 1000, .window = 64ull << 20,
			    .threads = 4, .verify_mib = -1 };
	while ((c = getopt(argc, argv, "d:n:t:w:j:v:h")) != -1) {
		switch (c) {
		case 'd':
			if (o->ndev == MAX_DISKS)
				usage();
			o->dev[o->ndev++] = optarg;
			break;
		case 'n':
			if (!parse_num(optarg, MAX_RUNS, &v) || !v)
				usage();
			o->runs = (unsigned int)v;
			break;
		case 't':
			if (!parse_num(optarg, 3600000, &v) || !v)
				usage();
			o->ms = (unsigned int)v;
			break;
		case 'w':
			if (!parse_num(optarg, 1u << 20, &v) || !v)
				usage();
			o->window = v << 20;
			break;
		case 'j':
			if (!parse_num(optarg, MAX_THREADS, &v))
				usage();
			o->threads = (unsigned int)v;
			break;
		case 'v':
			if (!parse_num(optarg, 1u << 30, &v))
				usage();
			o->verify_mib = (long long)v;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!o->ndev)
		o->dev[o->ndev++] = "/dev/xvda";
	/* The benchmarks would overwrite what the host checks afterwards. */
	if (o->verify_mib >= 0 && ((uint64_t)o->verify_mib << 20) < o->window) {
		fprintf(stderr, "xkblk: -v %lld lies inside the %llu MiB window (-w)\n",
			o->verify_mib, (unsigned long long)(o->window >> 20));
		exit(1);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *alloc_buf(size_t len, uint32_t seed)
{
	uint8_t *p;

	if (posix_memalign((void **)&p, SMALL, len))
		return NULL;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 12) + 1);
	return p;
}

/* One request of @len bytes; 0 or an errno (EIO for a short transfer). */
static int do_io(int fd, bool write, void *buf, size_t len, uint64_t off)
{
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) :
			    pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	size_t len = w->fig->sequential ? BIG : SMALL;
	uint64_t blocks = w->window / len, seq = 0;
	void *buf = alloc_buf(len, (uint32_t)w->seed);

	if (!buf) {
		w->err = ENOMEM;
		return NULL;
	}
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		uint64_t blk = w->fig->sequential ? seq++ % blocks :
						    xorshift(&w->seed) % blocks;

		w->err = do_io(w->fd, w->fig->write, buf, len, blk * len);
		if (w->err)
			break;
		w->ops++;
	}
	free(buf);
	return NULL;
}

/* One run of @fig: its rate over @ms milliseconds, or -1 on an error. */
static double measure(int fd, const struct opts *o, const struct figure *fig,
		      unsigned int run)
{
	struct worker w[MAX_THREADS];
	struct timespec dur = { o->ms / 1000, (long)(o->ms % 1000) * 1000000 };
	atomic_bool stop = false;
	unsigned int started = 0;
	uint64_t ops = 0;
	double t0, t1;
	int err = 0;

	t0 = now_s();
	for (unsigned int i = 0; i < fig->threads; i++) {
		w[i] = (struct worker){ .fd = fd, .fig = fig, .window = o->window,
					.seed = 0x9e3779b97f4a7c15ull * (run * 64 + i + 1),
					.stop = &stop };
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			err = EAGAIN;
			break;
		}
		started++;
	}
	while (nanosleep(&dur, &dur) && errno == EINTR)
		;
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		ops += w[i].ops;
		if (w[i].err && !err)
			err = w[i].err;
	}
	t1 = now_s();
	if (err) {
		fprintf(stderr, "xkblk: %s: %s\n", fig->name, strerror(err));
		return -1;
	}
	if (fig->sequential)
		return (double)ops * BIG / 1e6 / (t1 - t0);
	return (double)ops / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *disk, struct figure *fig, unsigned int runs)
{
	double med, spread;

	qsort(fig->value, runs, sizeof(double), cmp_double);
	med = runs % 2 ? fig->value[runs / 2] :
			 (fig->value[runs / 2 - 1] + fig->value[runs / 2]) / 2;
	spread = med > 0 ? (fig->value[runs - 1] - fig->value[0]) / med * 100 : 0;
	printf("BENCH %s%s%s %.1f %s runs=%u spread=%.1f%%\n", disk ? disk : "",
	       disk ? " " : "", fig->name, med, fig->unit, runs, spread);
}

/* Opened O_DIRECT, big enough, and a first direct read works. */
static int open_disk(const char *dev, uint64_t need)
{
	uint64_t size = 0;
	struct stat st;
	void *buf;
	int fd, err;

	fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "xkblk: cannot open %s with O_DIRECT: %s\n",
			dev, strerror(errno));
		exit(2);
	}
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode) ||
	    ioctl(fd, BLKGETSIZE64, &size)) {
		fprintf(stderr, "xkblk: %s is not a block device\n", dev);
		exit(2);
	}
	if (size < need) {
		fprintf(stderr, "xkblk: %s has %llu bytes, the benchmarks need %llu\n",
			dev, (unsigned long long)size, (unsigned long long)need);
		exit(2);
	}
	buf = alloc_buf(SMALL, 0);
	err = buf ? do_io(fd, false, buf, SMALL, 0) : ENOMEM;
	free(buf);
	if (err) {
		fprintf(stderr, "xkblk: an O_DIRECT read of %s failed: %s\n",
			dev, strerror(err));
		exit(err == EINVAL ? 2 : 3);
	}
	return fd;
}

/* 1 MiB of `yes VERIFY_TEXT`, written, read back with O_DIRECT, compared. */
static void verify(const char *dev, int fd, uint64_t off)
{
	size_t tl = strlen(VERIFY_TEXT);
	uint8_t *out = alloc_buf(BIG, 0), *in = alloc_buf(BIG, 1);
	int err;

	if (!out || !in) {
		fprintf(stderr, "xkblk: out of memory\n");
		exit(3);
	}
	for (size_t i = 0; i < BIG; i++)
		out[i] = (uint8_t)VERIFY_TEXT[i % tl];
	err = do_io(fd, true, out, BIG, off);
	if (!err)
		err = fdatasync(fd) ? errno : 0;
	if (!err)
		err = do_io(fd, false, in, BIG, off);
	if (err) {
		fprintf(stderr, "xkblk: %s: verify at %llu: %s\n", dev,
			(unsigned long long)off, strerror(err));
		exit(3);
	}
	if (memcmp(out, in, BIG)) {
		fprintf(stderr, "xkblk: %s: verify at %llu: the data read back differs\n",
			dev, (unsigned long long)off);
		exit(3);
	}
	printf("xkblk: %s: verify ok: 1 MiB at %llu MiB written and read back\n",
	       dev, (unsigned long long)(off >> 20));
	free(out);
	free(in);
}

static unsigned int make_figures(const struct opts *o, struct figure *f)
{
	static const struct { const char *name; bool write, seq; } base[] = {
		{ "seq_write_1m", true, true },
		{ "seq_read_1m", false, true },
		{ "rand_write_4k", true, false },
		{ "rand_read_4k", false, false },
	};
	unsigned int n = 0;

	for (unsigned int i = 0; i < 4; i++, n++) {
		snprintf(f[n].name, sizeof(f[n].name), "%s", base[i].name);
		f[n].unit = base[i].seq ? "MB/s" : "IO/s";
		f[n].write = base[i].write;
		f[n].sequential = base[i].seq;
		f[n].threads = 1;
	}
	for (unsigned int i = 2; o->threads && i < 4; i++, n++) {
		f[n] = f[i];
		snprintf(f[n].name, sizeof(f[n].name), "%s_j%u", base[i].name,
			 o->threads);
		f[n].threads = o->threads;
	}
	return n;
}

/* "/dev/xvda" -> "xvda": the label of a disk's figures. */
static const char *disk_label(const char *dev)
{
	const char *slash = strrchr(dev, '/');

	return slash ? slash + 1 : dev;
}

int main(int argc, char **argv)
{
	static struct figure fig[MAX_DISKS][MAX_FIGURES];
	int fd[MAX_DISKS];
	struct opts o;
	unsigned int nfig = 0;
	uint64_t need;

	parse_opts(argc, argv, &o);
	need = o.window;
	if (o.verify_mib >= 0 && ((uint64_t)o.verify_mib << 20) + BIG > need)
		need = ((uint64_t)o.verify_mib << 20) + BIG;
	for (unsigned int d = 0; d < o.ndev; d++) {
		fd[d] = open_disk(o.dev[d], need);
		if (o.verify_mib >= 0)
			verify(o.dev[d], fd[d], (uint64_t)o.verify_mib << 20);
		nfig = make_figures(&o, fig[d]);
	}
	printf("xkblk: %u disk(s), %u runs of %u ms per figure, window %llu MiB, %u threads\n",
	       o.ndev, o.runs, o.ms, (unsigned long long)(o.window >> 20),
	       o.threads);
	fflush(stdout);
	for (unsigned int r = 0; r < o.runs; r++) {
		for (unsigned int i = 0; i < nfig; i++) {
			for (unsigned int d = 0; d < o.ndev; d++) {
				/* Every other run the other disk goes first. */
				unsigned int k = (d + r) % o.ndev;
				double v = measure(fd[k], &o, &fig[k][i], r);

				if (v < 0) {
					fprintf(stderr, "xkblk: %s failed\n", o.dev[k]);
					return 3;
				}
				fig[k][i].value[r] = v;
			}
		}
	}
	for (unsigned int d = 0; d < o.ndev; d++) {
		for (unsigned int i = 0; i < nfig; i++)
			report(o.ndev > 1 ? disk_label(o.dev[d]) : NULL, &fig[d][i],
			       o.runs);
		close(fd[d]);
	}
	return 0;
}
