/* Restore planning (vm/restore_plan.h): which backed-up disk goes to
 * which path under --as and --storage, what a restore refuses to
 * overwrite, and when a VM that exists stops it. */
#include "common/error.h"
#include "virt/domain_xml.h"
#include "vm/restore_plan.h"
#include "test.h"

static const char xml[]
  = "<domain type='kvm'><name>web1</name>"
    "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"
    "<os><type>hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</"
    "nvram></os>"
    "<devices>"
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "  <source file='/images/web1.qcow2'/><target dev='vda'/></disk>"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "  <source file='/images/web1-logs.img'/><target dev='vdb'/></disk>"
    "<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
    "  <source dev='/dev/vg/web1-data'/><target dev='vdc'/></disk>"
    "</devices></domain>";

static struct manifest_disk disks[] = {
  { .name = "vda", .format = "qcow2", .size = 1 << 30 },
  { .name = "vda@snap1", .format = "qcow2", .size = 1 << 30 },
  { .name = "vdb", .format = "raw", .size = 1 << 20 },
  { .name = "vdc", .format = "raw", .size = 1 << 30 },
};
static struct manifest m = {
  .id = "web1-20261204T100000Z",
  .name = "web1",
  .kind = "vm",
  .disks = { .ptr = disks, .len = 4, .cap = 4 },
};

/* The host as the plan sees it. */
static const char *existing_paths[8];
static int block_checks;
static const char *block_vm;

static bool
exists (void *opaque, const char *path)
{
  for (size_t i = 0; existing_paths[i]; i++)
    if (strcmp (existing_paths[i], path) == 0)
      return true;
  return false;
}

static int
check_block (void *opaque, const char *vm, const char *target, const char *dev,
             const struct manifest_disk *md)
{
  block_checks++;
  block_vm = vm;
  return 0;
}

static const struct restore_probe probe = { .exists = exists,
                                            .check_block = check_block };

static int
plan (const struct domain_info *info, const struct domain_info *existing,
      const struct restore_vm_opts *o, struct restore_plan *p)
{
  block_checks = 0;
  return restore_plan_make (&m, info, existing, o, &probe, p);
}

static const struct planned_disk *
disk (const struct restore_plan *p, const char *name)
{
  for (size_t i = 0; i < p->ndisks; i++)
    if (strcmp (p->disks[i].md->name, name) == 0)
      return &p->disks[i];
  CHECK (0, "no planned disk %s", name);
  return NULL;
}

#define PATH_IS(p, name, want)                                              \
  CHECK (strcmp (disk (p, name)->path, want) == 0, "%s goes to %s, not %s", \
         name, disk (p, name)->path, want)

static void
test_same_place (const struct domain_info *info)
{
  struct restore_vm_opts o = { 0 };
  struct restore_plan p;

  CHECK (plan (info, NULL, &o, &p) == 0, "plain restore: %s", get_error ());
  /* The snapshot state goes into vda's image, not a disk of its own. */
  CHECK (p.ndisks == 3, "%zu disks planned", p.ndisks);
  CHECK (strcmp (p.name, "web1") == 0, "restored as %s", p.name);
  PATH_IS (&p, "vda", "/images/web1.qcow2");
  CHECK (strcmp (disk (&p, "vda")->staged, "/images/web1.qcow2.vmbackup-new")
           == 0,
         "staged at %s", disk (&p, "vda")->staged);
  PATH_IS (&p, "vdc", "/dev/vg/web1-data");
  CHECK (disk (&p, "vdc")->in_place && !disk (&p, "vda")->in_place,
         "only the block device is written in place");
  CHECK (block_checks == 1 && strcmp (block_vm, "web1") == 0,
         "%d block checks", block_checks);
  CHECK (strcmp (p.nvram, "/var/lib/libvirt/qemu/nvram/web1_VARS.fd") == 0,
         "NVRAM to %s", p.nvram);
  restore_plan_release (&p);
}

