// SPDX-License-Identifier: GPL-2.0
/*
 * xenstore server: every wire operation, permissions, transactions,
 * watches, quotas, the standard domain tree, device nodes.
 */
#include <errno.h>
#include <stdio.h>

#include "ktap.h"
#include "xs_client.h"

#define GUEST 7

struct env {
	struct xs_store *s;
	struct xs_client dom0;
	struct xs_client guest;
	struct xs_msg m;
};

static void env_init(struct env *e)
{
	struct xs_domain_info info = { "vm", 524288, 2 };

	memset(e, 0, sizeof(*e));
	e->s = xs_store_new();
	e->dom0.conn = xs_conn_new(e->s, 0, true, NULL, NULL);
	e->guest.conn = xs_conn_new(e->s, GUEST, false, NULL, NULL);
	if (xs_domain_introduce(e->s, GUEST, &info))
		abort();
}

static void env_fini(struct env *e)
{
	xs_conn_free(e->dom0.conn);
	xs_conn_free(e->guest.conn);
	xs_store_free(e->s);
}

static struct xs_msg *op1(struct env *e, struct xs_client *cl, uint32_t type,
			  uint32_t tx, const char *a)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t n = xs_args(buf, a, NULL);

	if (!xs_client_call(cl, type, tx, buf, n, &e->m))
		e->m.hdr.type = XS_INVALID;
	return &e->m;
}

static struct xs_msg *op2(struct env *e, struct xs_client *cl, uint32_t type,
			  uint32_t tx, const char *a, const char *b)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t n = xs_args(buf, a, b, NULL);

	if (!xs_client_call(cl, type, tx, buf, n, &e->m))
		e->m.hdr.type = XS_INVALID;
	return &e->m;
}

/* WRITE's value is not NUL-terminated on the wire. */
static struct xs_msg *wr(struct env *e, struct xs_client *cl, uint32_t tx,
			 const char *path, const char *val)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t n = xs_args(buf, path, NULL);

	memcpy(buf + n, val, strlen(val));
	if (!xs_client_call(cl, XS_WRITE, tx, buf, n + strlen(val), &e->m))
		e->m.hdr.type = XS_INVALID;
	return &e->m;
}

static bool read_is(struct env *e, struct xs_client *cl, uint32_t tx,
		    const char *path, const char *want)
{
	struct xs_msg *m = op1(e, cl, XS_READ, tx, path);

	return m->hdr.type == XS_READ && m->hdr.len == strlen(want) &&
	       !memcmp(m->body, want, m->hdr.len);
}

static bool read_err(struct env *e, struct xs_client *cl, uint32_t tx,
		     const char *path, const char *err)
{
	return xs_is_error(op1(e, cl, XS_READ, tx, path), err);
}

static uint32_t tx_start(struct env *e, struct xs_client *cl)
{
	struct xs_msg *m = op1(e, cl, XS_TRANSACTION_START, 0, "");

	return m->hdr.type == XS_TRANSACTION_START ? (uint32_t)atoi(m->body) :
						     0;
}

/* Does a NUL-separated list contain @name? */
static bool list_has(const struct xs_msg *m, const char *name)
{
	size_t off = 0;

	while (off < m->hdr.len) {
		if (!strcmp(m->body + off, name))
			return true;
		off += strlen(m->body + off) + 1;
	}
	return false;
}

