// SPDX-License-Identifier: GPL-2.0
/* The command line: options, their errors, and a config file under them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ktap.h"

static char errbuf[8192];

/* Parse argv; stderr output lands in errbuf. */
static int parse(struct vm_config *cfg, int argc, const char **argv)
{
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	int ret;

	memset(errbuf, 0, sizeof(errbuf));
	ret = cli_parse(argc, (char **)argv, cfg, err);
	fclose(err);
	return ret;
}

#define PARSE(cfg, ...) ({						\
	const char *argv_[] = { "xenkvm", __VA_ARGS__ };		\
	parse(cfg, (int)(sizeof(argv_) / sizeof(argv_[0])), argv_);	\
})

static void test_all_options(struct ktap *t)
{
	struct vm_config c;

	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel", "/k", "--initrd", "/i", "--cmdline",
			     "quiet root=/dev/xvda", "--memory", "2G", "--cpus", "8",
			     "--console", "hvc", "--backend", "kvm", "--xen-version",
			     "4.19") == 0);
	KTAP_EXPECT(t, !strcmp(c.kernel, "/k"));
	KTAP_EXPECT(t, !strcmp(c.initrd, "/i"));
	KTAP_EXPECT(t, !strcmp(c.cmdline, "quiet root=/dev/xvda"));
	KTAP_EXPECT(t, c.mem_size == 2ULL << 30);
	KTAP_EXPECT(t, c.nr_cpus == 8);
	KTAP_EXPECT(t, c.console == CONSOLE_HVC);
	KTAP_EXPECT(t, c.backend == BACKEND_KVM);
	KTAP_EXPECT(t, c.xen_major == 4 && c.xen_minor == 19);
	ktap_case_end(t, "all options are parsed into the config");
}

static void test_defaults_and_forms(struct ktap *t)
{
	struct vm_config c;

	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel=/k", "-m", "768", "-c", "2") == 0);
	KTAP_EXPECT(t, !strcmp(c.kernel, "/k"));
	KTAP_EXPECT(t, c.mem_size == 768ULL << 20);	/* bare number: MiB */
	KTAP_EXPECT(t, c.nr_cpus == 2);
	KTAP_EXPECT(t, c.backend == BACKEND_AUTO);
	KTAP_EXPECT(t, c.console == CONSOLE_SERIAL);
	KTAP_EXPECT(t, c.xen_major == 4 && c.xen_minor == 17);
	KTAP_EXPECT(t, c.initrd[0] == '\0');
	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel", "/k") == 0);
	KTAP_EXPECT(t, c.mem_size == 512ULL << 20 && c.nr_cpus == 1);
	ktap_case_end(t, "--opt=value, short options and defaults");
}

static void test_help(struct ktap *t)
{
	struct vm_config c;
	int saved = dup(STDOUT_FILENO);
	FILE *null = fopen("/dev/null", "w");

	/* Help goes to stdout; keep it out of the KTAP stream. */
	fflush(stdout);
	dup2(fileno(null), STDOUT_FILENO);
	KTAP_EXPECT(t, PARSE(&c, "--help") == 1);
	KTAP_EXPECT(t, PARSE(&c, "run", "-h") == 1);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fclose(null);
	ktap_case_end(t, "--help asks for exit status 0");
}

static void test_usage_errors(struct ktap *t)
{
	struct vm_config c;

	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel", "/k", "--frobnicate") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "unknown option '--frobnicate'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "needs a value"));
	KTAP_EXPECT(t, PARSE(&c, "start", "--kernel", "/k") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "unknown command 'start'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "a.cfg", "b.cfg") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "more than one config file"));
	KTAP_EXPECT(t, parse(&c, 1, (const char *[]){ "xenkvm" }) == -1);
	ktap_case_end(t, "bad flags and commands are usage errors");
}

