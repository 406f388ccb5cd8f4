// SPDX-License-Identifier: GPL-2.0
/*
 * Disk specifications (include/blkback.h): the --disk option, xl.cfg's
 * disk entries and Xen's virtual device numbers. Pure string handling,
 * so the machine's command line and config parsers can call it early and
 * report errors before anything is opened.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkback.h"

#define XEN_MAJOR_XVD	202
#define XEN_EXT_FLAG	(1u << 28)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void spec_init(struct blk_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->cache = BLK_CACHE_WRITEBACK;
	out->engine = BLK_ENGINE_URING;
}

/* "a".."z" -> 0..25, "aa" -> 26 ...: the disk index of a name's suffix. */
static int letters_to_index(const char *s, unsigned int *idx)
{
	unsigned int v = 0;
	size_t n = strlen(s);

	if (!n || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 'a' || s[i] > 'z')
			return -1;
		v = v * 26 + (unsigned int)(s[i] - 'a' + 1);
	}
	*idx = v - 1;
	return 0;
}

/* Digits only, no sign, no overflow past @max. */
static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

int blk_vdev_to_devid(const char *vdev, uint32_t *devid)
{
	unsigned int disk;
	unsigned long n;

	if (!vdev)
		return -1;
	if (!parse_uint(vdev, UINT32_MAX, &n)) {
		*devid = (uint32_t)n;
		return n ? 0 : -1;
	}
	if (!strncmp(vdev, "xvd", 3) && !letters_to_index(vdev + 3, &disk)) {
		if (disk < 16)
			*devid = XEN_MAJOR_XVD << 8 | disk << 4;
		else if (disk < (1u << 20))
			*devid = XEN_EXT_FLAG | disk << 8;
		else
			return -1;
		return 0;
	}
	/* IDE hda..hdd and SCSI sda..sdp, as libxl numbers them. */
	if (!strncmp(vdev, "hd", 2) && !letters_to_index(vdev + 2, &disk) &&
	    disk < 4) {
		static const unsigned int ide_major[] = { 3, 3, 22, 22 };

		*devid = ide_major[disk] << 8 | (disk & 1) << 6;
		return 0;
	}
	if (!strncmp(vdev, "sd", 2) && !letters_to_index(vdev + 2, &disk) &&
	    disk < 16) {
		*devid = 8 << 8 | disk << 4;
		return 0;
	}
	return -1;
}

int blk_spec_default_vdev(struct blk_spec *spec, unsigned int index)
{
	char suffix[4];
	int n = 0;

	if (index >= 26 + 26 * 26)
		return -1;
	if (index >= 26) {
		suffix[n++] = (char)('a' + (index - 26) / 26);
		index = (index - 26) % 26;
	}
	suffix[n++] = (char)('a' + index);
	suffix[n] = '\0';
	snprintf(spec->vdev, sizeof(spec->vdev), "xvd%s", suffix);
	return 0;
}

static int set_vdev(struct blk_spec *out, const char *v, char *err,
		    size_t errlen)
{
	uint32_t devid;

	if (strlen(v) >= sizeof(out->vdev) || blk_vdev_to_devid(v, &devid))
		return fail(err, errlen,
			    "bad vdev '%s' (expected xvdX, hdX, sdX or a number)",
			    v);
	strcpy(out->vdev, v);
	return 0;
}

static int set_path(struct blk_spec *out, const char *v, char *err,
		    size_t errlen)
{
	if (!*v)
		return fail(err, errlen, "empty disk path");
	if (strlen(v) >= sizeof(out->path))
		return fail(err, errlen, "disk path too long");
	strcpy(out->path, v);
	return 0;
}

static int set_format(const char *v, char *err, size_t errlen)
{
	if (!*v || !strcmp(v, "raw"))
		return 0;
	return fail(err, errlen,
		    "disk format '%s' is not supported (only raw)", v);
}

static int set_engine(struct blk_spec *out, const char *v, char *err,
		      size_t errlen)
{
	if (!strcmp(v, "uring"))
		out->engine = BLK_ENGINE_URING;
	else if (!strcmp(v, "sync"))
		out->engine = BLK_ENGINE_SYNC;
	else
		return fail(err, errlen,
			    "unknown disk engine '%s' (uring or sync)", v);
	return 0;
}

