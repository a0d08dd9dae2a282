/* The fill of one disk of an instant restore (see instant_fill.h).
 *
 * Why not QEMU's mirror job for the bulk of the data: it reads the
 * export one buffer at a time, and took 1.65 times a full restore's
 * time with the guest idle, about twice beside a booting one.  Nor
 * qemu-img from the export: every byte then crosses nbdkit and a
 * socket, 1.2 to 1.5 times a full restore, and a killed one starts
 * again from nothing.  A full restore of the one disk, `vmbackup
 * restore ID --to`, run as its own process (with its own connection
 * to the repository: threads and ssh or S3 connections do not survive
 * a fork), is as fast as a full restore because it is one; under --bandwidth it paces its chunks
 * (restore --bandwidth), and killed, it goes on from its progress
 * record (--resume) either way.
 *
 * It says how far it is on its standard output (VMBACKUP_PROGRESS=1),
 * which comes to us through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "instant_fill.h"

/* The key from the pipe the command's key source gives, in a memory
 * file: the restore takes a key file only if it is a regular one. */
static int
key_memfd (int pipe_fd)
{
  char buf[1024];
  size_t len = 0;
  ssize_t n;
  int m;

  while (len < sizeof buf
         && ((n = read (pipe_fd, buf + len, sizeof buf - len)) > 0
             || (n == -1 && errno == EINTR)))
    len += n > 0 ? (size_t) n : 0;
  close (pipe_fd);
  m = memfd_create ("vmbackup-key", MFD_CLOEXEC);
  if (m == -1 || write (m, buf, len) != (ssize_t) len
      || lseek (m, 0, SEEK_SET) == -1) {
    set_error (errno, "the key for the restore");
    if (m != -1)
      close (m);
    m = -1;
  }
  OPENSSL_cleanse (buf, sizeof buf);
  return m;
}

/* argv for our own restore of the one disk into d->path. */
static int
restore_args (struct strbuf *args, const struct instant_keeper_params *p,
              const struct instant_disk *d, int key_fd)
{
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);

  if (n <= 0) {
    set_error (errno, "/proc/self/exe");
    return -1;
  }
  exe[n] = '\0';
  strbuf_addf (args, "%s%c--repo%c%s%c", exe, 0, 0, p->io->repo, 0);
  if (key_fd >= 0)
    strbuf_addf (args, "--key-file%c/dev/fd/%d%c", 0, key_fd, 0);
  /* Its events are its own, not the host's: a restore of one disk
   * inside this one would only confuse the VM's story. */
  strbuf_addf (args, "--event-log%c%s/fill-%s.events%c", 0, p->rundir,
               d->target, 0);
  /* --resume: a fill killed with its keeper goes on from where it was
   * when the same restore is run again. */
  strbuf_addf (args,
               "restore%c%s%c--to%c%s%c--disk%c%s%c--format%c%s%c--resume%c",
               0, p->backup, 0, 0, d->path, 0, 0, d->target, 0, 0, d->format,
               0, 0);
  if (p->io->bandwidth_mib > 0)
    strbuf_addf (args, "--bandwidth%c%d%c", 0, p->io->bandwidth_mib, 0);
  return 0;
}

/* The NUL-separated words of args as an argv. */
static char **
split_args (const struct strbuf *args)
{
  size_t n = 0, i = 0;
  char **argv;

  for (size_t k = 0; k < args->len; k++)
    n += args->buf[k] == '\0';
  argv = calloc (n + 1, sizeof *argv);
  if (argv == NULL)
    return NULL;
  for (size_t k = 0; k < args->len; k += strlen (args->buf + k) + 1)
    argv[i++] = args->buf + k;
  return argv;
}

static void __attribute__ ((noreturn))
run_filler (char *const argv[], pid_t parent, int out, int key_fd)
{
  sigset_t none;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  dup2 (out, 1);
  dup2 (out, 2);
  if (key_fd >= 0) {
    /* The key comes through the pipe, never from our environment. */
    fcntl (key_fd, F_SETFD, 0);
    unsetenv ("VMBACKUP_PASSWORD");
    unsetenv ("VMBACKUP_PASSWORD_FILE");
    unsetenv ("VMBACKUP_KEY_FILE");
  }
  setenv ("VMBACKUP_PROGRESS", "1", 1);
  execvp (argv[0], argv);
  _exit (127);
}

