/* The manifest in memory and as text: serializing and parsing (see
 * manifest.h).  Where manifests live in a repository: manifest_store.c. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "manifest.h"

#define MANIFEST_MAGIC "vmbackup-manifest 1"
#define MANIFEST_MAGIC_SEALED "vmbackup-manifest 2"

void
manifest_free (struct manifest *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->disks.len; i++) {
    free (m->disks.ptr[i].name);
    free (m->disks.ptr[i].format);
    free (m->disks.ptr[i].source);
    free (m->disks.ptr[i].image);
  }
  manifest_disk_vector_reset (&m->disks);
  for (size_t i = 0; i < m->files.len; i++) {
    free (m->files.ptr[i].role);
    free (m->files.ptr[i].path);
  }
  manifest_file_vector_reset (&m->files);
  for (size_t i = 0; i < m->excluded.len; i++) {
    free (m->excluded.ptr[i].target);
    free (m->excluded.ptr[i].reason);
  }
  manifest_excluded_vector_reset (&m->excluded);
  free (m->id);
  free (m->name);
  free (m->kind);
  free (m->consistency);
  free (m->checkpoint);
  free (m->run);
  free (m->sealed);
  free (m);
}

uint64_t
manifest_logical_size (const struct manifest *m)
{
  uint64_t t = 0;
  for (size_t i = 0; i < m->disks.len; i++)
    t += m->disks.ptr[i].size;
  return t + m->archive.bytes;
}

uint64_t
manifest_stored_new (const struct manifest *m)
{
  uint64_t t = 0;
  for (size_t i = 0; i < m->disks.len; i++)
    t += m->disks.ptr[i].stored_new;
  return t + m->archive.stored_new;
}

int
name_is_valid (const char *name)
{
  size_t n = strlen (name);

  if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) name[i]) && !strchr ("._-", name[i]))
      return 0;
  return 1;
}

int
backup_name_of (const char *name, char out[NAME_MAX_LEN + 1])
{
  size_t len = 0;

  if (name_is_valid (name)) {
    snprintf (out, NAME_MAX_LEN + 1, "%s", name);
    return 0;
  }
  for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
    bool plain = (isascii (*p) && isalnum (*p)) || *p == '-'
      || (*p == '.' && p != (const unsigned char *) name);
    if (len + (plain ? 1 : 3) > NAME_MAX_LEN) {
      set_error (0,
                 "%s cannot name a backup: too long once encoded "
                 "(at most %d letters, digits, '.', '_', '-')",
                 name, NAME_MAX_LEN);
      return -1;
    }
    if (plain)
      out[len++] = *p;
    else
      len += snprintf (out + len, 4, "_%02x", *p);
  }
  out[len] = '\0';
  if (!name_is_valid (out)) {
    set_error (0, "'%s' cannot name a backup", name);
    return -1;
  }
  return 0;
}

/* Values are percent-encoded so that any path fits in one token. */
static void
add_escaped (struct strbuf *sb, const char *s)
{
  for (; *s; s++) {
    unsigned char c = *s;
    if (c <= ' ' || c == '%' || c == '=' || c >= 0x7f)
      strbuf_addf (sb, "%%%02X", c);
    else
      strbuf_add (sb, &c, 1);
  }
}

static char *
unescape (const char *s, size_t len)
{
  char *out = malloc (len + 1), *p = out;

  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%') {
      /* Bounded by len: the text need not be NUL-terminated. */
      char hx[3] = { 0 };
      unsigned v = 0;
      if (i + 2 < len) {
        hx[0] = s[i + 1];
        hx[1] = s[i + 2];
        v = strtoul (hx, NULL, 16);
      }
      if (!isxdigit ((unsigned char) hx[0])
          || !isxdigit ((unsigned char) hx[1]) || v == 0) {
        free (out);
        return NULL;
      }
      *p++ = v;
      i += 2;
    }
    else
      *p++ = s[i];
  }
  *p = '\0';
  return out;
}

#define BASE64_CHARS \
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

