/* The test hooks (see test_hooks.h). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_hooks.h"

static unsigned long
number (const char *name)
{
  const char *s = getenv (name);

  return s ? strtoul (s, NULL, 10) : 0;
}

/* Write our pid to file and wait (at most a minute) until it is gone.
 * Nothing here allocates: it may run in a child forked from threads. */
static void
pause_on (const char *file)
{
  char pid[32];
  int fd = open (file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ssize_t n;

  if (fd == -1)
    return;
  /* may print: the test reads our pid from its own file */
  n = write (fd, pid, snprintf (pid, sizeof pid, "%d\n", (int) getpid ()));
  (void) n; /* a short pid file only makes the test that asked fail */
  close (fd);
  for (int i = 0; i < 1200 && access (file, F_OK) == 0; i++)
    usleep (50000);
}

void
test_hook_serve_chunk (void)
{
  static unsigned long chunks;
  unsigned long kill_after = number ("VMBACKUP_TEST_SERVE_KILL_AFTER");
  unsigned long pause_after = number ("VMBACKUP_TEST_SERVE_PAUSE_AFTER");
  const char *pause_file = getenv ("VMBACKUP_TEST_SERVE_PAUSE_FILE");

  chunks++;
  if (kill_after && kill_after == chunks)
    raise (SIGKILL);
  if (pause_after && pause_file && pause_after == chunks)
    pause_on (pause_file);
}

void
test_hook_copy_chunk (void)
{
  static unsigned long chunks;
  unsigned long pause_after = number ("VMBACKUP_TEST_COPY_PAUSE_AFTER");
  const char *pause_file = getenv ("VMBACKUP_TEST_COPY_PAUSE_FILE");

  chunks++;
  if (pause_after && pause_file && pause_after == chunks)
    pause_on (pause_file);
}

void
test_hook_restore_chunk (unsigned long long index)
{
  const char *at = getenv ("VMBACKUP_TEST_RESTORE_PAUSE_AT");
  const char *pause_file = getenv ("VMBACKUP_TEST_RESTORE_PAUSE_FILE");

  if (at && pause_file && number ("VMBACKUP_TEST_RESTORE_PAUSE_AT") == index)
    pause_on (pause_file);
}

bool
test_hook_instant_pivot_held (void)
{
  const char *hold_file = getenv ("VMBACKUP_TEST_INSTANT_HOLD_PIVOT_FILE");

  return hold_file && access (hold_file, F_OK) == 0;
}

void
test_hook_nbd_socket_named (void)
{
  const char *pause_file = getenv ("VMBACKUP_TEST_NBD_PAUSE_FILE");

  if (pause_file)
    pause_on (pause_file);
}

void
test_hook_file_read (const char *path)
{
  const char *grow = getenv ("VMBACKUP_TEST_GROW_WHILE_READ");
  int fd;

  if (grow == NULL || strcmp (grow, path) != 0)
    return;
  fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    /* A failed write only makes the test that asked for it fail. */
    ssize_t n = write (fd, "+", 1);
    (void) n;
    close (fd);
  }
}

unsigned
test_hook_hold_frozen (void)
{
  unsigned long s = number ("VMBACKUP_TEST_HOLD_FROZEN");

  return s > 3600 ? 3600 : s;
}
