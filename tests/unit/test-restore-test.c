/* Restore tests without libvirt: --check parsing, and the isolated
 * definition (every NIC on the test's network, nothing of the host's). */
#include "common/error.h"
#include "virt/domain_isolate.h"
#include "vm/restore_test.h"
#include "test.h"

static void
parse_ok (const char *spec, enum restore_check_kind kind, const char *cmd,
          int expect, int port)
{
  struct restore_check c;

  CHECK (restore_check_parse (spec, &c) == 0, "%s: %s", spec, get_error ());
  CHECK (c.kind == kind, "%s: kind %d", spec, c.kind);
  if (kind == CHECK_EXEC)
    CHECK (strcmp (c.cmd, cmd) == 0, "%s: cmd '%s'", spec, c.cmd);
  CHECK (c.expect == expect, "%s: expect %d", spec, c.expect);
  CHECK (c.port == port, "%s: port %d", spec, c.port);
  if (kind == CHECK_TCP)
    CHECK (strstr (c.cmd, "127.0.0.1") != NULL, "%s: probe '%s'", spec, c.cmd);
  restore_check_release (&c);
}

static void
parse_bad (const char *spec, const char *why)
{
  struct restore_check c;

  CHECK (restore_check_parse (spec, &c) == -1, "%s parsed", spec);
  CHECK (strstr (get_error (), why) != NULL, "%s: error '%s'", spec,
         get_error ());
  restore_check_release (&c);
}

static const char xml[]
  = "<domain type='kvm'><name>rt-x-web1</name><devices>"
    "<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
    "  <source bridge='br0'/><virtualport type='openvswitch'/>"
    "  <vlan><tag id='42'/></vlan><target dev='vnet7'/>"
    "  <model type='virtio'/></interface>"
    "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"
    "<interface type='hostdev'><source><address type='pci' domain='0' "
    "  bus='3' slot='0' function='1'/></source></interface>"
    "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/>"
    "  </source></hostdev>"
    "<serial type='file'><source path='/var/log/web1.log'/></serial>"
    "<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/>"
    "  <protocol type='telnet'/></serial>"
    "<channel type='unix'><source mode='bind' path='/run/web1.agent'/>"
    "  <target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    "<graphics type='vnc' port='5901' autoport='no' listen='0.0.0.0'/>"
    "</devices></domain>";

static int
count (const char *hay, const char *needle)
{
  int n = 0;

  for (const char *p = hay; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

int
main (void)
{
  char *out;

  parse_ok ("agent", CHECK_AGENT, NULL, 0, 0);
  parse_ok ("exec:systemctl is-active nginx", CHECK_EXEC,
            "systemctl is-active nginx", 0, 0);
  parse_ok ("exec:false=1", CHECK_EXEC, "false", 1, 0);
  parse_ok ("exec:test \"$x\" = y", CHECK_EXEC, "test \"$x\" = y", 0, 0);
  parse_ok ("exec:grep -q a=b /etc/f=2", CHECK_EXEC, "grep -q a=b /etc/f", 2,
            0);
  parse_ok ("tcp:22", CHECK_TCP, NULL, 0, 22);
  parse_bad ("ping", "want agent, exec:CMD[=STATUS] or tcp:PORT");
  parse_bad ("", "want agent");
  parse_bad ("exec:", "no command");
  parse_bad ("exec:=0", "no command");
  parse_bad ("exec:true=", "no exit status");
  parse_bad ("tcp:", "1 to 65535");
  parse_bad ("tcp:0", "1 to 65535");
  parse_bad ("tcp:65536", "1 to 65535");
  parse_bad ("tcp:22x", "1 to 65535");
  parse_bad ("tcp:-1", "1 to 65535");

  out = domain_xml_isolate (xml, "rt-abc123", "/state/run-abc123");
  CHECK (out != NULL, "%s", get_error ());
  CHECK (count (out, "<interface type=\"network\">") == 2, "%s", out);
  CHECK (count (out, "<source network=\"rt-abc123\"/>") == 2, "%s", out);
  CHECK (strstr (out, "br0") == NULL && strstr (out, "eth0") == NULL
           && strstr (out, "openvswitch") == NULL
           && strstr (out, "vlan") == NULL && strstr (out, "vnet7") == NULL,
         "host network settings kept: %s", out);
  CHECK (strstr (out, "52:54:00:00:00:01") != NULL, "MAC lost: %s", out);
  CHECK (strstr (out, "hostdev") == NULL, "host device kept: %s", out);
  CHECK (strstr (out, "/state/run-abc123/web1.log") != NULL, "%s", out);
  CHECK (strstr (out, "4555") == NULL && count (out, "type=\"pty\"") == 1,
         "tcp serial: %s", out);
  CHECK (strstr (out, "/run/web1.agent") == NULL, "socket path: %s", out);
  CHECK (strstr (out, "org.qemu.guest_agent.0") != NULL, "agent: %s", out);
  CHECK (strstr (out, "5901") == NULL && strstr (out, "autoport=\"yes\""),
         "graphics: %s", out);
  free (out);
  CHECK (domain_xml_isolate ("<network/>", "n", "/d") == NULL, "not a domain");
  return 0;
}
