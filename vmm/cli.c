// SPDX-License-Identifier: GPL-2.0
/*
 * The command line, in QEMU's and kvmtool's conventions:
 *
 *   xenkvm run --kernel BZIMAGE [--initrd FILE] [--cmdline STR]
 *              [--memory SIZE] [--cpus N] [--console serial|hvc]
 *              [--backend auto|module|kvm|userspace] [--xen-version X.Y]
 *              [--xenstore-socket PATH] [--disk SPEC]... [--net SPEC]...
 *   xenkvm run CONFIG [options]     options override the file
 *
 * Both `--opt value` and `--opt=value` work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vm.h"

void cli_usage(FILE *out)
{
	fputs("usage: xenkvm run --kernel BZIMAGE [options]\n"
	      "       xenkvm run CONFIG [options]\n"
	      "\n"
	      "Run an unmodified Xen HVM Linux guest on KVM.\n"
	      "\n"
	      "  -k, --kernel FILE     bzImage to boot\n"
	      "  -i, --initrd FILE     initial ramdisk\n"
	      "  -p, --cmdline STR     kernel command line (console= is added)\n"
	      "  -m, --memory SIZE     guest RAM, e.g. 512M, 2G (bare number: MiB; default 512M)\n"
	      "  -c, --cpus N          vCPUs, 1..64 (default 1)\n"
	      "      --console KIND    serial (ttyS0, default) or hvc (Xen console, hvc0)\n"
	      "      --backend KIND    auto (default), module (/dev/xenkvm), kvm (KVM_XEN)\n"
	      "                        or userspace\n"
	      "      --xen-version X.Y Xen version the guest sees (default 4.17)\n"
	      "      --xenstore-socket PATH\n"
	      "                        serve the guest's xenstore on this Unix socket too\n"
	      "      --disk PATH[,ro|rw][,format=raw][,cache=none|writeback][,vdev=xvdX]\n"
	      "             [,engine=uring|sync]\n"
	      "                        a raw image or block device as /dev/xvdX (repeatable;\n"
	      "                        default names xvda, xvdb, ...); engine=sync serves it\n"
	      "                        with plain syscalls instead of io_uring (a baseline)\n"
	      "      --net tap=NAME[,mac=..][,queues=N][,bridge=BR][,mtu=N][,offload=on|off]\n"
	      "                        a vif (eth0, eth1, ...) on host tap NAME (repeatable;\n"
	      "                        offload=off: no checksum, SG or TSO offload)\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "CONFIG is an xl.cfg-style file: type=\"hvm\", name, kernel, ramdisk,\n"
	      "extra, memory (MiB), vcpus, on_poweroff/on_reboot/on_crash,\n"
	      "disk = [ 'file:/img,xvda,w' ], vif = [ 'mac=..,bridge=BR,vifname=TAP' ].\n"
	      "\n"
	      "Exit status: 0 guest powered off, 1 rebooted, 2 crashed, 3 VMM error.\n",
	      out);
}

struct option_desc {
	const char *long_name;
	char short_name;
	int (*apply)(struct vm_config *cfg, const char *val, FILE *err);
};

static int copy_arg(char *dst, size_t len, const char *opt, const char *val, FILE *err)
{
	if (strlen(val) >= len) {
		fprintf(err, "xenkvm: --%s: value too long\n", opt);
		return -1;
	}
	strcpy(dst, val);
	return 0;
}

static int opt_kernel(struct vm_config *cfg, const char *val, FILE *err)
{
	return copy_arg(cfg->kernel, sizeof(cfg->kernel), "kernel", val, err);
}

static int opt_initrd(struct vm_config *cfg, const char *val, FILE *err)
{
	return copy_arg(cfg->initrd, sizeof(cfg->initrd), "initrd", val, err);
}

static int opt_cmdline(struct vm_config *cfg, const char *val, FILE *err)
{
	return copy_arg(cfg->cmdline, sizeof(cfg->cmdline), "cmdline", val, err);
}

static int opt_memory(struct vm_config *cfg, const char *val, FILE *err)
{
	uint64_t bytes;

	if (parse_size(val, &bytes)) {
		fprintf(err, "xenkvm: --memory: '%s' is not a size (e.g. 512M, 2G)\n", val);
		return -1;
	}
	if (bytes < CONFIG_MEM_MIN || bytes > CONFIG_MEM_MAX) {
		fprintf(err, "xenkvm: --memory: '%s' is outside 32M .. 1T\n", val);
		return -1;
	}
	cfg->mem_size = bytes;
	return 0;
}

static int opt_cpus(struct vm_config *cfg, const char *val, FILE *err)
{
	char *end;
	long n = strtol(val, &end, 10);

	if (!*val || *end || n < 1 || n > VM_MAX_VCPUS) {
		fprintf(err, "xenkvm: --cpus: '%s' is not a number between 1 and %d\n",
			val, VM_MAX_VCPUS);
		return -1;
	}
	cfg->nr_cpus = (unsigned int)n;
	return 0;
}

static int opt_console(struct vm_config *cfg, const char *val, FILE *err)
{
	if (!strcmp(val, "serial"))
		cfg->console = CONSOLE_SERIAL;
	else if (!strcmp(val, "hvc"))
		cfg->console = CONSOLE_HVC;
	else {
		fprintf(err, "xenkvm: --console: '%s' is not serial or hvc\n", val);
		return -1;
	}
	return 0;
}

static int opt_backend(struct vm_config *cfg, const char *val, FILE *err)
{
	if (parse_backend(val, &cfg->backend)) {
		fprintf(err, "xenkvm: --backend: '%s' is not auto, module, kvm or userspace\n", val);
		return -1;
	}
	return 0;
}

static int opt_xen_version(struct vm_config *cfg, const char *val, FILE *err)
{
	if (parse_xen_version(val, &cfg->xen_major, &cfg->xen_minor)) {
		fprintf(err, "xenkvm: --xen-version: '%s' is not a Xen version like 4.17\n", val);
		return -1;
	}
	return 0;
}

static int opt_xenstore_socket(struct vm_config *cfg, const char *val, FILE *err)
{
	if (!*val) {
		fprintf(err, "xenkvm: --xenstore-socket: empty path\n");
		return -1;
	}
	return copy_arg(cfg->xenstore_socket, sizeof(cfg->xenstore_socket),
			"xenstore-socket", val, err);
}

static int opt_disk(struct vm_config *cfg, const char *val, FILE *err)
{
	struct blk_spec *spec;
	char msg[256];

	if (cfg->nr_disks >= BLK_MAX_DISKS) {
		fprintf(err, "xenkvm: --disk: more than %d disks\n", BLK_MAX_DISKS);
		return -1;
	}
	spec = &cfg->disks[cfg->nr_disks];
	if (blk_parse_spec(val, spec, msg, sizeof(msg))) {
		fprintf(err, "xenkvm: --disk '%s': %s\n", val, msg);
		return -1;
	}
	if (!spec->vdev[0] && blk_spec_default_vdev(spec, cfg->nr_disks)) {
		fprintf(err, "xenkvm: --disk '%s': no default device name\n", val);
		return -1;
	}
	cfg->nr_disks++;
	return 0;
}

static int opt_net(struct vm_config *cfg, const char *val, FILE *err)
{
	char msg[256];

	if (cfg->nr_nets >= NET_MAX_VIFS) {
		fprintf(err, "xenkvm: --net: more than %d vifs\n", NET_MAX_VIFS);
		return -1;
	}
	if (net_parse_spec(val, &cfg->nets[cfg->nr_nets], msg, sizeof(msg))) {
		fprintf(err, "xenkvm: --net '%s': %s\n", val, msg);
		return -1;
	}
	cfg->nr_nets++;
	return 0;
}

static const struct option_desc options[] = {
	{ "kernel", 'k', opt_kernel },
	{ "initrd", 'i', opt_initrd },
	{ "cmdline", 'p', opt_cmdline },
	{ "memory", 'm', opt_memory },
	{ "cpus", 'c', opt_cpus },
	{ "console", 0, opt_console },
	{ "backend", 0, opt_backend },
	{ "xen-version", 0, opt_xen_version },
	{ "xenstore-socket", 0, opt_xenstore_socket },
	{ "disk", 0, opt_disk },
	{ "net", 0, opt_net },
};

static const struct option_desc *find_option(const char *arg, const char **inline_val)
{
	*inline_val = NULL;
	if (arg[0] == '-' && arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);

		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			if (strlen(options[i].long_name) == len &&
			    !strncmp(options[i].long_name, name, len)) {
				*inline_val = eq ? eq + 1 : NULL;
				return &options[i];
			}
		}
		return NULL;
	}
	if (arg[0] == '-' && arg[1] && !arg[2]) {
		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
			if (options[i].short_name == arg[1])
				return &options[i];
	}
	return NULL;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

int cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *err)
{
	const char *config_file = NULL;
	int i;

	config_set_defaults(cfg);
	if (argc < 2) {
		cli_usage(err);
		return -1;
	}
	if (is_help(argv[1])) {
		cli_usage(stdout);
		return 1;
	}
	if (strcmp(argv[1], "run")) {
		fprintf(err, "xenkvm: unknown command '%s' (try 'xenkvm --help')\n", argv[1]);
		return -1;
	}

	/* The file first, so that options given with it override it. */
	for (i = 2; i < argc; i++) {
		const char *val;

		if (is_help(argv[i])) {
			cli_usage(stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--")) {
			if (i + 1 < argc && !config_file)
				config_file = argv[i + 1];
			break;
		}
		if (argv[i][0] == '-') {
			const struct option_desc *o = find_option(argv[i], &val);

			if (!o) {
				fprintf(err, "xenkvm: unknown option '%s' (try 'xenkvm --help')\n", argv[i]);
				return -1;
			}
			if (!val)
				i++;	/* skip its value */
			continue;
		}
		if (config_file) {
			fprintf(err, "xenkvm: more than one config file: '%s' and '%s'\n",
				config_file, argv[i]);
			return -1;
		}
		config_file = argv[i];
	}
	if (config_file && config_parse_file(config_file, cfg, err))
		return -1;

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		const struct option_desc *o;
		const char *val;

		if (argv[i][0] != '-')
			continue;
		o = find_option(argv[i], &val);
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(err, "xenkvm: option '%s' needs a value\n", argv[i]);
				return -1;
			}
			val = argv[++i];
		}
		if (o->apply(cfg, val, err))
			return -1;
	}
	return 0;
}