static void test_basic_ops(struct ktap *t)
{
	struct env e;
	struct xs_msg *m;

	env_init(&e);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/a/b/c", "hello"),
				XS_WRITE));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/a/b/c", "hello"));
	/* Intermediate nodes exist, empty. */
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/a/b", ""));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_MKDIR, 0, "/a/d"),
				XS_MKDIR));
	/* mkdir of an existing node leaves its value alone. */
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_MKDIR, 0, "/a/b/c"),
				XS_MKDIR));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/a/b/c", "hello"));
	m = op1(&e, &e.dom0, XS_DIRECTORY, 0, "/a");
	KTAP_EXPECT(t, m->hdr.type == XS_DIRECTORY && list_has(m, "b") &&
			       list_has(m, "d") && m->hdr.len == 4);
	/* Binary values with NULs survive. */
	{
		char buf[32];
		size_t n = xs_args(buf, "/bin", NULL);

		memcpy(buf + n, "x\0y", 3);
		KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_WRITE, 0, buf, n + 3,
					      &e.m) && xs_is_ok(&e.m, XS_WRITE));
		m = op1(&e, &e.dom0, XS_READ, 0, "/bin");
		KTAP_EXPECT(t, m->hdr.len == 3 && !memcmp(m->body, "x\0y", 3));
	}
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_RM, 0, "/a/b"), XS_RM));
	KTAP_EXPECT(t, read_err(&e, &e.dom0, 0, "/a/b/c", "ENOENT"));
	KTAP_EXPECT(t, read_err(&e, &e.dom0, 0, "/a/b", "ENOENT"));
	/* rm of a missing node whose parent exists is fine; else ENOENT. */
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_RM, 0, "/a/zz"), XS_RM));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_RM, 0, "/q/zz"),
				   "ENOENT"));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_RM, 0, "/"), "EINVAL"));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_DIRECTORY, 0, "/nope"),
				   "ENOENT"));
	/* Replies echo req_id and tx_id. */
	KTAP_EXPECT(t, e.m.hdr.req_id == e.dom0.next_req);
	env_fini(&e);
	ktap_case_end(t, "read/write/mkdir/rm/directory");
}

static void test_bad_paths_and_messages(struct ktap *t)
{
	static const char *const bad[] = {
		"/a//b", "/a/", "/a b", "/a/\x01", "", "/a/b*",
	};
	char big[XENSTORE_ABS_PATH_MAX + 16];
	struct env e;
	unsigned int i;

	env_init(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, xs_is_error(wr(&e, &e.dom0, 0, bad[i], "v"),
					   "EINVAL"));
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.dom0, 0, big, "v"), "EINVAL"));
	/* A path that is not NUL-terminated inside the payload. */
	KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_READ, 0, "/local", 6, &e.m) &&
			       xs_is_error(&e.m, "EINVAL"));
	/* Extra garbage after the one argument. */
	KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_READ, 0, "/a\0b\0", 5,
				      &e.m) && xs_is_error(&e.m, "EINVAL"));
	/* Unknown and reply-only types. */
	KTAP_EXPECT(t, xs_client_call(&e.dom0, 999, 0, "", 1, &e.m) &&
			       xs_is_error(&e.m, "EINVAL"));
	KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_WATCH_EVENT, 0, "", 1,
				      &e.m) && xs_is_error(&e.m, "EINVAL"));
	KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_SET_TARGET, 0, "1\0002", 4,
				      &e.m) && xs_is_error(&e.m, "ENOSYS"));
	/* Oversized: E2BIG; input stops until the transport resets. */
	{
		struct xsd_sockmsg h = { XS_READ, 4242, 0,
					 XENSTORE_PAYLOAD_MAX + 1 };
		static char junk[64];

		memset(junk, 'j', sizeof(junk));
		KTAP_EXPECT(t, xs_conn_feed(e.dom0.conn, &h, sizeof(h)) ==
				       sizeof(h));
		KTAP_EXPECT(t, xs_conn_desynced(e.dom0.conn));
		KTAP_EXPECT(t, xs_conn_feed(e.dom0.conn, junk, sizeof(junk)) ==
				       0);
		KTAP_EXPECT(t, xs_client_pop(&e.dom0, &e.m) &&
				       e.m.hdr.req_id == 4242 &&
				       xs_is_error(&e.m, "E2BIG"));
		xs_conn_reset_input(e.dom0.conn);
		KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/local/domain/7/name",
				       "vm"));
	}
	env_fini(&e);
	ktap_case_end(t, "invalid paths and malformed messages");
}

