/* The job file parser reads what docs/vmbackup-jobs.pod promises (every
 * key, its defaults, the targets in order) and refuses each mistake with
 * "FILE:LINE: KEY: ..." without leaking what it had parsed. */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "jobs/job.h"
#include "test.h"

static void
refused (const char *text, const char *want)
{
  struct job job;

  CHECK (job_parse ("j.conf", "j", text, &job) == -1, "accepted: %s", text);
  CHECK (strstr (get_error (), want) != NULL, "'%s': error '%s', want '%s'",
         text, get_error (), want);
}

int
main (void)
{
  struct job job;
  const char *full = "# comment\n"
                     "\n"
                     "  repository =  /backup/repo  \n"
                     "password-file = /etc/vmbackup/pw\n"
                     "connect = qemu+ssh://h/system\n"
                     "consistency = crash\n"
                     "vm = web db\n"
                     "vm = all\n"
                     "exclude = scratch\n"
                     "image = disk = /var/lib/d.qcow2\n"
                     "files = etc=/etc /root\n"
                     "files-exclude = *.tmp # not a comment\n"
                     "keep-last = 3\n"
                     "keep-weekly = 4\n"
                     "verify = 2w\n"
                     "concurrency = 4\n"
                     "notify = mail -s 'failed' root\r\n"
                     "prometheus-file = /var/lib/p/j.prom\n";

  CHECK (job_parse ("j.conf", "j", full, &job) == 0, "full: %s", get_error ());
  CHECK (strcmp (job.repository, "/backup/repo") == 0, "repository");
  CHECK (job.key_file == NULL
           && strcmp (job.password_file, "/etc/vmbackup/pw") == 0,
         "key");
  CHECK (strcmp (job.consistency, "crash") == 0, "consistency");
  CHECK (job.all_vms && job.excludes.len == 1, "all, exclude");
  CHECK (job.targets.len == 4, "targets: %zu", job.targets.len);
  CHECK (job.targets.ptr[0].kind == JOB_TARGET_VM
           && strcmp (job.targets.ptr[1].name, "db") == 0,
         "vm targets");
  CHECK (job.targets.ptr[2].kind == JOB_TARGET_IMAGE
           && strcmp (job.targets.ptr[2].name, "disk") == 0
           && strcmp (job.targets.ptr[2].paths.ptr[0], "/var/lib/d.qcow2")
             == 0,
         "image target");
  CHECK (job.targets.ptr[3].kind == JOB_TARGET_FILES
           && job.targets.ptr[3].paths.len == 2
           && strcmp (job.targets.ptr[3].paths.ptr[1], "/root") == 0,
         "files target");
  CHECK (strcmp (job.files_excludes.ptr[0], "*.tmp # not a comment") == 0,
         "a # inside a value is kept");
  CHECK (job.keep.n[KEEP_LAST] == 3 && job.keep.n[KEEP_WEEKLY] == 4
           && job.keep.n[KEEP_DAILY] == 0,
         "keep");
  CHECK (job.verify == JOB_VERIFY_EVERY && job.verify_every == 14 * 86400,
         "verify");
  CHECK (job.concurrency == 4, "concurrency");
  CHECK (strcmp (job.notify, "mail -s 'failed' root") == 0, "notify: '%s'",
         job.notify);
  job_free (&job);

  /* Defaults. */
  CHECK (job_parse ("j.conf", "j", "repository=/r\nimage=a=/a", &job) == 0,
         "minimal: %s", get_error ());
  CHECK (strcmp (job.consistency, "auto") == 0 && job.concurrency == 1
           && job.verify == JOB_VERIFY_NEVER && job.notify == NULL
           && job.prometheus_file == NULL && keep_policy_empty (&job.keep),
         "defaults");
  job_free (&job);

  refused ("repository=/r\nimage=a=/a\nbogus = 1\n",
           "j.conf:3: bogus: unknown key");
  refused ("repository=/r\nimage=a=/a\nkeep-last\n",
           "j.conf:3: syntax: 'keep-last' is not KEY = VALUE");
  refused ("repository=/r\nimage=a=/a\nkeep-last = 1x\n",
           "j.conf:3: keep-last: bad value '1x'");
  refused ("repository=/r\nimage=a=/a\nkeep-last = 99999999999999999999\n",
           "j.conf:3: keep-last: bad value");
  refused ("repository=/r\nimage=a=/a\nverify = 0d\n",
           "j.conf:3: verify: bad value '0d'");
  refused ("repository=/r\nimage=a=/a\nverify = 3m\n",
           "j.conf:3: verify: bad value '3m'");
  refused ("repository=/r\nrepository=/s\nimage=a=/a\n",
           "j.conf:2: repository: given twice (first on line 1)");
  refused ("repository=/r\nimage=a=/a /b\n",
           "j.conf:2: image: 'a' wants one PATH");
  refused ("repository=/r\nfiles=a=\n",
           "j.conf:2: files: 'a=' is not NAME=PATH");
  refused ("repository=/r\nvm = all all\n", "j.conf:2: vm: 'all' given twice");
  refused ("repository=/r\nvm = a\nimage = a=/a\n",
           "j.conf:3: image: 'a' named twice");
  refused ("repository=/r\nimage=.hidden=/a\n",
           "j.conf:2: image: bad name '.hidden'");
  refused ("repository=/r\nkey-file = k\nimage=a=/a\n",
           "j.conf:2: key-file: 'k' is not an absolute path");
  refused ("image=a=/a\n", "j.conf: repository: missing");
  refused ("repository=/r\n", "j.conf: nothing to back up");
  refused ("repository=/r\nvm = a\nexclude = b\n",
           "j.conf: exclude: only with vm = all");

  /* A copy: its own key and retention, else the job's retention. */
  CHECK (job_parse ("j.conf", "j",
                    "repository=/r\nimage=a=/a\nkeep-last = 2\n"
                    "copy-to = s3://b/p\ncopy-password-file = /etc/pw\n"
                    "copy-keep-monthly = 12\n",
                    &job)
           == 0,
         "copy: %s", get_error ());
  CHECK (strcmp (job.copy_to, "s3://b/p") == 0 && job.copy_key_file == NULL
           && strcmp (job.copy_password_file, "/etc/pw") == 0,
         "copy-to and its key");
  CHECK (job.copy_keep.n[KEEP_MONTHLY] == 12 && job.copy_keep.n[KEEP_LAST] == 0
           && job.keep.n[KEEP_LAST] == 2,
         "copy-keep-* replaces the job's keep in the copy");
  job_free (&job);
  CHECK (job_parse ("j.conf", "j",
                    "repository=/r\nimage=a=/a\nkeep-last = 2\n"
                    "copy-to = /c\n",
                    &job)
           == 0,
         "copy, no keep: %s", get_error ());
  CHECK (job.copy_keep.n[KEEP_LAST] == 2, "the copy keeps what the job keeps");
  job_free (&job);
  refused ("repository=/r\nimage=a=/a\ncopy-keep-last = 1\n",
           "j.conf: copy-key-file, copy-password-file, copy-keep-*: only "
           "with copy-to");
  refused ("repository=/r\nimage=a=/a\ncopy-to = /r\n",
           "j.conf: copy-to: the job's own repository");
  refused ("repository=/r\nimage=a=/a\ncopy-to = /c\ncopy-key-file = /k\n"
           "copy-password-file = /p\n",
           "j.conf:5: copy-password-file: give one of copy-key-file and "
           "copy-password-file");
  refused ("repository=/r\nimage=a=/a\ncopy-to = /c\ncopy-to = /d\n",
           "j.conf:4: copy-to: given twice (first on line 3)");

  CHECK (job_name_is_valid ("nightly-1.a_b"), "valid name");
  CHECK (!job_name_is_valid ("../x") && !job_name_is_valid (".x")
           && !job_name_is_valid ("") && !job_name_is_valid ("a b"),
         "invalid names");
  return 0;
}
