/* Stand-in for the macOS SDK's <fcntl.h> (Darwin values), for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_FCNTL_H
#define ISCSI_STUB_FCNTL_H
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define FD_CLOEXEC 1
#define O_NONBLOCK 0x0004
int fcntl(int fd, int cmd, ...);
#endif
