/* Stand-in for the macOS SDK's <string.h>, for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_STRING_H
#define ISCSI_STUB_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
char *strerror(int errnum);
char *strchr(const char *s, int c);
int strncmp(const char *a, const char *b, size_t n);
void *memmove(void *dst, const void *src, size_t n);
#endif