/* --disk: split at single commas; ",," is a comma inside PATH. */
static const char *next_field(const char *p, char *buf, size_t len)
{
	size_t n = 0;

	while (*p) {
		if (*p == ',' && p[1] == ',') {
			p++;
		} else if (*p == ',') {
			p++;
			break;
		}
		if (n + 1 < len)
			buf[n++] = *p;
		else
			buf[len - 1] = '\1';	/* marks truncation */
		p++;
	}
	buf[n < len ? n : len - 1] = '\0';
	return p;
}

static int spec_option(struct blk_spec *out, const char *o, char *err,
		       size_t errlen)
{
	if (!strcmp(o, "ro") || !strcmp(o, "readonly"))
		out->readonly = true;
	else if (!strcmp(o, "rw"))
		out->readonly = false;
	else if (!strncmp(o, "format=", 7))
		return set_format(o + 7, err, errlen);
	else if (!strcmp(o, "cache=none"))
		out->cache = BLK_CACHE_NONE;
	else if (!strcmp(o, "cache=writeback"))
		out->cache = BLK_CACHE_WRITEBACK;
	else if (!strncmp(o, "vdev=", 5))
		return set_vdev(out, o + 5, err, errlen);
	else if (!strncmp(o, "engine=", 7))
		return set_engine(out, o + 7, err, errlen);
	else
		return fail(err, errlen,
			    "unknown disk option '%s' (ro, rw, format=raw, cache=none|writeback, vdev=NAME, engine=uring|sync)",
			    o);
	return 0;
}

int blk_parse_spec(const char *spec, struct blk_spec *out, char *err,
		   size_t errlen)
{
	char buf[BLK_PATH_MAX + 2];
	const char *p;

	if (!spec || !out)
		return fail(err, errlen, "no disk given");
	spec_init(out);
	p = next_field(spec, buf, sizeof(buf));
	if (strchr(buf, '\1'))
		return fail(err, errlen, "disk path too long");
	if (set_path(out, buf, err, errlen))
		return -1;
	while (*p) {
		p = next_field(p, buf, sizeof(buf));
		if (spec_option(out, buf, err, errlen))
			return -1;
	}
	return 0;
}

/* ---- xl.cfg ---- */

enum xl_pos { XL_TARGET, XL_FORMAT, XL_VDEV, XL_ACCESS, XL_NPOS };

struct xl_disk {
	bool have[XL_NPOS];
};

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static int xl_access(struct blk_spec *out, const char *v, char *err,
		     size_t errlen)
{
	if (!strcmp(v, "r") || !strcmp(v, "ro"))
		out->readonly = true;
	else if (!*v || !strcmp(v, "w") || !strcmp(v, "rw"))
		out->readonly = false;
	else
		return fail(err, errlen, "bad disk access '%s' (r, ro, w, rw)", v);
	return 0;
}

/*
 * The deprecated "<prefix>:" of a target names its format or backend
 * type (xl-disk-configuration(5)); it counts as a given format.
 */