char *
manifest_serialize (const struct manifest *m)
{
  struct strbuf sb = STRBUF_INIT;
  struct digest sum;
  char hex[DIGEST_HEX_LEN + 1];

  strbuf_addstr (&sb,
                 m->sealed ? MANIFEST_MAGIC_SEALED "\n" : MANIFEST_MAGIC "\n");
  strbuf_addstr (&sb, "id ");
  add_escaped (&sb, m->id);
  strbuf_addstr (&sb, "\nname ");
  add_escaped (&sb, m->name);
  strbuf_addstr (&sb, "\nkind ");
  add_escaped (&sb, m->kind);
  strbuf_addstr (&sb, "\nconsistency ");
  add_escaped (&sb, m->consistency);
  strbuf_addf (&sb,
               "\ntime %" PRId64 "\nfinished %" PRId64 "\ndowntime-ms %" PRId64
               "\nchunk-size %u\n",
               m->time, m->finished, m->downtime_ms, m->chunk_size);
  if (m->checkpoint) {
    strbuf_addstr (&sb, "checkpoint ");
    add_escaped (&sb, m->checkpoint);
    strbuf_addstr (&sb, "\n");
  }
  if (m->run) {
    strbuf_addstr (&sb, "run ");
    add_escaped (&sb, m->run);
    strbuf_addstr (&sb, "\n");
  }
  if (m->autostart)
    strbuf_addstr (&sb, "autostart 1\n");
  for (size_t i = 0; i < m->disks.len; i++) {
    const struct manifest_disk *d = &m->disks.ptr[i];
    digest_to_hex (&d->index, hex);
    strbuf_addstr (&sb, "disk name=");
    add_escaped (&sb, d->name);
    strbuf_addstr (&sb, " format=");
    add_escaped (&sb, d->format);
    strbuf_addf (&sb,
                 " size=%" PRIu64 " index=%s stored-new=%" PRIu64
                 " read=%s bytes-read=%" PRIu64,
                 d->size, hex, d->stored_new,
                 d->incremental ? "incremental" : "full", d->bytes_read);
    if (d->image) {
      strbuf_addstr (&sb, " image=");
      add_escaped (&sb, d->image);
    }
    strbuf_addstr (&sb, " source=");
    add_escaped (&sb, d->source ? d->source : "");
    strbuf_addstr (&sb, "\n");
  }
  for (size_t i = 0; i < m->files.len; i++) {
    const struct manifest_file *f = &m->files.ptr[i];
    digest_to_hex (&f->index, hex);
    strbuf_addstr (&sb, "file role=");
    add_escaped (&sb, f->role);
    strbuf_addf (&sb, " size=%" PRIu64 " index=%s path=", f->size, hex);
    add_escaped (&sb, f->path);
    strbuf_addstr (&sb, "\n");
  }
  for (size_t i = 0; i < m->excluded.len; i++) {
    strbuf_addstr (&sb, "excluded target=");
    add_escaped (&sb, m->excluded.ptr[i].target);
    strbuf_addstr (&sb, " reason=");
    add_escaped (&sb, m->excluded.ptr[i].reason);
    strbuf_addstr (&sb, "\n");
  }
  if (m->archive.present) {
    const struct manifest_archive *a = &m->archive;
    char chex[DIGEST_HEX_LEN + 1];
    digest_to_hex (&a->data_map, hex);
    digest_to_hex (&a->catalogue_map, chex);
    strbuf_addf (&sb,
                 "archive data=%s data-size=%" PRIu64 " data-chunks=%" PRIu64
                 " catalogue=%s catalogue-size=%" PRIu64
                 " catalogue-chunks=%" PRIu64 " entries=%" PRIu64
                 " bytes=%" PRIu64 " stored-new=%" PRIu64 "\n",
                 hex, a->data_size, a->data_chunks, chex, a->catalogue_size,
                 a->catalogue_chunks, a->entries, a->bytes, a->stored_new);
  }
  if (m->sealed)
    strbuf_addf (&sb, "sealed %s\n", m->sealed);
  digest_compute (sb.buf, sb.len, &sum);
  digest_to_hex (&sum, hex);
  strbuf_addf (&sb, "checksum %s\n", hex);
  return strbuf_detach (&sb);
}

static int
parse_u64 (const char *s, size_t len, uint64_t *out)
{
  uint64_t v = 0;

  if (len == 0 || len > 20)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    if (__builtin_mul_overflow (v, 10, &v)
        || __builtin_add_overflow (v, s[i] - '0', &v))
      return -1;
  }
  *out = v;
  return 0;
}

