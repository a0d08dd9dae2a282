/* Disk classification from domain XML: what plan and backup include, and
 * the reason for each disk they leave to an in-guest backup. */
#include "virt/domain_xml.h"
#include "common/error.h"
#include "test.h"

static const char xml[] =
  "<domain type='qemu'><name>web1</name>"
  "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"
  "<os><type>hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram></os>"
  "<devices>"
  "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
  "  <source file='/images/web1.qcow2'/><target dev='vda' bus='virtio'/></disk>"
  "<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
  "  <source dev='/dev/vg/web1-data'/><target dev='vdb' bus='virtio'/></disk>"
  "<disk type='block' device='lun'><driver name='qemu' type='raw'/>"
  "  <source dev='/dev/sdc'/><target dev='sda' bus='scsi'/></disk>"
  "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
  "  <source protocol='iscsi' name='iqn.2013-06.com.example:iscsi-pool/1'>"
  "  <host name='example.com' port='3260'/></source><target dev='vdc'/></disk>"
  "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
  "  <source file='/shared/cluster.img'/><target dev='vdd'/><shareable/></disk>"
  "<disk type='file' device='cdrom'><source file='/iso/debian.iso'/>"
  "  <target dev='sdb' bus='sata'/><readonly/></disk>"
  "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
  "  <address bus='0' target='0' unit='0'/></source></hostdev>"
  "<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>"
  "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
  "</devices></domain>";

/* Direct kernel boot with UEFI firmware: the files it boots from. */
static const char boot_xml[] =
  "<domain type='kvm'><name>k1</name><os><type>hvm</type>"
  "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
  "<nvram>/var/lib/libvirt/qemu/nvram/k1_VARS.fd</nvram>"
  "<kernel>/var/lib/libvirt/boot/vmlinuz</kernel>"
  "<initrd>/var/lib/libvirt/boot/initrd.img</initrd>"
  "<dtb></dtb><cmdline>console=ttyS0</cmdline></os><devices/></domain>";

static const struct vm_disk *
find (const struct domain_info *d, const char *target)
{
  for (size_t i = 0; i < d->disks.len; i++)
    if (strcmp (d->disks.ptr[i].target, target) == 0)
      return &d->disks.ptr[i];
  CHECK (0, "no disk %s", target);
  return NULL;
}

static void
excluded (const struct domain_info *d, const char *target, const char *why)
{
  const struct vm_disk *k = find (d, target);
  CHECK (!k->included, "%s should be excluded", target);
  CHECK (k->reason && strstr (k->reason, why), "%s: reason '%s' lacks '%s'",
         target, k->reason ? k->reason : "(none)", why);
}

int
main (void)
{
  struct domain_info d;
  const struct vm_disk *k;

  CHECK (domain_xml_parse (xml, strlen (xml), &d) == 0, "%s", get_error ());
  CHECK (strcmp (d.name, "web1") == 0, "name %s", d.name);
  CHECK (strcmp (d.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0") == 0, "uuid");
  CHECK (d.nvram && strcmp (d.nvram, "/var/lib/libvirt/qemu/nvram/web1_VARS.fd") == 0,
         "nvram");
  CHECK (d.has_tpm, "emulated TPM not seen");
  /* 6 disks + 1 SCSI hostdev; the PCI hostdev holds no disk data. */
  CHECK (d.disks.len == 7, "%zu entries", d.disks.len);
  CHECK (domain_included_disks (&d) == 2, "%zu included",
         domain_included_disks (&d));

  k = find (&d, "vda");
  CHECK (k->included && strcmp (k->source, "/images/web1.qcow2") == 0
         && strcmp (k->format, "qcow2") == 0, "vda");
  k = find (&d, "vdb");
  CHECK (k->included && strcmp (k->type, "block") == 0
         && strcmp (k->source, "/dev/vg/web1-data") == 0, "vdb");
  excluded (&d, "sda", "pass-through LUN");
  excluded (&d, "vdc", "iSCSI");
  CHECK (strcmp (find (&d, "vdc")->source,
                 "iscsi://iqn.2013-06.com.example:iscsi-pool/1") == 0, "vdc source");
  excluded (&d, "vdd", "shareable");
  excluded (&d, "sdb", "removable media");
  excluded (&d, "hostdev0", "SCSI host device");
  for (int b = 0; b < BOOT_KINDS; b++)
    CHECK (d.boot[b] == NULL, "web1 has no %s", boot_kind_name[b]);
  domain_info_release (&d);

  CHECK (domain_xml_parse (boot_xml, strlen (boot_xml), &d) == 0, "%s",
         get_error ());
  CHECK (d.boot[BOOT_KERNEL]
         && strcmp (d.boot[BOOT_KERNEL], "/var/lib/libvirt/boot/vmlinuz") == 0,
         "kernel %s", d.boot[BOOT_KERNEL]);
  CHECK (d.boot[BOOT_INITRD]
         && strcmp (d.boot[BOOT_INITRD], "/var/lib/libvirt/boot/initrd.img") == 0,
         "initrd %s", d.boot[BOOT_INITRD]);
  CHECK (d.boot[BOOT_LOADER]
         && strcmp (d.boot[BOOT_LOADER], "/usr/share/OVMF/OVMF_CODE.fd") == 0,
         "loader %s", d.boot[BOOT_LOADER]);
  CHECK (d.boot[BOOT_DTB] == NULL, "an empty <dtb> is no file");
  domain_info_release (&d);

  /* Bad input: a clear error, never a crash. */
  CHECK (domain_xml_parse ("<domain>", 8, &d) == -1, "truncated XML accepted");
  CHECK (domain_xml_parse ("<network><name>x</name></network>", 33, &d) == -1
         && strstr (get_error (), "not a libvirt domain"), "%s", get_error ());
  CHECK (domain_xml_parse ("<domain><devices/></domain>", 27, &d) == -1
         && strstr (get_error (), "no name"), "%s", get_error ());
  for (size_t n = 0; n < sizeof xml - 1; n += 7)
    if (domain_xml_parse (xml, n, &d) == 0)
      domain_info_release (&d);
  return 0;
}