static void test_bad_values(struct ktap *t)
{
	struct vm_config c;

	KTAP_EXPECT(t, PARSE(&c, "run", "--memory", "12X") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "--memory: '12X'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--memory", "16M") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "outside"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--memory", "2T") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--memory", "99999999999999999999") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--cpus", "0") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "--cpus: '0'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--cpus", "65") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--cpus", "4x") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--console", "vga") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "'vga'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--backend", "xen") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--xen-version", "4") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--xen-version", "4.17.1") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--xen-version", "2.0") == -1);
	ktap_case_end(t, "impossible sizes and bad values are rejected by name");
}

static void test_parse_size(struct ktap *t)
{
	uint64_t b;

	KTAP_EXPECT(t, parse_size("512", &b) == 0 && b == 512ULL << 20);
	KTAP_EXPECT(t, parse_size("2G", &b) == 0 && b == 2ULL << 30);
	KTAP_EXPECT(t, parse_size("2g", &b) == 0 && b == 2ULL << 30);
	KTAP_EXPECT(t, parse_size("65536K", &b) == 0 && b == 64ULL << 20);
	KTAP_EXPECT(t, parse_size("512MiB", &b) == 0 && b == 512ULL << 20);
	KTAP_EXPECT(t, parse_size("1T", &b) == 0 && b == 1ULL << 40);
	KTAP_EXPECT(t, parse_size("", &b) == -1);
	KTAP_EXPECT(t, parse_size("M", &b) == -1);
	KTAP_EXPECT(t, parse_size("-1", &b) == -1);
	KTAP_EXPECT(t, parse_size("1.5G", &b) == -1);
	KTAP_EXPECT(t, parse_size("20000000T", &b) == -1);	/* overflows 64 bits */
	KTAP_EXPECT(t, parse_size(NULL, &b) == -1);
	ktap_case_end(t, "sizes: suffixes, bare MiB, malformed and overflowing input");
}