static void test_permissions(struct ktap *t)
{
	struct env e;
	struct xs_msg *m;

	env_init(&e);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/secret", "s"), XS_WRITE));
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "/secret", "EACCES"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "/secret", "x"),
				   "EACCES"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "/secret/kid", "x"),
				   "EACCES"));
	/* Grant read to the guest only. */
	m = op2(&e, &e.dom0, XS_SET_PERMS, 0, "/secret", "n0");
	KTAP_EXPECT(t, xs_is_ok(m, XS_SET_PERMS));
	{
		char buf[64];
		size_t n = xs_args(buf, "/secret", "n0", "r7", NULL);

		KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_SET_PERMS, 0, buf, n,
					      &e.m) &&
				       xs_is_ok(&e.m, XS_SET_PERMS));
	}
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "/secret", "s"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "/secret", "x"),
				   "EACCES"));
	m = op1(&e, &e.guest, XS_GET_PERMS, 0, "/secret");
	KTAP_EXPECT(t, m->hdr.type == XS_GET_PERMS && m->hdr.len == 6 &&
			       !memcmp(m->body, "n0\0r7\0", 6));
	/* Guest-created nodes are owned by the guest. */
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, 0, "device/x/y", "1"),
				XS_WRITE));
	m = op1(&e, &e.guest, XS_GET_PERMS, 0, "device/x/y");
	KTAP_EXPECT(t, m->hdr.type == XS_GET_PERMS && !strcmp(m->body, "n7"));
	/* It may restrict but not give away ownership. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.guest, XS_SET_PERMS, 0,
				    "device/x/y", "r7"), XS_SET_PERMS));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.guest, XS_SET_PERMS, 0,
				       "device/x/y", "n0"), "EPERM"));
	/* Not the owner of /local/domain/7/name: no perm changes. */
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.guest, XS_SET_PERMS, 0, "name",
				       "b7"), "EACCES"));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_SET_PERMS, 0, "/secret",
				       "x0"), "EINVAL"));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_SET_PERMS, 0, "/secret",
				       "r"), "EINVAL"));
	/* rm needs write. */
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_RM, 0, "name"),
				   "EACCES"));
	/* Privileged-only operations. */
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_RELEASE, 0, "7"),
				   "EACCES"));
	{
		char buf[32];
		size_t n = xs_args(buf, "9", "0", "1", NULL);

		KTAP_EXPECT(t, xs_client_call(&e.guest, XS_INTRODUCE, 0, buf, n,
					      &e.m) &&
				       xs_is_error(&e.m, "EACCES"));
	}
	env_fini(&e);
	ktap_case_end(t, "permissions");
}

static void test_standard_tree(struct ktap *t)
{
	struct env e;
	struct xs_msg *m;
	char *v = NULL;

	env_init(&e);
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "name", "vm"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "domid", "7"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "memory/target", "524288"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "cpu/1/availability",
			       "online"));
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "cpu/2/availability",
				"ENOENT"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0,
			       "control/platform-feature-xs_reset_watches",
			       "1"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0,
			       "control/platform-feature-multiprocessor-suspend",
			       "1"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0,
				      "control/platform-feature-xs_reset_watches",
				      "0"), "EACCES"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "name", "evil"),
				   "EACCES"));
	/* The guest acknowledges shutdown requests under control/. */
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, 0, "control/shutdown", ""),
				XS_WRITE));
	m = op1(&e, &e.guest, XS_DIRECTORY, 0, "/local/domain/7");
	KTAP_EXPECT(t, list_has(m, "device") && list_has(m, "backend") &&
			       list_has(m, "control"));
	/* Other domains' homes are invisible. */
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "/local/domain/0/name",
				"EACCES"));
	m = op1(&e, &e.guest, XS_GET_DOMAIN_PATH, 0, "7");
	KTAP_EXPECT(t, m->hdr.type == XS_GET_DOMAIN_PATH &&
			       !strcmp(m->body, "/local/domain/7") &&
			       m->hdr.len == 16);
	m = op1(&e, &e.dom0, XS_IS_DOMAIN_INTRODUCED, 0, "7");
	KTAP_EXPECT(t, m->hdr.type == XS_IS_DOMAIN_INTRODUCED &&
			       !strcmp(m->body, "T"));
	m = op1(&e, &e.dom0, XS_IS_DOMAIN_INTRODUCED, 0, "8");
	KTAP_EXPECT(t, !strcmp(m->body, "F"));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_GET_DOMAIN_PATH, 0,
				       "x"), "EINVAL"));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_RESUME, 0, "7"),
				XS_RESUME));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_RESUME, 0, "8"),
				   "ENOENT"));
	/* Host API sees the same tree. */
	KTAP_EXPECT(t, !xenstore_read(e.s, "/local/domain/7/name", &v, NULL) &&
			       v && !strcmp(v, "vm"));
	free(v);
	KTAP_EXPECT(t, xenstore_read(e.s, "/nope", &v, NULL) == -ENOENT);
	env_fini(&e);
	ktap_case_end(t, "standard domain tree and domain ops");
}