static int
parse_disk (const char *p, size_t len, struct manifest_disk *d)
{
  const char *end = p + len;
  int seen = 0;

  while (p < end) {
    const char *tok_end = memchr (p, ' ', end - p);
    const char *eq;
    size_t klen, vlen;
    uint64_t v;

    if (tok_end == NULL)
      tok_end = end;
    eq = memchr (p, '=', tok_end - p);
    if (eq == NULL)
      return -1;
    klen = eq - p;
    vlen = tok_end - eq - 1;
#define KEY(k) (klen == strlen (k) && memcmp (p, k, klen) == 0)
    if (KEY ("name") && !d->name) {
      if ((d->name = unescape (eq + 1, vlen)) == NULL || !d->name[0])
        return -1;
      seen |= 1;
    }
    else if (KEY ("format") && !d->format) {
      if ((d->format = unescape (eq + 1, vlen)) == NULL)
        return -1;
      seen |= 2;
    }
    else if (KEY ("size")) {
      if (parse_u64 (eq + 1, vlen, &d->size) == -1)
        return -1;
      seen |= 4;
    }
    else if (KEY ("index")) {
      char hex[DIGEST_HEX_LEN + 1];
      if (vlen != DIGEST_HEX_LEN)
        return -1;
      memcpy (hex, eq + 1, vlen);
      hex[vlen] = '\0';
      if (digest_from_hex (hex, &d->index) == -1)
        return -1;
      seen |= 8;
    }
    else if (KEY ("stored-new")) {
      if (parse_u64 (eq + 1, vlen, &v) == -1)
        return -1;
      d->stored_new = v;
    }
    else if (KEY ("source") && !d->source) {
      if ((d->source = unescape (eq + 1, vlen)) == NULL)
        return -1;
    }
    else if (KEY ("image") && !d->image) {
      if ((d->image = unescape (eq + 1, vlen)) == NULL)
        return -1;
    }
    else if (KEY ("read")) {
      if (vlen == 11 && memcmp (eq + 1, "incremental", 11) == 0)
        d->incremental = true;
      else if (vlen == 4 && memcmp (eq + 1, "full", 4) == 0)
        d->incremental = false;
      else
        return -1;
    }
    else if (KEY ("bytes-read")) {
      if (parse_u64 (eq + 1, vlen, &d->bytes_read) == -1)
        return -1;
    }
    else if (KEY ("name") || KEY ("format") || KEY ("source") || KEY ("image"))
      return -1; /* given twice */
      /* Unknown keys are skipped: a newer writer may add fields that an
     * older reader can safely ignore. */
#undef KEY
    p = tok_end + 1;
  }
  return seen == 15 ? 0 : -1;
}

/* Split "k=v k=v" attribute lists; returns 1 with the next pair, 0 at
 * the end, -1 on a token without '='. */
static int
next_attr (const char **p, const char *end, const char **key, size_t *klen,
           const char **val, size_t *vlen)
{
  const char *tok_end, *eq;

  if (*p >= end)
    return 0;
  tok_end = memchr (*p, ' ', end - *p);
  if (tok_end == NULL)
    tok_end = end;
  eq = memchr (*p, '=', tok_end - *p);
  if (eq == NULL)
    return -1;
  *key = *p;
  *klen = eq - *p;
  *val = eq + 1;
  *vlen = tok_end - eq - 1;
  *p = tok_end + 1;
  return 1;
}

static int
set_once (char **field, const char *val, size_t vlen)
{
  if (*field)
    return -1;
  *field = unescape (val, vlen);
  return *field ? 0 : -1;
}

