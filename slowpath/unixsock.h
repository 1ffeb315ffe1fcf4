/* SPDX-License-Identifier: MIT */
/*
 * unixsock.h — helpers for the slowpath's Unix sockets (the control
 * socket, the management socket).
 */
#ifndef TG_SP_UNIXSOCK_H
#define TG_SP_UNIXSOCK_H

#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Does a live process listen at sa, a socket of type (SOCK_STREAM,
 * SOCK_SEQPACKET)? A connect that succeeds, or finds the backlog full,
 * says yes; refused or anything else says the socket file is stale and
 * may be replaced.
 */
static inline bool
tg_sp_socket_live(const struct sockaddr_un *sa, int type)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

#endif /* TG_SP_UNIXSOCK_H */
