/* An AddressSanitizer build of vmbackup has an instrumented nbdkit
 * plugin, and ASan refuses to run unless its runtime is the first
 * library of the process; Debian's nbdkit is not instrumented.  So, in
 * such a build only, nbdkit is started with the runtime preloaded:
 * the sanitizer test runs then check the plugin too.  Elsewhere this
 * does nothing.
 *
 * Leak checking is off in nbdkit: nbdkit unloads the plugin before it
 * exits, which unmaps the static pointers to the ciphers and digests
 * fetched once per process (crypto/), so they would be reported, and
 * nbdkit itself leaks a little; vmbackup's own runs check that code. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "asan_preload.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VMB_ASAN 1
#endif

#ifdef VMB_ASAN
extern void __asan_init (void);

void
asan_preload_runtime (void)
{
  const char *old = getenv ("ASAN_OPTIONS");
  char opts[1024];
  Dl_info info;

  if (dladdr ((void *) __asan_init, &info) == 0 || info.dli_fname == NULL)
    return;
  snprintf (opts, sizeof opts, "%s%sdetect_leaks=0", old ? old : "",
            old && *old ? ":" : "");
  setenv ("LD_PRELOAD", info.dli_fname, 1);
  setenv ("ASAN_OPTIONS", opts, 1);
}
#else
void
asan_preload_runtime (void)
{
}
#endif
