/* A restored VM made safe to boot beside its original (restore-test):
 * every NIC on an isolated network, no device of the host's handed to
 * it, nothing it writes outside a directory of its own.  Pure libxml2. */
#ifndef VMB_DOMAIN_ISOLATE_H
#define VMB_DOMAIN_ISOLATE_H

/* Returns the new XML (malloc'd) or NULL with the error set:
 *   - every <interface> becomes type='network' on NETWORK (virtualport,
 *     vlan, bandwidth and target dropped: they name the host's setup);
 *     a passed-through NIC (type='hostdev') and every <hostdev> and
 *     <redirdev> are removed: the original holds them;
 *   - serial, console, parallel and channel devices writing to a file
 *     write into DIR; a TCP/UDP one (a port the original may hold)
 *     becomes a pty; a unix socket loses its path (libvirt makes one);
 *   - graphics take any free port (autoport). */
char *domain_xml_isolate (const char *xml, const char *network,
                          const char *dir);

#endif
