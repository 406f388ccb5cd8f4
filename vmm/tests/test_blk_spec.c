// SPDX-License-Identifier: GPL-2.0
/*
 * Disk specifications: --disk, xl.cfg disk entries (every example of
 * xl-disk-configuration(5) that names a raw disk), refusals, and virtual
 * device numbers as Linux's blkfront decodes them.
 */
#include <string.h>

#include "blkback.h"
#include "ktap.h"

static void test_cli(struct ktap *t)
{
	struct blk_spec s;
	char err[160];

	KTAP_EXPECT(t, blk_parse_spec("/img/disk.raw", &s, err, sizeof(err)) == 0);
	KTAP_EXPECT(t, !strcmp(s.path, "/img/disk.raw") && !s.readonly &&
			       s.cache == BLK_CACHE_WRITEBACK && !s.vdev[0]);
	KTAP_EXPECT(t, blk_parse_spec("/a,ro,format=raw,cache=none", &s, err,
				      sizeof(err)) == 0);
	KTAP_EXPECT(t, !strcmp(s.path, "/a") && s.readonly &&
			       s.cache == BLK_CACHE_NONE);
	KTAP_EXPECT(t, blk_parse_spec("/a,cache=writeback,vdev=xvdc", &s, err,
				      sizeof(err)) == 0);
	KTAP_EXPECT(t, s.cache == BLK_CACHE_WRITEBACK && !strcmp(s.vdev, "xvdc"));
	/* ",," is a comma in the path. */
	KTAP_EXPECT(t, blk_parse_spec("/a,,b,ro", &s, err, sizeof(err)) == 0);
	KTAP_EXPECT(t, !strcmp(s.path, "/a,b") && s.readonly);

	KTAP_EXPECT(t, blk_parse_spec("/a,format=qcow2", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "qcow2") != NULL);
	KTAP_EXPECT(t, blk_parse_spec("/a,cache=unsafe", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "cache=unsafe") != NULL);
	KTAP_EXPECT(t, blk_parse_spec("", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, blk_parse_spec(",ro", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, blk_parse_spec("/a,vdev=floppy", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, blk_parse_spec(NULL, &s, err, sizeof(err)) == -1);
	ktap_case_end(t, "--disk PATH[,ro][,format=raw][,cache=...]");
}

static void test_engine(struct ktap *t)
{
	struct blk_spec s;
	char err[160] = "";

	KTAP_EXPECT(t, blk_parse_spec("/a", &s, err, sizeof(err)) == 0 &&
			       s.engine == BLK_ENGINE_URING);
	KTAP_EXPECT(t, blk_parse_spec("/a,engine=sync,cache=none", &s, err,
				      sizeof(err)) == 0);
	KTAP_EXPECT(t, s.engine == BLK_ENGINE_SYNC && s.cache == BLK_CACHE_NONE);
	/* The last one given wins, as with cache=. */
	KTAP_EXPECT(t, blk_parse_spec("/a,engine=sync,engine=uring", &s, err,
				      sizeof(err)) == 0 &&
			       s.engine == BLK_ENGINE_URING);
	/* A path may say "engine=sync" when its comma is doubled. */
	KTAP_EXPECT(t, blk_parse_spec("/a,,engine=sync", &s, err, sizeof(err)) == 0 &&
			       !strcmp(s.path, "/a,engine=sync") &&
			       s.engine == BLK_ENGINE_URING);
	KTAP_EXPECT(t, blk_parse_spec("/a,engine=aio", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, strstr(err, "'aio'") && strstr(err, "uring or sync"));
	KTAP_EXPECT(t, blk_parse_spec("/a,engine=", &s, err, sizeof(err)) == -1);
	KTAP_EXPECT(t, blk_parse_spec("/a,engine=SYNC", &s, err, sizeof(err)) == -1);
	/* xl.cfg entries keep the default. */
	KTAP_EXPECT(t, blk_parse_xl_disk("file:/img,xvda,w", &s, err, sizeof(err)) == 0 &&
			       s.engine == BLK_ENGINE_URING);
	KTAP_EXPECT(t, blk_parse_xl_disk("/img,raw,xvda,w,engine=sync", &s, err,
					 sizeof(err)) == -1);
	ktap_case_end(t, "--disk engine=uring|sync");
}

static bool xl(const char *e, const char *path, const char *vdev, bool ro)
{
	struct blk_spec s;
	char err[160];

	if (blk_parse_xl_disk(e, &s, err, sizeof(err))) {
		printf("# '%s': %s\n", e, err);
		return false;
	}
	return !strcmp(s.path, path) && !strcmp(s.vdev, vdev) && s.readonly == ro;
}

static bool xl_fails(const char *e, const char *word)
{
	struct blk_spec s;
	char err[160] = "";

	return blk_parse_xl_disk(e, &s, err, sizeof(err)) == -1 &&
	       (!word || strstr(err, word));
}

static void test_xl(struct ktap *t)
{
	/* The equivalent spellings of xl-disk-configuration(5). */
	KTAP_EXPECT(t, xl("/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume", "hda",
			  false));
	KTAP_EXPECT(t, xl("/dev/vg/guest-volume,raw,hda,rw", "/dev/vg/guest-volume",
			  "hda", false));
	KTAP_EXPECT(t, xl("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
			  "/dev/vg/guest-volume", "hda", false));
	KTAP_EXPECT(t, xl("raw:/dev/vg/guest-volume,hda,w", "/dev/vg/guest-volume",
			  "hda", false));
	/* The forms users write for Xen HVM guests. */
	KTAP_EXPECT(t, xl("file:/srv/guest.img,xvda,w", "/srv/guest.img", "xvda",
			  false));
	KTAP_EXPECT(t, xl("phy:/dev/sdb,xvdb,r", "/dev/sdb", "xvdb", true));
	KTAP_EXPECT(t, xl("tap:aio:/srv/g.img,xvda,w", "/srv/g.img", "xvda", false));
	KTAP_EXPECT(t, xl("format=raw, vdev=xvda, access=ro, target=/srv/a,b.img",
			  "/srv/a,b.img", "xvda", true));
	KTAP_EXPECT(t, xl("vdev=xvdc, access=r, target=/x", "/x", "xvdc", true));
	KTAP_EXPECT(t, xl(" /x , raw , xvdd , ro ", "/x", "xvdd", true));
	KTAP_EXPECT(t, xl("/x,,xvde,,discard", "/x", "xvde", false));
	KTAP_EXPECT(t, xl("backendtype=qdisk,/x,,xvda", "/x", "xvda", false));
	/* xm's spelling without a prefix. */
	KTAP_EXPECT(t, xl("/x,xvdb,r", "/x", "xvdb", true));

	/* Refused by name. */
	KTAP_EXPECT(t, xl_fails("/root/image.iso,,hdc,cdrom", "cdrom"));
	KTAP_EXPECT(t, xl_fails("/root/image.iso,raw,hdc,devtype=cdrom", "cdrom"));
	KTAP_EXPECT(t, xl_fails("raw:/root/image.iso,hdc:cdrom,ro", "cdrom"));
	KTAP_EXPECT(t, xl_fails("/x,qcow2,xvda,w", "qcow2"));
	KTAP_EXPECT(t, xl_fails("tap:qcow2:/x,xvda,w", "raw"));
	KTAP_EXPECT(t, xl_fails("/x,raw,xvda,rw,extra", "positional"));
	KTAP_EXPECT(t, xl_fails("/x,raw,xvda,maybe", "access"));
	KTAP_EXPECT(t, xl_fails("/x,raw,,w", "vdev"));
	KTAP_EXPECT(t, xl_fails("vdev=xvda,access=w", "target"));
	KTAP_EXPECT(t, xl_fails("/x,xvda,w,vdev=xvdb", "twice"));
	KTAP_EXPECT(t, xl_fails("/x,,xvda,w,script=block-iscsi", "script"));
	KTAP_EXPECT(t, xl_fails("/x,,nvme0,w", "vdev"));
	ktap_case_end(t, "xl.cfg disk entries");
}

static void test_vdev(struct ktap *t)
{
	struct blk_spec s;
	uint32_t d = 0;

	KTAP_EXPECT(t, !blk_vdev_to_devid("xvda", &d) && d == 51712);
	KTAP_EXPECT(t, !blk_vdev_to_devid("xvdb", &d) && d == 51728);
	KTAP_EXPECT(t, !blk_vdev_to_devid("xvdp", &d) && d == (202 << 8 | 15 << 4));
	/* From the 17th disk on, the extended scheme. */
	KTAP_EXPECT(t, !blk_vdev_to_devid("xvdq", &d) && d == (1u << 28 | 16 << 8));
	KTAP_EXPECT(t, !blk_vdev_to_devid("xvdaa", &d) && d == (1u << 28 | 26 << 8));
	KTAP_EXPECT(t, !blk_vdev_to_devid("hda", &d) && d == 768);
	KTAP_EXPECT(t, !blk_vdev_to_devid("hdc", &d) && d == 5632);
	KTAP_EXPECT(t, !blk_vdev_to_devid("sdb", &d) && d == 2064);
	KTAP_EXPECT(t, !blk_vdev_to_devid("51712", &d) && d == 51712);
	KTAP_EXPECT(t, blk_vdev_to_devid("xvd", &d) == -1);
	KTAP_EXPECT(t, blk_vdev_to_devid("xvdA", &d) == -1);
	KTAP_EXPECT(t, blk_vdev_to_devid("hde", &d) == -1);
	KTAP_EXPECT(t, blk_vdev_to_devid("0", &d) == -1);
	KTAP_EXPECT(t, blk_vdev_to_devid("99999999999", &d) == -1);
	KTAP_EXPECT(t, !blk_spec_default_vdev(&s, 0) && !strcmp(s.vdev, "xvda"));
	KTAP_EXPECT(t, !blk_spec_default_vdev(&s, 25) && !strcmp(s.vdev, "xvdz"));
	KTAP_EXPECT(t, !blk_spec_default_vdev(&s, 26) && !strcmp(s.vdev, "xvdaa"));
	KTAP_EXPECT(t, !blk_vdev_to_devid(s.vdev, &d));
	ktap_case_end(t, "virtual device names and numbers");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 4);
	test_cli(&t);
	test_engine(&t);
	test_xl(&t);
	test_vdev(&t);
	return ktap_finish(&t);
}
