/* Commands in a guest through its agent (guest-ping, guest-exec), for
 * restore tests.  Every call is bounded: a guest that hangs must not
 * hang the test. */
#ifndef VMB_AGENT_EXEC_H
#define VMB_AGENT_EXEC_H

#include <stddef.h>

#include <libvirt/libvirt.h>

/* 0 when guest-ping answers within timeout_s, else -1 with the error
 * set. */
int agent_ping (virDomainPtr dom, int timeout_s);

/* Run "/bin/sh -c CMD" in the guest and wait (up to timeout_s) for it
 * to exit.  0 with *status its exit status (128+N when killed by signal
 * N) and the start of its output (stdout, then stderr) in out; -1 with
 * the error set when it could not be run or did not finish in time. */
int agent_exec (virDomainPtr dom, const char *cmd, double timeout_s,
                int *status, char *out, size_t outlen);

#endif
