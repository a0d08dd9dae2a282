#ifndef VMB_EXPORT_ASAN_PRELOAD_H
#define VMB_EXPORT_ASAN_PRELOAD_H

/* In a child about to exec nbdkit: preload the AddressSanitizer runtime
 * when vmbackup (hence its plugin) is built with it; else nothing. */
void asan_preload_runtime (void);

#endif
