/* Running one restore-test check in the throw-away VM (restore_test.c). */
#ifndef VMB_RESTORE_TEST_CHECKS_H
#define VMB_RESTORE_TEST_CHECKS_H

#include <libvirt/libvirt.h>

#include "restore_test.h"

/* Fills r (ok, seconds, detail); never fails otherwise. */
void restore_check_run (virDomainPtr dom, const struct restore_check *c,
                        int timeout_s, struct restore_check_result *r);

#endif
