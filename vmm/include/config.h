/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the user asked for: the command line (cli.c) and xl.cfg-style
 * domain files (config.c) both fill one struct vm_config, so the rest of
 * the VMM never knows where a setting came from.
 */
#ifndef XENKVM_VMM_CONFIG_H
#define XENKVM_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blkback.h"
#include "netback.h"

#define CONFIG_PATH_MAX		4096
#define CONFIG_CMDLINE_MAX	4096
#define CONFIG_NAME_MAX		64

#define CONFIG_MEM_MIN		(32ULL << 20)
#define CONFIG_MEM_MAX		(1ULL << 40)
#define CONFIG_MEM_DEFAULT	(512ULL << 20)

enum console_kind { CONSOLE_SERIAL, CONSOLE_HVC };

enum backend_kind { BACKEND_AUTO, BACKEND_MODULE, BACKEND_KVM, BACKEND_USERSPACE };

/* What to do when the guest powers off, reboots or crashes (xl.cfg). */
enum guest_action { ACTION_DESTROY, ACTION_RESTART };

struct vm_config {
	char name[CONFIG_NAME_MAX];
	char kernel[CONFIG_PATH_MAX];
	char initrd[CONFIG_PATH_MAX];		/* "" = none */
	char cmdline[CONFIG_CMDLINE_MAX];
	uint64_t mem_size;			/* bytes */
	unsigned int nr_cpus;
	enum console_kind console;
	enum backend_kind backend;
	unsigned int xen_major, xen_minor;
	enum guest_action on_poweroff, on_reboot, on_crash;
	bool trace_hcalls;			/* XENKVM_TRACE=1: log hypercalls */
	char xenstore_socket[CONFIG_PATH_MAX];	/* "" = no host socket */
	struct blk_spec disks[BLK_MAX_DISKS];	/* --disk, xl.cfg disk */
	unsigned int nr_disks;
	struct net_spec nets[NET_MAX_VIFS];	/* --net, xl.cfg vif */
	unsigned int nr_nets;
};

void config_set_defaults(struct vm_config *cfg);

/*
 * Parse "512", "512M", "2G", "65536K" into bytes. A bare number is MiB
 * (QEMU's and xl's convention). Returns 0 or -1 on anything malformed.
 */
int parse_size(const char *s, uint64_t *bytes);
int parse_xen_version(const char *s, unsigned int *major, unsigned int *minor);
int parse_backend(const char *s, enum backend_kind *b);
const char *backend_kind_name(enum backend_kind b);

/*
 * The command line: `xenkvm run [options]` or `xenkvm run CONFIG`.
 * Returns 0 to run, 1 when help was printed (exit 0), -1 on a usage error
 * (already reported on @err).
 */
int cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *err);
void cli_usage(FILE *out);

/*
 * An xl.cfg-style file: `key = value` lines, "strings", [lists], numbers,
 * # comments. Unknown keys warn, bad values are errors naming key and value.
 * Returns 0 or -1 (reported on @err).
 */
int config_parse_file(const char *path, struct vm_config *cfg, FILE *err);
int config_parse_string(const char *text, const char *origin,
			struct vm_config *cfg, FILE *err);

/* Checks that need the file system: the kernel and initrd exist. */
int config_validate(const struct vm_config *cfg, FILE *err);

#endif
