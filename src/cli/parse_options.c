/* Shared option parsing and --help (parse_options.h): getopt_long does
 * the scanning; this file turns each command's declarations into its
 * tables, checks values, and words every usage error the same way. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/units.h"
#include "cli.h"
#include "parse_options.h"

#define MAX_OPTS 32
#define HELP_COLUMN 24
#define WIDTH 80
/* getopt_long's value for opts[i]: above any short option character. */
#define LONG_BASE 0x100

static const struct opt help_opt = OPT_FLAG ('h', "help", NULL,
                                             "show this help");

/* Print text after a line's first HELP_COLUMN columns, wrapped before WIDTH
 * with the same indent. */
static void
print_wrapped (const char *text)
{
  size_t col = HELP_COLUMN;

  while (*text) {
    size_t word = strcspn (text, " ");

    if (col > HELP_COLUMN && col + 1 + word >= WIDTH) {
      printf ("\n%*s", HELP_COLUMN, "");
      col = HELP_COLUMN;
    }
    else if (col > HELP_COLUMN) {
      putchar (' ');
      col++;
    }
    printf ("%.*s", (int) word, text);
    col += word;
    text += word;
    text += strspn (text, " ");
  }
  putchar ('\n');
}

static void
print_opt_help (const struct opt *o)
{
  const char *sp = o->argh ? " " : "", *argh = o->argh ? o->argh : "";
  int n;

  if (o->short_name)
    n = printf ("  -%c, --%s%s%s", o->short_name, o->long_name, sp, argh);
  else
    n = printf ("  --%s%s%s", o->long_name, sp, argh);
  /* A long left column puts the help on the next line, as git does. */
  if (n > HELP_COLUMN - 2)
    printf ("\n%*s", HELP_COLUMN, "");
  else
    printf ("%*s", HELP_COLUMN - n, "");
  print_wrapped (o->help);
}

void
print_command_help (const char *name, const struct opt *opts)
{
  const struct command *cmd = cli_find_command (name);

  if (cmd == NULL)
    return;
  printf ("usage: vmbackup %s %s\n", name, cmd->synopsis);
  if (cmd->description)
    printf ("\n%s\n", cmd->description);
  if (opts == NULL)
    return;
  printf ("\nOptions:\n");
  for (const struct opt *o = opts; o->kind != OPT_KIND_END; o++)
    print_opt_help (o);
  print_opt_help (&help_opt);
}

/* "bad WHAT 'arg'" */
static int
bad_value (const char *name, const struct opt *o, const char *arg,
           const char *why)
{
  if (o->what)
    return cli_usage_error (name, "bad %s '%s' (%s)", o->what, arg, why);
  return cli_usage_error (name, "bad --%s value '%s' (%s)", o->long_name, arg,
                          why);
}

/* "--format is raw or qcow2", from argh "raw|qcow2". */
static int
bad_choice (const char *name, const struct opt *o)
{
  char list[256] = "";
  const char *p = o->argh;
  size_t words = 1;

  for (const char *q = p; *q; q++)
    words += *q == '|';
  for (size_t i = 0; i < words; i++) {
    size_t len = strcspn (p, "|");
    snprintf (list + strlen (list), sizeof list - strlen (list), "%s%.*s",
              i == 0             ? ""
                : i + 1 == words ? " or "
                                 : ", ",
              (int) len, p);
    p += len + 1;
  }
  return cli_usage_error (name, "--%s is %s", o->long_name, list);
}

static bool
is_choice (const char *choices, const char *arg)
{
  size_t len = strlen (arg);

  for (const char *p = choices;; p += strcspn (p, "|") + 1) {
    if (strncmp (p, arg, len) == 0 && (p[len] == '|' || p[len] == '\0'))
      return len > 0;
    if (strchr (p, '|') == NULL)
      return false;
  }
}

