/* Asking for a passphrase on the terminal: /dev/tty (not stdin, which
 * may carry data), echo off while it is typed, and the terminal put
 * back as it was on every way out, a signal included. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "prompt.h"

static int tty_fd = -1;
static struct termios saved;
static volatile sig_atomic_t echo_off;

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define N_CAUGHT (sizeof caught / sizeof caught[0])
static struct sigaction old_actions[N_CAUGHT];

/* Echo back on, then die of (or stop on) the signal as we would have. */
static void
restore_and_raise (int sig)
{
  if (echo_off)
    tcsetattr (tty_fd, TCSAFLUSH, &saved);
  echo_off = 0;
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
catch_signals (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = restore_and_raise;
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction (caught[i], &sa, &old_actions[i]);
}

static void
release_signals (void)
{
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction (caught[i], &old_actions[i], NULL);
}

static void
say (const char *s)
{
  ssize_t n = write (tty_fd, s, strlen (s));
  (void) n;
}

/* One line of at most cap - 1 bytes, without its newline. */
static int
read_line (char *buf, size_t cap, size_t *len)
{
  size_t n = 0;
  char c;

  for (;;) {
    ssize_t r = read (tty_fd, &c, 1);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      set_error (errno, "read from the terminal");
      return -1;
    }
    if (r == 0 || c == '\n' || c == '\r')
      break;
    if (n == cap - 1) {
      set_error (0, "passphrase longer than %zu bytes", cap - 1);
      return -1;
    }
    buf[n++] = c;
  }
  buf[n] = '\0';
  *len = n;
  c = 0;
  return 0;
}

int
prompt_available (void)
{
  int fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

  if (fd == -1)
    return 0;
  close (fd);
  return 1;
}

int
prompt_secret (const char *prompt, char *buf, size_t cap, size_t *len)
{
  struct termios quiet;
  int r;

  tty_fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty_fd == -1) {
    set_error (errno, "no terminal to ask on (/dev/tty)");
    return -1;
  }
  if (tcgetattr (tty_fd, &saved) == -1) {
    set_error (errno, "/dev/tty");
    close (tty_fd);
    tty_fd = -1;
    return -1;
  }
  quiet = saved;
  quiet.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
  quiet.c_lflag |= ICANON;
  catch_signals ();
  say (prompt);
  echo_off = 1;
  if (tcsetattr (tty_fd, TCSAFLUSH, &quiet) == -1) {
    echo_off = 0;
    set_error (errno, "/dev/tty: turn echo off");
    r = -1;
  }
  else {
    r = read_line (buf, cap, len);
    tcsetattr (tty_fd, TCSAFLUSH, &saved);
    echo_off = 0;
    say ("\n");
  }
  release_signals ();
  close (tty_fd);
  tty_fd = -1;
  if (r == -1)
    OPENSSL_cleanse (buf, cap);
  return r;
}
