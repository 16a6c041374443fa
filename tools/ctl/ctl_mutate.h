/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_mutate.h — the mutating RPC methods (docs/rpc.md) as pure functions
 * from one configuration document to the next.
 *
 * Design
 * ------
 * vesperd keeps its desired state as a JSON document.  A mutating request
 * never edits that document in place: ctl_mutate() deep-copies it, applies
 * the method to the copy, validates the whole result with the same parser
 * that guards start-up (ctl_config_parse) and only then hands the new
 * document back.  vesperd applies it to the running switch as a transaction
 * and persists it (ctl_store_save); if either fails it simply drops the new
 * document.  So "any error leaves the running state and the stored document
 * unchanged" holds by construction, and there is exactly one place where
 * configuration rules live.
 *
 * Methods: switch.add, switch.del, switch.set, port.add, port.del,
 * port.set, fdb.add, fdb.del (static entries only), vm.add, vm.del,
 * vm.nic.add, vm.nic.del, vm.nic.set.
 *   switch.add  creates the switch and, in the same document, its uplink
 *               port `<name>.uplink` (external: `uplink` ifname or
 *               `uplink_devargs`) and its host vNIC (internal, or external
 *               with management_os: a port of class internal named and
 *               TAP-named `host_ifname`, default the switch name for
 *               internal switches and `<name>-host` otherwise).
 *   switch.del  refuses while dpdk ports or VM NICs are attached; removes
 *               the switch, its uplink and host vNIC ports and its static
 *               FDB entries.
 *   port.del    refuses uplink and host vNIC ports (they go with their
 *               switch) and VM NIC ports (vm.nic.del); removes the static
 *               FDB entries naming the port.
 *   port.set    replaces `vlan` whole and/or sets `learn_limit` (of a VM
 *               NIC's port too: the NIC object is edited); for a host vNIC
 *               (class internal) only, replaces `addresses` whole ([]
 *               removes them all) and/or sets `mtu`.
 *   vm.add      {name}: a VM with no NIC.
 *   vm.del      removes the VM, its NICs and the static entries naming
 *               them; result {"removed_ports":[..],"removed_fdb_static":N}.
 *   vm.nic.add  {vm, name?, switch, type, mac?, vlan?, learn_limit?}: type
 *               "synthetic" or "legacy" (an emulated 21140A); name
 *               defaults to the first free "nicN"; mac defaults to
 *               ctl_vm_nic_mac(vm, name, salt) with the first salt whose
 *               address no other NIC uses, and is stored; result
 *               {"name","port":"VM.NIC","mac"}.
 *   vm.nic.del  {vm, name}: removes the NIC and the static entries naming
 *               its port.
 *   vm.nic.set  {vm, name, connected?, mac_spoofing?} (one at least):
 *               connects (true) or disconnects (false) the NIC, Hyper-V's
 *               Connect-/Disconnect-VMNetworkAdapter, and allows or
 *               forbids source MACs other than the NIC's
 *               (MacAddressSpoofing); writes the NIC's `connected`,
 *               `mac_spoofing`.
 *   fdb.del     returns CTL_RPC_NOT_FOUND when no static entry matches, so
 *               that vesperd can go on to delete a learned entry.
 * New objects are written in canonical form: every field explicit (the
 * vlan object as ctl_vlan_to_json makes it, MACs in lower case).
 *
 * Error classes (struct ctl_rpc_err.code):
 *   -32601  not a mutating method;
 *   -32602  a parameter is missing, of the wrong type, out of range,
 *           unknown, or a value the document parser refuses;
 *   -32001  a switch, port, VM, NIC or static entry named does not exist;
 *   -32002  the name, devargs device, ifname, static entry or NIC MAC is
 *           taken;
 *   -32003  the result breaks a configuration rule (membership, VLAN
 *           membership of a static entry, learn_limit above fdb_max, size
 *           limits, an IPv6 address on a host vNIC whose mtu is below
 *           1280, deleting an uplink / host vNIC / a switch in use);
 *   -32004  the current document is itself invalid, or out of memory.
 *
 * Thread-safety: pure; `doc` is only read and may be shared with readers.
 */
#ifndef CTL_MUTATE_H
#define CTL_MUTATE_H

#include <stdbool.h>

#include <jansson.h>

#include "tools/ctl/ctl_jsonrpc.h"

/* True for the thirteen methods above. */
bool ctl_method_is_mutating(const char *method);

/* Applies `method` with `params` (an object, or NULL for none) to a copy of
 * `doc`.  Returns 0 with *newdoc (the validated new document) and *result
 * (the RPC result object, {"ok":true,...}), both new references.  Returns
 * -EINVAL or -ENOMEM with `e` filled and *newdoc = *result = NULL; `doc` is
 * never modified. */
int ctl_mutate(const json_t *doc, const char *method, json_t *params,
               json_t **newdoc, json_t **result, struct ctl_rpc_err *e);

#endif /* CTL_MUTATE_H */
