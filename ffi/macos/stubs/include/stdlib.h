/* Stand-in for the macOS SDK's <stdlib.h>, for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_STDLIB_H
#define ISCSI_STUB_STDLIB_H
#include <stddef.h>
void *calloc(size_t count, size_t size);
void *malloc(size_t size);
void free(void *ptr);
long strtol(const char *str, char **endptr, int base);
void exit(int status) __attribute__((noreturn));
#endif