static void test_transactions(struct ktap *t)
{
	struct env e;
	uint32_t tx, tx2, ids[XS_QUOTA_TRANSACTIONS];
	unsigned int i;

	env_init(&e);
	/* Isolation, then commit. */
	tx = tx_start(&e, &e.guest);
	KTAP_EXPECT(t, tx != 0);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, tx, "data/k", "v1"),
				XS_WRITE));
	KTAP_EXPECT(t, read_is(&e, &e.guest, tx, "data/k", "v1"));
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "data/k", "ENOENT"));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.guest, XS_TRANSACTION_END, tx, "T"),
				XS_TRANSACTION_END));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "data/k", "v1"));
	/* The id is gone after the end. */
	KTAP_EXPECT(t, read_err(&e, &e.guest, tx, "data/k", "ENOENT"));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_TRANSACTION_END, tx,
				       "T"), "ENOENT"));

	/* Read-write conflict: EAGAIN and nothing applied. */
	tx = tx_start(&e, &e.guest);
	KTAP_EXPECT(t, read_is(&e, &e.guest, tx, "data/k", "v1"));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, tx, "data/other", "o"),
				XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/local/domain/7/data/k",
				   "v2"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_TRANSACTION_END, tx,
				       "T"), "EAGAIN"));
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "data/other", "ENOENT"));

	/* Creating the same new node in two transactions: second loses. */
	tx = tx_start(&e, &e.guest);
	tx2 = tx_start(&e, &e.dom0);
	KTAP_EXPECT(t, tx && tx2 && tx != tx2);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, tx, "data/new", "g"),
				XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, tx2, "/local/domain/7/data/new",
				   "h"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_TRANSACTION_END, tx2, "T"),
				XS_TRANSACTION_END));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_TRANSACTION_END, tx,
				       "T"), "EAGAIN"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "data/new", "h"));

	/* Disjoint transactions both commit. */
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/x/a", "0"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/x/b", "0"), XS_WRITE));
	tx = tx_start(&e, &e.dom0);
	tx2 = tx_start(&e, &e.dom0);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, tx, "/x/a", "1"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, tx2, "/x/b", "2"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_TRANSACTION_END, tx, "T"),
				XS_TRANSACTION_END));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_TRANSACTION_END, tx2, "T"),
				XS_TRANSACTION_END));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/x/a", "1"));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/x/b", "2"));

	/* rm inside a transaction conflicts with a change below it. */
	tx = tx_start(&e, &e.dom0);
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_RM, tx, "/x"), XS_RM));
	KTAP_EXPECT(t, read_err(&e, &e.dom0, tx, "/x/a", "ENOENT"));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/x/b", "3"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_TRANSACTION_END, tx,
				       "T"), "EAGAIN"));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/x/b", "3"));

	/* Abort discards. */
	tx = tx_start(&e, &e.dom0);
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, tx, "/x/a", "9"), XS_WRITE));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_TRANSACTION_END, tx, "F"),
				XS_TRANSACTION_END));
	KTAP_EXPECT(t, read_is(&e, &e.dom0, 0, "/x/a", "1"));

	/* Bad arguments. */
	tx = tx_start(&e, &e.dom0);
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_TRANSACTION_END, tx,
				       "maybe"), "EINVAL"));
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_TRANSACTION_START, tx,
				       ""), "EBUSY"));
	KTAP_EXPECT(t, read_err(&e, &e.dom0, 0xdead, "/x/a", "ENOENT"));
	/* Transactions belong to their connection. */
	KTAP_EXPECT(t, read_err(&e, &e.guest, tx, "data/k", "ENOENT"));
	op1(&e, &e.dom0, XS_TRANSACTION_END, tx, "F");

	/* Rewriting one node forever inside a transaction is bounded too. */
	tx = tx_start(&e, &e.guest);
	for (i = 0; i < XS_QUOTA_TX_ACCESSES + 5; i++)
		if (!xs_is_ok(wr(&e, &e.guest, tx, "data/k", "again"), XS_WRITE))
			break;
	KTAP_EXPECT(t, i == XS_QUOTA_TX_ACCESSES &&
			       xs_is_error(&e.m, "ENOSPC"));
	op1(&e, &e.guest, XS_TRANSACTION_END, tx, "F");

	/* Quota: 10 per domain. */
	for (i = 0; i < XS_QUOTA_TRANSACTIONS; i++) {
		ids[i] = tx_start(&e, &e.guest);
		KTAP_EXPECT(t, ids[i] != 0);
	}
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.guest, XS_TRANSACTION_START, 0,
				       ""), "ENOSPC"));
	op1(&e, &e.guest, XS_TRANSACTION_END, ids[0], "F");
	KTAP_EXPECT(t, tx_start(&e, &e.guest) != 0);
	env_fini(&e);
	ktap_case_end(t, "transactions and conflicts");
}