static int xl_target(struct blk_spec *out, struct xl_disk *d, const char *v,
		     char *err, size_t errlen)
{
	static const char *const raw_prefixes[] = {
		"tap:aio:", "tap2:aio:", "file:", "phy:", "raw:", "aio:",
		"qdisk:",
	};
	static const char *const bad_prefixes[] = {
		"tap:qcow2:", "tap:qcow:", "tap:vhd:", "qcow2:", "qcow:", "vhd:",
		"qed:", "tap:", "tap2:",
	};
	size_t i;

	for (i = 0; i < sizeof(raw_prefixes) / sizeof(raw_prefixes[0]); i++) {
		size_t n = strlen(raw_prefixes[i]);

		if (!strncmp(v, raw_prefixes[i], n)) {
			d->have[XL_FORMAT] = true;
			return set_path(out, v + n, err, errlen);
		}
	}
	for (i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
		if (!strncmp(v, bad_prefixes[i], strlen(bad_prefixes[i])))
			return fail(err, errlen,
				    "disk '%s': only raw images are supported", v);
	return set_path(out, v, err, errlen);
}

static int xl_set(struct blk_spec *out, struct xl_disk *d, enum xl_pos pos,
		  const char *v, char *err, size_t errlen)
{
	static const char *const names[] = { "target", "format", "vdev",
					     "access" };

	if (d->have[pos])
		return fail(err, errlen, "disk %s given twice", names[pos]);
	d->have[pos] = true;
	switch (pos) {
	case XL_TARGET:
		return xl_target(out, d, v, err, errlen);
	case XL_FORMAT:
		return set_format(v, err, errlen);
	case XL_VDEV:
		/* "hdc:cdrom" is the deprecated spelling of devtype=cdrom. */
		if (strstr(v, ":cdrom"))
			return fail(err, errlen, "cdrom disks are not supported");
		return *v ? set_vdev(out, v, err, errlen) : 0;
	default:
		return xl_access(out, v, err, errlen);
	}
}

static int xl_keyword(struct blk_spec *out, struct xl_disk *d,
		      const char *key, const char *v, char *err, size_t errlen)
{
	if (!strcmp(key, "format"))
		return xl_set(out, d, XL_FORMAT, v, err, errlen);
	if (!strcmp(key, "vdev"))
		return xl_set(out, d, XL_VDEV, v, err, errlen);
	if (!strcmp(key, "access"))
		return xl_set(out, d, XL_ACCESS, v, err, errlen);
	if (!strcmp(key, "devtype")) {
		if (!strcmp(v, "disk"))
			return 0;
		return fail(err, errlen, "devtype '%s' is not supported", v);
	}
	if (!strcmp(key, "backendtype")) {
		if (!strcmp(v, "phy") || !strcmp(v, "qdisk"))
			return 0;
		return fail(err, errlen, "backendtype '%s' is not supported", v);
	}
	if (!strcmp(key, "backend")) {
		if (!strcmp(v, "0") || !strcmp(v, "Domain-0"))
			return 0;
		return fail(err, errlen, "disk backends other than dom0 are not supported");
	}
	return fail(err, errlen, "disk key '%s' is not supported", key);
}

/* Bare flags; the ones we cannot honour are errors, not silence. */
static int xl_flag(const char *f, bool *is_flag, char *err, size_t errlen)
{
	*is_flag = true;
	if (!strcmp(f, "discard") || !strcmp(f, "no-discard") ||
	    !strcmp(f, "direct-io-safe"))
		return 0;
	if (!strcmp(f, "cdrom"))
		return fail(err, errlen, "cdrom disks are not supported");
	*is_flag = false;
	return 0;
}

static bool looks_like_vdev(const char *s)
{
	uint32_t devid;

	return !isdigit((unsigned char)s[0]) && !blk_vdev_to_devid(s, &devid);
}

static int xl_item(struct blk_spec *out, struct xl_disk *d, char *item,
		   char *err, size_t errlen)
{
	char *eq = strchr(item, '=');
	bool is_flag;
	int pos;

	trim(item);
	if (eq) {
		eq = strchr(item, '=');
		*eq = '\0';
		trim(item);
		trim(eq + 1);
		return xl_keyword(out, d, item, eq + 1, err, errlen);
	}
	if (xl_flag(item, &is_flag, err, errlen))
		return -1;
	if (is_flag)
		return 0;
	for (pos = 0; pos < XL_NPOS && d->have[pos]; pos++)
		;
	if (pos == XL_NPOS)
		return fail(err, errlen, "too many positional disk parameters at '%s'",
			    item);
	/* xm's "target,vdev,access" without a prefix: a vdev is no format. */
	if (pos == XL_FORMAT && looks_like_vdev(item)) {
		d->have[XL_FORMAT] = true;
		pos = XL_VDEV;
	}
	return xl_set(out, d, (enum xl_pos)pos, item, err, errlen);
}

int blk_parse_xl_disk(const char *entry, struct blk_spec *out, char *err,
		      size_t errlen)
{
	struct xl_disk d = { 0 };
	char *copy, *p;
	int ret = 0;

	if (!entry || !out)
		return fail(err, errlen, "no disk given");
	spec_init(out);
	copy = strdup(entry);
	if (!copy)
		return fail(err, errlen, "out of memory");
	for (p = copy; !ret && p;) {
		char *comma, *item = p;

		while (isspace((unsigned char)*item))
			item++;
		/* target= takes the rest of the string, commas and all. */
		if (!strncmp(item, "target=", 7)) {
			trim(item + 7);
			ret = xl_set(out, &d, XL_TARGET, item + 7, err, errlen);
			break;
		}
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		ret = xl_item(out, &d, p, err, errlen);
		p = comma ? comma + 1 : NULL;
	}
	free(copy);
	if (ret)
		return -1;
	if (!out->path[0])
		return fail(err, errlen, "disk '%s' has no target", entry);
	if (!out->vdev[0])
		return fail(err, errlen, "disk '%s' has no vdev", entry);
	return 0;
}