static int
parse_file (const char *p, size_t len, struct manifest_file *f)
{
  const char *end = p + len, *k, *v;
  size_t kl, vl;
  int r, seen = 0;

  while ((r = next_attr (&p, end, &k, &kl, &v, &vl)) == 1) {
#define KEY(x) (kl == strlen (x) && memcmp (k, x, kl) == 0)
    if (KEY ("role")) {
      if (set_once (&f->role, v, vl) == -1 || !f->role[0])
        return -1;
      seen |= 1;
    }
    else if (KEY ("path")) {
      if (set_once (&f->path, v, vl) == -1)
        return -1;
      seen |= 2;
    }
    else if (KEY ("size")) {
      if (parse_u64 (v, vl, &f->size) == -1)
        return -1;
      seen |= 4;
    }
    else if (KEY ("index")) {
      char hex[DIGEST_HEX_LEN + 1];
      if (vl != DIGEST_HEX_LEN)
        return -1;
      memcpy (hex, v, vl);
      hex[vl] = '\0';
      if (digest_from_hex (hex, &f->index) == -1)
        return -1;
      seen |= 8;
    }
#undef KEY
  }
  return r == 0 && seen == 15 ? 0 : -1;
}

static int
parse_excluded (const char *p, size_t len, struct manifest_excluded *x)
{
  const char *end = p + len, *k, *v;
  size_t kl, vl;
  int r;

  while ((r = next_attr (&p, end, &k, &kl, &v, &vl)) == 1) {
    if (kl == 6 && memcmp (k, "target", 6) == 0) {
      if (set_once (&x->target, v, vl) == -1)
        return -1;
    }
    else if (kl == 6 && memcmp (k, "reason", 6) == 0) {
      if (set_once (&x->reason, v, vl) == -1)
        return -1;
    }
  }
  return r == 0 && x->target && x->reason ? 0 : -1;
}

static int
parse_hex_digest (const char *v, size_t vl, struct digest *d)
{
  char hex[DIGEST_HEX_LEN + 1];

  if (vl != DIGEST_HEX_LEN)
    return -1;
  memcpy (hex, v, vl);
  hex[vl] = '\0';
  return digest_from_hex (hex, d);
}

/* Every attribute is required, once; unknown ones are skipped as on
 * disk lines. */
static int
parse_archive (const char *p, size_t len, struct manifest_archive *a)
{
  static const char *const keys[] = {
    "data",      "data-size",      "data-chunks",
    "catalogue", "catalogue-size", "catalogue-chunks",
    "entries",   "bytes",          "stored-new",
  };
  uint64_t *nums[] = {
    NULL,        &a->data_size,      &a->data_chunks,
    NULL,        &a->catalogue_size, &a->catalogue_chunks,
    &a->entries, &a->bytes,          &a->stored_new,
  };
  const char *end = p + len, *k, *v;
  size_t kl, vl;
  unsigned seen = 0;
  int r;

  while ((r = next_attr (&p, end, &k, &kl, &v, &vl)) == 1) {
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      if (kl != strlen (keys[i]) || memcmp (k, keys[i], kl) != 0)
        continue;
      if (seen & (1u << i))
        return -1;
      seen |= 1u << i;
      if (i == 0     ? parse_hex_digest (v, vl, &a->data_map)
            : i == 3 ? parse_hex_digest (v, vl, &a->catalogue_map)
                     : parse_u64 (v, vl, nums[i]))
        return -1;
    }
  }
  if (r != 0 || seen != (1u << 9) - 1)
    return -1;
  /* A stream of n bytes has 1 to n chunks (none when empty). */
  if ((a->data_chunks == 0) != (a->data_size == 0)
      || a->data_chunks > a->data_size
      || (a->catalogue_chunks == 0) != (a->catalogue_size == 0)
      || a->catalogue_chunks > a->catalogue_size)
    return -1;
  a->present = true;
  return 0;
}

