/* Thread-local last error, as libnbd's set_error(): library code records
 * the message and errno and returns -1; only cli/ prints it. */
#ifndef VMB_ERROR_H
#define VMB_ERROR_H

void set_error (int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* Prefix the current error with more context: "disk vda: <old message>". */
void error_prefix (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
const char *get_error (void);
int get_errno (void);

#endif
