/* A passphrase typed on the terminal, never echoed (prompt.c). */
#ifndef VMB_CLI_PROMPT_H
#define VMB_CLI_PROMPT_H

#include <stddef.h>

/* Can we ask at all (is there a controlling terminal)? */
int prompt_available (void);
/* Write prompt to /dev/tty and read one line into buf (cap bytes, NUL
 * terminated), echo off.  -1 with the error set. */
int prompt_secret (const char *prompt, char *buf, size_t cap, size_t *len);

#endif
