/* Stand-in for the macOS SDK's <dispatch/dispatch.h> as plain C sees it (dispatch objects are struct
 * pointers; dispatch_object_t is a transparent union passed as a pointer), for the Linux cross-compile
 * check only: see ../../README.md. */
#ifndef ISCSI_STUB_DISPATCH_H
#define ISCSI_STUB_DISPATCH_H
typedef struct dispatch_queue_s *dispatch_queue_t;
typedef struct dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef void (*dispatch_function_t)(void *context);
#define DISPATCH_QUEUE_SERIAL ((dispatch_queue_attr_t)0)
dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
void dispatch_release(void *object);
/* Sources, timers and the main loop (power_events.c), function-pointer variants only. */
#include <stdint.h>
typedef struct dispatch_source_s *dispatch_source_t;
typedef const struct dispatch_source_type_s *dispatch_source_type_t;
typedef uint64_t dispatch_time_t;
#define DISPATCH_TIME_NOW (0ull)
extern const struct dispatch_source_type_s _dispatch_source_type_read;
#define DISPATCH_SOURCE_TYPE_READ (&_dispatch_source_type_read)
dispatch_source_t dispatch_source_create(dispatch_source_type_t type, uintptr_t handle, unsigned long mask,
                                         dispatch_queue_t queue);
void dispatch_source_set_event_handler_f(dispatch_source_t source, dispatch_function_t handler);
void dispatch_resume(void *object);
dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context, dispatch_function_t work);
void dispatch_main(void) __attribute__((noreturn));
#endif
