// SPDX-License-Identifier: GPL-2.0
/*
 * Wire compatibility with Xen's own client library: libxenstore (from
 * libxen-dev), loaded at run time, talks to our host socket through
 * XENSTORED_PATH exactly as the xenstore-* tools would. Skipped when the
 * library is not installed.
 */
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#include "ktap.h"
#include "xenstore/xenstore.h"

struct lib {
	void *dl;
	typeof(xs_open) *open;
	typeof(xs_close) *close;
	typeof(xs_read) *read;
	typeof(xs_write) *write;
	typeof(xs_rm) *rm;
	typeof(xs_directory) *directory;
	typeof(xs_transaction_start) *tx_start;
	typeof(xs_transaction_end) *tx_end;
	typeof(xs_watch) *watch;
	typeof(xs_read_watch) *read_watch;
	typeof(xs_get_domain_path) *domain_path;
	typeof(xs_is_domain_introduced) *introduced;
	typeof(xs_get_permissions) *get_perms;
};

static bool lib_load(struct lib *l)
{
	l->dl = dlopen("libxenstore.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!l->dl)
		return false;
#define SYM(f, n) (l->f = (typeof(l->f))dlsym(l->dl, n))
	return SYM(open, "xs_open") && SYM(close, "xs_close") &&
	       SYM(read, "xs_read") && SYM(write, "xs_write") &&
	       SYM(rm, "xs_rm") && SYM(directory, "xs_directory") &&
	       SYM(tx_start, "xs_transaction_start") &&
	       SYM(tx_end, "xs_transaction_end") && SYM(watch, "xs_watch") &&
	       SYM(read_watch, "xs_read_watch") &&
	       SYM(domain_path, "xs_get_domain_path") &&
	       SYM(introduced, "xs_is_domain_introduced") &&
	       SYM(get_perms, "xs_get_permissions");
#undef SYM
}

struct server {
	struct xs_socket *sk;
	bool stop;
};

/* The store is single-threaded: only this thread touches it. */
static void *serve(void *arg)
{
	struct server *sv = arg;

	while (!__atomic_load_n(&sv->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = xs_socket_fd(sv->sk), .events = POLLIN };

		poll(&p, 1, 10);
		xs_socket_dispatch(sv->sk);
	}
	return NULL;
}

static bool has(char **list, unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

static void run(struct ktap *t, struct lib *l, const char *path)
{
	struct xs_handle *h;
	unsigned int len = 0, n = 0, i;
	char **list, *v;
	xs_transaction_t tx;

	setenv("XENSTORED_PATH", path, 1);
	h = l->open(XS_OPEN_SOCKETONLY);
	KTAP_EXPECT(t, h != NULL);
	if (!h)
		return;
	v = l->read(h, XBT_NULL, "/local/domain/1/name", &len);
	KTAP_EXPECT(t, v && len == 5 && !strcmp(v, "libxs"));
	free(v);
	KTAP_EXPECT(t, l->write(h, XBT_NULL, "/local/domain/1/data/k", "val", 3));
	v = l->read(h, XBT_NULL, "/local/domain/1/data/k", &len);
	KTAP_EXPECT(t, v && len == 3 && !strcmp(v, "val"));
	free(v);
	KTAP_EXPECT(t, !l->read(h, XBT_NULL, "/local/domain/1/nope", &len));
	list = l->directory(h, XBT_NULL, "/local/domain/1", &n);
	KTAP_EXPECT(t, list && has(list, n, "name") && has(list, n, "device"));
	free(list);

	/* Big enough that the library must fall back to DIRECTORY_PART. */
	for (i = 0; i < 150; i++) {
		char p[96];

		snprintf(p, sizeof(p),
			 "/big/a-child-with-a-long-long-long-name-%03u", i);
		l->write(h, XBT_NULL, p, "", 0);
	}
	list = l->directory(h, XBT_NULL, "/big", &n);
	KTAP_EXPECT(t, list && n == 150 &&
			       has(list, n, "a-child-with-a-long-long-long-name-149"));
	free(list);

	/* A transaction, then one that conflicts. */
	tx = l->tx_start(h);
	KTAP_EXPECT(t, tx != XBT_NULL);
	KTAP_EXPECT(t, l->write(h, tx, "/local/domain/1/data/t", "1", 1));
	KTAP_EXPECT(t, l->tx_end(h, tx, false));
	tx = l->tx_start(h);
	v = l->read(h, tx, "/local/domain/1/data/k", &len);
	free(v);
	l->write(h, tx, "/local/domain/1/data/t", "2", 1);
	l->write(h, XBT_NULL, "/local/domain/1/data/k", "changed", 7);
	KTAP_EXPECT(t, !l->tx_end(h, tx, false));	/* EAGAIN */

	{
		struct xs_permissions *p = NULL;

		p = l->get_perms(h, XBT_NULL, "/local/domain/1", &n);
		KTAP_EXPECT(t, p && n == 2 && p[0].id == 0 &&
				       p[0].perms == XS_PERM_NONE && p[1].id == 1 &&
				       p[1].perms == XS_PERM_READ);
		free(p);
	}
	v = l->domain_path(h, 1);
	KTAP_EXPECT(t, v && !strcmp(v, "/local/domain/1"));
	free(v);
	KTAP_EXPECT(t, l->introduced(h, 1));
	KTAP_EXPECT(t, !l->introduced(h, 9));

	/* Watches: the initial event, then a real one. */
	KTAP_EXPECT(t, l->watch(h, "/local/domain/1/device", "tok"));
	list = l->read_watch(h, &n);
	KTAP_EXPECT(t, list && !strcmp(list[XS_WATCH_PATH],
				       "/local/domain/1/device") &&
			       !strcmp(list[XS_WATCH_TOKEN], "tok"));
	free(list);
	l->write(h, XBT_NULL, "/local/domain/1/device/vif", "", 0);
	list = l->read_watch(h, &n);
	KTAP_EXPECT(t, list && !strcmp(list[XS_WATCH_PATH],
				       "/local/domain/1/device/vif"));
	free(list);
	KTAP_EXPECT(t, l->rm(h, XBT_NULL, "/big"));
	l->close(h);
}

int main(void)
{
	struct ktap t = { 0 };
	struct xs_domain_info info = { "libxs", 1024, 1 };
	char dir[] = "/tmp/xs-libxs-XXXXXX", path[64];
	struct server sv = { 0 };
	struct xs_store *s;
	struct lib l;
	pthread_t th;

	ktap_plan(&t, 1);
	if (!lib_load(&l)) {
		printf("ok 1 libxenstore talks to our socket # SKIP no "
		       "libxenstore.so.4\n");
		return 0;
	}
	s = xs_store_new();
	xs_domain_introduce(s, 1, &info);
	KTAP_EXPECT(&t, mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/socket", dir);
	sv.sk = xs_socket_open(s, path);
	KTAP_EXPECT(&t, sv.sk != NULL);
	if (sv.sk) {
		pthread_create(&th, NULL, serve, &sv);
		run(&t, &l, path);
		__atomic_store_n(&sv.stop, true, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		xs_socket_close(sv.sk);
	}
	xs_store_free(s);
	rmdir(dir);
	dlclose(l.dl);
	ktap_case_end(&t, "libxenstore talks to our socket");
	return ktap_finish(&t);
}