static void test_watches(struct ktap *t)
{
	struct env e;

	env_init(&e);
	/* Registration fires once, after the OK. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.dom0, XS_WATCH, 0, "/w", "tok"),
				XS_WATCH));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "/w", "tok"));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_WATCH, 0, "/w", "tok"),
				   "EEXIST"));
	wr(&e, &e.dom0, 0, "/w/a/b", "1");
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "/w/a/b", "tok"));
	wr(&e, &e.dom0, 0, "/wx", "1");	/* a sibling, not a child */
	KTAP_EXPECT(t, !xs_client_saw(&e.dom0, "/wx", "tok"));
	/* A watch below a removed subtree fires with its own path. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.dom0, XS_WATCH, 0, "/w/a/b/c",
				    "deep"), XS_WATCH));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "/w/a/b/c", "deep"));
	op1(&e, &e.dom0, XS_RM, 0, "/w/a");
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "/w/a", "tok"));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "/w/a/b/c", "deep"));
	/* Unwatch stops events. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.dom0, XS_UNWATCH, 0, "/w", "tok"),
				XS_UNWATCH));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_UNWATCH, 0, "/w", "tok"),
				   "ENOENT"));
	wr(&e, &e.dom0, 0, "/w/z", "1");
	KTAP_EXPECT(t, !xs_client_saw(&e.dom0, "/w/z", "tok"));

	/* Relative watches report relative paths. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.guest, XS_WATCH, 0, "device", "d"),
				XS_WATCH));
	KTAP_EXPECT(t, xs_client_saw(&e.guest, "device", "d"));
	wr(&e, &e.dom0, 0, "/local/domain/7/device/vbd", "");
	KTAP_EXPECT(t, xs_client_saw(&e.guest, "device/vbd", "d"));
	/* Events need read permission: a watch on / hears only its own. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.guest, XS_WATCH, 0, "/", "root"),
				XS_WATCH));
	KTAP_EXPECT(t, xs_client_saw(&e.guest, "/", "root"));
	wr(&e, &e.dom0, 0, "/hidden", "1");
	KTAP_EXPECT(t, !xs_client_saw(&e.guest, "/hidden", "root"));
	wr(&e, &e.guest, 0, "data/mine", "1");
	KTAP_EXPECT(t, xs_client_saw(&e.guest, "/local/domain/7/data/mine",
				     "root"));

	/* Transactions fire on commit, not before, and not on abort. */
	{
		uint32_t tx = tx_start(&e, &e.guest);

		wr(&e, &e.guest, tx, "device/t", "1");
		KTAP_EXPECT(t, !xs_client_saw(&e.guest, "device/t", "d"));
		op1(&e, &e.guest, XS_TRANSACTION_END, tx, "T");
		KTAP_EXPECT(t, xs_client_saw(&e.guest, "device/t", "d"));
		tx = tx_start(&e, &e.guest);
		wr(&e, &e.guest, tx, "device/u", "1");
		op1(&e, &e.guest, XS_TRANSACTION_END, tx, "F");
		KTAP_EXPECT(t, !xs_client_saw(&e.guest, "device/u", "d"));
	}

	/* Special watches. */
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.dom0, XS_WATCH, 0,
				    "@introduceDomain", "in"), XS_WATCH));
	KTAP_EXPECT(t, xs_is_ok(op2(&e, &e.dom0, XS_WATCH, 0,
				    "@releaseDomain", "out"), XS_WATCH));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "@introduceDomain", "in"));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "@releaseDomain", "out"));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_WATCH, 0, "@bogus",
				       "x"), "EINVAL"));
	{
		char buf[32];
		size_t n = xs_args(buf, "9", "1234", "5", NULL);

		KTAP_EXPECT(t, xs_client_call(&e.dom0, XS_INTRODUCE, 0, buf, n,
					      &e.m) &&
				       xs_is_ok(&e.m, XS_INTRODUCE));
	}
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "@introduceDomain", "in"));
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.dom0, XS_RELEASE, 0, "9"),
				XS_RELEASE));
	KTAP_EXPECT(t, xs_client_saw(&e.dom0, "@releaseDomain", "out"));
	KTAP_EXPECT(t, !xs_domain_is_introduced(e.s, 9));

	/* RESET_WATCHES drops them all. */
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.guest, XS_RESET_WATCHES, 0, ""),
				XS_RESET_WATCHES));
	wr(&e, &e.dom0, 0, "/local/domain/7/device/after", "");
	KTAP_EXPECT(t, !xs_client_saw(&e.guest, "device/after", "d"));
	env_fini(&e);
	ktap_case_end(t, "watches fire on the right paths");
}

