// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xenkvm is there and answers the two ioctls that need no VM:
 * GET_API_VERSION and GET_CAPS, with sane values. An unattached file
 * refuses VM ioctls with -ENXIO and unknown ioctls with -ENOTTY.
 */
#include "xenkvm_test.h"

#define KNOWN_CAPS	((XENKVM_CAP_TIME_INFO << 1) - 1)

int main(void)
{
	struct xenkvm_caps caps;
	struct xenkvm_attr attr = { .type = XENKVM_ATTR_LONG_MODE };
	struct xenkvm_stats st;
	unsigned int i;
	int fd, pad_zero = 1;
	long r;

	fd = xk_open();
	ksft_print_header();
	ksft_set_plan(7);

	XK_EXPECT(xk_ioctl(fd, XENKVM_GET_API_VERSION, NULL), XENKVM_API_VERSION,
		  "GET_API_VERSION");

	memset(&caps, 0xa5, sizeof(caps));
	r = xk_ioctl(fd, XENKVM_GET_CAPS, &caps);
	XK_EXPECT(r, 0, "GET_CAPS");
	for (i = 0; i < sizeof(caps.pad) / sizeof(caps.pad[0]); i++)
		pad_zero &= caps.pad[i] == 0;
	ksft_test_result(r == 0 && caps.api_version == XENKVM_API_VERSION &&
			 caps.flags == 0 && pad_zero,
			 "caps: api_version %u flags %u, padding zeroed\n",
			 caps.api_version, caps.flags);
	ksft_test_result(r == 0 && caps.max_ports_2l == XEN_PORTS_64 &&
			 caps.max_vcpus >= 1 && caps.max_vcpus <= 4096,
			 "caps: max_ports_2l %u max_vcpus %u\n",
			 caps.max_ports_2l, caps.max_vcpus);
	ksft_test_result(r == 0 && !(caps.caps & ~KNOWN_CAPS),
			 "caps: only defined bits (0x%llx)\n",
			 (unsigned long long)caps.caps);

	XK_EXPECT(xk_ioctl(fd, XENKVM_SET_ATTR, &attr), -ENXIO,
		  "SET_ATTR before ATTACH");
	(void)st;
	XK_EXPECT(xk_ioctl(fd, _IO('x', 0x7f), NULL), -ENOTTY,
		  "ioctl of another type");

	close(fd);
	ksft_finished();
}