static void
test_as_and_storage (const struct domain_info *info)
{
  struct restore_vm_opts o = { .as = "web1-copy" };
  struct restore_plan p;

  /* A copy cannot share the original's block device. */
  CHECK (plan (info, NULL, &o, &p) == -1, "--as over a block device");
  CHECK (strstr (get_error (),
                 "disk vdc is the block device "
                 "/dev/vg/web1-data: give --storage DIR"),
         "%s", get_error ());
  restore_plan_release (&p);

  o.storage = "/srv/vms";
  CHECK (plan (info, NULL, &o, &p) == 0, "--as --storage: %s", get_error ());
  CHECK (strcmp (p.name, "web1-copy") == 0, "restored as %s", p.name);
  PATH_IS (&p, "vda", "/srv/vms/web1-copy-vda.qcow2");
  PATH_IS (&p, "vdb", "/srv/vms/web1-copy-vdb.img");
  PATH_IS (&p, "vdc", "/srv/vms/web1-copy-vdc.img");
  CHECK (!disk (&p, "vdc")->in_place && block_checks == 0,
         "--storage writes a device disk as a file");
  CHECK (strcmp (p.nvram, "/srv/vms/web1-copy_VARS.fd") == 0, "NVRAM to %s",
         p.nvram);
  restore_plan_release (&p);

  o.as = NULL;
  CHECK (plan (info, NULL, &o, &p) == 0, "--storage: %s", get_error ());
  PATH_IS (&p, "vda", "/srv/vms/web1.qcow2");
  PATH_IS (&p, "vdc", "/srv/vms/web1-data");
  CHECK (strcmp (p.nvram, "/srv/vms/web1_VARS.fd") == 0, "NVRAM to %s",
         p.nvram);
  restore_plan_release (&p);
}

static void
test_overwrite (const struct domain_info *info, const char *other_xml)
{
  struct restore_vm_opts o = { .replace = true };
  struct domain_info other;
  struct restore_plan p;

  existing_paths[0] = "/images/web1.qcow2";
  CHECK (plan (info, NULL, &o, &p) == -1, "a stray file was overwritten");
  CHECK (strstr (get_error (),
                 "disk vda: /images/web1.qcow2 already exists "
                 "and is not a disk of the VM being replaced"),
         "%s", get_error ());
  restore_plan_release (&p);

  /* The VM being replaced owns it: fine. */
  CHECK (plan (info, info, &o, &p) == 0, "replace: %s", get_error ());
  restore_plan_release (&p);

  /* Another VM's definition does not own web1's files. */
  CHECK (domain_xml_parse (other_xml, strlen (other_xml), &other) == 0, "%s",
         get_error ());
  CHECK (plan (info, &other, &o, &p) == -1, "overwrote another VM's disk");
  restore_plan_release (&p);
  existing_paths[0] = NULL;
  CHECK (plan (info, &other, &o, &p) == -1, "took another VM's device");
  CHECK (strstr (get_error (),
                 "disk vdc: /dev/vg/web1-data is not a disk "
                 "of the VM being replaced"),
         "%s", get_error ());
  restore_plan_release (&p);

  existing_paths[0] = "/var/lib/libvirt/qemu/nvram/web1_VARS.fd";
  CHECK (plan (info, NULL, &o, &p) == -1, "a stray NVRAM was overwritten");
  CHECK (strstr (get_error (),
                 "NVRAM /var/lib/libvirt/qemu/nvram/"
                 "web1_VARS.fd already exists"),
         "%s", get_error ());
  restore_plan_release (&p);
  existing_paths[0] = NULL;
  domain_info_release (&other);
}

/* The manifest's disks map onto the backed-up domain by target. */
static void
test_mapping (const struct domain_info *info)
{
  struct restore_vm_opts o = { 0 };
  struct restore_plan p;

  disks[2].name = "vdz";
  CHECK (plan (info, NULL, &o, &p) == -1, "unknown disk accepted");
  CHECK (strcmp (get_error (), "disk vdz is not in the backed-up domain XML")
           == 0,
         "%s", get_error ());
  restore_plan_release (&p);
  disks[2].name = "vdb";
}

