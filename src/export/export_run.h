/* Run an NBD export of one disk of a backup: nbdkit with our plugin
 * (plugin.c) as a child process, in the foreground, until it exits or
 * we are told to stop (SIGINT, SIGTERM, SIGHUP: nbdkit is stopped and
 * the socket removed).  nbdkit dies with us (the parent-death signal
 * and nbdkit's --exit-with-parent), so a kill -9 of vmbackup leaves no
 * server behind. */
#ifndef VMB_EXPORT_RUN_H
#define VMB_EXPORT_RUN_H

struct export_params {
  const char *plugin;    /* export_plugin_path() */
  const char *repo;      /* directory or URL */
  const char *backup;    /* resolved ID */
  const char *disk;      /* disk name */
  const char *socket;    /* unix socket path, or NULL for TCP */
  int port;              /* TCP port when no socket */
  const char *bind;      /* TCP address, or NULL for all */
  const char *event_log; /* may be NULL */
  int key_fd; /* a pipe holding the key text for the plugin, or -1 */
  /* Called once nbdkit serves (its pid file appeared). */
  void (*ready) (void *opaque);
  void *opaque;
};

/* Where the plugin is: beside a vmbackup run from its build tree, else
 * where it is installed.  NULL with the error set if neither exists. */
const char *export_plugin_path (void);

/* 0 when nbdkit was stopped by a signal we passed on, -1 with the error
 * set if it could not start or failed. */
int export_run (const struct export_params *p);

#endif