static void test_quotas(struct ktap *t)
{
	char val[XS_QUOTA_VALUE_SIZE + 2], path[64], tok[16];
	struct env e;
	unsigned int i, ok = 0;

	env_init(&e);
	memset(val, 'v', sizeof(val));
	val[XS_QUOTA_VALUE_SIZE] = '\0';
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, 0, "data/big", val),
				XS_WRITE));
	val[XS_QUOTA_VALUE_SIZE] = 'v';
	val[XS_QUOTA_VALUE_SIZE + 1] = '\0';
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "data/big", val),
				   "ENOSPC"));
	/* dom0 is exempt. */
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.dom0, 0, "/big", val), XS_WRITE));

	/* Nodes: the guest owns data/big already. */
	for (i = 0; i < XS_QUOTA_NODES + 5; i++) {
		snprintf(path, sizeof(path), "data/n%u", i);
		if (xs_is_ok(wr(&e, &e.guest, 0, path, "x"), XS_WRITE))
			ok++;
		else if (!xs_is_error(&e.m, "ENOSPC"))
			KTAP_EXPECT(t, !"unexpected error");
	}
	/* It also owns the 8 writable dirs of its home (device, data...). */
	KTAP_EXPECT(t, ok == XS_QUOTA_NODES - 1 - 8);
	/* Removing frees quota. */
	KTAP_EXPECT(t, xs_is_ok(op1(&e, &e.guest, XS_RM, 0, "data/n0"), XS_RM));
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, 0, "data/again", "x"),
				XS_WRITE));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "data/more", "x"),
				   "ENOSPC"));
	/* A multi-level write needing more nodes than left fails whole. */
	op1(&e, &e.guest, XS_RM, 0, "data/n1");
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0, "data/p/q", "x"),
				   "ENOSPC"));
	KTAP_EXPECT(t, read_err(&e, &e.guest, 0, "data/p", "ENOENT"));

	/* Watches. */
	for (i = 0, ok = 0; i < XS_QUOTA_WATCHES + 1; i++) {
		snprintf(tok, sizeof(tok), "t%u", i);
		if (xs_is_ok(op2(&e, &e.guest, XS_WATCH, 0, "device", tok),
			     XS_WATCH))
			ok++;
		else
			KTAP_EXPECT(t, xs_is_error(&e.m, "E2BIG"));
		xs_client_drain(&e.guest);
		e.guest.nr_events = 0;
	}
	KTAP_EXPECT(t, ok == XS_QUOTA_WATCHES);

	/* Perms per node. */
	{
		char buf[128];
		size_t n = xs_args(buf, "device", "n7", "r1", "r2", "r3", "r4",
				   "r5", NULL);

		KTAP_EXPECT(t, xs_client_call(&e.guest, XS_SET_PERMS, 0, buf, n,
					      &e.m) &&
				       xs_is_error(&e.m, "ENOSPC"));
		n = xs_args(buf, "device", "n7", "r1", "r2", "r3", "r4", NULL);
		KTAP_EXPECT(t, xs_client_call(&e.guest, XS_SET_PERMS, 0, buf, n,
					      &e.m) &&
				       xs_is_ok(&e.m, XS_SET_PERMS));
	}
	env_fini(&e);
	ktap_case_end(t, "quotas (nodes, value size, watches, perms)");
}

