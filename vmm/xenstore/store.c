// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore tree and its rules: permissions, transactions, watches and
 * quotas. Semantics follow Xen's docs/misc/xenstore.txt; the wire format
 * lives in wire.c.
 *
 * Transactions take a private copy of the tree and record the generation
 * of every path they touch (0 for a path that did not exist). Commit
 * fails with EAGAIN when any of those generations changed in the main
 * tree, so a transaction behaves as if it ran alone. Otherwise its logged
 * operations are replayed on a copy of the main tree that replaces it only
 * if every step succeeds, which keeps commit atomic even if a quota check
 * fails halfway. Copies are affordable because quotas bound the tree.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

/* Privileged clients are exempt from quotas, but not from running out. */
#define PRIV_MAX_TRANSACTIONS	64

struct xs_perm {
	uint32_t domid;
	char perm;		/* 'n', 'r', 'w' or 'b' */
};

struct xs_node {
	char *name;
	struct xs_node *parent;
	struct xs_node **kids;
	unsigned int nr_kids;
	unsigned int cap_kids;
	char *value;
	size_t len;
	struct xs_perm *perms;	/* [0] is the owner and everyone's default */
	unsigned int nr_perms;
	uint64_t gen;		/* bumped on any change to value, perms, kids */
};

struct owner_count {
	uint32_t domid;
	unsigned int count;
};

struct xs_tree {
	struct xs_node *root;
	struct owner_count *owners;
	unsigned int nr_owners;
};

enum tx_op_kind { TXOP_WRITE, TXOP_MKDIR, TXOP_RM, TXOP_SETPERMS };

struct tx_op {
	enum tx_op_kind kind;
	char *path;
	char *data;		/* value, or NUL-separated perms */
	size_t len;
};

struct tx_access {
	char *path;
	uint64_t gen;		/* 0: the path did not exist */
};

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct xs_tree tree;
	struct tx_access *acc;
	unsigned int nr_acc;
	unsigned int cap_acc;
	struct tx_op *ops;
	unsigned int nr_ops;
	unsigned int cap_ops;
	bool broken;		/* copy and log diverged (out of memory) */
};

struct xs_domain {
	uint32_t domid;
	bool introduced;
};

struct host_event {
	struct host_event *next;
	xs_watch_cb cb;
	void *opaque;
	char path[];
};

struct xs_store {
	struct xs_tree tree;
	uint64_t gen;
	uint32_t next_tx_id;
	struct xs_conn *conns;
	struct xs_conn *host;	/* the host API's own privileged client */
	struct xs_domain *doms;
	unsigned int nr_doms;
	struct xs_quota quota;
	struct host_event *hev_head;
	struct host_event *hev_tail;
	bool running_host_events;
};

static const char SPECIAL_INTRODUCE[] = "@introduceDomain";
static const char SPECIAL_RELEASE[] = "@releaseDomain";

/* ---- paths ---- */

static bool valid_path_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '/' ||
	       ch == '_' || ch == '@';
}

static int validate_abs_path(const char *p)
{
	size_t n = strlen(p);
	size_t i;

	if (p[0] != '/' || n > XENSTORE_ABS_PATH_MAX)
		return -EINVAL;
	if (n > 1 && p[n - 1] == '/')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!valid_path_char(p[i]))
			return -EINVAL;
		if (p[i] == '/' && p[i + 1] == '/')
			return -EINVAL;
	}
	return 0;
}

static int domain_home(uint32_t domid, char *out, size_t size)
{
	int k = snprintf(out, size, "/local/domain/%" PRIu32, domid);

	return (k < 0 || (size_t)k >= size) ? -EINVAL : k;
}

/* Relative paths are relative to the caller's /local/domain/<domid>. */
static int canon_path(uint32_t domid, const char *in, char *out)
{
	size_t n = strlen(in);
	int k;

	if (in[0] == '/') {
		if (n > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(out, in, n + 1);
	} else {
		if (n == 0 || n > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		k = snprintf(out, XENSTORE_ABS_PATH_MAX + 1,
			     "/local/domain/%" PRIu32 "/%s", domid, in);
		if (k < 0 || k > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
	}
	return validate_abs_path(out);
}

static bool is_special_path(const char *p)
{
	return !strcmp(p, SPECIAL_INTRODUCE) || !strcmp(p, SPECIAL_RELEASE);
}

/* True if @node is @anc or lies below it. */
static bool path_is_at_or_below(const char *node, const char *anc)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return node[0] == '/';
	return !strncmp(node, anc, n) && (node[n] == '\0' || node[n] == '/');
}

/* ---- nodes ---- */

static void node_free(struct xs_node *n)
{
	unsigned int i;

	if (!n)
		return;
	for (i = 0; i < n->nr_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->value);
	free(n->perms);
	free(n);
}

static struct xs_node *node_new(const char *name, size_t name_len,
				const struct xs_perm *perms,
				unsigned int nr_perms)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, name_len);
	n->perms = malloc(nr_perms * sizeof(*perms));
	if (!n->name || !n->perms) {
		node_free(n);
		return NULL;
	}
	memcpy(n->perms, perms, nr_perms * sizeof(*perms));
	n->nr_perms = nr_perms;
	return n;
}

static int node_add_kid(struct xs_node *parent, struct xs_node *kid)
{
	if (parent->nr_kids == parent->cap_kids) {
		unsigned int cap = parent->cap_kids ? parent->cap_kids * 2 : 4;
		struct xs_node **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap_kids = cap;
	}
	parent->kids[parent->nr_kids++] = kid;
	kid->parent = parent;
	return 0;
}

