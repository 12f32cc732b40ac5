// The floor under every initiator on this machine: loopback TCP with nothing but send() and recv().
// A child process sends a stream (whole buffers, or 48-byte headers + 8 KiB segments in one sendmsg, as
// Data-Out PDUs travel), the parent receives it (into one reused buffer, or one read() per header and per
// segment, as tgtd reads PDUs) for a fixed time; each side pinned to the CPU given. Prints one JSON line:
// throughput and each side's CPU seconds per GiB (getrusage). Built and run by bench/tcp-floor.ts.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    perror("sched_setaffinity");
    exit(2);
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_of(int who) {
  struct rusage u;
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: tcp-floor stream|pdus SECONDS RECV_CPU SEND_CPU\n");
    return 2;
  }
  int pdus = strcmp(argv[1], "pdus") == 0;
  double seconds = atof(argv[2]);
  int rcpu = atoi(argv[3]), scpu = atoi(argv[4]);
  enum { CHUNK = 1 << 20, HDR = 48, SEG = 8192 };
  static char buf[CHUNK];
  memset(buf, 7, sizeof buf);

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (void *)&a, &al)) {
    perror("listen");
    return 2;
  }

  pid_t child = fork();
  if (child == 0) { // sender
    pin(scpu);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (void *)&a, sizeof a)) {
      perror("connect");
      _exit(2);
    }
    if (pdus) { // 32 PDUs (header + 8 KiB) per sendmsg, as a batching initiator sends Data-Out
      struct iovec iov[64];
      for (int i = 0; i < 32; i++) {
        iov[2 * i] = (struct iovec){ buf, HDR };
        iov[2 * i + 1] = (struct iovec){ buf + HDR, SEG };
      }
      struct msghdr m = { .msg_iov = iov, .msg_iovlen = 64 };
      for (;;)
        if (sendmsg(s, &m, MSG_NOSIGNAL) <= 0) _exit(0);
    }
    for (;;)
      if (send(s, buf, CHUNK, MSG_NOSIGNAL) <= 0) _exit(0);
  }
  pin(rcpu);
  int s = accept(ls, NULL, NULL);
  double cpu0 = cpu_of(RUSAGE_SELF), t0 = now(), t;
  long long bytes = 0;
  do {
    for (int i = 0; i < 64; i++) {
      ssize_t n;
      if (pdus) { // one read for the header and one for the segment, as tgtd does (its rx state machine)
        n = recv(s, buf, HDR, MSG_WAITALL);
        if (n > 0) n = recv(s, buf + HDR, SEG, MSG_WAITALL);
        if (n > 0) n = HDR + SEG;
      } else {
        n = recv(s, buf, CHUNK, 0);
      }
      if (n <= 0) {
        perror("recv");
        return 2;
      }
      bytes += n;
    }
  } while ((t = now()) - t0 < seconds);
  double rcpu_s = cpu_of(RUSAGE_SELF) - cpu0;
  close(s);
  int st;
  waitpid(child, &st, 0);
  double scpu_s = cpu_of(RUSAGE_CHILDREN);
  double gib = bytes / (double)(1 << 30);
  printf("{\"mode\":\"%s\",\"bytesPerSecond\":%.0f,\"receiverCpuPerGiB\":%.4f,\"senderCpuPerGiB\":%.4f}\n", argv[1],
         bytes / (t - t0), rcpu_s / gib, scpu_s / gib);
  return 0;
}
