/*
 * An outgoing TCP connection that leaves through a chosen interface and/or from a chosen local address
 * (open-iscsi's iface.net_ifacename and iface.ipaddress), for src/transport/bound.ts. Bun.connect cannot bind,
 * so the socket is made here: socket(), SO_BINDTODEVICE, bind(), a non-blocking connect(); JavaScript polls
 * nb_connect_result() until the connect finished and then hands the descriptor to Bun.connect({fd}).
 *
 * Return values: a descriptor (>= 0), NT_WOULD_BLOCK (still connecting), 0 (connected) or -errno.
 * Addresses are numeric (the caller resolves names); every string from JavaScript is length-checked.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NT_WOULD_BLOCK (-1000000)

/* Parse a numeric IPv4 or IPv6 address with a port into sa; 0 or -EINVAL. */
static int parse_address(const char *text, int32_t port, struct sockaddr_storage *sa, socklen_t *len) {
  if (text == NULL || strnlen(text, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN || port < 0 || port > 65535) return -EINVAL;
  memset(sa, 0, sizeof *sa);
  struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  return -EINVAL;
}

/*
 * Start a connection to peer:port leaving through ifname (empty: any) from local (empty: any). Returns the
 * descriptor of the connecting socket, or -errno (EINVAL for a malformed argument, ENODEV for an unknown
 * interface, EADDRNOTAVAIL for an address this machine does not have).
 */
int32_t nb_connect(const char *peer, int32_t port, const char *ifname, const char *local) {
  struct sockaddr_storage to, from;
  socklen_t to_len, from_len = 0;
  if (parse_address(peer, port, &to, &to_len) != 0) return -EINVAL;
  if (ifname == NULL || local == NULL || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ) return -EINVAL;
  if (local[0] != '\0') {
    if (parse_address(local, 0, &from, &from_len) != 0) return -EINVAL;
    if (from.ss_family != to.ss_family) return -EAFNOSUPPORT;
  }
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc = 0;
  if (ifname[0] != '\0') {
    if (if_nametoindex(ifname) == 0)
      rc = -ENODEV;
    else if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) != 0)
      rc = -errno;
  }
  if (rc == 0 && from_len > 0 && bind(fd, (struct sockaddr *)&from, from_len) != 0) rc = -errno;
  if (rc == 0 && connect(fd, (struct sockaddr *)&to, to_len) != 0 && errno != EINPROGRESS) rc = -errno;
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return fd;
}

/* 0 once connected, NT_WOULD_BLOCK while connecting, else -errno of the failed connect. */
int32_t nb_connect_result(int32_t fd) {
  if (fd < 0) return -EBADF;
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  int n = poll(&p, 1, 0);
  if (n < 0) return -errno;
  if (n == 0) return NT_WOULD_BLOCK;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -errno;
  return err == 0 ? 0 : -err;
}

/* Close a descriptor that never reached Bun (a failed or abandoned connect). */
int32_t nb_close(int32_t fd) { return fd >= 0 && close(fd) == 0 ? 0 : -errno; }