static void test_config_file_then_options(struct ktap *t)
{
	char path[] = "/tmp/xenkvm-test-cli-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "type = \"hvm\"\nkernel = \"/boot/k\"\nmemory = 256\nvcpus = 2\n";
	struct vm_config c;

	KTAP_EXPECT(t, fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	KTAP_EXPECT(t, PARSE(&c, "run", path, "--cpus", "4") == 0);
	KTAP_EXPECT(t, !strcmp(c.kernel, "/boot/k"));
	KTAP_EXPECT(t, c.mem_size == 256ULL << 20);
	KTAP_EXPECT(t, c.nr_cpus == 4);		/* the option wins */
	/* Options before the file name still override it. */
	KTAP_EXPECT(t, PARSE(&c, "run", "--memory", "1G", path) == 0);
	KTAP_EXPECT(t, c.mem_size == 1ULL << 30 && c.nr_cpus == 2);
	unlink(path);
	KTAP_EXPECT(t, PARSE(&c, "run", path) == -1);
	KTAP_EXPECT(t, strstr(errbuf, "cannot open config file"));
	ktap_case_end(t, "a config file, with command-line options overriding it");
}

static void test_validate(struct ktap *t)
{
	struct vm_config c;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");

	config_set_defaults(&c);
	KTAP_EXPECT(t, config_validate(&c, err) == -1);		/* no kernel */
	strcpy(c.kernel, "/nonexistent/bzImage");
	KTAP_EXPECT(t, config_validate(&c, err) == -1);
	strcpy(c.kernel, "/tmp");					/* a directory */
	KTAP_EXPECT(t, config_validate(&c, err) == -1);
	strcpy(c.kernel, "/proc/self/exe");
	KTAP_EXPECT(t, config_validate(&c, err) == 0);
	strcpy(c.initrd, "/nonexistent/initrd");
	KTAP_EXPECT(t, config_validate(&c, err) == -1);
	fclose(err);
	KTAP_EXPECT(t, strstr(errbuf, "no kernel given"));
	KTAP_EXPECT(t, strstr(errbuf, "kernel '/nonexistent/bzImage'"));
	KTAP_EXPECT(t, strstr(errbuf, "'/tmp' is not a regular file"));
	KTAP_EXPECT(t, strstr(errbuf, "initrd '/nonexistent/initrd'"));
	ktap_case_end(t, "missing or unusable kernel and initrd files are errors");
}

static void test_pv_devices(struct ktap *t)
{
	struct vm_config c;

	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel", "/k", "--xenstore-socket", "/run/xs.sock",
			     "--disk", "/a.img", "--disk=/b.img,ro,cache=none",
			     "--disk", "/c.img,vdev=xvdq",
			     "--net", "tap=xk0,mac=00:16:3e:00:00:01",
			     "--net=tap=xk1,queues=2,bridge=br0,mtu=9000") == 0);
	KTAP_EXPECT(t, !strcmp(c.xenstore_socket, "/run/xs.sock"));
	KTAP_EXPECT(t, c.nr_disks == 3);
	KTAP_EXPECT(t, !strcmp(c.disks[0].path, "/a.img") && !strcmp(c.disks[0].vdev, "xvda") &&
		       !c.disks[0].readonly);
	KTAP_EXPECT(t, !strcmp(c.disks[1].path, "/b.img") && !strcmp(c.disks[1].vdev, "xvdb") &&
		       c.disks[1].readonly && c.disks[1].cache == BLK_CACHE_NONE);
	KTAP_EXPECT(t, !strcmp(c.disks[2].vdev, "xvdq"));
	KTAP_EXPECT(t, c.nr_nets == 2);
	KTAP_EXPECT(t, !strcmp(c.nets[0].tap, "xk0") && c.nets[0].mac_set &&
		       c.nets[0].mac[5] == 1);
	KTAP_EXPECT(t, !strcmp(c.nets[1].tap, "xk1") && c.nets[1].queues == 2 &&
		       !strcmp(c.nets[1].bridge, "br0") && c.nets[1].mtu == 9000);
	KTAP_EXPECT(t, PARSE(&c, "run", "--kernel", "/k") == 0);
	KTAP_EXPECT(t, c.nr_disks == 0 && c.nr_nets == 0 && !c.xenstore_socket[0]);
	ktap_case_end(t, "--xenstore-socket, repeated --disk and --net");
}

static void test_pv_device_errors(struct ktap *t)
{
	struct vm_config c;
	const char *argv[2 + 2 * (BLK_MAX_DISKS + 1)] = { "xenkvm", "run" };
	int argc = 2;

	KTAP_EXPECT(t, PARSE(&c, "run", "--disk", "/a,format=qcow2") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "--disk '/a,format=qcow2'") && strstr(errbuf, "qcow2"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--disk", "") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--disk", "/a,vdev=floppy") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--disk", "/a,cache=unsafe") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--net", "mac=00:16:3e:00:00:01") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "--net 'mac=00:16:3e:00:00:01'"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--net", "tap=xk0,mac=zz") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "mac=zz"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--net", "tap=xk0,queues=99") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "queues=99"));
	KTAP_EXPECT(t, PARSE(&c, "run", "--net", "tap=xk0,colour=red") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--xenstore-socket", "") == -1);
	KTAP_EXPECT(t, PARSE(&c, "run", "--disk") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "needs a value"));
	for (unsigned int i = 0; i <= BLK_MAX_DISKS; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = "/a.img";
	}
	KTAP_EXPECT(t, parse(&c, argc, argv) == -1);
	KTAP_EXPECT(t, strstr(errbuf, "more than 16 disks"));
	ktap_case_end(t, "bad --disk, --net and --xenstore-socket values are refused");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 10);
	test_all_options(&t);
	test_defaults_and_forms(&t);
	test_help(&t);
	test_usage_errors(&t);
	test_bad_values(&t);
	test_parse_size(&t);
	test_config_file_then_options(&t);
	test_validate(&t);
	test_pv_devices(&t);
	test_pv_device_errors(&t);
	return ktap_finish(&t);
}
