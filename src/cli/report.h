/* The command line's side of vm/report.h: warnings on stderr, a
 * progress bar on a terminal, one result line per VM on stdout. */
#ifndef VMB_CLI_REPORT_H
#define VMB_CLI_REPORT_H

#include "vm/report.h"
#include "cli.h"

struct cli_report {
  struct vm_report rep; /* what the library is given */
  struct progress prog;
  char label[256];
};

void cli_report_init (struct cli_report *cr);

#endif