static void node_detach(struct xs_node *kid)
{
	struct xs_node *p = kid->parent;
	unsigned int i;

	for (i = 0; i < p->nr_kids; i++) {
		if (p->kids[i] == kid) {
			memmove(&p->kids[i], &p->kids[i + 1],
				(p->nr_kids - i - 1) * sizeof(p->kids[0]));
			p->nr_kids--;
			break;
		}
	}
	kid->parent = NULL;
}

static struct xs_node *node_kid(const struct xs_node *n, const char *name,
				size_t len)
{
	unsigned int i;

	for (i = 0; i < n->nr_kids; i++) {
		const char *kn = n->kids[i]->name;

		if (strlen(kn) == len && !memcmp(kn, name, len))
			return n->kids[i];
	}
	return NULL;
}

/*
 * Walk @path; return the node or NULL. *@deepest gets the last node that
 * exists on the way and *@rest where the missing part starts.
 */
static struct xs_node *walk(const struct xs_tree *t, const char *path,
			    struct xs_node **deepest, const char **rest)
{
	struct xs_node *n = t->root;
	const char *p = path + 1;

	while (*p) {
		const char *e = strchrnul(p, '/');
		struct xs_node *k = node_kid(n, p, e - p);

		if (!k) {
			if (deepest)
				*deepest = n;
			if (rest)
				*rest = p;
			return NULL;
		}
		n = k;
		p = *e ? e + 1 : e;
	}
	if (deepest)
		*deepest = n;
	if (rest)
		*rest = p;
	return n;
}

static struct xs_node *lookup(const struct xs_tree *t, const char *path)
{
	return walk(t, path, NULL, NULL);
}

static struct xs_node *node_clone(const struct xs_node *n)
{
	struct xs_node *c = node_new(n->name, strlen(n->name), n->perms,
				     n->nr_perms);
	unsigned int i;

	if (!c)
		return NULL;
	c->gen = n->gen;
	if (n->len) {
		c->value = malloc(n->len);
		if (!c->value)
			goto fail;
		memcpy(c->value, n->value, n->len);
		c->len = n->len;
	}
	for (i = 0; i < n->nr_kids; i++) {
		struct xs_node *k = node_clone(n->kids[i]);

		if (!k || node_add_kid(c, k)) {
			node_free(k);
			goto fail;
		}
	}
	return c;
fail:
	node_free(c);
	return NULL;
}

/* ---- trees and node ownership accounting ---- */

static void tree_free(struct xs_tree *t)
{
	node_free(t->root);
	free(t->owners);
	memset(t, 0, sizeof(*t));
}

static int tree_clone(const struct xs_tree *src, struct xs_tree *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->root = node_clone(src->root);
	if (!dst->root)
		return -ENOMEM;
	if (src->nr_owners) {
		dst->owners = malloc(src->nr_owners * sizeof(*src->owners));
		if (!dst->owners) {
			tree_free(dst);
			return -ENOMEM;
		}
		memcpy(dst->owners, src->owners,
		       src->nr_owners * sizeof(*src->owners));
		dst->nr_owners = src->nr_owners;
	}
	return 0;
}

static unsigned int owner_count(const struct xs_tree *t, uint32_t domid)
{
	unsigned int i;

	for (i = 0; i < t->nr_owners; i++)
		if (t->owners[i].domid == domid)
			return t->owners[i].count;
	return 0;
}