/* A VM that boots a kernel of its own and has an emulated TPM. */
static const char boot_xml[]
  = "<domain type='kvm'><name>k1</name>"
    "<uuid>6c1f0a9e-2b3c-4d5e-8f70-112233445566</uuid>"
    "<os><type>hvm</type><kernel>/var/lib/libvirt/boot/k1-vmlinuz</kernel>"
    "<initrd>/var/lib/libvirt/boot/k1-initrd.img</initrd>"
    "<nvram>/var/lib/libvirt/qemu/nvram/k1_VARS.fd</nvram></os>"
    "<devices><disk type='file' device='disk'><driver type='qcow2'/>"
    "  <source file='/images/k1.qcow2'/><target dev='vda'/></disk>"
    "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
    "</devices></domain>";

#define TPM_DIR "/var/lib/libvirt/swtpm/6c1f0a9e-2b3c-4d5e-8f70-112233445566"

static struct manifest_disk k1_disks[] = {
  { .name = "vda", .format = "qcow2", .size = 1 << 30 },
};

/* Plan k1 with one more file line (role, path) beside its good ones;
 * 0 or -1 as restore_plan_make returns. */
static int
plan_with (const struct domain_info *info, const char *role, const char *path,
           struct restore_plan *p)
{
  static struct manifest_file files[8];
  static struct manifest km = {
    .id = "k1/20261204T100000Z",
    .name = "k1",
    .kind = "vm",
    .disks = { .ptr = k1_disks, .len = 1, .cap = 1 },
  };
  struct restore_vm_opts o = { 0 };
  size_t n = 0;

  files[n++] = (struct manifest_file) { .role = "domain-xml",
                                        .path = "domain.xml" };
  files[n++] = (struct manifest_file) {
    .role = "nvram", .path = "/var/lib/libvirt/qemu/nvram/k1_VARS.fd"
  };
  files[n++] = (struct manifest_file) {
    .role = "boot", .path = "/var/lib/libvirt/boot/k1-vmlinuz"
  };
  files[n++] = (struct manifest_file) { .role = "tpm",
                                        .path = TPM_DIR
                                        "/tpm2/tpm2-00.permall" };
  files[n++] = (struct manifest_file) { .role = "snapshot", .path = "s1" };
  if (role)
    files[n++] = (struct manifest_file) { .role = (char *) role,
                                          .path = (char *) path };
  km.files = (manifest_file_vector) { .ptr = files, .len = n, .cap = n };
  return restore_plan_make (&km, info, NULL, &o, &probe, p);
}

/* Each refused line, with the one line the user sees. */
static void
refused (const struct domain_info *info, const char *role, const char *path,
         const char *want)
{
  struct restore_plan p;

  CHECK (plan_with (info, role, path, &p) == -1, "%s %s accepted", role, path);
  CHECK (strcmp (get_error (), want) == 0, "%s %s: %s", role, path,
         get_error ());
  restore_plan_release (&p);
}

/* A kept file is written only where the backed-up domain XML says; a
 * manifest's file line names no place of its own. */
