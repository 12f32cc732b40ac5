/* Stand-in for <CoreFoundation/CoreFoundation.h>: the few strings-and-arrays calls power_events.c uses (LP64). */
#ifndef ISCSI_STUB_COREFOUNDATION_H
#define ISCSI_STUB_COREFOUNDATION_H
typedef long CFIndex;
typedef unsigned char Boolean;
typedef unsigned int CFStringEncoding;
typedef const void *CFTypeRef;
typedef const struct __CFAllocator *CFAllocatorRef;
typedef const struct __CFString *CFStringRef;
typedef const struct __CFArray *CFArrayRef;
typedef struct {
  CFIndex version;
  const void *retain;
  const void *release;
  const void *copyDescription;
  const void *equal;
} CFArrayCallBacks;
#define kCFStringEncodingUTF8 0x08000100u
extern const CFArrayCallBacks kCFTypeArrayCallBacks;
CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *cStr, CFStringEncoding encoding);
Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding);
CFArrayRef CFArrayCreate(CFAllocatorRef allocator, const void **values, CFIndex numValues,
                         const CFArrayCallBacks *callBacks);
CFIndex CFArrayGetCount(CFArrayRef theArray);
const void *CFArrayGetValueAtIndex(CFArrayRef theArray, CFIndex idx);
void CFRelease(CFTypeRef cf);
#endif
