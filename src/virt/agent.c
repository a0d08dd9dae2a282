/* Guest agent queries (see agent.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "common/error.h"
#include "agent.h"

bool
fs_type_freezable (const char *type)
{
  /* Those with a freeze_fs/freeze_super in Linux, and NTFS/ReFS through
   * VSS on Windows guests.  FAT has none: a vfat mount makes a guest
   * not freezable as a whole. */
  static const char *ok[] = { "ext2",  "ext3",     "ext4", "xfs",    "btrfs",
                              "jfs",   "reiserfs", "f2fs", "nilfs2", "gfs2",
                              "ocfs2", "ntfs",     "refs", NULL };

  for (int i = 0; ok[i]; i++)
    if (strcasecmp (type, ok[i]) == 0)
      return true;
  return false;
}

/* Run one agent command; returns its parsed "return" member (caller
 * puts the root it gets in *root) or NULL with p->error set. */
static json_object *
agent_call (virDomainPtr dom, const char *cmd, int timeout_s,
            json_object **root, char *err, size_t errlen)
{
  char *reply = virDomainQemuAgentCommand (dom, cmd, timeout_s, 0);
  json_object *ret;

  *root = NULL;
  if (reply == NULL) {
    const char *m = virGetLastErrorMessage ();
    snprintf (err, errlen, "%s", m ? m : "no answer");
    return NULL;
  }
  *root = json_tokener_parse (reply);
  free (reply);
  if (*root == NULL || !json_object_object_get_ex (*root, "return", &ret)) {
    snprintf (err, errlen, "agent returned malformed JSON");
    json_object_put (*root);
    *root = NULL;
    return NULL;
  }
  return ret;
}

static void
read_commands (struct agent_probe *p, json_object *info)
{
  json_object *cmds, *c, *name, *enabled;

  if (!json_object_object_get_ex (info, "supported_commands", &cmds)
      || !json_object_is_type (cmds, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length (cmds); i++) {
    c = json_object_array_get_idx (cmds, i);
    if (json_object_object_get_ex (c, "name", &name)
        && strcmp (json_object_get_string (name), "guest-fsfreeze-freeze") == 0
        && json_object_object_get_ex (c, "enabled", &enabled))
      p->freeze_enabled = json_object_get_boolean (enabled);
  }
}

static int
read_fsinfo (struct agent_probe *p, json_object *list)
{
  if (!json_object_is_type (list, json_type_array))
    return 0;
  for (size_t i = 0; i < json_object_array_length (list); i++) {
    json_object *f = json_object_array_get_idx (list, i), *mp, *type;
    struct guest_fs fs = { 0 };

    if (!json_object_object_get_ex (f, "mountpoint", &mp)
        || !json_object_object_get_ex (f, "type", &type))
      continue;
    fs.mountpoint = strdup (json_object_get_string (mp));
    fs.type = strdup (json_object_get_string (type));
    if (fs.mountpoint == NULL || fs.type == NULL
        || guest_fs_vector_append (&p->fs, fs) == -1) {
      free (fs.mountpoint);
      free (fs.type);
      set_error (0, "out of memory");
      return -1;
    }
    p->fs.ptr[p->fs.len - 1].freezable = fs_type_freezable (fs.type);
  }
  return 0;
}

int
agent_probe (virDomainPtr dom, int timeout_s, struct agent_probe *p)
{
  json_object *root, *ret;
  int r = 0;

  memset (p, 0, sizeof *p);
  ret = agent_call (dom, "{\"execute\":\"guest-ping\"}", timeout_s, &root,
                    p->error, sizeof p->error);
  json_object_put (root);
  if (ret == NULL)
    return 0;
  p->answers = true;
  ret = agent_call (dom, "{\"execute\":\"guest-info\"}", timeout_s, &root,
                    p->error, sizeof p->error);
  if (ret)
    read_commands (p, ret);
  json_object_put (root);
  ret = agent_call (dom, "{\"execute\":\"guest-get-fsinfo\"}", timeout_s,
                    &root, p->error, sizeof p->error);
  if (ret) {
    p->fsinfo_ok = true;
    r = read_fsinfo (p, ret);
  }
  json_object_put (root);
  return r;
}

void
agent_probe_release (struct agent_probe *p)
{
  for (size_t i = 0; i < p->fs.len; i++) {
    free (p->fs.ptr[i].mountpoint);
    free (p->fs.ptr[i].type);
  }
  guest_fs_vector_reset (&p->fs);
}
