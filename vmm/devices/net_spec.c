// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing the user's description of a vif: the command line's --net and
 * xl.cfg's vif entries fill the same struct net_spec (include/netback.h).
 * Every error names the offending part, because "bad --net" alone sends
 * the user hunting.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netback.h"

#define SPEC_MAX	512
#define MTU_MIN		68
#define MTU_MAX		65535

void net_spec_defaults(struct net_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->queues = 1;
	out->mtu = NET_DEFAULT_MTU;
	out->offload = true;
}

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

int net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		const char *p = s + i * 3;

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) ||
		    p[2] != (i == 5 ? '\0' : ':'))
			return -1;
		mac[i] = (uint8_t)strtoul((char[3]){ p[0], p[1], 0 }, NULL, 16);
	}
	return 0;
}

/* Linux's rules for an interface name (dev_valid_name()). */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int set_ifname(char *dst, const char *val, const char *key, char *err,
		      size_t errlen)
{
	if (!valid_ifname(val))
		return fail(err, errlen,
			    "%s=%s: not a valid interface name (1-%d characters, no '/', ':' or spaces)",
			    key, val, IFNAMSIZ - 1);
	strcpy(dst, val);
	return 0;
}

static int set_mac(struct net_spec *out, const char *val, char *err,
		   size_t errlen)
{
	if (net_parse_mac(val, out->mac))
		return fail(err, errlen,
			    "mac=%s: expected six hex pairs like 00:16:3e:01:02:03",
			    val);
	if (out->mac[0] & 1)
		return fail(err, errlen, "mac=%s: a multicast address", val);
	out->mac_set = true;
	return 0;
}

/* Keys both syntaxes share; 1 if @key is not one of them. */
static int common_key(struct net_spec *out, const char *key, const char *val,
		      char *err, size_t errlen)
{
	if (!strcmp(key, "mac"))
		return set_mac(out, val, err, errlen);
	if (!strcmp(key, "bridge"))
		return set_ifname(out->bridge, val, key, err, errlen);
	if (!strcmp(key, "mtu")) {
		if (parse_uint(val, MTU_MIN, MTU_MAX, &out->mtu))
			return fail(err, errlen, "mtu=%s: expected %d..%d",
				    val, MTU_MIN, MTU_MAX);
		return 0;
	}
	if (!strcmp(key, "queues")) {
		if (parse_uint(val, 1, NET_MAX_QUEUES, &out->queues))
			return fail(err, errlen, "queues=%s: expected 1..%d",
				    val, NET_MAX_QUEUES);
		return 0;
	}
	return 1;
}

typedef int (*key_fn)(struct net_spec *out, const char *key, const char *val,
		      char *err, size_t errlen);

/* Split "k=v,k=v" and hand each pair to @fn. */
static int for_each_pair(const char *text, const char *what,
			 struct net_spec *out, key_fn fn, char *err,
			 size_t errlen)
{
	char buf[SPEC_MAX], *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf))
		return fail(err, errlen, "%s: longer than %d characters", what,
			    SPEC_MAX - 1);
	strcpy(buf, text);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		char *key = tok, *val;

		while (isspace((unsigned char)*key))
			key++;
		if (!eq)
			return fail(err, errlen, "%s: '%s' is not key=value",
				    what, key);
		*eq = '\0';
		val = eq + 1;
		for (char *e = eq; e > key && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		while (isspace((unsigned char)*val))
			val++;
		for (char *e = val + strlen(val);
		     e > val && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (fn(out, key, val, err, errlen))
			return -1;
	}
	return 0;
}

static int spec_key(struct net_spec *out, const char *key, const char *val,
		    char *err, size_t errlen)
{
	int r;

	if (!strcmp(key, "tap"))
		return set_ifname(out->tap, val, key, err, errlen);
	/* Not an xl.cfg key: --net only. */
	if (!strcmp(key, "offload")) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return fail(err, errlen, "offload=%s: expected on or off",
				    val);
		out->offload = !strcmp(val, "on");
		return 0;
	}
	r = common_key(out, key, val, err, errlen);
	if (r > 0)
		return fail(err, errlen,
			    "unknown key '%s' (expected tap, mac, queues, bridge, mtu, offload)",
			    key);
	return r;
}

int net_parse_spec(const char *spec, struct net_spec *out, char *err,
		   size_t errlen)
{
	net_spec_defaults(out);
	if (!spec || !*spec)
		return fail(err, errlen, "--net: empty (expected tap=NAME[,mac=..][,queues=N])");
	if (for_each_pair(spec, "--net", out, spec_key, err, errlen))
		return -1;
	if (!out->tap[0])
		return fail(err, errlen, "--net %s: tap=NAME is required", spec);
	return 0;
}

static bool is_dom0(const char *val)
{
	return !strcmp(val, "0") || !strcmp(val, "Domain-0");
}

static int vif_key(struct net_spec *out, const char *key, const char *val,
		   char *err, size_t errlen)
{
	static const char *const ignored[] = {
		"type", "model", "script", "ip", "rate", "gatewaydev",
		"accel", "trusted", NULL,
	};
	int r;

	if (!strcmp(key, "vifname"))
		return set_ifname(out->tap, val, key, err, errlen);
	if (!strcmp(key, "backend")) {
		if (!is_dom0(val))
			return fail(err, errlen,
				    "backend=%s: only domain 0 (this VMM) serves vifs",
				    val);
		return 0;
	}
	r = common_key(out, key, val, err, errlen);
	if (r <= 0)
		return r;
	for (const char *const *k = ignored; *k; k++)
		if (!strcmp(key, *k))
			return 0;
	return fail(err, errlen, "vif: unknown key '%s'", key);
}

int net_parse_vif(const char *entry, unsigned int domid, unsigned int devid,
		  struct net_spec *out, char *err, size_t errlen)
{
	net_spec_defaults(out);
	if (!entry)
		return fail(err, errlen, "vif: no entry");
	if (for_each_pair(entry, "vif", out, vif_key, err, errlen))
		return -1;
	if (!out->tap[0] &&
	    snprintf(out->tap, sizeof(out->tap), "xkvif%u.%u", domid, devid) >=
		    (int)sizeof(out->tap))
		return fail(err, errlen, "vif: domid %u devid %u make too long a tap name; set vifname=",
			    domid, devid);
	return 0;
}