static void test_directory_part(struct ktap *t)
{
	struct xs_buf_like {
		char p[16384];
		size_t len;
	} full = { .len = 0 }, parts = { .len = 0 };
	char path[128], off[16];
	struct env e;
	unsigned int i, rounds = 0;
	bool done = false;

	env_init(&e);
	/* 200 children of 40-odd bytes: more than one payload. */
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path),
			 "/dp/child-with-a-rather-long-name-%04u", i);
		wr(&e, &e.dom0, 0, path, "");
		full.len += 1 + (size_t)snprintf(full.p + full.len,
						 sizeof(full.p) - full.len,
						 "%s", path + 4);
	}
	KTAP_EXPECT(t, full.len > XENSTORE_PAYLOAD_MAX);
	/* Too big for one reply: that is what DIRECTORY_PART is for. */
	KTAP_EXPECT(t, xs_is_error(op1(&e, &e.dom0, XS_DIRECTORY, 0, "/dp"),
				   "E2BIG"));
	while (!done && rounds++ < 10) {
		struct xs_msg *m;
		size_t gl, body;

		snprintf(off, sizeof(off), "%zu", parts.len);
		m = op2(&e, &e.dom0, XS_DIRECTORY_PART, 0, "/dp", off);
		if (m->hdr.type != XS_DIRECTORY_PART)
			break;
		gl = strlen(m->body) + 1;
		body = m->hdr.len - gl;
		/* A trailing empty string marks the end. */
		done = body >= 1 && m->body[m->hdr.len - 1] == '\0' &&
		       (body == 1 || m->body[m->hdr.len - 2] == '\0');
		if (done)
			body--;
		memcpy(parts.p + parts.len, m->body + gl, body);
		parts.len += body;
	}
	KTAP_EXPECT(t, done && rounds > 1);
	KTAP_EXPECT(t, parts.len == full.len &&
			       !memcmp(parts.p, full.p, full.len));
	KTAP_EXPECT(t, xs_is_error(op2(&e, &e.dom0, XS_DIRECTORY_PART, 0, "/dp",
				       "999999"), "EINVAL"));
	env_fini(&e);
	ktap_case_end(t, "directory_part reassembles directory");
}

struct host_seen {
	unsigned int calls;
	char last[128];
};

static void host_cb(void *opaque, const char *path)
{
	struct host_seen *h = opaque;

	h->calls++;
	snprintf(h->last, sizeof(h->last), "%s", path);
}

static void test_devices_and_host_watch(struct ktap *t)
{
	static const char *const fe_kv[] = { "handle", "51712", NULL };
	static const char *const be_kv[] = { "params", "/dev/x", NULL };
	struct host_seen seen = { 0 };
	struct env e;
	struct xs_msg *m;

	env_init(&e);
	KTAP_EXPECT(t, !xenstore_watch(e.s, "/local/domain/7/device/vbd/51712",
				      host_cb, &seen));
	KTAP_EXPECT(t, seen.calls == 1);
	KTAP_EXPECT(t, !xs_device_add(e.s, GUEST, 0, "vbd", 51712, fe_kv,
				      be_kv));
	KTAP_EXPECT(t, seen.calls > 1);
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "device/vbd/51712/backend",
			       "/local/domain/0/backend/vbd/7/51712"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "device/vbd/51712/state", "1"));
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0, "device/vbd/51712/handle",
			       "51712"));
	/* The frontend reads the backend's nodes but cannot change them. */
	KTAP_EXPECT(t, read_is(&e, &e.guest, 0,
			       "/local/domain/0/backend/vbd/7/51712/params",
			       "/dev/x"));
	KTAP_EXPECT(t, xs_is_error(wr(&e, &e.guest, 0,
				      "/local/domain/0/backend/vbd/7/51712/state",
				      "4"), "EACCES"));
	/* And writes its own. */
	seen.calls = 0;
	KTAP_EXPECT(t, xs_is_ok(wr(&e, &e.guest, 0,
				   "device/vbd/51712/ring-ref", "8"), XS_WRITE));
	KTAP_EXPECT(t, seen.calls == 1 &&
			       !strcmp(seen.last,
				       "/local/domain/7/device/vbd/51712/ring-ref"));
	m = op1(&e, &e.guest, XS_GET_PERMS, 0, "device/vbd/51712");
	KTAP_EXPECT(t, m->hdr.len == 6 && !memcmp(m->body, "n7\0r0\0", 6));
	KTAP_EXPECT(t, !xenstore_unwatch(e.s, "/local/domain/7/device/vbd/51712",
					host_cb, &seen));
	KTAP_EXPECT(t, !xs_device_remove(e.s, GUEST, 0, "vbd", 51712));
	KTAP_EXPECT(t, seen.calls == 1);
	KTAP_EXPECT(t, !xenstore_exists(e.s, "/local/domain/7/device/vbd/51712"));
	KTAP_EXPECT(t, !xs_domain_release(e.s, GUEST));
	KTAP_EXPECT(t, !xenstore_exists(e.s, "/local/domain/7"));
	env_fini(&e);
	ktap_case_end(t, "device nodes and host watches");
}

