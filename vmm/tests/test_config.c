// SPDX-License-Identifier: GPL-2.0
/* xl.cfg-style domain files: what is accepted, warned about and refused. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ktap.h"

static char errbuf[8192];

static int parse_text(struct vm_config *c, const char *text)
{
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	int ret;

	memset(errbuf, 0, sizeof(errbuf));
	config_set_defaults(c);
	ret = config_parse_string(text, "guest.cfg", c, err);
	fclose(err);
	return ret;
}

static void test_full_file(struct ktap *t)
{
	struct vm_config c;
	const char *text =
		"# A Debian guest\n"
		"type = \"hvm\"\n"
		"name = 'debian-12'\n"
		"kernel = \"/boot/vmlinuz\"   # trailing comment\n"
		"ramdisk = \"/boot/initrd.img\"\n"
		"memory = 1024\n"
		"vcpus = 4; on_poweroff = \"destroy\"\n"
		"on_reboot = \"restart\"\n"
		"on_crash = \"destroy\"\n"
		"root = \"/dev/xvda1\"\n"
		"extra = \"console=hvc0 quiet\"\n";

	KTAP_EXPECT(t, parse_text(&c, text) == 0);
	KTAP_EXPECT(t, !strcmp(c.name, "debian-12"));
	KTAP_EXPECT(t, !strcmp(c.kernel, "/boot/vmlinuz"));
	KTAP_EXPECT(t, !strcmp(c.initrd, "/boot/initrd.img"));
	KTAP_EXPECT(t, c.mem_size == 1024ULL << 20);
	KTAP_EXPECT(t, c.nr_cpus == 4);
	KTAP_EXPECT(t, c.on_poweroff == ACTION_DESTROY);
	KTAP_EXPECT(t, c.on_reboot == ACTION_RESTART);
	KTAP_EXPECT(t, c.on_crash == ACTION_DESTROY);
	KTAP_EXPECT(t, !strcmp(c.cmdline, "root=/dev/xvda1 console=hvc0 quiet"));
	KTAP_EXPECT(t, errbuf[0] == '\0');	/* nothing to warn about */
	ktap_case_end(t, "a complete HVM domain file");
}

static void test_warnings(struct ktap *t)
{
	struct vm_config c;
	const char *text =
		"kernel = \"/k\"\n"
		"disk = [ 'phy:/dev/vg/guest,xvda,w',\n"
		"         'file:/srv/data.img,xvdb,w' ]\n"
		"vif = [ 'bridge=br0' ]\n"
		"bogus_key = 42\n"
		"vcpus = 2\n";

	KTAP_EXPECT(t, parse_text(&c, text) == 0);
	KTAP_EXPECT(t, c.nr_cpus == 2);		/* parsing went on past the list */
	KTAP_EXPECT(t, !strstr(errbuf, "disk") && !strstr(errbuf, "vif"));
	KTAP_EXPECT(t, strstr(errbuf, "guest.cfg:5: warning: unknown key 'bogus_key'"));
	ktap_case_end(t, "unknown keys warn, naming the key and line");
}

