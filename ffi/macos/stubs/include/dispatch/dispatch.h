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
#endif
