// SPDX-License-Identifier: GPL-2.0
/*
 * The host's xenstore socket: a Unix stream socket speaking xs_wire with
 * domain 0 rights, so host tools and tests can read and write the guest's
 * tree and set watches (Documentation/xenstore.rst).
 *
 * Whoever can connect is dom0, so the socket is created mode 0600 before
 * it listens: nobody else can ever connect, not even in a window.
 *
 * Everything runs on the caller's thread. The whole server is one epoll
 * fd so the machine's event loop needs to watch a single descriptor.
 */
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define SOCK_INBUF (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)

struct sock_client {
	struct sock_client *next;
	struct xs_socket *sk;
	int fd;
	struct xs_conn *conn;
	bool dead;		/* close at the end of this dispatch */
	uint32_t armed;		/* epoll events we asked for */
	char in[SOCK_INBUF];
	size_t in_off;
	size_t in_len;
};

struct xs_socket {
	struct xs_store *store;
	int listen_fd;
	int epfd;
	char *path;
	struct sock_client *clients;
};

/*
 * Poll for input only while we would take it (level-triggered EPOLLIN on
 * unread data we refuse would spin the loop), and for output only while
 * some waits.
 */
static void client_arm(struct sock_client *cl)
{
	const void *p;
	uint32_t want = (xs_conn_peek_output(cl->conn, &p) ? EPOLLOUT : 0) |
			(xs_conn_backlogged(cl->conn) ? 0 : EPOLLIN);
	struct epoll_event ev = { .events = want, .data.ptr = cl };

	if (cl->dead || cl->armed == want)
		return;
	cl->armed = want;
	if (epoll_ctl(cl->sk->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		cl->dead = true;
}

/* Send what we can; the rest waits for EPOLLOUT. Never blocks. */
static void client_flush(struct sock_client *cl)
{
	const void *p;
	size_t n;

	while (!cl->dead && (n = xs_conn_peek_output(cl->conn, &p))) {
		ssize_t k = send(cl->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			cl->dead = true;
			return;
		}
		xs_conn_consume_output(cl->conn, (size_t)k);
	}
	client_arm(cl);
}

static void client_output_ready(void *opaque)
{
	client_flush(opaque);
}

static const struct xs_conn_ops client_ops = {
	.output_ready = client_output_ready,
};

/* Feed buffered input; stops while the client does not read replies. */
static void client_feed(struct sock_client *cl)
{
	while (!cl->dead && cl->in_off < cl->in_len) {
		size_t k = xs_conn_feed(cl->conn, cl->in + cl->in_off,
					cl->in_len - cl->in_off);

		cl->in_off += k;
		if (xs_conn_desynced(cl->conn)) {
			/* A stream has no way to resynchronise: hang up. */
			cl->dead = true;
			return;
		}
		if (!k)
			return;
	}
	if (cl->in_off == cl->in_len)
		cl->in_off = cl->in_len = 0;
}

static void client_read(struct sock_client *cl)
{
	ssize_t k;

	client_feed(cl);
	if (cl->dead || cl->in_len)
		return;		/* backlogged: leave the bytes in the kernel */
	k = recv(cl->fd, cl->in, sizeof(cl->in), MSG_DONTWAIT);
	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR &&
		       errno != EWOULDBLOCK)) {
		cl->dead = true;
		return;
	}
	if (k > 0) {
		cl->in_len = (size_t)k;
		client_feed(cl);
	}
}

static void client_close(struct sock_client *cl)
{
	epoll_ctl(cl->sk->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	xs_conn_free(cl->conn);
	free(cl);
}

static void accept_clients(struct xs_socket *sk)
{
	for (;;) {
		int fd = accept4(sk->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sock_client *cl;
		struct epoll_event ev;

		if (fd < 0)
			return;
		cl = calloc(1, sizeof(*cl));
		if (cl)
			cl->conn = xs_conn_new(sk->store, 0, true, &client_ops,
					       cl);
		ev.events = EPOLLIN;
		ev.data.ptr = cl;
		if (!cl || !cl->conn ||
		    epoll_ctl(sk->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			if (cl)
				xs_conn_free(cl->conn);
			free(cl);
			close(fd);
			continue;
		}
		cl->sk = sk;
		cl->fd = fd;
		cl->armed = EPOLLIN;
		cl->next = sk->clients;
		sk->clients = cl;
	}
}

static void reap_dead_clients(struct xs_socket *sk)
{
	struct sock_client **pp = &sk->clients;

	while (*pp) {
		struct sock_client *cl = *pp;

		if (cl->dead) {
			*pp = cl->next;
			client_close(cl);
		} else {
			pp = &cl->next;
		}
	}
}

int xs_socket_dispatch(struct xs_socket *sk)
{
	struct epoll_event evs[16];
	struct sock_client *cl;
	int n, i;

	n = epoll_wait(sk->epfd, evs, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		cl = evs[i].data.ptr;
		if (!cl) {
			accept_clients(sk);
			continue;
		}
		if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
			cl->dead = true;	/* nobody left to answer */
			continue;
		}
		if (evs[i].events & EPOLLOUT)
			client_flush(cl);
		if (evs[i].events & EPOLLIN)
			client_read(cl);
	}
	/* Output drained by now may unblock input held back earlier. */
	for (cl = sk->clients; cl; cl = cl->next) {
		if (!cl->dead && cl->in_len && !xs_conn_backlogged(cl->conn))
			client_feed(cl);
		client_arm(cl);
	}
	reap_dead_clients(sk);
	return 0;
}

int xs_socket_fd(const struct xs_socket *sk)
{
	return sk->epfd;
}

static int bind_private(int fd, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	/* Replace a stale socket from an earlier run, nothing else. */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return -errno;
	if (chmod(path, 0600) || listen(fd, 16)) {
		int err = -errno;

		unlink(path);
		return err;
	}
	return 0;
}

struct xs_socket *xs_socket_open(struct xs_store *s, const char *path)
{
	struct xs_socket *sk = calloc(1, sizeof(*sk));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (!sk)
		return NULL;
	sk->store = s;
	sk->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					 SOCK_CLOEXEC, 0);
	sk->epfd = epoll_create1(EPOLL_CLOEXEC);
	sk->path = strdup(path);
	if (sk->listen_fd < 0 || sk->epfd < 0 || !sk->path)
		goto fail;
	err = bind_private(sk->listen_fd, path);
	if (err) {
		errno = -err;
		goto fail;
	}
	if (epoll_ctl(sk->epfd, EPOLL_CTL_ADD, sk->listen_fd, &ev)) {
		err = errno;
		unlink(path);	/* ours: bind created it */
		errno = err;
		goto fail;
	}
	return sk;
fail:
	err = errno;
	if (sk->listen_fd >= 0)
		close(sk->listen_fd);
	if (sk->epfd >= 0)
		close(sk->epfd);
	free(sk->path);
	free(sk);
	errno = err;
	return NULL;
}

void xs_socket_close(struct xs_socket *sk)
{
	if (!sk)
		return;
	while (sk->clients) {
		struct sock_client *cl = sk->clients;

		sk->clients = cl->next;
		client_close(cl);
	}
	close(sk->listen_fd);
	close(sk->epfd);
	unlink(sk->path);
	free(sk->path);
	free(sk);
}