static void
test_kept_files (void)
{
  struct domain_info info, bare;
  struct restore_plan p;

  CHECK (domain_xml_parse (boot_xml, strlen (boot_xml), &info) == 0, "%s",
         get_error ());
  CHECK (plan_with (&info, "boot", "/var/lib/libvirt/boot/k1-initrd.img", &p)
           == 0,
         "good files refused: %s", get_error ());
  CHECK (p.nboot == 2
           && strcmp (p.boot[0]->path, "/var/lib/libvirt/boot/k1-vmlinuz") == 0
           && strcmp (p.boot[1]->path, "/var/lib/libvirt/boot/k1-initrd.img")
             == 0,
         "%zu boot files planned", p.nboot);
  CHECK (p.ntpm == 1 && strcmp (p.tpm[0].rel, "tpm2/tpm2-00.permall") == 0,
         "TPM state planned as %s", p.ntpm ? p.tpm[0].rel : "nothing");
  CHECK (p.nvram_file && strcmp (p.nvram, p.nvram_file->path) == 0,
         "NVRAM to %s", p.nvram);
  restore_plan_release (&p);

  refused (&info, "boot", "/etc/cron.d/zz-evil",
           "boot file /etc/cron.d/zz-evil is not named by the backed-up "
           "domain XML");
  refused (&info, "boot", "/var/lib/libvirt/boot/../../../../etc/cron.d/x",
           "boot file /var/lib/libvirt/boot/../../../../etc/cron.d/x: a path "
           "with . or .. components");
  refused (&info, "boot", "/var/lib/libvirt/boot/./k1-vmlinuz",
           "boot file /var/lib/libvirt/boot/./k1-vmlinuz: a path with . or "
           ".. components");
  refused (&info, "boot", "/var/lib/libvirt//boot/k1-vmlinuz",
           "boot file /var/lib/libvirt//boot/k1-vmlinuz: a path with an "
           "empty component");
  refused (&info, "boot", "var/lib/libvirt/boot/k1-vmlinuz",
           "boot file var/lib/libvirt/boot/k1-vmlinuz: not an absolute path");
  refused (&info, "boot", "", "boot file : not an absolute path");
  refused (&info, "boot", "/var/lib/libvirt/boot/k1-vmlinuz",
           "boot file /var/lib/libvirt/boot/k1-vmlinuz is in the backup "
           "twice");
  refused (&info, "nvram", "/etc/shadow",
           "NVRAM file /etc/shadow is not the <nvram> of the backed-up "
           "domain XML");
  refused (&info, "tpm", TPM_DIR "/tpm2/../../../../../etc/cron.d/x",
           "TPM state file " TPM_DIR "/tpm2/../../../../../etc/cron.d/x: a "
           "path with . or .. components");
  refused (&info, "tpm", TPM_DIR "/tpm2/sub/x",
           "TPM state file " TPM_DIR "/tpm2/sub/x is not in " TPM_DIR
           "/tpm2 or " TPM_DIR "/tpm1.2 (the state libvirt keeps for the "
           "backed-up domain)");
  refused (&info, "tpm", "/var/lib/libvirt/swtpm/0000/tpm2/x",
           "TPM state file /var/lib/libvirt/swtpm/0000/tpm2/x is not "
           "in " TPM_DIR "/tpm2 or " TPM_DIR
           "/tpm1.2 (the state libvirt keeps "
           "for the backed-up domain)");
  CHECK (plan_with (&info, "tpm", TPM_DIR "/tpm1.2/tpm-00.permall", &p) == 0,
         "TPM 1.2 state refused: %s", get_error ());
  restore_plan_release (&p);

  /* The domain XML is in the backup too: the paths it names are held to
   * the same rules. */
  {
    static const char dots[]
      = "<domain><name>k1</name><os><kernel>/boot/../etc/shadow</kernel>"
        "</os><devices><disk type='file' device='disk'>"
        "<source file='/images/../etc/passwd'/><target dev='vda'/></disk>"
        "</devices></domain>";
    static const char dots_nvram[]
      = "<domain><name>k1</name><os><nvram>/nvram/../../etc/x</nvram>"
        "</os><devices><disk type='file' device='disk'>"
        "<source file='/images/k1.qcow2'/><target dev='vda'/></disk>"
        "</devices></domain>";
    static const char slash_name[]
      = "<domain><name>../../etc/cron.d/x</name><devices>"
        "<disk type='file' device='disk'><source file='/images/k1.qcow2'/>"
        "<target dev='vda'/></disk></devices></domain>";
    struct domain_info bad;
    struct restore_vm_opts o = { .storage = "/srv/vms" };
    struct manifest km = { .id = "k1/x",
                           .name = "k1",
                           .kind = "vm",
                           .disks = { .ptr = k1_disks, .len = 1, .cap = 1 } };

    struct manifest_file shadow = { .role = "boot",
                                    .path = "/boot/../etc/shadow" };

    CHECK (domain_xml_parse (dots, strlen (dots), &bad) == 0, "%s",
           get_error ());
    km.files = (manifest_file_vector) { .ptr = &shadow, .len = 1, .cap = 1 };
    CHECK (restore_plan_make (&km, &bad, NULL, &o, &probe, &p) == -1,
           "a kernel path with .. accepted");
    CHECK (strcmp (get_error (),
                   "boot file /boot/../etc/shadow: a path "
                   "with . or .. components")
             == 0,
           "%s", get_error ());
    restore_plan_release (&p);
    km.files = (manifest_file_vector) { 0 };
    o.storage = NULL;
    CHECK (restore_plan_make (&km, &bad, NULL, &o, &probe, &p) == -1,
           "a disk path with .. accepted");
    CHECK (strcmp (get_error (),
                   "disk vda: /images/../etc/passwd: a path "
                   "with . or .. components")
             == 0,
           "%s", get_error ());
    restore_plan_release (&p);
    domain_info_release (&bad);

    CHECK (domain_xml_parse (dots_nvram, strlen (dots_nvram), &bad) == 0, "%s",
           get_error ());
    CHECK (restore_plan_make (&km, &bad, NULL, &o, &probe, &p) == -1,
           "an NVRAM path with .. accepted");
    CHECK (strcmp (get_error (),
                   "NVRAM /nvram/../../etc/x: a path with . "
                   "or .. components")
             == 0,
           "%s", get_error ());
    restore_plan_release (&p);
    domain_info_release (&bad);

    CHECK (domain_xml_parse (slash_name, strlen (slash_name), &bad) == 0, "%s",
           get_error ());
    o.storage = "/srv/vms";
    CHECK (restore_plan_make (&km, &bad, NULL, &o, &probe, &p) == -1,
           "a VM name with / accepted");
    CHECK (strcmp (get_error (), "VM name ../../etc/cron.d/x has a /") == 0,
           "%s", get_error ());
    restore_plan_release (&p);
    domain_info_release (&bad);
  }

  /* Without an emulated TPM there is no TPM state to put back. */
  {
    char notpm[sizeof boot_xml];
    char *t = strstr (strcpy (notpm, boot_xml), "<tpm ");
    memmove (t, strstr (t, "</tpm>") + 6,
             strlen (strstr (t, "</tpm>") + 6) + 1);
    CHECK (domain_xml_parse (notpm, strlen (notpm), &bare) == 0, "%s",
           get_error ());
    refused (&bare, NULL, NULL,
             "TPM state file " TPM_DIR "/tpm2/tpm2-00.permall: the "
             "backed-up domain XML has no emulated TPM");
    domain_info_release (&bare);
  }
  domain_info_release (&info);
}