int
manifest_parse (const char *text, size_t len, struct manifest *m)
{
  const char *p = text, *end = text + len, *sumline;
  struct digest sum, want;
  char hex[DIGEST_HEX_LEN + 1];
  uint64_t v;
  bool sealed;

  if (len > MANIFEST_MAX || len < sizeof MANIFEST_MAGIC
      || (memcmp (text, MANIFEST_MAGIC "\n", sizeof MANIFEST_MAGIC) != 0
          && memcmp (text, MANIFEST_MAGIC_SEALED "\n", sizeof MANIFEST_MAGIC)
            != 0)) {
    set_error (0, "not a vmbackup manifest");
    return -1;
  }
  sealed = text[sizeof MANIFEST_MAGIC - 2] == '2';
  /* The checksum line is last: "checksum <64 hex>\n". */
  if (len < 74 + sizeof MANIFEST_MAGIC || text[len - 1] != '\n') {
    set_error (0, "manifest truncated");
    return -1;
  }
  sumline = end - 74;
  if (memcmp (sumline, "checksum ", 9) != 0 || sumline[-1] != '\n') {
    set_error (0, "manifest truncated (no checksum line)");
    return -1;
  }
  memcpy (hex, sumline + 9, DIGEST_HEX_LEN);
  hex[DIGEST_HEX_LEN] = '\0';
  if (digest_from_hex (hex, &want) == -1
      || digest_compute (text, sumline - text, &sum) == -1
      || digest_cmp (&sum, &want) != 0) {
    set_error (0, "manifest checksum mismatch");
    return -1;
  }

  p += sizeof MANIFEST_MAGIC;
  while (p < sumline) {
    const char *nl = memchr (p, '\n', sumline - p);
    const char *sp, *val;
    size_t klen, vlen;

    if (nl == NULL)
      goto bad;
    sp = memchr (p, ' ', nl - p);
    if (sp == NULL)
      goto bad;
    klen = sp - p;
    val = sp + 1;
    vlen = nl - val;
#define KEY(k) (klen == strlen (k) && memcmp (p, k, klen) == 0)
#define STR(field)                                             \
  do {                                                         \
    if (m->field || (m->field = unescape (val, vlen)) == NULL) \
      goto bad;                                                \
  } while (0)
    if (KEY ("id"))
      STR (id);
    else if (KEY ("name"))
      STR (name);
    else if (KEY ("kind"))
      STR (kind);
    else if (KEY ("consistency"))
      STR (consistency);
    else if (KEY ("checkpoint"))
      STR (checkpoint);
    else if (KEY ("run"))
      STR (run);
    else if (KEY ("sealed") && sealed) {
      /* Base64, written verbatim: anything else is not ours. */
      if (m->sealed || vlen == 0 || strspn (val, BASE64_CHARS) < vlen
          || (m->sealed = strndup (val, vlen)) == NULL)
        goto bad;
    }
    else if (KEY ("time") || KEY ("finished") || KEY ("downtime-ms")
             || KEY ("chunk-size")) {
      if (parse_u64 (val, vlen, &v) == -1 || v > INT64_MAX)
        goto bad;
      if (KEY ("time"))
        m->time = v;
      else if (KEY ("finished"))
        m->finished = v;
      else if (KEY ("downtime-ms"))
        m->downtime_ms = v;
      else if (v <= UINT32_MAX)
        m->chunk_size = v;
      else
        goto bad;
    }
    else if (KEY ("autostart")) {
      if (parse_u64 (val, vlen, &v) == -1 || v > 1)
        goto bad;
      m->autostart = v == 1;
    }
    else if (KEY ("disk")) {
      struct manifest_disk d = { 0 };
      if (parse_disk (val, vlen, &d) == -1
          || manifest_disk_vector_append (&m->disks, d) == -1) {
        free (d.name);
        free (d.format);
        free (d.source);
        free (d.image);
        goto bad;
      }
    }
    else if (KEY ("file")) {
      struct manifest_file f = { 0 };
      if (parse_file (val, vlen, &f) == -1
          || manifest_file_vector_append (&m->files, f) == -1) {
        free (f.role);
        free (f.path);
        goto bad;
      }
    }
    else if (KEY ("excluded")) {
      struct manifest_excluded x = { 0 };
      if (parse_excluded (val, vlen, &x) == -1
          || manifest_excluded_vector_append (&m->excluded, x) == -1) {
        free (x.target);
        free (x.reason);
        goto bad;
      }
    }
    else if (KEY ("archive")) {
      if (m->archive.present || parse_archive (val, vlen, &m->archive) == -1)
        goto bad;
    }
#undef STR
#undef KEY
    p = nl + 1;
  }
  if (!m->id || !m->name || !m->kind || !m->consistency || m->chunk_size == 0
      || !name_is_valid (m->name)
      || (strcmp (m->kind, "files") == 0) != m->archive.present
      || sealed != (m->sealed != NULL)) {
    set_error (0, "manifest lacks required fields");
    return -1;
  }
  return 0;

bad:
  set_error (0, "manifest malformed");
  return -1;
}
