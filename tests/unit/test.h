/* Shared helpers for the unit tests: a CHECK macro that names the failing
 * line and what went wrong, a reproducible random source, and scratch
 * directories that are removed however the test ends. */
#ifndef VMB_TEST_H
#define VMB_TEST_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf (stderr, "%s:%d: CHECK (%s) failed: ", __FILE__, __LINE__, \
               #cond);                                                  \
      fprintf (stderr, __VA_ARGS__);                                    \
      fputc ('\n', stderr);                                             \
      exit (1);                                                         \
    }                                                                   \
  } while (0)

/* xorshift64*: a fixed seed makes every failure reproducible. */
static uint64_t test_rng_state __attribute__ ((unused)) = 0x9E3779B97F4A7C15ULL;

static inline uint64_t __attribute__ ((unused))
test_rand64 (void)
{
  uint64_t x = test_rng_state;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  test_rng_state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static inline void __attribute__ ((unused))
test_fill_random (void *buf, size_t len)
{
  unsigned char *p = buf;

  for (size_t i = 0; i < len; i++)
    p[i] = test_rand64 () >> 56;
}

/* Copy into a heap block of exactly len bytes, so that ASan reports any
 * read past the end of what a parser was given. */
static inline void * __attribute__ ((unused))
test_memdup (const void *buf, size_t len)
{
  void *p = malloc (len ? len : 1);

  CHECK (p != NULL, "malloc %zu", len);
  memcpy (p, buf, len);
  return p;
}

static char test_tmpdir_path[256] __attribute__ ((unused));

static int __attribute__ ((unused))
test_rm_one (const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
  remove (path);
  return 0;
}

static void __attribute__ ((unused))
test_tmpdir_remove (void)
{
  if (test_tmpdir_path[0] && getenv ("VMB_TEST_KEEP") == NULL)
    nftw (test_tmpdir_path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A scratch directory, removed at exit (kept when $VMB_TEST_KEEP is set,
 * to look at what a failing test left). */
static inline const char * __attribute__ ((unused))
test_tmpdir (void)
{
  const char *base = getenv ("TMPDIR");

  if (test_tmpdir_path[0])
    return test_tmpdir_path;
  snprintf (test_tmpdir_path, sizeof test_tmpdir_path, "%s/vmb-test-XXXXXX",
            base ? base : "/tmp");
  CHECK (mkdtemp (test_tmpdir_path) != NULL, "mkdtemp %s: %m",
         test_tmpdir_path);
  atexit (test_tmpdir_remove);
  return test_tmpdir_path;
}

#endif
