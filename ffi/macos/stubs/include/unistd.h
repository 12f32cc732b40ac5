/* Stand-in for the macOS SDK's <unistd.h>, for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_UNISTD_H
#define ISCSI_STUB_UNISTD_H
#include <stddef.h>
typedef long ssize_t;
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
#endif
