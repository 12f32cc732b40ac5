/* Stand-in for the macOS SDK's <errno.h> (Darwin values), for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_ERRNO_H
#define ISCSI_STUB_ERRNO_H
extern int *__error(void);
#define errno (*__error())
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define ENXIO 6
#define ENOMEM 12
#define EBUSY 16
#define ENODEV 19
#define EINVAL 22
#define EAGAIN 35
#define ENOTSUP 45
#define EOPNOTSUPP 102
#endif