/* Store one option's value; PARSE_GO_ON or an exit status. */
static int
apply (const char *name, const struct opt *o, const char *arg)
{
  char buf[64], *end;

  switch (o->kind) {
    case OPT_KIND_FLAG: *(bool *) o->value = true; break;
    case OPT_KIND_INT:
      {
        long long n;
        errno = 0;
        n = strtoll (arg, &end, 10);
        if (errno || end == arg || *end || n < o->min || n > o->max) {
          snprintf (buf, sizeof buf, "a number from %lld to %lld", o->min,
                    o->max);
          return bad_value (name, o, arg, buf);
        }
        *(int *) o->value = n;
        break;
      }
    case OPT_KIND_SIZE:
      {
        uint64_t n;
        if (parse_size (arg, &n) == -1 || (o->max && n > (uint64_t) o->max)) {
          char max[32] = "";
          if (o->max)
            format_size (o->max, max, sizeof max);
          snprintf (buf, sizeof buf, "a size such as 64K or 4M%s%s",
                    o->max ? ", at most " : "", max);
          return bad_value (name, o, arg, buf);
        }
        *(uint64_t *) o->value = n;
        break;
      }
    case OPT_KIND_STRING: *(const char **) o->value = arg; break;
    case OPT_KIND_CHOICE:
      if (!is_choice (o->argh, arg))
        return bad_choice (name, o);
      *(const char **) o->value = arg;
      break;
    case OPT_KIND_STRING_LIST:
      {
        struct opt_strings *l = o->value;
        if (l->len == l->max)
          return cli_usage_error (name, "too many --%s values (at most %zu)",
                                  o->long_name, l->max);
        l->v[l->len++] = arg;
        break;
      }
    case OPT_KIND_CALLBACK:
      if (o->callback (o->value, arg) == -1)
        return cli_usage_error (name, "%s", get_error ());
      break;
    case OPT_KIND_END: break;
  }
  return PARSE_GO_ON;
}

/* getopt_long said '?' or ':': one line naming what was wrong. */
static int
getopt_error (const char *name, const struct opt *opts, int c, char **argv)
{
  const char *typed = argv[optind - 1];

  if (c == ':')
    return cli_usage_error (name, "option '%s' needs a value", typed);
  if (optopt >= LONG_BASE)
    return cli_usage_error (name, "option '--%s' takes no value",
                            opts[optopt - LONG_BASE].long_name);
  if (optopt)
    return cli_usage_error (name, "unrecognized option '-%c'", optopt);
  return cli_usage_error (name, "unrecognized option '%s'", typed);
}

int
parse_options (const char *name, const struct opt *opts, int argc, char **argv)
{
  struct option lopts[MAX_OPTS + 2];
  char shorts[2 * MAX_OPTS + 4] = ":h";
  size_t n = 0;
  int c, r;

  for (; opts[n].kind != OPT_KIND_END; n++) {
    const struct opt *o = &opts[n];
    bool arg = o->kind != OPT_KIND_FLAG;

    if (n == MAX_OPTS)
      abort (); /* a programming error, not input */
    lopts[n] = (struct option) { o->long_name,
                                 arg ? required_argument : no_argument, NULL,
                                 LONG_BASE + (int) n };
    if (o->short_name) {
      size_t len = strlen (shorts);
      shorts[len] = o->short_name;
      strcpy (shorts + len + 1, arg ? ":" : "");
    }
  }
  lopts[n] = (struct option) { "help", no_argument, NULL, 'h' };
  lopts[n + 1] = (struct option) { NULL, 0, NULL, 0 };

  opterr = 0; /* our one-line errors, not getopt's */
  while ((c = getopt_long (argc, argv, shorts, lopts, NULL)) != -1) {
    const struct opt *o = NULL;

    if (c == 'h') {
      print_command_help (name, opts);
      return EXIT_OK;
    }
    if (c == '?' || c == ':')
      return getopt_error (name, opts, c, argv);
    if (c >= LONG_BASE)
      o = &opts[c - LONG_BASE];
    else
      for (size_t i = 0; i < n && o == NULL; i++)
        if (opts[i].short_name == c)
          o = &opts[i];
    r = apply (name, o, optarg);
    if (r != PARSE_GO_ON)
      return r;
  }
  return PARSE_GO_ON;
}
