/* Stand-in for the macOS SDK's <sys/socket.h> (Darwin values), for the Linux cross-compile check only: see ../../README.md. */
#ifndef ISCSI_STUB_SYS_SOCKET_H
#define ISCSI_STUB_SYS_SOCKET_H
#define AF_UNIX 1
#define SOCK_STREAM 1
int socketpair(int domain, int type, int protocol, int fds[2]);
#endif