int
instant_fill_start (struct instant_fill *f,
                    const struct instant_keeper_params *p,
                    const struct instant_disk *d)
{
  struct strbuf args = STRBUF_INIT;
  bool failed = false;
  int pipefd[2], key_fd = -1, r;
  char **argv = NULL;
  pid_t parent = getpid ();

  memset (f, 0, sizeof *f);
  f->pid = -1;
  f->output_fd = -1;
  if (unlink (d->path) == -1 && errno != ENOENT) {
    set_error (errno, "remove the copy that stopped, %s", d->path);
    return -1;
  }
  if (p->io->key_pipe) {
    key_fd = p->io->key_pipe (p->io->opaque, &failed);
    if (failed) {
      set_error (0, "the key for the restore of %s", d->target);
      return -1;
    }
    if (key_fd >= 0 && (key_fd = key_memfd (key_fd)) == -1)
      return -1;
  }
  r = restore_args (&args, p, d, key_fd);
  if (r == 0 && (argv = split_args (&args)) == NULL) {
    set_error (ENOMEM, "arguments");
    r = -1;
  }
  if (r == 0 && pipe2 (pipefd, O_CLOEXEC) == -1) {
    set_error (errno, "pipe");
    r = -1;
  }
  if (r == 0) {
    f->pid = fork ();
    if (f->pid == 0)
      run_filler (argv, parent, pipefd[1], key_fd);
    close (pipefd[1]);
    if (f->pid == -1) {
      set_error (errno, "fork");
      close (pipefd[0]);
      r = -1;
    }
    else {
      f->output_fd = pipefd[0];
      fcntl (f->output_fd, F_SETFL, O_NONBLOCK);
    }
  }
  if (key_fd >= 0)
    close (key_fd);
  free (argv);
  strbuf_release (&args);
  return r;
}

/* One line (or a progress update, ended by '\r') the fill said:
 * "resuming: ...", "vda:  12.3% ...", or anything else, kept for the
 * error. */
static void
said (struct instant_fill *f, const char *s)
{
  const char *colon = strstr (s, ": ");
  double pct;

  if (strncmp (s, "resuming: ", 10) == 0) {
    snprintf (f->resumed, sizeof f->resumed, "%s", s + 10);
    return;
  }
  if (colon && sscanf (colon + 2, "%lf%%", &pct) == 1) {
    if (pct >= 0 && pct <= 100)
      f->percent = pct;
    return;
  }
  while (*s == ' ')
    s++;
  if (*s)
    snprintf (f->last, sizeof f->last, "%s", s);
}

static void
read_output (struct instant_fill *f)
{
  char buf[4096];
  ssize_t n;

  while ((n = read (f->output_fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++) {
      size_t len = strlen (f->line);
      if (buf[i] == '\r' || buf[i] == '\n') {
        said (f, f->line);
        f->line[0] = '\0';
      }
      else if (buf[i] != '\033' && len < sizeof f->line - 1) {
        f->line[len] = buf[i];
        f->line[len + 1] = '\0';
      }
    }
}

enum instant_fill_state
instant_fill_poll (struct instant_fill *f, const struct instant_disk *d,
                   uid_t uid, gid_t gid)
{
  int status;
  pid_t w;

  read_output (f);
  w = waitpid (f->pid, &status, WNOHANG);
  if (w == 0)
    return FILL_RUNNING;
  read_output (f);
  said (f, f->line);
  close (f->output_fd);
  f->output_fd = -1;
  f->pid = -1;
  if (w == -1)
    set_error (errno, "waitpid");
  else if (WIFSIGNALED (status))
    set_error (0, "it was killed by signal %d", WTERMSIG (status));
  else if (WEXITSTATUS (status) != 0)
    set_error (0, "%s", f->last[0] ? f->last : "it failed");
  else if (chown (d->path, uid, gid) == -1)
    set_error (errno, "give %s to QEMU's user", d->path);
  else {
    f->percent = 100;
    return FILL_DONE;
  }
  unlink (d->path);
  return FILL_FAILED;
}

void
instant_fill_stop (struct instant_fill *f)
{
  if (f->pid > 0) {
    kill (f->pid, SIGKILL);
    waitpid (f->pid, NULL, 0);
  }
  if (f->output_fd >= 0)
    close (f->output_fd);
  f->pid = -1;
  f->output_fd = -1;
}
