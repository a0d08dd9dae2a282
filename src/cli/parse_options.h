/* Options declared once per command, in one array, and parsed by shared
 * code that also writes the command's --help from them (git's
 * parse-options.h).  A command does:
 *
 *   const struct opt opts[] = {
 *     OPT_FLAG (0, "dry-run", &dry_run, "say what would be deleted"),
 *     OPT_REPO (&repo_opt),
 *     OPT_END (),
 *   };
 *   if ((r = parse_options ("gc", opts, argc, argv)) != PARSE_GO_ON)
 *     return r;
 *
 * after which optind is the first operand, as with getopt_long (which
 * does the work underneath, so operands and options may mix).  -h and
 * --help are added to every command. */
#ifndef VMB_PARSE_OPTIONS_H
#define VMB_PARSE_OPTIONS_H

#include <getopt.h> /* optind, for the operands */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opt_kind {
  OPT_KIND_END,
  OPT_KIND_FLAG,        /* bool *, set to true */
  OPT_KIND_INT,         /* int *, from min to max */
  OPT_KIND_SIZE,        /* uint64_t *, "4M"; at most max if max */
  OPT_KIND_STRING,      /* const char ** */
  OPT_KIND_CHOICE,      /* const char **, one of argh's a|b|c */
  OPT_KIND_STRING_LIST, /* struct opt_strings *, repeatable */
  OPT_KIND_CALLBACK,    /* callback (value, arg) */
};

struct opt {
  enum opt_kind kind;
  char short_name; /* 0: none */
  const char *long_name;
  void *value;      /* where the value goes, by kind */
  const char *argh; /* the value's name in --help */
  const char *help; /* one line; wrapped to fit 80 columns */
  const char *what; /* the value in errors: "bad WHAT 'x'";
                                 * NULL: "--NAME value" */
  long long min, max;
  /* 0, or -1 with the error set (common/error.h): a usage error. */
  int (*callback) (void *value, const char *arg);
};

/* Storage for a repeatable option: the caller's array, which bounds it. */
struct opt_strings {
  const char **v;
  size_t len, max;
};
#define OPT_STRINGS_INIT(array)                    \
  {                                                \
    (array), 0, sizeof (array) / sizeof (array)[0] \
  }

#define OPT_FLAG(s, l, v, h)                                  \
  {                                                           \
    OPT_KIND_FLAG, (s), (l), (v), NULL, (h), NULL, 0, 0, NULL \
  }
#define OPT_INT(s, l, v, a, lo, hi, what, h)                        \
  {                                                                 \
    OPT_KIND_INT, (s), (l), (v), (a), (h), (what), (lo), (hi), NULL \
  }
#define OPT_SIZE(s, l, v, a, hi, what, h)                         \
  {                                                               \
    OPT_KIND_SIZE, (s), (l), (v), (a), (h), (what), 0, (hi), NULL \
  }
#define OPT_STRING(s, l, v, a, h)                              \
  {                                                            \
    OPT_KIND_STRING, (s), (l), (v), (a), (h), NULL, 0, 0, NULL \
  }
#define OPT_CHOICE(s, l, v, choices, h)                              \
  {                                                                  \
    OPT_KIND_CHOICE, (s), (l), (v), (choices), (h), NULL, 0, 0, NULL \
  }
#define OPT_STRING_LIST(s, l, v, a, h)                              \
  {                                                                 \
    OPT_KIND_STRING_LIST, (s), (l), (v), (a), (h), NULL, 0, 0, NULL \
  }
#define OPT_CALLBACK(s, l, v, a, cb, h)                          \
  {                                                              \
    OPT_KIND_CALLBACK, (s), (l), (v), (a), (h), NULL, 0, 0, (cb) \
  }
#define OPT_END()                                             \
  {                                                           \
    OPT_KIND_END, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL \
  }

/* The options several commands share, with one wording.  Given before
 * the command they land in global_repo, global_uri, global_event_log;
 * after it, wherever the command points them. */
#define OPT_REPO(v)                                                  \
  OPT_STRING (0, "repo", (v), "DIR|URL",                             \
              "the repository: a directory, "                        \
              "ssh://[USER@]HOST[:PORT]/PATH or s3://BUCKET/PREFIX " \
              "(default $VMBACKUP_REPO)")
#define OPT_CONNECT(v)                    \
  OPT_STRING ('c', "connect", (v), "URI", \
              "libvirt connection (default qemu:///system)")
#define OPT_EVENT_LOG(v)                     \
  OPT_STRING (0, "event-log", (v), "PATH",   \
              "the host event log (default " \
              "$VMBACKUP_EVENT_LOG, else /var/log/vmbackup/events.log)")

/* parse_options returns this when the command goes on; anything else is
 * the exit status to return at once (0 after --help, EXIT_USAGE after a
 * one-line error and a pointer to --help on stderr). */
#define PARSE_GO_ON (-1)

/* name is the command as typed, "init" or "files backup". */
int parse_options (const char *name, const struct opt *opts, int argc,
                   char **argv);

/* The generated --help of a command on stdout. */
void print_command_help (const char *name, const struct opt *opts);

#endif
