/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_config.h — the configuration document (docs/config.md) parsed and
 * validated into plain C values.
 *
 * Design
 * ------
 * vesperd's desired state is one JSON document.  ctl_config_parse() is the
 * single gate every document passes before it is used: the stored file at
 * start-up (ctl_store_load), every document a mutating RPC builds
 * (ctl_mutate) and every document about to be written (ctl_store_save).
 * Nothing downstream re-checks what this parser accepted, so it checks all
 * of it, in document order, and stops at the first fault:
 *
 *   shape      unknown keys anywhere are errors (a typo must not be
 *              silently ignored); every field has exactly one JSON type
 *              (integers are JSON integers, never reals; strings may not
 *              hold NUL bytes); every value is inside its documented range.
 *   references a port or VM NIC names an existing switch; a static FDB
 *              entry names an existing switch and port (a VM NIC's port
 *              `VM.NIC` included).
 *   uniqueness switch names, port names (VM NIC ports included), devargs
 *              device names (the part before the first ','), ifnames,
 *              addresses within a port, (switch, vlan, mac) of static
 *              entries, VM names, NIC names within a VM, and NIC MACs
 *              host-wide.
 *   rules      switch membership (external: exactly one uplink, an internal
 *              port only with management_os and then exactly one; internal:
 *              exactly one internal port and no uplink; private: neither),
 *              learn_limit <= the switch's fdb_max, a static entry's port is
 *              on that switch and a member of the entry's VLAN (compiled
 *              with vlan_port_compile), static MACs are unicast, non-zero.
 *   limits     at most CTL_MAX_SWITCHES switches, CTL_MAX_PORTS ports
 *              (entries of `ports` and VM NICs together: each is a switch
 *              port), CTL_MAX_VMS VMs with CTL_MAX_VM_NICS NICs each,
 *              CTL_MAX_FDB_STATIC static entries, CTL_MAX_ADDRESSES
 *              addresses per port.  Work is O(ports^2) for the pairwise
 *              port and MAC checks (1024^2 compares at most) and
 *              O(n log n) for static entries, so a hostile document of the
 *              maximum size is still checked in milliseconds.
 *
 * Top level: `version` (integer, must be CTL_CONFIG_VERSION) is required;
 * `switches`, `ports`, `vms` and `fdb_static` are arrays and default to
 * empty, so a host with no switch at all is a valid (if useless) state.
 *
 * VMs (child partitions): `vms[]` holds {name, nics[]}; each NIC
 * {name, type, switch, mac, vlan, learn_limit, connected, mac_spoofing}
 * is a switch port named
 * `VM.NIC` (class CTL_PORT_SYNTHETIC or CTL_PORT_LEGACY, after the NIC's
 * type; ctl_port_is_vm_nic() tells).  In the parsed struct those ports
 * FOLLOW the entries of the document's `ports` array in cfg->ports
 * (ports[0 .. n_doc_ports) are `ports[]`, then each VM's NICs in document
 * order, VM by VM), so everything that deals with ports (uniqueness, static
 * FDB entries, learn limits, the switch's port list) treats them alike.
 * NIC `type` is "synthetic" (a VMBus network adapter) or "legacy" (an
 * emulated DEC 21140A; its device index is its position among the VM's
 * legacy NICs, see tools/vesperd/vm.h); both are switch ports with the
 * same VLAN and learn_limit settings.  `connected` (boolean, default
 * true) is Hyper-V's Connect-/Disconnect-VMNetworkAdapter: a disconnected
 * NIC keeps its port, but its link is down (the guest sees media
 * disconnect) and no frame passes either way.  `mac_spoofing` (boolean,
 * default false) is Hyper-V's MacAddressSpoofing: off, a frame the guest
 * sends with a source MAC other than the NIC's is dropped.  A NIC
 * without `mac` gets ctl_vm_nic_mac(vm, nic, 0), a stable locally
 * administered unicast address (vm.nic.add stores the address it picks,
 * so that a later change of the derivation cannot renumber a NIC).  Class rules
 * for ports: `dpdk` needs `devargs`; `uplink` needs exactly one of
 * `devargs` and `ifname`; `internal` needs `ifname`; `addresses` and `mtu`
 * are allowed on `internal` ports only.
 *
 * Every error message names the object and the field, for example
 *     ports[2] ("p1"): vlan.vid: 5000 is outside 1..4094
 * (the quoted name is shown once the object's name is known to be valid).
 *
 * Ownership: the parsed struct owns all its memory (allocated through the
 * ctl_alloc hook) and keeps no reference to the JSON document.  Indexes
 * (switch_idx, port_idx) refer to the arrays of the same struct, which keep
 * the document's order.
 *
 * Thread-safety: pure functions over caller-owned values; a parsed
 * configuration is immutable and may be read by several threads.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "vlan/vlan.h"

#define CTL_CONFIG_VERSION 1

#define CTL_NAME_MAX 32     /* switch, port, VM and NIC names, incl. NUL */
/* Port names: a configured port's name fits CTL_NAME_MAX, a VM NIC's port
 * is `VM.NIC` (31 + 1 + 31 characters). */
#define CTL_PORT_NAME_MAX (2 * CTL_NAME_MAX)
#define CTL_IFNAME_MAX 16   /* kernel interface names, including NUL */
#define CTL_DEVARGS_MAX 512 /* devargs, including NUL */

#define CTL_MAX_SWITCHES 64
#define CTL_MAX_PORTS 1024
#define CTL_MAX_FDB_STATIC 65536
#define CTL_MAX_ADDRESSES 64 /* per internal port */
#define CTL_MAX_VMS 256
#define CTL_MAX_VM_NICS 8    /* per VM */
#define CTL_NO_VM UINT32_MAX

#define CTL_FDB_MAX_MIN 16
#define CTL_FDB_MAX_MAX 1048576
#define CTL_FDB_MAX_DEFAULT 8192
#define CTL_AGING_MIN 10
#define CTL_AGING_MAX 1000000
#define CTL_AGING_DEFAULT 300
#define CTL_MTU_MIN 68
/* A host vNIC's MTU at most: the switch forwards frames of an MTU of 1500
 * at most (vswitch.h VSW_PORT_MTU_MAX: its packet buffers hold 2048 bytes
 * and no device takes jumbo frames), so a larger one would let the host
 * send frames the switch only drops. */
#define CTL_MTU_MAX 1500
#define CTL_MTU_DEFAULT 1500

enum ctl_switch_type {
    CTL_SWITCH_EXTERNAL,
    CTL_SWITCH_INTERNAL,
    CTL_SWITCH_PRIVATE,
};

enum ctl_port_class {
    CTL_PORT_DPDK,
    CTL_PORT_INTERNAL,
    CTL_PORT_UPLINK,
    CTL_PORT_SYNTHETIC, /* a VM's synthetic NIC (vms[].nics[]) */
    CTL_PORT_LEGACY,    /* a VM's legacy NIC (vms[].nics[]) */
};

enum ctl_nic_type {
    CTL_NIC_SYNTHETIC, /* VMBus network device (NVSP/RNDIS) */
    CTL_NIC_LEGACY,    /* emulated DEC 21140A (PCI, trapped I/O) */
};

struct ctl_switch {
    char name[CTL_NAME_MAX];
    enum ctl_switch_type type;
    uint32_t fdb_max;       /* most FDB entries (16..1048576) */
    uint32_t aging_s;       /* idle seconds before a learned entry expires */
    bool management_os;     /* external only: the host keeps a vNIC */
};

struct ctl_port {
    char name[CTL_PORT_NAME_MAX]; /* a VM NIC's port: "VM.NIC" */
    uint32_t switch_idx;    /* index into ctl_config.switches */
    enum ctl_port_class cls;
    char devargs[CTL_DEVARGS_MAX]; /* "" when absent */
    char ifname[CTL_IFNAME_MAX];   /* "" when absent */
    char **addresses;       /* internal: CIDRs as written; NULL if none */
    uint32_t n_addresses;
    uint32_t mtu;           /* internal: 68..1500; 0 for other classes */
    struct vlan_port_mode vlan;
    uint32_t learn_limit;   /* 0 = no per-port limit */
    /* VM NICs only (classes synthetic and legacy; CTL_NO_VM / "" / zero
     * otherwise): */
    uint32_t vm_idx;        /* index into ctl_config.vms */
    uint32_t nic_idx;       /* position in that VM's `nics` array */
    char nic[CTL_NAME_MAX]; /* the NIC's name */
    enum ctl_nic_type nic_type;
    struct vsa_mac mac;     /* configured or derived, unicast, non-zero */
    bool connected;         /* `connected` (default true): false = the
                             * NIC is disconnected (link down in the guest,
                             * no frames either way) */
    bool mac_spoofing;      /* `mac_spoofing` (default false): true = the
                             * guest may send with any source MAC */
};

struct ctl_vm {
    char name[CTL_NAME_MAX];
    uint32_t first_port;    /* its NICs: ports[first_port, +n_nics) */
    uint32_t n_nics;
};

struct ctl_fdb_static {
    uint32_t switch_idx;
    uint16_t vid;
    struct vsa_mac mac;     /* unicast, non-zero */
    uint32_t port_idx;
};

struct ctl_config {
    uint32_t version;
    struct ctl_switch *switches;
    uint32_t n_switches;
    struct ctl_port *ports;  /* `ports[]`, then the VMs' NICs */
    uint32_t n_ports;        /* both kinds */
    uint32_t n_doc_ports;    /* entries of the document's `ports` array */
    struct ctl_vm *vms;
    uint32_t n_vms;
    struct ctl_fdb_static *fdb_static;
    uint32_t n_fdb_static;
};

/*
 * Parsing
 */

/* Parses and validates a whole document.  On success stores a new
 * configuration in *out (free with ctl_config_free) and returns 0.  Returns
 * -EINVAL (the document is invalid; `em` names the object and field) or
 * -ENOMEM; *out is left untouched on failure. */
int ctl_config_parse(const json_t *doc, struct ctl_config **out,
                     struct vsa_errmsg *em);

/* Frees a parsed configuration; NULL is a no-op. */
void ctl_config_free(struct ctl_config *cfg);

/* The embedded default document (one internal switch "default" with its
 * host vNIC "vesper0").  Returns a new reference, NULL on allocation
 * failure. */
json_t *ctl_default_config(void);

/*
 * VLAN objects (shared with the RPC layer)
 */

/* Parses a `vlan` object ({"mode":"access","vid":V} or {"mode":"trunk",
 * "allowed":"1-10,20","native":N,"native_tagged":B}) into *out.  Returns 0
 * or -EINVAL with a message naming the field ("vlan.vid: 5000 is outside
 * 1..4094"); *out is written only on success. */
int ctl_vlan_from_json(const json_t *v, struct vlan_port_mode *out,
                       struct vsa_errmsg *em);

/* The canonical JSON form of a (valid) mode: access → {"mode","vid"};
 * trunk → {"mode","allowed","native","native_tagged"} with `allowed` as
 * ranges.  Returns a new reference, NULL on allocation failure. */
json_t *ctl_vlan_to_json(const struct vlan_port_mode *m);

/*
 * Names and lookups
 */

const char *ctl_switch_type_name(enum ctl_switch_type type);
const char *ctl_port_class_name(enum ctl_port_class cls);
const char *ctl_nic_type_name(enum ctl_nic_type type);

/* True if port p is a VM NIC (an entry of vms[].nics[]), of any type. */
static inline bool ctl_port_is_vm_nic(const struct ctl_port *p)
{
    return p->vm_idx != CTL_NO_VM;
}

/* Index of the switch / port / VM with that name, or -1. */
int ctl_switch_find(const struct ctl_config *cfg, const char *name);
int ctl_port_find(const struct ctl_config *cfg, const char *name);
int ctl_vm_find(const struct ctl_config *cfg, const char *name);
/* Port index of NIC `nic` of VM `vm_idx`, or -1. */
int ctl_vm_nic_find(const struct ctl_config *cfg, uint32_t vm_idx,
                    const char *nic);

/*
 * VM NIC identities
 */

/* A 64-bit hash of (vm, nic, salt), the same on every host and run (FNV-1a
 * with a final avalanche).  Used to derive stable NIC MACs here and the
 * VMBus instance GUIDs in vesperd. */
uint64_t ctl_vm_nic_hash(const char *vm, const char *nic, uint32_t salt);

/* The derived MAC of NIC `nic` of VM `vm`: locally administered unicast
 * (first byte xxxxxx10), 46 bits of ctl_vm_nic_hash(vm, nic, salt).  salt
 * 0 is the default; vm.nic.add tries 1, 2, ... on a collision. */
void ctl_vm_nic_mac(const char *vm, const char *nic, uint32_t salt,
                    struct vsa_mac *out);

/* True if `s` is a valid switch or port name: 1..31 chars of
 * [A-Za-z0-9_.-]. */
bool ctl_name_is_valid(const char *s);

/* True if `s` is a valid interface name: 1..15 chars of [A-Za-z0-9_.-],
 * not "." or "..". */
bool ctl_ifname_is_valid(const char *s);

#endif /* CTL_CONFIG_H */
