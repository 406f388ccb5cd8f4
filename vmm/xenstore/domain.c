// SPDX-License-Identifier: GPL-2.0
/*
 * What a Xen toolstack writes into the store: the standard tree of an HVM
 * guest and the frontend/backend directories of its PV devices. Built on
 * the host API only, with domain 0 rights.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

struct path_fmt {
	char buf[XENSTORE_ABS_PATH_MAX + 1];
};

static const char *pathf(struct path_fmt *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *pathf(struct path_fmt *p, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(p->buf, sizeof(p->buf), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(p->buf))
		p->buf[0] = '\0';	/* invalid path: the op fails EINVAL */
	return p->buf;
}

/* mkdir @path and give it "<owner_perm><owner>" plus one reader. */
static int mkdir_owned(struct xs_store *s, const char *path, uint32_t owner,
		       char owner_default, uint32_t reader)
{
	char p0[16], p1[16];
	const char *perms[2] = { p0, p1 };
	int err = xenstore_mkdir(s, path);

	snprintf(p0, sizeof(p0), "%c%" PRIu32, owner_default, owner);
	snprintf(p1, sizeof(p1), "r%" PRIu32, reader);
	return err ? err : xenstore_set_perms(s, path, perms, owner == reader ? 1 : 2);
}

static int write_kv_list(struct xs_store *s, const char *dir,
			 const char *const *kv)
{
	struct path_fmt p;
	int err = 0;

	for (; !err && kv && kv[0] && kv[1]; kv += 2)
		err = xenstore_write(s, pathf(&p, "%s/%s", dir, kv[0]), kv[1]);
	return err;
}

int xs_domain_introduce(struct xs_store *s, uint32_t domid,
			const struct xs_domain_info *info)
{
	static const char *const rw_dirs[] = {
		"device", "control", "data", "drivers", "feature", "attr",
		"error", "messages",
	};
	struct path_fmt p;
	char home[32], num[32];
	unsigned int i;
	int err;

	if (domid == 0 || domid >= 0x7ff0)
		return -EINVAL;
	snprintf(home, sizeof(home), "/local/domain/%" PRIu32, domid);
	/* The domain reads its home but only dom0 may change what is there. */
	err = mkdir_owned(s, home, 0, 'n', domid);
	snprintf(num, sizeof(num), "%" PRIu32, domid);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/domid", home), num);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/name", home),
			       info && info->name ? info->name : "guest");
	snprintf(num, sizeof(num), "%" PRIu64, info ? info->memory_kib : 0);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/memory/target", home), num);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/memory/static-max", home), num);
	for (i = 0; !err && info && i < info->vcpus; i++)
		err = xenstore_write(s, pathf(&p, "%s/cpu/%u/availability", home, i),
			       "online");
	for (i = 0; !err && i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++)
		err = mkdir_owned(s, pathf(&p, "%s/%s", home, rw_dirs[i]),
				  domid, 'n', domid);
	if (!err)
		err = mkdir_owned(s, pathf(&p, "%s/backend", home), 0, 'n',
				  domid);
	/* Features the toolstack advertises; read-only for the guest. */
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/control/platform-feature-"
					"multiprocessor-suspend", home), "1");
	if (!err)
		err = mkdir_owned(s, p.buf, 0, 'n', domid);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/control/platform-feature-"
					"xs_reset_watches", home), "1");
	if (!err)
		err = mkdir_owned(s, p.buf, 0, 'n', domid);
	if (!err)
		err = store_introduce(s, domid);
	store_run_host_events(s);
	return err;
}

int xs_domain_release(struct xs_store *s, uint32_t domid)
{
	char home[32];
	int err;

	snprintf(home, sizeof(home), "/local/domain/%" PRIu32, domid);
	err = store_release(s, domid);
	if (!err)
		err = xenstore_rm(s, home);
	store_run_host_events(s);
	return err;
}

int xs_device_add(struct xs_store *s, uint32_t fe_domid, uint32_t be_domid,
		  const char *type, unsigned int devid,
		  const char *const *fe_kv, const char *const *be_kv)
{
	struct path_fmt fe, be, p;
	char num[16];
	int err;

	pathf(&fe, "/local/domain/%" PRIu32 "/device/%s/%u", fe_domid, type,
	      devid);
	pathf(&be, "/local/domain/%" PRIu32 "/backend/%s/%" PRIu32 "/%u",
	      be_domid, type, fe_domid, devid);
	err = mkdir_owned(s, fe.buf, fe_domid, 'n', be_domid);
	if (!err)
		err = mkdir_owned(s, be.buf, be_domid, 'n', fe_domid);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/backend", fe.buf), be.buf);
	snprintf(num, sizeof(num), "%" PRIu32, be_domid);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/backend-id", fe.buf), num);
	if (!err)
		err = write_kv_list(s, fe.buf, fe_kv);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/frontend", be.buf), fe.buf);
	snprintf(num, sizeof(num), "%" PRIu32, fe_domid);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/frontend-id", be.buf), num);
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/online", be.buf), "1");
	if (!err)
		err = write_kv_list(s, be.buf, be_kv);
	/* State last: a frontend that sees it finds everything else. */
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/state", be.buf), "1");
	if (!err)
		err = xenstore_write(s, pathf(&p, "%s/state", fe.buf), "1");
	return err;
}

int xs_device_remove(struct xs_store *s, uint32_t fe_domid,
		     uint32_t be_domid, const char *type, unsigned int devid)
{
	struct path_fmt fe, be;
	int err, err2;

	pathf(&fe, "/local/domain/%" PRIu32 "/device/%s/%u", fe_domid, type,
	      devid);
	pathf(&be, "/local/domain/%" PRIu32 "/backend/%s/%" PRIu32 "/%u",
	      be_domid, type, fe_domid, devid);
	err = xenstore_rm(s, fe.buf);
	err2 = xenstore_rm(s, be.buf);
	return err ? err : err2;
}
