// SPDX-License-Identifier: GPL-2.0
/*
 * xl.cfg-style domain files. The subset xl itself documents for HVM guests
 * with a direct kernel boot: type, name, kernel, ramdisk, extra/cmdline,
 * root, memory, vcpus, on_poweroff/on_reboot/on_crash, disk and vif. Keys
 * the VMM does not implement warn instead of failing, so a real xl.cfg
 * still boots.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "vm.h"

#define CFG_FILE_MAX	(1 << 20)
#define CFG_VALUE_MAX	CONFIG_CMDLINE_MAX

void config_set_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "xenkvm");
	cfg->mem_size = CONFIG_MEM_DEFAULT;
	cfg->nr_cpus = 1;
	cfg->console = CONSOLE_SERIAL;
	cfg->backend = BACKEND_AUTO;
	cfg->xen_major = 4;
	cfg->xen_minor = 17;
	cfg->on_poweroff = ACTION_DESTROY;
	cfg->on_reboot = ACTION_DESTROY;
	cfg->on_crash = ACTION_DESTROY;
}

int parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long n;
	unsigned int shift = 20;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	/* Accept "512MiB"/"512MB" as the same thing as "512M". */
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	if (n > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)n << shift;
	return 0;
}

int parse_xen_version(const char *s, unsigned int *major, unsigned int *minor)
{
	unsigned int a, b;
	int used = 0;

	if (!s || sscanf(s, "%3u.%3u%n", &a, &b, &used) != 2 || s[used])
		return -1;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	/* CPUID leaf 0x40000001 packs them as two 16-bit halves. */
	if (a < 3 || a > 0xffff || b > 0xffff)
		return -1;
	*major = a;
	*minor = b;
	return 0;
}

static const char *const backend_names[] = {
	[BACKEND_AUTO] = "auto",
	[BACKEND_MODULE] = "module",
	[BACKEND_KVM] = "kvm",
	[BACKEND_USERSPACE] = "userspace",
};

