/* Test-only behaviour, one function per hook, each switched on by a
 * VMBACKUP_TEST_* variable that only the test suite sets.  Every read of
 * such a variable is in test_hooks.c, so product code has no scattered
 * getenv() calls and `grep test_hook_ src/` lists every place a test can
 * reach in.  With the variables unset each hook does nothing. */
#ifndef VMB_TEST_HOOKS_H
#define VMB_TEST_HOOKS_H

#include <stdbool.h>

/* serve, on each chunk it stores: VMBACKUP_TEST_SERVE_KILL_AFTER=N dies
 * (SIGKILL) on the Nth; VMBACKUP_TEST_SERVE_PAUSE_AFTER=N with
 * VMBACKUP_TEST_SERVE_PAUSE_FILE=F writes our pid to F on the Nth and
 * waits (at most a minute) until F is removed.  So tests/
 * test-remote-kill.sh stops a backup at a known point, not by a race. */
void test_hook_serve_chunk (void);

/* copy, on each chunk it sends: VMBACKUP_TEST_COPY_PAUSE_AFTER=N with
 * VMBACKUP_TEST_COPY_PAUSE_FILE=F pauses on the Nth as the serve hook
 * does, so tests/test-copy-kill.sh kills a copy in the middle. */
void test_hook_copy_chunk (void);

/* restore, before it writes chunk index (counted from the disk's
 * start): VMBACKUP_TEST_RESTORE_PAUSE_AT=N with
 * VMBACKUP_TEST_RESTORE_PAUSE_FILE=F pauses there as the serve hook
 * does, so tests/test-restore-resume.sh kills a restore in the middle
 * with the chunks before N written. */
void test_hook_restore_chunk (unsigned long long index);

/* An instant restore's keeper, about to pivot a disk onto its copy:
 * true while the file VMBACKUP_TEST_INSTANT_HOLD_PIVOT_FILE names
 * exists, so tests/vm/test-vm-instant.sh can kill the keeper while the
 * shallow copy runs (it is in step within a second otherwise). */
bool test_hook_instant_pivot_held (void);

/* qemu-nbd's socket has its name in $TMPDIR (src/nbd/unnamed_socket.c):
 * VMBACKUP_TEST_NBD_PAUSE_FILE=F writes our pid to F and waits (at most
 * a minute) until F is removed, so tests/test-image-kill-leak.sh kills
 * vmbackup exactly there. */
void test_hook_nbd_socket_named (void);

/* A file backup about to read path: VMBACKUP_TEST_GROW_WHILE_READ=PATH
 * appends a byte to that file, so it changes while it is read. */
void test_hook_file_read (const char *path);

/* Seconds to hold a VM frozen (VMBACKUP_TEST_HOLD_FROZEN=S), so a test
 * can kill vmbackup there; 0 when unset. */
unsigned test_hook_hold_frozen (void);

#endif
