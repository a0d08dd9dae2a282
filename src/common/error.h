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
/* Classify the last error by errno without adding strerror() to its
 * message (one that already says the cause, as an S3 error code does). */
void set_error_errno (int errnum);
int get_errno (void);

/* What kind of failure the last error is, for the few callers that act
 * differently on each: verify moves only damaged chunks to quarantine/
 * and leaves a chunk it merely could not read where it is.  set_error
 * makes it ERROR_OTHER; error_prefix keeps it. */
enum error_kind {
  ERROR_OTHER = 0, /* I/O, permissions, memory, the link: may be fine */
  ERROR_MISSING,   /* the object is not there */
  ERROR_DAMAGED,   /* the object is there and its bytes are wrong */
};
void set_error_kind (enum error_kind kind);
enum error_kind get_error_kind (void);

#endif
