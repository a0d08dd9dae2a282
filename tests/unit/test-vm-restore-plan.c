/* Restore planning (vm/restore_plan.h): which backed-up disk goes to
 * which path under --as and --storage, what a restore refuses to
 * overwrite, and when a VM that exists stops it. */
#include "common/error.h"
#include "virt/domain_xml.h"
#include "vm/restore_plan.h"
#include "test.h"

static const char xml[] =
  "<domain type='kvm'><name>web1</name>"
  "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"
  "<os><type>hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram></os>"
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
  .id = "web1-20261204T100000Z", .name = "web1", .kind = "vm",
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
check_block (void *opaque, const char *vm, const char *target,
             const char *dev, const struct manifest_disk *md)
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

#define PATH_IS(p, name, want)                                          \
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
  CHECK (strcmp (disk (&p, "vda")->staged,
                 "/images/web1.qcow2.vmbackup-new") == 0,
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
  CHECK (strstr (get_error (), "disk vdc is the block device "
                 "/dev/vg/web1-data: give --storage DIR"), "%s",
         get_error ());
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
  CHECK (strstr (get_error (), "disk vda: /images/web1.qcow2 already exists "
                 "and is not a disk of the VM being replaced"), "%s",
         get_error ());
  restore_plan_release (&p);

  /* The VM being replaced owns it: fine. */
  CHECK (plan (info, info, &o, &p) == 0, "replace: %s", get_error ());
  restore_plan_release (&p);

  /* Another VM's definition does not own web1's files. */
  CHECK (domain_xml_parse (other_xml, strlen (other_xml), &other) == 0,
         "%s", get_error ());
  CHECK (plan (info, &other, &o, &p) == -1, "overwrote another VM's disk");
  restore_plan_release (&p);
  existing_paths[0] = NULL;
  CHECK (plan (info, &other, &o, &p) == -1, "took another VM's device");
  CHECK (strstr (get_error (), "disk vdc: /dev/vg/web1-data is not a disk "
                 "of the VM being replaced"), "%s", get_error ());
  restore_plan_release (&p);

  existing_paths[0] = "/var/lib/libvirt/qemu/nvram/web1_VARS.fd";
  CHECK (plan (info, NULL, &o, &p) == -1, "a stray NVRAM was overwritten");
  CHECK (strstr (get_error (), "NVRAM /var/lib/libvirt/qemu/nvram/"
                 "web1_VARS.fd already exists"), "%s", get_error ());
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
         == 0, "%s", get_error ());
  restore_plan_release (&p);
  disks[2].name = "vdb";
}

static void
test_conflict (void)
{
  struct restore_vm_opts o = { 0 };

  CHECK (restore_check_conflict ("web1", false, NULL, &o) == 0, "no VM");
  CHECK (restore_check_conflict ("web1", true, NULL, &o) == -1,
         "a VM that exists was replaced without --replace");
  CHECK (strcmp (get_error (), "VM web1 exists: restore with --replace to "
                 "turn it off and overwrite it, or with --as NAME beside it")
         == 0, "%s", get_error ());
  CHECK (restore_check_conflict ("web1", false, "web1-renamed", &o) == -1,
         "a VM with the same UUID was ignored");
  CHECK (strstr (get_error (), "VM web1-renamed has this backup's UUID"),
         "%s", get_error ());
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
  static const char other_xml[] =
    "<domain type='kvm'><name>db1</name><os><type>hvm</type></os><devices>"
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "  <source file='/images/db1.qcow2'/><target dev='vda'/></disk>"
    "</devices></domain>";
  struct domain_info info;

  CHECK (domain_xml_parse (xml, strlen (xml), &info) == 0, "%s",
         get_error ());
  test_same_place (&info);
  test_as_and_storage (&info);
  test_overwrite (&info, other_xml);
  test_mapping (&info);
  test_conflict ();
  domain_info_release (&info);
  return 0;
}