int parse_backend(const char *s, enum backend_kind *b)
{
	for (unsigned int i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (s && !strcmp(s, backend_names[i])) {
			*b = (enum backend_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *backend_kind_name(enum backend_kind b)
{
	return (unsigned int)b < sizeof(backend_names) / sizeof(backend_names[0]) ?
		backend_names[b] : "?";
}

/* ---- the file format ------------------------------------------------- */

enum value_type { VAL_STRING, VAL_NUMBER, VAL_LIST };

struct value {
	enum value_type type;
	char str[CFG_VALUE_MAX];	/* VAL_STRING; the literal for VAL_NUMBER */
	long long num;
	unsigned int list_len;
	char **items;			/* VAL_LIST: copies of its string items */
};

static void value_free_items(struct value *v)
{
	for (unsigned int i = 0; v->items && i < v->list_len; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
}

/* Keep a list's string item for keys that want them (disk, vif). */
static int value_keep_item(struct value *list, const struct value *item)
{
	char **items = realloc(list->items, (list->list_len + 1) * sizeof(*items));

	if (!items)
		return -1;
	list->items = items;
	items[list->list_len] = item->type == VAL_STRING ? strdup(item->str) : NULL;
	if (item->type == VAL_STRING && !items[list->list_len])
		return -1;
	return 0;
}

struct parser {
	const char *p;
	const char *origin;
	unsigned int line;
	FILE *err;
};

static void perr(struct parser *ps, const char *fmt, const char *a, const char *b)
{
	fprintf(ps->err, "xenkvm: %s:%u: ", ps->origin, ps->line);
	fprintf(ps->err, fmt, a, b);
	fputc('\n', ps->err);
}

/* Skip blanks, comments and (if @newlines) line ends and ';' separators. */
static void skip_space(struct parser *ps, bool newlines)
{
	for (;;) {
		char c = *ps->p;

		if (c == '#') {
			while (*ps->p && *ps->p != '\n')
				ps->p++;
		} else if (c == '\n' && newlines) {
			ps->line++;
			ps->p++;
		} else if (c == ';' && newlines) {
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else {
			return;
		}
	}
}

static int parse_string(struct parser *ps, struct value *v)
{
	char quote = *ps->p++;
	size_t n = 0;

	v->type = VAL_STRING;
	while (*ps->p != quote) {
		char c = *ps->p++;

		if (c == '\0' || c == '\n') {
			perr(ps, "unterminated string%s%s", "", "");
			return -1;
		}
		if (c == '\\') {
			c = *ps->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': case '"': case '\'': break;
			default:
				perr(ps, "unknown escape in string%s%s", "", "");
				return -1;
			}
		}
		if (n + 1 >= sizeof(v->str)) {
			perr(ps, "string too long%s%s", "", "");
			return -1;
		}
		v->str[n++] = c;
	}
	ps->p++;
	v->str[n] = '\0';
	return 0;
}

static int parse_number(struct parser *ps, struct value *v)
{
	size_t n = 0;
	char *end;

	while (isalnum((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == '-') {
		if (n + 1 >= sizeof(v->str)) {
			perr(ps, "value too long%s%s", "", "");
			return -1;
		}
		v->str[n++] = *ps->p++;
	}
	v->str[n] = '\0';
	errno = 0;
	v->num = strtoll(v->str, &end, 0);
	/* Not a number: keep it as a bare word; the key decides. */
	v->type = (errno || *end || n == 0) ? VAL_STRING : VAL_NUMBER;
	return 0;
}

static int parse_value(struct parser *ps, struct value *v, int depth);

static int parse_list(struct parser *ps, struct value *v, int depth)
{
	struct value *item;
	int ret = 0;

	ps->p++;	/* '[' */
	v->type = VAL_LIST;
	v->list_len = 0;
	v->str[0] = '\0';
	item = calloc(1, sizeof(*item));
	if (!item)
		return -1;
	for (;;) {
		skip_space(ps, true);
		if (*ps->p == ']') {
			ps->p++;
			break;
		}
		if (*ps->p == '\0') {
			perr(ps, "unterminated list%s%s", "", "");
			ret = -1;
			break;
		}
		if (parse_value(ps, item, depth + 1)) {
			value_free_items(item);
			ret = -1;
			break;
		}
		value_free_items(item);
		if (value_keep_item(v, item)) {
			perr(ps, "out of memory%s%s", "", "");
			ret = -1;
			break;
		}
		v->list_len++;
		skip_space(ps, true);
		if (*ps->p == ',')
			ps->p++;
		else if (*ps->p != ']') {
			perr(ps, "expected ',' or ']' in list%s%s", "", "");
			ret = -1;
			break;
		}
	}
	free(item);
	if (ret)
		value_free_items(v);
	return ret;
}

static int parse_value(struct parser *ps, struct value *v, int depth)
{
	if (depth > 4) {
		perr(ps, "lists nested too deeply%s%s", "", "");
		return -1;
	}
	v->items = NULL;
	v->list_len = 0;
	switch (*ps->p) {
	case '"': case '\'':
		return parse_string(ps, v);
	case '[':
		return parse_list(ps, v, depth);
	default:
		if (isalnum((unsigned char)*ps->p) || *ps->p == '-')
			return parse_number(ps, v);
		perr(ps, "expected a value%s%s", "", "");
		return -1;
	}
}

/* ---- keys -------------------------------------------------------------- */

static const char *value_text(const struct value *v)
{
	return v->type == VAL_LIST ? "[...]" : v->str;
}

static int bad_value(struct parser *ps, const char *key, const struct value *v,
		     const char *expected)
{
	fprintf(ps->err, "xenkvm: %s:%u: bad value for '%s': '%s' (%s)\n",
		ps->origin, ps->line, key, value_text(v), expected);
	return -1;
}

static int want_string(struct parser *ps, const char *key, const struct value *v,
		       char *dst, size_t len)
{
	if (v->type != VAL_STRING)
		return bad_value(ps, key, v, "expected a \"string\"");
	if (strlen(v->str) >= len)
		return bad_value(ps, key, v, "too long");
	strcpy(dst, v->str);
	return 0;
}

static int parse_action(struct parser *ps, const char *key, const struct value *v,
			enum guest_action *a)
{
	if (v->type == VAL_STRING && !strcmp(v->str, "destroy"))
		*a = ACTION_DESTROY;
	else if (v->type == VAL_STRING && !strcmp(v->str, "restart"))
		*a = ACTION_RESTART;
	else
		return bad_value(ps, key, v, "supported: \"destroy\", \"restart\"");
	return 0;
}

static int append_cmdline(struct parser *ps, const char *key, struct vm_config *cfg,
			  const char *prefix, const struct value *v)
{
	size_t have = strlen(cfg->cmdline);
	int n;

	if (v->type != VAL_STRING)
		return bad_value(ps, key, v, "expected a \"string\"");
	n = snprintf(cfg->cmdline + have, sizeof(cfg->cmdline) - have, "%s%s%s",
		     have ? " " : "", prefix, v->str);
	if (n < 0 || (size_t)n >= sizeof(cfg->cmdline) - have)
		return bad_value(ps, key, v, "command line too long");
	return 0;
}

/* disk = [ 'file:/img,xvda,w', ... ]: xl-disk-configuration(5). */
static int apply_disks(struct parser *ps, const char *key, const struct value *v,
		       struct vm_config *cfg)
{
	char msg[256];

	if (v->type != VAL_LIST)
		return bad_value(ps, key, v, "expected a [ list ] of 'disk specs'");
	if (v->list_len > BLK_MAX_DISKS)
		return bad_value(ps, key, v, "too many disks");
	for (unsigned int i = 0; i < v->list_len; i++) {
		struct blk_spec *spec = &cfg->disks[i];

		if (!v->items[i])
			return bad_value(ps, key, v, "each disk must be a 'string'");
		if (blk_parse_xl_disk(v->items[i], spec, msg, sizeof(msg))) {
			fprintf(ps->err, "xenkvm: %s:%u: bad disk '%s': %s\n",
				ps->origin, ps->line, v->items[i], msg);
			return -1;
		}
		if (!spec->vdev[0] && blk_spec_default_vdev(spec, i))
			return bad_value(ps, key, v, "no default device name");
	}
	cfg->nr_disks = v->list_len;
	return 0;
}

/* vif = [ 'mac=00:16:3e:..,bridge=BR,vifname=TAP', ... ]: xl-network-configuration(5). */
static int apply_vifs(struct parser *ps, const char *key, const struct value *v,
		      struct vm_config *cfg)
{
	char msg[256];

	if (v->type != VAL_LIST)
		return bad_value(ps, key, v, "expected a [ list ] of 'vif specs'");
	if (v->list_len > NET_MAX_VIFS)
		return bad_value(ps, key, v, "too many vifs");
	for (unsigned int i = 0; i < v->list_len; i++) {
		if (!v->items[i])
			return bad_value(ps, key, v, "each vif must be a 'string'");
		/* The guest is domain 1 (xen_domid()); the tap defaults to xkvif1.<i>. */
		if (net_parse_vif(v->items[i], 1, i, &cfg->nets[i], msg, sizeof(msg))) {
			fprintf(ps->err, "xenkvm: %s:%u: bad vif '%s': %s\n",
				ps->origin, ps->line, v->items[i], msg);
			return -1;
		}
	}
	cfg->nr_nets = v->list_len;
	return 0;
}

static int apply_key(struct parser *ps, const char *key, const struct value *v,
		     struct vm_config *cfg)
{
	if (!strcmp(key, "type") || !strcmp(key, "builder")) {
		if (v->type != VAL_STRING || strcmp(v->str, "hvm"))
			return bad_value(ps, key, v, "only \"hvm\" guests are supported");
		return 0;
	}
	if (!strcmp(key, "name"))
		return want_string(ps, key, v, cfg->name, sizeof(cfg->name));
	if (!strcmp(key, "kernel"))
		return want_string(ps, key, v, cfg->kernel, sizeof(cfg->kernel));
	if (!strcmp(key, "ramdisk"))
		return want_string(ps, key, v, cfg->initrd, sizeof(cfg->initrd));
	if (!strcmp(key, "extra") || !strcmp(key, "cmdline"))
		return append_cmdline(ps, key, cfg, "", v);
	if (!strcmp(key, "root"))
		return append_cmdline(ps, key, cfg, "root=", v);
	if (!strcmp(key, "memory")) {
		if (v->type != VAL_NUMBER || v->num <= 0 ||
		    (uint64_t)v->num > (CONFIG_MEM_MAX >> 20) ||
		    ((uint64_t)v->num << 20) < CONFIG_MEM_MIN)
			return bad_value(ps, key, v, "MiB between 32 and 1048576");
		cfg->mem_size = (uint64_t)v->num << 20;
		return 0;
	}
	if (!strcmp(key, "vcpus")) {
		if (v->type != VAL_NUMBER || v->num < 1 || v->num > VM_MAX_VCPUS)
			return bad_value(ps, key, v, "between 1 and 64");
		cfg->nr_cpus = (unsigned int)v->num;
		return 0;
	}
	if (!strcmp(key, "on_poweroff"))
		return parse_action(ps, key, v, &cfg->on_poweroff);
	if (!strcmp(key, "on_reboot"))
		return parse_action(ps, key, v, &cfg->on_reboot);
	if (!strcmp(key, "on_crash"))
		return parse_action(ps, key, v, &cfg->on_crash);
	if (!strcmp(key, "disk"))
		return apply_disks(ps, key, v, cfg);
	if (!strcmp(key, "vif"))
		return apply_vifs(ps, key, v, cfg);
	fprintf(ps->err, "xenkvm: %s:%u: warning: unknown key '%s' ignored\n",
		ps->origin, ps->line, key);
	return 0;
}

static int parse_assignment(struct parser *ps, struct value *v, struct vm_config *cfg)
{
	unsigned int key_line = ps->line, end_line;
	char key[64];
	size_t n = 0;
	int ret;

	while (isalnum((unsigned char)*ps->p) || *ps->p == '_') {
		if (n + 1 >= sizeof(key)) {
			perr(ps, "key too long%s%s", "", "");
			return -1;
		}
		key[n++] = *ps->p++;
	}
	key[n] = '\0';
	if (n == 0 || isdigit((unsigned char)key[0])) {
		perr(ps, "expected 'key = value'%s%s", "", "");
		return -1;
	}
	skip_space(ps, false);
	if (*ps->p != '=') {
		perr(ps, "expected '=' after '%s'%s", key, "");
		return -1;
	}
	ps->p++;
	skip_space(ps, false);
	if (parse_value(ps, v, 0))
		return -1;
	skip_space(ps, false);
	if (*ps->p && *ps->p != '\n' && *ps->p != ';') {
		perr(ps, "junk after the value of '%s'%s", key, "");
		value_free_items(v);
		return -1;
	}
	/* Messages about the key point at its line, also after a long list. */
	end_line = ps->line;
	ps->line = key_line;
	ret = apply_key(ps, key, v, cfg);
	value_free_items(v);
	ps->line = end_line;
	return ret;
}

int config_parse_string(const char *text, const char *origin,
			struct vm_config *cfg, FILE *err)
{
	struct parser ps = { .p = text, .origin = origin, .line = 1, .err = err };
	struct value *v = malloc(sizeof(*v));
	int ret = 0;

	if (!v)
		return -1;
	for (;;) {
		skip_space(&ps, true);
		if (!*ps.p)
			break;
		if (parse_assignment(&ps, v, cfg)) {
			ret = -1;
			break;
		}
	}
	free(v);
	return ret;
}

int config_parse_file(const char *path, struct vm_config *cfg, FILE *err)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	int ret;

	if (!f) {
		fprintf(err, "xenkvm: cannot open config file '%s': %s\n", path, strerror(errno));
		return -1;
	}
	text = malloc(CFG_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return -1;
	}
	n = fread(text, 1, CFG_FILE_MAX + 1, f);
	fclose(f);
	if (n > CFG_FILE_MAX) {
		fprintf(err, "xenkvm: config file '%s' is larger than 1 MiB\n", path);
		free(text);
		return -1;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		fprintf(err, "xenkvm: config file '%s' is not a text file\n", path);
		free(text);
		return -1;
	}
	ret = config_parse_string(text, path, cfg, err);
	free(text);
	return ret;
}

static int check_file(const char *what, const char *path, FILE *err)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(err, "xenkvm: %s '%s': %s\n", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(err, "xenkvm: %s '%s' is not a regular file\n", what, path);
		return -1;
	}
	if (access(path, R_OK)) {
		fprintf(err, "xenkvm: %s '%s': %s\n", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

int config_validate(const struct vm_config *cfg, FILE *err)
{
	if (!cfg->kernel[0]) {
		fprintf(err, "xenkvm: no kernel given (--kernel FILE or kernel= in the config)\n");
		return -1;
	}
	if (check_file("kernel", cfg->kernel, err))
		return -1;
	if (cfg->initrd[0] && check_file("initrd", cfg->initrd, err))
		return -1;
	if (cfg->mem_size < CONFIG_MEM_MIN || cfg->mem_size > CONFIG_MEM_MAX) {
		fprintf(err, "xenkvm: memory size %llu MiB is outside 32 MiB .. 1 TiB\n",
			(unsigned long long)(cfg->mem_size >> 20));
		return -1;
	}
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_VCPUS) {
		fprintf(err, "xenkvm: %u vCPUs is outside 1 .. %d\n", cfg->nr_cpus, VM_MAX_VCPUS);
		return -1;
	}
	return 0;
}