static void test_disks_and_vifs(struct ktap *t)
{
	struct vm_config c;
	const char *text =
		"kernel = \"/k\"\n"
		"disk = [ 'phy:/dev/vg/guest,xvda,w',\n"
		"         'file:/srv/data.img,xvdc,r',\n"
		"         'format=raw, vdev=xvdd, access=rw, target=/srv/x,y.img' ]\n"
		"vif = [ 'mac=00:16:3e:01:02:03,bridge=br0,vifname=tap7',\n"
		"        'type=vif,model=e1000' ]\n";

	KTAP_EXPECT(t, parse_text(&c, text) == 0);
	KTAP_EXPECT(t, errbuf[0] == '\0');
	KTAP_EXPECT(t, c.nr_disks == 3);
	KTAP_EXPECT(t, !strcmp(c.disks[0].path, "/dev/vg/guest") &&
		       !strcmp(c.disks[0].vdev, "xvda") && !c.disks[0].readonly);
	KTAP_EXPECT(t, !strcmp(c.disks[1].path, "/srv/data.img") &&
		       !strcmp(c.disks[1].vdev, "xvdc") && c.disks[1].readonly);
	KTAP_EXPECT(t, !strcmp(c.disks[2].path, "/srv/x,y.img") &&
		       !strcmp(c.disks[2].vdev, "xvdd"));
	KTAP_EXPECT(t, c.nr_nets == 2);
	KTAP_EXPECT(t, !strcmp(c.nets[0].tap, "tap7") && !strcmp(c.nets[0].bridge, "br0") &&
		       c.nets[0].mac_set && c.nets[0].mac[5] == 3);
	/* No vifname: xkvif<guest domid>.<position>. */
	KTAP_EXPECT(t, !strcmp(c.nets[1].tap, "xkvif1.1") && !c.nets[1].mac_set);
	KTAP_EXPECT(t, parse_text(&c, "disk = []\nvif = []\n") == 0);
	KTAP_EXPECT(t, c.nr_disks == 0 && c.nr_nets == 0);
	ktap_case_end(t, "disk and vif lists fill the machine's disks and vifs");
}

/* Each of these must fail and name the key and the value. */
static const struct {
	const char *text, *expect;
} bad_values[] = {
	{ "memory = \"lots\"\n", "bad value for 'memory': 'lots'" },
	{ "memory = 16\n", "bad value for 'memory': '16'" },
	{ "memory = 2000000\n", "bad value for 'memory': '2000000'" },
	{ "memory = 512M\n", "bad value for 'memory': '512M'" },
	{ "vcpus = 0\n", "bad value for 'vcpus': '0'" },
	{ "vcpus = 65\n", "bad value for 'vcpus': '65'" },
	{ "type = \"pv\"\n", "bad value for 'type': 'pv'" },
	{ "builder = \"linux\"\n", "bad value for 'builder': 'linux'" },
	{ "on_crash = \"preserve\"\n", "bad value for 'on_crash': 'preserve'" },
	{ "kernel = 42\n", "bad value for 'kernel': '42'" },
	{ "kernel = [ \"a\" ]\n", "bad value for 'kernel': '[...]'" },
	{ "disk = 'file:/a,xvda,w'\n", "bad value for 'disk'" },
	{ "disk = [ 42 ]\n", "bad value for 'disk'" },
	{ "disk = [ 'qcow2:/a.qcow2,xvda,w' ]\n", "bad disk 'qcow2:/a.qcow2,xvda,w'" },
	{ "disk = [ '/a,xvda,w,devtype=cdrom' ]\n", "bad disk" },
	{ "disk = [ 'target=/a' ]\n", "has no vdev" },
	{ "disk = [ '/a','/a','/a','/a','/a','/a','/a','/a','/a','/a','/a','/a',"
	  "'/a','/a','/a','/a','/a' ]\n", "bad value for 'disk': '[...]' (too many disks)" },
	{ "vif = 'bridge=br0'\n", "bad value for 'vif'" },
	{ "vif = [ [ 'bridge=br0' ] ]\n", "bad value for 'vif'" },
	{ "vif = [ 'mac=zz' ]\n", "bad vif 'mac=zz'" },
	{ "vif = [ 'backend=driverdom' ]\n", "driverdom" },
	{ "vif = [ 'pci=1' ]\n", "bad vif 'pci=1'" },
};

static void test_bad_values(struct ktap *t)
{
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		struct vm_config c;

		KTAP_EXPECT(t, parse_text(&c, bad_values[i].text) == -1);
		if (!strstr(errbuf, bad_values[i].expect)) {
			printf("# for '%s' got: %s", bad_values[i].text, errbuf);
			t->case_failed = 1;
		}
	}
	ktap_case_end(t, "bad values are errors naming the key and the value");
}

