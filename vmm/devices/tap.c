// SPDX-License-Identifier: GPL-2.0
/*
 * Tap devices (devices/tap.h). All configuration goes through ioctls on
 * the tun fd or an AF_INET socket: no ip(8) or brctl(8) is needed, so the
 * VMM works in a bare initramfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "devices/tap.h"

static int tap_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}

static int open_queue(const char *name, bool multi, int *fd, char *err,
		      size_t errlen)
{
	struct ifreq ifr = { 0 };
	int hdr = sizeof(struct virtio_net_hdr);
	int e;

	*fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		e = errno;
		return tap_fail(err, errlen, e, "open /dev/net/tun: %s",
				strerror(e));
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(multi ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(*fd);
		*fd = -1;
		return tap_fail(err, errlen, e, "tap %s: TUNSETIFF: %s%s", name,
				strerror(e),
				e == EPERM ? " (needs CAP_NET_ADMIN)" : "");
	}
	/* The default is already this size; say so rather than rely on it. */
	if (ioctl(*fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		close(*fd);
		*fd = -1;
		return tap_fail(err, errlen, e, "tap %s: TUNSETVNETHDRSZ: %s",
				name, strerror(e));
	}
	return 0;
}

int tap_open(const char *name, unsigned int queues, int *fds, char *err,
	     size_t errlen)
{
	unsigned int i;
	int r = 0;

	if (!queues)
		return tap_fail(err, errlen, EINVAL, "tap %s: no queues", name);
	for (i = 0; i < queues; i++) {
		r = open_queue(name, queues > 1, &fds[i], err, errlen);
		if (r)
			break;
	}
	if (!r)
		return 0;
	while (i-- > 0) {
		close(fds[i]);
		fds[i] = -1;
	}
	return r;
}

int tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno :
									0;
}

int tap_queue_enable(int fd, bool on)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0)
		return errno == EINVAL && on ? 0 : -errno;
	return 0;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

int tap_link_up(const char *name, unsigned int mtu)
{
	struct ifreq ifr = { 0 };
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = (int)mtu;
	r = ifreq_ioctl(SIOCSIFMTU, &ifr);
	if (r)
		return r;
	r = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (r)
		return r;
	ifr.ifr_flags |= IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

int tap_join_bridge(const char *name, const char *bridge)
{
	struct ifreq ifr = { 0 };
	int idx = (int)if_nametoindex(name);

	if (!idx)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = idx;
	return ifreq_ioctl(SIOCBRADDIF, &ifr);
}
