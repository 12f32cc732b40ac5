/* Stand-in for the macOS SDK's <stdio.h>, for the Linux cross-compile check only: see ../README.md. */
#ifndef ISCSI_STUB_STDIO_H
#define ISCSI_STUB_STDIO_H
#include <stdarg.h>
#include <stddef.h>
int snprintf(char *buf, size_t size, const char *format, ...);
int vsnprintf(char *buf, size_t size, const char *format, va_list ap);
typedef struct __sFILE FILE;
extern FILE *__stderrp;
#define stderr __stderrp
int fprintf(FILE *stream, const char *format, ...);
#endif