static const char *const bad_syntax[] = {
	"kernel \"/k\"\n",			/* no '=' */
	"kernel = \"/k\n",			/* unterminated string */
	"kernel = \"/k\" junk\n",		/* junk after the value */
	"disk = [ 'a', 'b'\n",			/* unterminated list */
	"disk = [ 'a' 'b' ]\n",			/* missing comma */
	"= 5\n",				/* no key */
	"kernel = \"a\\qb\"\n",			/* unknown escape */
	"x = [[[[[[1]]]]]]\n",			/* nested too deeply */
	"kernel = \n",				/* no value */
};

static void test_bad_syntax(struct ktap *t)
{
	struct vm_config c0;

	for (size_t i = 0; i < sizeof(bad_syntax) / sizeof(bad_syntax[0]); i++) {
		struct vm_config c;

		if (parse_text(&c, bad_syntax[i]) != -1 || !strstr(errbuf, "xenkvm: guest.cfg:")) {
			printf("# accepted or unlocated: %s", bad_syntax[i]);
			t->case_failed = 1;
		}
	}
	KTAP_EXPECT(t, parse_text(&c0, "name = \"a\"\nkernel \"/k\"\n") == -1);
	KTAP_EXPECT(t, strstr(errbuf, "guest.cfg:2: expected '=' after 'kernel'"));
	ktap_case_end(t, "syntax errors are refused with file and line");
}

static void test_long_and_binary_input(struct ktap *t)
{
	static char text[CONFIG_CMDLINE_MAX * 3];
	struct vm_config c;
	size_t n;

	/* A string longer than any field must be refused, not overflow. */
	n = (size_t)snprintf(text, sizeof(text), "extra = \"");
	memset(text + n, 'a', CONFIG_CMDLINE_MAX + 10);
	strcpy(text + n + CONFIG_CMDLINE_MAX + 10, "\"\n");
	KTAP_EXPECT(t, parse_text(&c, text) == -1);
	n = (size_t)snprintf(text, sizeof(text), "name = \"");
	memset(text + n, 'b', CONFIG_NAME_MAX + 1);
	strcpy(text + n + CONFIG_NAME_MAX + 1, "\"\n");
	KTAP_EXPECT(t, parse_text(&c, text) == -1);
	KTAP_EXPECT(t, strstr(errbuf, "too long"));
	/* Two extras that together overflow the command line. */
	n = (size_t)snprintf(text, sizeof(text), "extra = \"");
	memset(text + n, 'c', CONFIG_CMDLINE_MAX - 100);
	n += CONFIG_CMDLINE_MAX - 100;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\"\nroot = \"");
	memset(text + n, 'd', 200);
	strcpy(text + n + 200, "\"\n");
	KTAP_EXPECT(t, parse_text(&c, text) == -1);
	KTAP_EXPECT(t, strstr(errbuf, "command line too long"));
	KTAP_EXPECT(t, parse_text(&c, "\x01\x02\x03") == -1);
	KTAP_EXPECT(t, parse_text(&c, "") == 0);
	KTAP_EXPECT(t, parse_text(&c, "\n\n# only comments\n;;\n") == 0);
	ktap_case_end(t, "oversized and binary input is refused without overflow");
}

static void test_missing_file(struct ktap *t)
{
	struct vm_config c;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");

	config_set_defaults(&c);
	KTAP_EXPECT(t, config_parse_file("/nonexistent/guest.cfg", &c, err) == -1);
	KTAP_EXPECT(t, config_parse_file("/proc/self/exe", &c, err) == -1);	/* binary */
	fclose(err);
	KTAP_EXPECT(t, strstr(errbuf, "cannot open config file '/nonexistent/guest.cfg'"));
	ktap_case_end(t, "a missing or binary config file is an error");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 7);
	test_full_file(&t);
	test_warnings(&t);
	test_disks_and_vifs(&t);
	test_bad_values(&t);
	test_bad_syntax(&t);
	test_long_and_binary_input(&t);
	test_missing_file(&t);
	return ktap_finish(&t);
}
