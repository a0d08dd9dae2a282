/* The fill of one disk of an instant restore (see instant_fill.h).
 *
 * Why qemu-img and not QEMU's mirror job for the bulk of the data: the
 * mirror reads the export one buffer at a time and ran at 1.65 times a
 * full restore's time with the guest idle, about twice with a booting
 * one; qemu-img convert keeps 16 requests in flight, skips what the
 * export says is a hole, and writes out of order, as fast as a full
 * restore.  The mirror is then left only what the guest wrote (a
 * shallow copy, instant_copy.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "instant_fill.h"
#include "restore_run.h"

/* The export as qemu-img's --image-opts names it: a comma in the
 * socket's path is doubled. */
static void
export_opts (struct strbuf *sb, const char *socket)
{
  strbuf_addstr (sb, "driver=nbd,server.type=unix,server.path=");
  for (const char *s = socket; *s; s++) {
    if (*s == ',')
      strbuf_add (sb, ",", 1);
    strbuf_add (sb, s, 1);
  }
}

static void __attribute__ ((noreturn))
run_qemu_img (char *const argv[], pid_t parent, int out, int err)
{
  sigset_t none;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  dup2 (out, 1);
  dup2 (err, 2);
  execvp (argv[0], argv);
  _exit (127);
}

/* An empty image of size bytes at d->path, in its format, for the fill
 * to write into (anything there before removed).  0, or -1 with the
 * error set. */
static int
new_image (const struct instant_disk *d, unsigned long long size)
{
  char bytes[32];
  char *argv[] = { "qemu-img",         "create",         "-q", "-f",
                   (char *) d->format, (char *) d->path, bytes, NULL };

  snprintf (bytes, sizeof bytes, "%llu", size);
  if (unlink (d->path) == -1 && errno != ENOENT) {
    set_error (errno, "remove the copy that stopped, %s", d->path);
    return -1;
  }
  if (restore_run_quiet (argv) == -1) {
    set_error (0, "qemu-img could not create %s", d->path);
    return -1;
  }
  return 0;
}

/* qemu-img's cache mode for the new image: "none" (O_DIRECT) where the
 * file system has it.  Through the page cache, the fill took 9 to 11 s
 * where a full restore takes 6.8 (16 GiB, 3 GiB of data: bench/README.md);
 * with O_DIRECT, 7.5 to 8.5. */
static const char *
cache_mode (const char *path)
{
  int fd = open (path, O_RDWR | O_DIRECT | O_CLOEXEC);

  if (fd == -1)
    return "writeback"; /* tmpfs, for one */
  close (fd);
  return "none";
}

int
instant_fill_start (struct instant_fill *f, const struct instant_disk *d,
                    unsigned long long size, const char *rundir,
                    int bandwidth_mib)
{
  struct strbuf src = STRBUF_INIT;
  char rate[32];
  char *argv[24];
  int n = 0, pipefd[2], log;
  pid_t parent = getpid ();

  f->pid = -1;
  f->progress_fd = -1;
  f->percent = 0;
  snprintf (f->log, sizeof f->log, "%s/fill-%s.log", rundir, d->target);
  if (new_image (d, size) == -1)
    return -1;
  log = open (f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log == -1) {
    set_error (errno, "%s", f->log);
    return -1;
  }
  if (pipe2 (pipefd, O_CLOEXEC) == -1) {
    set_error (errno, "pipe");
    close (log);
    return -1;
  }
  export_opts (&src, d->socket);
  argv[n++] = "qemu-img";
  argv[n++] = "convert";
  argv[n++] = "-p";
  argv[n++] = "-n"; /* into the new image, */
  argv[n++] = "--target-is-zero"; /* which reads as zeros */
  argv[n++] = "-W"; /* writes in any order */
  argv[n++] = "-m"; /* requests in flight */
  argv[n++] = "16";
  argv[n++] = "-t"; /* flushed before it exits either way */
  argv[n++] = (char *) cache_mode (d->path);
  if (bandwidth_mib > 0) {
    snprintf (rate, sizeof rate, "%llu",
              (unsigned long long) bandwidth_mib << 20);
    argv[n++] = "-r";
    argv[n++] = rate;
  }
  argv[n++] = "--image-opts";
  argv[n++] = "-O";
  argv[n++] = (char *) d->format;
  argv[n++] = src.buf;
  argv[n++] = (char *) d->path;
  argv[n] = NULL;
  f->pid = fork ();
  if (f->pid == 0)
    run_qemu_img (argv, parent, pipefd[1], log);
  close (pipefd[1]);
  close (log);
  strbuf_release (&src);
  if (f->pid == -1) {
    set_error (errno, "fork");
    close (pipefd[0]);
    return -1;
  }
  f->progress_fd = pipefd[0];
  fcntl (f->progress_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

/* What qemu-img -p wrote since: "    (12.34/100%)\r" lines; the last
 * whole one wins. */
static void
read_progress (struct instant_fill *f)
{
  char buf[4096];
  ssize_t n;

  while ((n = read (f->progress_fd, buf, sizeof buf - 1)) > 0) {
    buf[n] = '\0';
    for (char *p = strchr (buf, '('); p; p = strchr (p + 1, '(')) {
      double pct;
      if (sscanf (p, "(%lf/100%%)", &pct) == 1 && pct >= 0 && pct <= 100)
        f->percent = pct;
    }
  }
}

/* The first line of qemu-img's complaint, for the event. */
static void
set_fill_error (const struct instant_fill *f, int status)
{
  char line[512] = "";
  FILE *in = fopen (f->log, "r");

  if (in) {
    if (fgets (line, sizeof line, in) == NULL)
      line[0] = '\0';
    fclose (in);
  }
  line[strcspn (line, "\n")] = '\0';
  if (line[0])
    set_error (0, "qemu-img: %s", line);
  else if (WIFSIGNALED (status))
    set_error (0, "qemu-img was killed by signal %d", WTERMSIG (status));
  else
    set_error (0, "qemu-img failed (exit %d)", WEXITSTATUS (status));
}

enum instant_fill_state
instant_fill_poll (struct instant_fill *f, const struct instant_disk *d,
                   uid_t uid, gid_t gid)
{
  int status;
  pid_t w;

  read_progress (f);
  w = waitpid (f->pid, &status, WNOHANG);
  if (w == 0)
    return FILL_RUNNING;
  close (f->progress_fd);
  f->progress_fd = -1;
  f->pid = -1;
  if (w == -1) {
    set_error (errno, "waitpid");
    unlink (d->path);
    return FILL_FAILED;
  }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    set_fill_error (f, status);
    unlink (d->path);
    return FILL_FAILED;
  }
  if (chown (d->path, uid, gid) == -1) {
    set_error (errno, "give %s to QEMU's user", d->path);
    unlink (d->path);
    return FILL_FAILED;
  }
  f->percent = 100;
  return FILL_DONE;
}

void
instant_fill_stop (struct instant_fill *f)
{
  if (f->pid > 0) {
    kill (f->pid, SIGKILL);
    waitpid (f->pid, NULL, 0);
  }
  if (f->progress_fd >= 0)
    close (f->progress_fd);
  f->pid = -1;
  f->progress_fd = -1;
}
