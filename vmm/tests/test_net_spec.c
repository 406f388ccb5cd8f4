// SPDX-License-Identifier: GPL-2.0
/*
 * --net and xl.cfg vif parsing (devices/net_spec.c): what each accepts,
 * the defaults, and that every refusal names what was wrong.
 */
#include <string.h>

#include "ktap.h"
#include "netback.h"

static void test_spec_ok(struct ktap *t)
{
	struct net_spec s;
	char err[256] = "";

	KTAP_EXPECT(t, !net_parse_spec("tap=tap0", &s, err, sizeof(err)));
	KTAP_EXPECT(t, !strcmp(s.tap, "tap0") && !s.mac_set && s.queues == 1 &&
			       s.mtu == 1500 && !s.bridge[0]);
	KTAP_EXPECT(t, !net_parse_spec("tap=xk0, mac=00:16:3E:0a:0B:ff ,queues=4,bridge=br0,mtu=9000",
				       &s, err, sizeof(err)));
	KTAP_EXPECT(t, !strcmp(s.tap, "xk0") && s.mac_set && s.queues == 4 &&
			       !strcmp(s.bridge, "br0") && s.mtu == 9000);
	KTAP_EXPECT(t, !memcmp(s.mac, "\x00\x16\x3e\x0a\x0b\xff", 6));
	KTAP_EXPECT(t, s.offload);
	KTAP_EXPECT(t, !net_parse_spec("tap=xk0,offload=off", &s, err, sizeof(err)) &&
			       !s.offload);
	KTAP_EXPECT(t, !net_parse_spec("offload=off,tap=xk0,offload=on", &s, err,
				       sizeof(err)) && s.offload);
	ktap_case_end(t, "--net accepts tap, mac, queues, bridge, mtu, offload");
}

static bool refused(const char *spec, const char *needle)
{
	struct net_spec s;
	char err[256] = "";

	return net_parse_spec(spec, &s, err, sizeof(err)) == -1 &&
	       strstr(err, needle) != NULL;
}

static void test_spec_bad(struct ktap *t)
{
	KTAP_EXPECT(t, refused("", "empty"));
	KTAP_EXPECT(t, refused("mac=00:16:3e:00:00:01", "tap=NAME is required"));
	KTAP_EXPECT(t, refused("tap=", "tap="));
	KTAP_EXPECT(t, refused("tap=0123456789abcdef", "tap=0123456789abcdef"));
	KTAP_EXPECT(t, refused("tap=a/b", "a/b"));
	KTAP_EXPECT(t, refused("tap=t,mac=00:16:3e:00:00", "mac=00:16:3e:00:00"));
	KTAP_EXPECT(t, refused("tap=t,mac=00:16:3e:00:00:0g", "mac="));
	KTAP_EXPECT(t, refused("tap=t,mac=01:16:3e:00:00:01", "multicast"));
	KTAP_EXPECT(t, refused("tap=t,queues=0", "queues=0"));
	KTAP_EXPECT(t, refused("tap=t,queues=9", "queues=9"));
	KTAP_EXPECT(t, refused("tap=t,queues=2x", "queues=2x"));
	KTAP_EXPECT(t, refused("tap=t,queues=-1", "queues=-1"));
	KTAP_EXPECT(t, refused("tap=t,mtu=67", "mtu=67"));
	KTAP_EXPECT(t, refused("tap=t,colour=red", "colour"));
	KTAP_EXPECT(t, refused("tap=t,bogus", "bogus"));
	KTAP_EXPECT(t, refused("tap=t,offload=yes", "offload=yes: expected on or off"));
	KTAP_EXPECT(t, refused("tap=t,offload=", "offload="));
	KTAP_EXPECT(t, refused("tap=t,offload=OFF", "offload=OFF"));
	ktap_case_end(t, "--net refusals name the bad part");
}

static void test_vif(struct ktap *t)
{
	struct net_spec s;
	char err[256] = "";

	KTAP_EXPECT(t, !net_parse_vif("", 3, 1, &s, err, sizeof(err)) &&
			       !strcmp(s.tap, "xkvif3.1") && !s.mac_set);
	KTAP_EXPECT(t, !net_parse_vif("mac=00:16:3e:01:02:03,bridge=xenbr0,type=vif,model=e1000,script=vif-bridge",
				      1, 0, &s, err, sizeof(err)));
	KTAP_EXPECT(t, s.mac_set && s.mac[5] == 3 && !strcmp(s.bridge, "xenbr0") &&
			       !strcmp(s.tap, "xkvif1.0"));
	KTAP_EXPECT(t, !net_parse_vif("vifname=guest0,backend=Domain-0,mtu=1400",
				      1, 0, &s, err, sizeof(err)) &&
			       !strcmp(s.tap, "guest0") && s.mtu == 1400);
	KTAP_EXPECT(t, net_parse_vif("backend=driverdom", 1, 0, &s, err,
				     sizeof(err)) == -1 &&
			       strstr(err, "driverdom"));
	KTAP_EXPECT(t, net_parse_vif("mac=zz", 1, 0, &s, err, sizeof(err)) ==
				       -1 && strstr(err, "mac=zz"));
	/* offload= is ours, not xl's: a vif entry refuses it. */
	KTAP_EXPECT(t, net_parse_vif("offload=off", 1, 0, &s, err, sizeof(err)) ==
				       -1 && strstr(err, "offload"));
	KTAP_EXPECT(t, !net_parse_vif("", 1, 0, &s, err, sizeof(err)) && s.offload);
	KTAP_EXPECT(t, net_parse_vif("pci=1", 1, 0, &s, err, sizeof(err)) ==
				       -1 && strstr(err, "pci"));
	/* A long name from large ids must not be silently cut. */
	KTAP_EXPECT(t, net_parse_vif("", 4000000000u, 4000000000u, &s, err,
				     sizeof(err)) == -1 &&
			       strstr(err, "vifname"));
	ktap_case_end(t, "xl.cfg vif entries");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 3);
	test_spec_ok(&t);
	test_spec_bad(&t);
	test_vif(&t);
	return ktap_finish(&t);
}
