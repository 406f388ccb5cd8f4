/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Passing file descriptors between processes, for the tests that hand a
 * VM or /dev/xenkvm fd to a process with another mm (attach and foreign).
 * Not in xenkvm_test.h: <sys/socket.h> declares send(), a name other
 * tests use for their own helpers.
 */
#ifndef XENKVM_FDPASS_H
#define XENKVM_FDPASS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Pass a file descriptor over a Unix socket (SCM_RIGHTS): 0 or -1. */
static inline int xk_send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = {};
	char c = 'x';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Receive one passed with xk_send_fd(): the new fd, or -1. */
static inline int xk_recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))] = {};
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = sizeof(buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

#endif /* XENKVM_FDPASS_H */