static void test_backpressure(struct ktap *t)
{
	struct xsd_sockmsg h = { XS_READ, 1, 0, sizeof("/local") };
	char req[sizeof(h) + sizeof("/local")];
	struct env e;
	size_t n = 0;
	unsigned int i;

	env_init(&e);
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), "/local", sizeof("/local"));
	/* Never read replies: the connection must stop taking requests. */
	for (i = 0; i < 100000; i++) {
		n = xs_conn_feed(e.dom0.conn, req, sizeof(req));
		if (n < sizeof(req))
			break;
	}
	KTAP_EXPECT(t, i < 100000 && xs_conn_backlogged(e.dom0.conn));
	xs_client_drain(&e.dom0);
	KTAP_EXPECT(t, !xs_conn_backlogged(e.dom0.conn));
	/* The rest of the cut request is taken now and answered. */
	n = xs_conn_feed(e.dom0.conn, req + n, sizeof(req) - n);
	KTAP_EXPECT(t, xs_client_pop(&e.dom0, &e.m) &&
			       e.m.hdr.type == XS_READ);
	env_fini(&e);
	ktap_case_end(t, "a client that does not read is throttled");
}

/* xorshift64*, fixed seed: a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/*
 * Random operations from the guest and dom0, inside and outside
 * transactions: every reply is well formed and the tree and the quota
 * accounting stay consistent throughout.
 */
static void test_random_ops_stay_consistent(struct ktap *t)
{
	static const char *const paths[] = {
		"data/a", "data/a/b", "data/a/b/c", "data/d", "device/x",
		"device/x/y", "/local/domain/7/data/a", "/tool/t", "/tool",
		"control/shutdown", "name", "data",
	};
	static const char *const perms[] = { "n7", "r0", "b7", "n0", "w7" };
	const unsigned int nr_paths = sizeof(paths) / sizeof(paths[0]);
	uint64_t seed = 0xc0ffee;
	uint32_t tx[2] = { 0, 0 };
	unsigned int i, bad = 0, broken = 0;
	struct env e;

	env_init(&e);
	for (i = 0; i < 60000; i++) {
		uint64_t r = rnd(&seed);
		unsigned int who = r & 1;
		struct xs_client *cl = who ? &e.guest : &e.dom0;
		const char *p = paths[(r >> 1) % nr_paths];
		uint32_t id = (r >> 8) % 3 ? tx[who] : 0;
		struct xs_msg *m = NULL;

		switch ((r >> 16) % 9) {
		case 0:
		case 1:
			m = wr(&e, cl, id, p, (r >> 32) & 1 ? "v" : "");
			break;
		case 2:
			m = op1(&e, cl, XS_MKDIR, id, p);
			break;
		case 3:
			m = op1(&e, cl, XS_RM, id, p);
			break;
		case 4:
			m = op2(&e, cl, XS_SET_PERMS, id, p,
				perms[(r >> 40) % 5]);
			break;
		case 5:
			m = op1(&e, cl, XS_READ, id, p);
			break;
		case 6:
			if (!tx[who]) {
				tx[who] = tx_start(&e, cl);
				continue;
			}
			/* fall through */
		case 7:
			if (tx[who]) {
				m = op1(&e, cl, XS_TRANSACTION_END, tx[who],
					(r >> 48) & 3 ? "T" : "F");
				tx[who] = 0;
			}
			break;
		default:
			m = op1(&e, cl, XS_DIRECTORY, id, p);
			break;
		}
		if (m && m->hdr.type == XS_INVALID)
			bad++;
		xs_client_drain(cl);
		cl->nr_events = 0;
		if (i % 97 == 0 && xs_store_check(e.s))
			broken++;
	}
	KTAP_EXPECT(t, bad == 0);
	KTAP_EXPECT(t, broken == 0);
	KTAP_EXPECT(t, xs_store_check(e.s) == 0);
	env_fini(&e);
	ktap_case_end(t, "random operations keep tree and quotas consistent");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 11);
	test_basic_ops(&t);
	test_bad_paths_and_messages(&t);
	test_permissions(&t);
	test_standard_tree(&t);
	test_transactions(&t);
	test_watches(&t);
	test_quotas(&t);
	test_directory_part(&t);
	test_devices_and_host_watch(&t);
	test_backpressure(&t);
	test_random_ops_stay_consistent(&t);
	return ktap_finish(&t);
}