static int owner_adjust(struct xs_tree *t, uint32_t domid, int delta)
{
	struct owner_count *o;
	unsigned int i;

	for (i = 0; i < t->nr_owners; i++) {
		if (t->owners[i].domid == domid) {
			t->owners[i].count += delta;
			return 0;
		}
	}
	if (delta <= 0)
		return 0;
	o = realloc(t->owners, (t->nr_owners + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	t->owners = o;
	o[t->nr_owners].domid = domid;
	o[t->nr_owners].count = delta;
	t->nr_owners++;
	return 0;
}

static void owner_uncount_subtree(struct xs_tree *t, const struct xs_node *n)
{
	unsigned int i;

	owner_adjust(t, n->perms[0].domid, -1);
	for (i = 0; i < n->nr_kids; i++)
		owner_uncount_subtree(t, n->kids[i]);
}

/* ---- permissions ---- */

static char perm_for(const struct xs_node *n, uint32_t domid)
{
	unsigned int i;

	if (n->perms[0].domid == domid)
		return 'b';
	for (i = 1; i < n->nr_perms; i++)
		if (n->perms[i].domid == domid)
			return n->perms[i].perm;
	return n->perms[0].perm;
}

static bool may_read(const struct xs_caller *c, const struct xs_node *n)
{
	char p;

	if (c->priv)
		return true;
	p = perm_for(n, c->domid);
	return p == 'r' || p == 'b';
}

static bool may_write(const struct xs_caller *c, const struct xs_node *n)
{
	char p;

	if (c->priv)
		return true;
	p = perm_for(n, c->domid);
	return p == 'w' || p == 'b';
}

/* Parse "r5"-style strings; @len bytes of NUL-terminated entries. */
static int parse_perms(const char *buf, size_t len, struct xs_perm **out,
		       unsigned int *nr)
{
	struct xs_perm *p = NULL;
	unsigned int n = 0;
	size_t off = 0;

	while (off < len) {
		const char *s = buf + off;
		size_t l = strnlen(s, len - off);
		struct xs_perm *np;
		uint64_t dom;

		if (l == len - off || l < 2 || !strchr("nrwb", s[0]) ||
		    xs_parse_uint(s + 1, 0xffff, &dom)) {
			free(p);
			return -EINVAL;
		}
		np = realloc(p, (n + 1) * sizeof(*p));
		if (!np) {
			free(p);
			return -ENOMEM;
		}
		p = np;
		p[n].perm = s[0];
		p[n].domid = (uint32_t)dom;
		n++;
		off += l + 1;
	}
	if (!n)
		return -EINVAL;
	*out = p;
	*nr = n;
	return 0;
}

/* ---- transactions: lookup and access recording ---- */

static struct xs_tx *tx_find(struct xs_conn *c, uint32_t id)
{
	struct xs_tx *t;

	for (t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* The tree an operation works on: the transaction's copy or the store. */
static int caller_tree(struct xs_store *s, const struct xs_caller *c,
		       struct xs_tree **tree, struct xs_tx **tx)
{
	*tx = NULL;
	*tree = &s->tree;
	if (!c->tx_id)
		return 0;
	*tx = c->conn ? tx_find(c->conn, c->tx_id) : NULL;
	if (!*tx)
		return -ENOENT;
	*tree = &(*tx)->tree;
	return 0;
}

/*
 * Remember the generation a transaction first saw at @path; must be
 * called before the transaction changes that path.
 */
static int tx_note(struct xs_store *s, struct xs_tx *tx, const char *path)
{
	struct xs_node *n;
	unsigned int i;

	if (!tx)
		return 0;
	for (i = 0; i < tx->nr_acc; i++)
		if (!strcmp(tx->acc[i].path, path))
			return 0;
	if (tx->nr_acc >= s->quota.tx_accesses)
		return -ENOSPC;
	if (tx->nr_acc == tx->cap_acc) {
		unsigned int cap = tx->cap_acc ? tx->cap_acc * 2 : 16;
		struct tx_access *a = realloc(tx->acc, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		tx->acc = a;
		tx->cap_acc = cap;
	}
	tx->acc[tx->nr_acc].path = strdup(path);
	if (!tx->acc[tx->nr_acc].path)
		return -ENOMEM;
	n = lookup(&tx->tree, path);
	tx->acc[tx->nr_acc].gen = n ? n->gen : 0;
	tx->nr_acc++;
	return 0;
}

static int tx_log(struct xs_tx *tx, enum tx_op_kind kind, const char *path,
		  const void *data, size_t len)
{
	struct tx_op *op;

	if (tx->nr_ops == tx->cap_ops) {
		unsigned int cap = tx->cap_ops ? tx->cap_ops * 2 : 8;
		struct tx_op *o = realloc(tx->ops, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		tx->ops = o;
		tx->cap_ops = cap;
	}
	op = &tx->ops[tx->nr_ops];
	op->kind = kind;
	op->len = len;
	op->path = strdup(path);
	op->data = malloc(len ? len : 1);
	if (!op->path || !op->data) {
		free(op->path);
		free(op->data);
		return -ENOMEM;
	}
	if (len)
		memcpy(op->data, data, len);
	tx->nr_ops++;
	return 0;
}

static void tx_free(struct xs_tx *tx)
{
	unsigned int i;

	tree_free(&tx->tree);
	for (i = 0; i < tx->nr_acc; i++)
		free(tx->acc[i].path);
	for (i = 0; i < tx->nr_ops; i++) {
		free(tx->ops[i].path);
		free(tx->ops[i].data);
	}
	free(tx->acc);
	free(tx->ops);
	free(tx);
}

static void tx_unlink(struct xs_conn *c, struct xs_tx *tx)
{
	struct xs_tx **pp;

	for (pp = &c->txs; *pp; pp = &(*pp)->next) {
		if (*pp == tx) {
			*pp = tx->next;
			c->nr_txs--;
			return;
		}
	}
}

/* ---- watches ---- */

static void queue_host_event(struct xs_store *s, const struct xs_watch *w,
			     const char *path)
{
	size_t n = strlen(path) + 1;
	struct host_event *e = malloc(sizeof(*e) + n);

	if (!e)
		return;
	e->next = NULL;
	e->cb = w->cb;
	e->opaque = w->cb_opaque;
	memcpy(e->path, path, n);
	if (s->hev_tail)
		s->hev_tail->next = e;
	else
		s->hev_head = e;
	s->hev_tail = e;
}

void store_run_host_events(struct xs_store *s)
{
	if (s->running_host_events)
		return;
	s->running_host_events = true;
	while (s->hev_head) {
		struct host_event *e = s->hev_head;

		s->hev_head = e->next;
		if (!s->hev_head)
			s->hev_tail = NULL;
		e->cb(e->opaque, e->path);
		free(e);
	}
	s->running_host_events = false;
}

static void deliver_event(struct xs_store *s, struct xs_conn *c,
			  const struct xs_watch *w, const char *path)
{
	char home[32];
	int k;

	if (w->cb) {
		queue_host_event(s, w, path);
		return;
	}
	k = domain_home(c->domid, home, sizeof(home));
	if (w->relative && k > 0 && !strncmp(path, home, k) &&
	    path[k] == '/')
		path += k + 1;
	conn_queue_watch_event(c, path, w->token);
}

/*
 * A change at @path fires every watch at or above it; a recursive change
 * (rm) also fires the watches below it, reporting the watch's own path.
 * A client only hears about nodes it may read, judged on the deepest node
 * that still exists (for a removed node, its parent).
 */
static void fire_watches(struct xs_store *s, const char *path, bool recursive)
{
	struct xs_conn *c;

	for (c = s->conns; c; c = c->next) {
		struct xs_caller who = { c, c->domid, c->privileged, 0 };
		struct xs_watch *w;

		for (w = c->watches; w; w = w->next) {
			const char *ev;
			struct xs_node *deepest = NULL;

			if (w->path[0] == '@')
				continue;
			if (path_is_at_or_below(path, w->path))
				ev = path;
			else if (recursive && path_is_at_or_below(w->path, path))
				ev = w->path;
			else
				continue;
			walk(&s->tree, ev, &deepest, NULL);
			if (!may_read(&who, deepest))
				continue;
			deliver_event(s, c, w, ev);
		}
	}
}

/* Special watches go to privileged clients and to the domain concerned. */
static void fire_special(struct xs_store *s, const char *special,
			 uint32_t domid)
{
	struct xs_conn *c;

	for (c = s->conns; c; c = c->next) {
		struct xs_watch *w;

		if (!c->privileged && c->domid != domid)
			continue;
		for (w = c->watches; w; w = w->next)
			if (!strcmp(w->path, special))
				deliver_event(s, c, w, special);
	}
}

/* ---- tree operations (no events, no logging) ---- */

/* Note the parent of the first missing component and each new path. */
static int tx_note_created(struct xs_store *s, struct xs_tx *tx,
			   const char *path, const char *rest)
{
	char buf[XENSTORE_ABS_PATH_MAX + 1];
	size_t base = rest - path;	/* >= 1: rest follows a '/' */
	const char *p;
	int err;

	if (!tx)
		return 0;
	memcpy(buf, path, base - 1);
	buf[base - 1] = '\0';
	err = tx_note(s, tx, buf[0] ? buf : "/");
	for (p = rest; !err && *p;) {
		const char *e = strchrnul(p, '/');

		memcpy(buf, path, e - path);
		buf[e - path] = '\0';
		err = tx_note(s, tx, buf);
		p = *e ? e + 1 : e;
	}
	return err;
}

static char *dup_value(const void *val, size_t len)
{
	char *v = malloc(len ? len : 1);

	if (v && len)
		memcpy(v, val, len);
	return v;
}

/* Takes ownership of @v. */
static void set_node_value(struct xs_store *s, struct xs_node *n, char *v,
			   size_t len)
{
	free(n->value);
	n->value = v;
	n->len = len;
	n->gen = ++s->gen;
}

static unsigned int count_components(const char *p)
{
	unsigned int n = 0;

	while (*p) {
		n++;
		p = strchrnul(p, '/');
		if (*p)
			p++;
	}
	return n;
}

/*
 * Create the components of @rest below @parent, detached first and then
 * hung in one step so a failure leaves the tree untouched. New nodes
 * inherit the parent's ACL; a guest owns what it creates. Returns the
 * new leaf or NULL.
 */
static struct xs_node *create_chain(struct xs_store *s,
				    const struct xs_caller *c,
				    struct xs_node *parent, const char *rest)
{
	struct xs_node *top = NULL, *leaf = parent;
	const char *p = rest;

	while (*p) {
		const char *e = strchrnul(p, '/');
		struct xs_node *k = node_new(p, e - p, leaf->perms,
					     leaf->nr_perms);

		if (!k || (top && node_add_kid(leaf, k))) {
			node_free(k);
			node_free(top);
			return NULL;
		}
		if (!c->priv)
			k->perms[0].domid = c->domid;
		k->gen = ++s->gen;
		if (!top)
			top = k;
		leaf = k;
		p = *e ? e + 1 : e;
	}
	if (node_add_kid(parent, top)) {
		node_free(top);
		return NULL;
	}
	parent->gen = ++s->gen;
	return leaf;
}

/* Returns 1 if the tree changed, 0 if not, or -errno. */
static int tree_write(struct xs_store *s, const struct xs_caller *c,
		      struct xs_tree *t, struct xs_tx *tx, const char *path,
		      const void *val, size_t len, bool mkdir_only)
{
	struct xs_node *deepest, *n;
	unsigned int missing;
	const char *rest;
	char *v;
	int err;

	if (!c->priv && len > s->quota.value_size)
		return -ENOSPC;
	n = walk(t, path, &deepest, &rest);
	if (n && !may_write(c, n))
		return -EACCES;
	if (n && mkdir_only)
		return 0;
	if (!n && !may_write(c, deepest))
		return -EACCES;
	missing = n ? 0 : count_components(rest);
	if (!c->priv && missing &&
	    owner_count(t, c->domid) + missing > s->quota.nodes_per_domain)
		return -ENOSPC;
	err = n ? tx_note(s, tx, path) : tx_note_created(s, tx, path, rest);
	if (err)
		return err;
	/* Allocate first: past this point nothing may fail halfway. */
	v = dup_value(val, len);
	if (!v)
		return -ENOMEM;
	if (!n) {
		n = create_chain(s, c, deepest, rest);
		if (!n) {
			free(v);
			return -ENOMEM;
		}
		owner_adjust(t, n->perms[0].domid, (int)missing);
	}
	set_node_value(s, n, v, len);
	return 1;
}

static int tx_note_subtree(struct xs_store *s, struct xs_tx *tx,
			   const struct xs_node *n, char *buf, size_t len)
{
	unsigned int i;
	int err = tx_note(s, tx, buf);

	for (i = 0; !err && i < n->nr_kids; i++) {
		size_t l = strlen(n->kids[i]->name);

		if (len + 1 + l > XENSTORE_ABS_PATH_MAX)
			continue;
		buf[len] = '/';
		memcpy(buf + len + 1, n->kids[i]->name, l + 1);
		err = tx_note_subtree(s, tx, n->kids[i], buf, len + 1 + l);
		buf[len] = '\0';
	}
	return err;
}

static int tree_rm(struct xs_store *s, const struct xs_caller *c,
		   struct xs_tree *t, struct xs_tx *tx, const char *path)
{
	struct xs_node *deepest, *n;
	const char *rest;
	char buf[XENSTORE_ABS_PATH_MAX + 1];
	int err;

	if (!strcmp(path, "/"))
		return -EINVAL;
	n = walk(t, path, &deepest, &rest);
	if (!n) {
		/* Xen: removing a missing node is fine if its parent exists. */
		if (strchr(rest, '/'))
			return -ENOENT;
		err = tx_note(s, tx, path);
		return err ? err : 0;
	}
	if (!may_write(c, n))
		return -EACCES;
	if (tx) {
		snprintf(buf, sizeof(buf), "%s", path);
		*strrchr(buf, '/') = '\0';
		err = tx_note(s, tx, buf[0] ? buf : "/");
		snprintf(buf, sizeof(buf), "%s", path);
		if (!err)
			err = tx_note_subtree(s, tx, n, buf, strlen(buf));
		if (err)
			return err;
	}
	owner_uncount_subtree(t, n);
	n->parent->gen = ++s->gen;
	node_detach(n);
	node_free(n);
	return 1;
}

static int tree_set_perms(struct xs_store *s, const struct xs_caller *c,
			  struct xs_tree *t, struct xs_tx *tx,
			  const char *path, const char *perms, size_t len)
{
	struct xs_node *n = lookup(t, path);
	struct xs_perm *p;
	unsigned int nr;
	int err;

	if (!n)
		return -ENOENT;
	if (!may_write(c, n) || (!c->priv && n->perms[0].domid != c->domid))
		return -EACCES;
	err = parse_perms(perms, len, &p, &nr);
	if (err)
		return err;
	if (!c->priv && (nr > s->quota.perms_per_node ||
			 p[0].domid != n->perms[0].domid)) {
		err = nr > s->quota.perms_per_node ? -ENOSPC : -EPERM;
		free(p);
		return err;
	}
	err = tx_note(s, tx, path);
	if (err) {
		free(p);
		return err;
	}
	if (p[0].domid != n->perms[0].domid) {
		owner_adjust(t, n->perms[0].domid, -1);
		owner_adjust(t, p[0].domid, 1);
	}
	free(n->perms);
	n->perms = p;
	n->nr_perms = nr;
	n->gen = ++s->gen;
	return 1;
}

/* Look a node up for reading: ENOENT / EACCES as Xen answers. */
static int readable_node(struct xs_store *s, const struct xs_caller *c,
			 const char *raw, struct xs_node **out)
{
	char path[XENSTORE_ABS_PATH_MAX + 1];
	struct xs_tree *t;
	struct xs_tx *tx;
	int err;

	err = canon_path(c->domid, raw, path);
	if (!err)
		err = caller_tree(s, c, &t, &tx);
	if (!err)
		err = tx_note(s, tx, path);
	if (err)
		return err;
	*out = lookup(t, path);
	if (!*out)
		return -ENOENT;
	return may_read(c, *out) ? 0 : -EACCES;
}

/* ---- operations the wire dispatches ---- */

int store_read(struct xs_store *s, const struct xs_caller *c,
	       const char *path, struct xs_buf *out)
{
	struct xs_node *n;
	int err = readable_node(s, c, path, &n);

	return err ? err : xs_buf_put(out, n->value, n->len);
}

static int list_kids(const struct xs_node *n, struct xs_buf *out)
{
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < n->nr_kids; i++)
		err = xs_buf_put_str0(out, n->kids[i]->name);
	return err;
}

int store_directory(struct xs_store *s, const struct xs_caller *c,
		    const char *path, struct xs_buf *out)
{
	struct xs_node *n;
	int err = readable_node(s, c, path, &n);

	return err ? err : list_kids(n, out);
}

/*
 * Reply: "<generation>\0" then whole child names from byte @offset of the
 * full list that fit in one payload; an extra "\0" marks the end.
 */
int store_directory_part(struct xs_store *s, const struct xs_caller *c,
			 const char *path, uint64_t offset,
			 struct xs_buf *out)
{
	struct xs_buf all = { 0 };
	struct xs_node *n;
	char gen[24];
	size_t off, room;
	int err = readable_node(s, c, path, &n);

	if (err)
		return err;
	err = list_kids(n, &all);
	if (err || offset > all.len) {
		xs_buf_free(&all);
		return err ? err : -EINVAL;
	}
	snprintf(gen, sizeof(gen), "%" PRIu64, n->gen);
	err = xs_buf_put_str0(out, gen);
	room = XENSTORE_PAYLOAD_MAX - out->len - 1;
	for (off = offset; !err && off < all.len;) {
		size_t l = strlen(all.p + off) + 1;

		if (l > room)
			break;
		err = xs_buf_put(out, all.p + off, l);
		room -= l;
		off += l;
	}
	if (!err && off >= all.len)
		err = xs_buf_put(out, "", 1);
	xs_buf_free(&all);
	return err;
}

int store_get_perms(struct xs_store *s, const struct xs_caller *c,
		    const char *path, struct xs_buf *out)
{
	struct xs_node *n;
	unsigned int i;
	int err = readable_node(s, c, path, &n);

	for (i = 0; !err && i < n->nr_perms; i++) {
		char e[16];

		snprintf(e, sizeof(e), "%c%" PRIu32, n->perms[i].perm,
			 n->perms[i].domid);
		err = xs_buf_put_str0(out, e);
	}
	return err;
}

/* Run a mutation; fire its watch at once or log it in the transaction. */
static int mutate(struct xs_store *s, const struct xs_caller *c,
		  enum tx_op_kind kind, const char *raw, const void *data,
		  size_t len)
{
	char path[XENSTORE_ABS_PATH_MAX + 1];
	struct xs_tree *t;
	struct xs_tx *tx;
	int ret;

	ret = canon_path(c->domid, raw, path);
	if (!ret)
		ret = caller_tree(s, c, &t, &tx);
	if (ret)
		return ret;
	/* The log grows with every write, even to the same node: bound it. */
	if (tx && !c->priv && tx->nr_ops >= s->quota.tx_accesses)
		return -ENOSPC;
	switch (kind) {
	case TXOP_WRITE:
	case TXOP_MKDIR:
		ret = tree_write(s, c, t, tx, path, data, len,
				 kind == TXOP_MKDIR);
		break;
	case TXOP_RM:
		ret = tree_rm(s, c, t, tx, path);
		break;
	case TXOP_SETPERMS:
		ret = tree_set_perms(s, c, t, tx, path, data, len);
		break;
	}
	if (ret <= 0)
		return ret;
	if (tx) {
		ret = tx_log(tx, kind, path, data, len);
		/* The copy changed but the log did not: never commit it. */
		if (ret)
			tx->broken = true;
		return ret;
	}
	fire_watches(s, path, kind == TXOP_RM);
	return 0;
}

int store_write(struct xs_store *s, const struct xs_caller *c,
		const char *path, const void *val, size_t len)
{
	return mutate(s, c, TXOP_WRITE, path, val, len);
}

int store_mkdir(struct xs_store *s, const struct xs_caller *c,
		const char *path)
{
	return mutate(s, c, TXOP_MKDIR, path, NULL, 0);
}

int store_rm(struct xs_store *s, const struct xs_caller *c, const char *path)
{
	return mutate(s, c, TXOP_RM, path, NULL, 0);
}

int store_set_perms(struct xs_store *s, const struct xs_caller *c,
		    const char *path, const char *perms, size_t len)
{
	return mutate(s, c, TXOP_SETPERMS, path, perms, len);
}

/* Canonical watch path: a node path, or one of the special names. */
static int watch_path(const struct xs_caller *c, const char *raw, char *out,
		      bool *relative)
{
	*relative = raw[0] != '/' && raw[0] != '@';
	if (raw[0] == '@') {
		if (!is_special_path(raw))
			return -EINVAL;
		strcpy(out, raw);
		return 0;
	}
	return canon_path(c->domid, raw, out);
}

static struct xs_watch *watch_find(struct xs_conn *c, const char *path,
				   const char *token, struct xs_watch ***pp)
{
	struct xs_watch **w;

	for (w = &c->watches; *w; w = &(*w)->next) {
		if (!strcmp((*w)->path, path) && !strcmp((*w)->token, token)) {
			if (pp)
				*pp = w;
			return *w;
		}
	}
	return NULL;
}

static int add_watch(struct xs_store *s, struct xs_conn *c, const char *path,
		     const char *token, bool relative, xs_watch_cb cb,
		     void *opaque)
{
	struct xs_watch *w;

	if (watch_find(c, path, token, NULL))
		return -EEXIST;
	if (!c->privileged && c->nr_watches >= s->quota.watches_per_domain)
		return -E2BIG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->relative = relative;
	w->cb = cb;
	w->cb_opaque = opaque;
	w->next = c->watches;
	c->watches = w;
	c->nr_watches++;
	return 0;
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

int store_watch(struct xs_store *s, const struct xs_caller *c,
		const char *raw, const char *token)
{
	char path[XENSTORE_ABS_PATH_MAX + 1];
	bool relative;
	int err = watch_path(c, raw, path, &relative);

	if (err)
		return err;
	return add_watch(s, c->conn, path, token, relative, NULL, NULL);
}

int store_unwatch(struct xs_store *s, const struct xs_caller *c,
		  const char *raw, const char *token)
{
	char path[XENSTORE_ABS_PATH_MAX + 1];
	struct xs_watch *w, **pp;
	bool relative;
	int err = watch_path(c, raw, path, &relative);

	(void)s;
	if (err)
		return err;
	w = watch_find(c->conn, path, token, &pp);
	if (!w)
		return -ENOENT;
	*pp = w->next;
	c->conn->nr_watches--;
	watch_free(w);
	return 0;
}

static void drop_watches(struct xs_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
	}
	c->nr_watches = 0;
}

static void drop_transactions(struct xs_conn *c)
{
	while (c->txs) {
		struct xs_tx *tx = c->txs;

		c->txs = tx->next;
		tx_free(tx);
	}
	c->nr_txs = 0;
}

/* Xen: XS_RESET_WATCHES drops the client's watches and transactions. */
int store_reset_watches(struct xs_store *s, const struct xs_caller *c)
{
	(void)s;
	drop_watches(c->conn);
	drop_transactions(c->conn);
	return 0;
}

void store_drop_conn_state(struct xs_store *s, struct xs_conn *c)
{
	(void)s;
	drop_watches(c);
	drop_transactions(c);
}

static bool tx_id_in_use(struct xs_store *s, uint32_t id)
{
	struct xs_conn *c;

	for (c = s->conns; c; c = c->next)
		if (tx_find(c, id))
			return true;
	return false;
}

int store_tx_start(struct xs_store *s, const struct xs_caller *c,
		   uint32_t *id)
{
	struct xs_conn *conn = c->conn;
	unsigned int max = conn->privileged ? PRIV_MAX_TRANSACTIONS :
					      s->quota.transactions_per_domain;
	struct xs_tx *tx;

	if (c->tx_id)
		return -EBUSY;
	if (conn->nr_txs >= max)
		return -ENOSPC;
	tx = calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	if (tree_clone(&s->tree, &tx->tree)) {
		free(tx);
		return -ENOMEM;
	}
	do {
		tx->id = s->next_tx_id++;
	} while (!tx->id || tx_id_in_use(s, tx->id));
	tx->next = conn->txs;
	conn->txs = tx;
	conn->nr_txs++;
	*id = tx->id;
	return 0;
}

static bool tx_conflicts(struct xs_store *s, const struct xs_tx *tx)
{
	unsigned int i;

	for (i = 0; i < tx->nr_acc; i++) {
		struct xs_node *n = lookup(&s->tree, tx->acc[i].path);

		if ((n ? n->gen : 0) != tx->acc[i].gen)
			return true;
	}
	return false;
}

static int tx_replay(struct xs_store *s, const struct xs_caller *c,
		     const struct xs_tx *tx, struct xs_tree *t)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; ret >= 0 && i < tx->nr_ops; i++) {
		const struct tx_op *op = &tx->ops[i];

		switch (op->kind) {
		case TXOP_WRITE:
		case TXOP_MKDIR:
			ret = tree_write(s, c, t, NULL, op->path, op->data,
					 op->len, op->kind == TXOP_MKDIR);
			break;
		case TXOP_RM:
			ret = tree_rm(s, c, t, NULL, op->path);
			break;
		case TXOP_SETPERMS:
			ret = tree_set_perms(s, c, t, NULL, op->path, op->data,
					     op->len);
			break;
		}
	}
	return ret < 0 ? ret : 0;
}

static int tx_commit(struct xs_store *s, const struct xs_caller *c,
		     const struct xs_tx *tx)
{
	struct xs_caller plain = *c;
	struct xs_tree next;
	unsigned int i;
	int err;

	if (tx->broken)
		return -ENOMEM;
	if (tx_conflicts(s, tx))
		return -EAGAIN;
	if (!tx->nr_ops)
		return 0;
	plain.tx_id = 0;
	err = tree_clone(&s->tree, &next);
	if (err)
		return err;
	err = tx_replay(s, &plain, tx, &next);
	if (err) {
		tree_free(&next);
		return err;
	}
	tree_free(&s->tree);
	s->tree = next;
	for (i = 0; i < tx->nr_ops; i++)
		fire_watches(s, tx->ops[i].path, tx->ops[i].kind == TXOP_RM);
	return 0;
}

int store_tx_end(struct xs_store *s, const struct xs_caller *c, bool commit)
{
	struct xs_tx *tx = c->tx_id ? tx_find(c->conn, c->tx_id) : NULL;
	int err = 0;

	if (!tx)
		return -ENOENT;
	tx_unlink(c->conn, tx);
	if (commit)
		err = tx_commit(s, c, tx);
	tx_free(tx);
	return err;
}

/* ---- domains ---- */

static struct xs_domain *domain_find(const struct xs_store *s, uint32_t domid)
{
	unsigned int i;

	for (i = 0; i < s->nr_doms; i++)
		if (s->doms[i].domid == domid)
			return &s->doms[i];
	return NULL;
}

int store_introduce(struct xs_store *s, uint32_t domid)
{
	struct xs_domain *d = domain_find(s, domid);

	if (d && d->introduced)
		return 0;
	if (!d) {
		struct xs_domain *nd = realloc(s->doms,
					       (s->nr_doms + 1) * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		s->doms = nd;
		d = &nd[s->nr_doms++];
		d->domid = domid;
	}
	d->introduced = true;
	fire_special(s, SPECIAL_INTRODUCE, domid);
	return 0;
}

int store_release(struct xs_store *s, uint32_t domid)
{
	struct xs_domain *d = domain_find(s, domid);

	if (!d || !d->introduced)
		return -ENOENT;
	d->introduced = false;
	fire_special(s, SPECIAL_RELEASE, domid);
	return 0;
}

int store_resume(struct xs_store *s, uint32_t domid)
{
	struct xs_domain *d = domain_find(s, domid);

	return d && d->introduced ? 0 : -ENOENT;
}

bool xs_domain_is_introduced(const struct xs_store *s, uint32_t domid)
{
	struct xs_domain *d = domain_find(s, domid);

	return d && d->introduced;
}

/* ---- store lifetime and connections ---- */

const struct xs_quota *store_quota(const struct xs_store *s)
{
	return &s->quota;
}

void xs_store_get_quota(const struct xs_store *s, struct xs_quota *q)
{
	*q = s->quota;
}

void xs_store_set_quota(struct xs_store *s, const struct xs_quota *q)
{
	s->quota = *q;
}

void store_link_conn(struct xs_store *s, struct xs_conn *c)
{
	c->next = s->conns;
	s->conns = c;
}

void store_unlink_conn(struct xs_store *s, struct xs_conn *c)
{
	struct xs_conn **pp;

	for (pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static const struct xs_quota default_quota = {
	.nodes_per_domain = XS_QUOTA_NODES,
	.value_size = XS_QUOTA_VALUE_SIZE,
	.watches_per_domain = XS_QUOTA_WATCHES,
	.transactions_per_domain = XS_QUOTA_TRANSACTIONS,
	.perms_per_node = XS_QUOTA_PERMS,
	.tx_accesses = XS_QUOTA_TX_ACCESSES,
	.pending_events = XS_QUOTA_EVENTS,
};

static const struct xs_conn_ops host_conn_ops = { 0 };

struct xs_store *xs_store_new(void)
{
	static const struct xs_perm root_perm = { 0, 'n' };
	struct xs_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->quota = default_quota;
	s->next_tx_id = 1;
	s->gen = 1;
	s->tree.root = node_new("", 0, &root_perm, 1);
	if (!s->tree.root || owner_adjust(&s->tree, 0, 1))
		goto fail;
	s->tree.root->gen = ++s->gen;
	s->host = xs_conn_new(s, 0, true, &host_conn_ops, NULL);
	if (!s->host)
		goto fail;
	if (xenstore_mkdir(s, "/local/domain/0/backend") ||
	    xenstore_write(s, "/local/domain/0/name", "Domain-0") ||
	    xenstore_write(s, "/local/domain/0/domid", "0") ||
	    xenstore_mkdir(s, "/tool"))
		goto fail;
	return s;
fail:
	xs_store_free(s);
	return NULL;
}

void xs_store_free(struct xs_store *s)
{
	if (!s)
		return;
	if (s->host)
		xs_conn_free(s->host);
	while (s->conns) {
		struct xs_conn *c = s->conns;

		/* Transports should have freed theirs; do not leak if not. */
		xs_conn_free(c);
	}
	while (s->hev_head) {
		struct host_event *e = s->hev_head;

		s->hev_head = e->next;
		free(e);
	}
	tree_free(&s->tree);
	free(s->doms);
	free(s);
}

/* ---- host API (domain 0 rights) ---- */

static struct xs_caller host_caller(struct xs_store *s)
{
	struct xs_caller c = { s->host, 0, true, 0 };

	return c;
}

static int host_done(struct xs_store *s, int err)
{
	store_run_host_events(s);
	return err;
}

int xenstore_write_bytes(struct xs_store *s, const char *path, const void *value,
		   size_t len)
{
	struct xs_caller c = host_caller(s);

	return host_done(s, store_write(s, &c, path, value, len));
}

int xenstore_write(struct xs_store *s, const char *path, const char *value)
{
	return xenstore_write_bytes(s, path, value, strlen(value));
}

int xenstore_read(struct xs_store *s, const char *path, char **value, size_t *len)
{
	struct xs_caller c = host_caller(s);
	struct xs_buf b = { 0 };
	int err = store_read(s, &c, path, &b);

	if (!err)
		err = xs_buf_put(&b, "", 1);
	if (err) {
		xs_buf_free(&b);
		return err;
	}
	*value = b.p;
	if (len)
		*len = b.len - 1;
	return 0;
}

bool xenstore_exists(struct xs_store *s, const char *path)
{
	return !validate_abs_path(path) && lookup(&s->tree, path);
}

int xenstore_mkdir(struct xs_store *s, const char *path)
{
	struct xs_caller c = host_caller(s);

	return host_done(s, store_mkdir(s, &c, path));
}

int xenstore_rm(struct xs_store *s, const char *path)
{
	struct xs_caller c = host_caller(s);

	return host_done(s, store_rm(s, &c, path));
}

int xenstore_set_perms(struct xs_store *s, const char *path,
		 const char *const *perms, unsigned int nr)
{
	struct xs_caller c = host_caller(s);
	struct xs_buf b = { 0 };
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < nr; i++)
		err = xs_buf_put_str0(&b, perms[i]);
	if (!err)
		err = store_set_perms(s, &c, path, b.p ? b.p : "", b.len);
	xs_buf_free(&b);
	return host_done(s, err);
}

int xenstore_watch(struct xs_store *s, const char *path, xs_watch_cb cb,
		  void *opaque)
{
	char token[32];
	int err;

	if (validate_abs_path(path) && !is_special_path(path))
		return -EINVAL;
	/* The token only has to be unique per (path, callback) pair. */
	snprintf(token, sizeof(token), "%p", opaque);
	err = add_watch(s, s->host, path, token, false, cb, opaque);
	if (!err) {
		struct xs_watch w = { .cb = cb, .cb_opaque = opaque };

		queue_host_event(s, &w, path);
	}
	return host_done(s, err);
}

int xenstore_unwatch(struct xs_store *s, const char *path, xs_watch_cb cb,
		    void *opaque)
{
	struct xs_watch *w, **pp;
	char token[32];

	snprintf(token, sizeof(token), "%p", opaque);
	w = watch_find(s->host, path, token, &pp);
	if (!w || w->cb != cb)
		return -ENOENT;
	*pp = w->next;
	s->host->nr_watches--;
	watch_free(w);
	return 0;
}

/* ---- self-check, for tests ---- */

static int check_node(const struct xs_node *n, struct owner_count *cnt,
		      unsigned int *nr_cnt, unsigned int max_cnt)
{
	unsigned int i;
	int err = 0;

	if (!n->nr_perms || !n->perms)
		return -EINVAL;
	for (i = 0; i < *nr_cnt && cnt[i].domid != n->perms[0].domid; i++)
		;
	if (i == *nr_cnt) {
		if (*nr_cnt == max_cnt)
			return -E2BIG;
		cnt[i].domid = n->perms[0].domid;
		cnt[i].count = 0;
		(*nr_cnt)++;
	}
	cnt[i].count++;
	for (i = 0; !err && i < n->nr_kids; i++) {
		if (n->kids[i]->parent != n || !n->kids[i]->name[0] ||
		    strchr(n->kids[i]->name, '/'))
			return -EINVAL;
		err = check_node(n->kids[i], cnt, nr_cnt, max_cnt);
	}
	return err;
}

/* The accounting that quotas trust must match the tree. */
static int check_tree(const struct xs_tree *t)
{
	struct owner_count cnt[64];
	unsigned int nr = 0, i;
	int err = check_node(t->root, cnt, &nr, 64);

	for (i = 0; !err && i < nr; i++)
		if (owner_count(t, cnt[i].domid) != cnt[i].count)
			err = -EDOM;
	for (i = 0; !err && i < t->nr_owners; i++) {
		unsigned int j;

		for (j = 0; j < nr && cnt[j].domid != t->owners[i].domid; j++)
			;
		if (t->owners[i].count && j == nr)
			err = -EDOM;
	}
	return err;
}

int xs_store_check(struct xs_store *s)
{
	struct xs_conn *c;
	int err = check_tree(&s->tree);

	for (c = s->conns; !err && c; c = c->next) {
		struct xs_tx *tx;
		unsigned int n = 0;

		for (tx = c->txs; !err && tx; tx = tx->next, n++)
			err = check_tree(&tx->tree);
		if (!err && n != c->nr_txs)
			err = -EDOM;
	}
	return err;
}