static void
test_conflict (void)
{
  struct restore_vm_opts o = { 0 };

  CHECK (restore_check_conflict ("web1", false, NULL, &o) == 0, "no VM");
  CHECK (restore_check_conflict ("web1", true, NULL, &o) == -1,
         "a VM that exists was replaced without --replace");
  CHECK (strcmp (get_error (),
                 "VM web1 exists: restore with --replace to "
                 "turn it off and overwrite it, or with --as NAME beside it")
           == 0,
         "%s", get_error ());
  CHECK (restore_check_conflict ("web1", false, "web1-renamed", &o) == -1,
         "a VM with the same UUID was ignored");
  CHECK (strstr (get_error (), "VM web1-renamed has this backup's UUID"), "%s",
         get_error ());
  o.replace = true;
  CHECK (restore_check_conflict ("web1", true, NULL, &o) == 0, "--replace");
  o.replace = false;
  o.as = "web1-copy";
  CHECK (restore_check_conflict ("web1-copy", false, "web1", &o) == 0,
         "--as beside a VM with the same UUID");
}

int
main (void)
{
  static const char other_xml[]
    = "<domain type='kvm'><name>db1</name><os><type>hvm</type></os><devices>"
      "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
      "  <source file='/images/db1.qcow2'/><target dev='vda'/></disk>"
      "</devices></domain>";
  struct domain_info info;

  CHECK (domain_xml_parse (xml, strlen (xml), &info) == 0, "%s", get_error ());
  test_same_place (&info);
  test_as_and_storage (&info);
  test_overwrite (&info, other_xml);
  test_mapping (&info);
  test_kept_files ();
  test_conflict ();
  domain_info_release (&info);
  return 0;
}
