/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vesperd.h — the daemon's shared state (prefix vd_).
 *
 * vesperd is one process: EAL worker lcores run the datapath (vswitch/),
 * and the main lcore runs the control thread — a single epoll loop serving
 * the JSON-RPC socket, a netlink link monitor and a 100 ms timer.  Every
 * function in tools/vesperd runs on that control thread; nothing here is
 * shared with the lcores except through vswitch's RCU-published snapshots.
 *
 * State: `doc` is the committed desired-state document (the same bytes that
 * are on disk), `cfg` its parsed form, `ports[i]` the open vswitch port
 * of cfg->ports[i] (VM NICs included: class synthetic, synth.c, and class
 * legacy, legacy.c), and `vms` the VM partitions (vm.h).  vd_apply() moves all of
 * them to a new document as one transaction (see apply.c).
 */
#ifndef VD_VESPERD_H
#define VD_VESPERD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_jsonrpc.h"
#include "tools/vesperd/vm.h"
#include "vswitch/vswitch.h"

#define VD_DEFAULT_CONFIG "/var/lib/vesper/config.json"
#define VD_DEFAULT_SOCKET "/run/vesper/vesperd.sock"
/* Host-wide, whatever the socket: every vesperd claims the kernel NICs it
 * binds here (vsw_params.nic_claim_dir), so two never bind one NIC. */
#define VD_NIC_CLAIM_PARENT "/run/vesper"
#define VD_NIC_CLAIM_DIR VD_NIC_CLAIM_PARENT "/nic-claims"
#define VD_VERSION "0.1.0"
#define VD_ABSENT_MSG VSA_ERRMSG_SIZE /* the whole of the open error (em.msg) */
#define VD_RETRY_S 5       /* absent port devices are tried this often */
/* The most output a control client may have unread: an answer larger than
 * this is replaced by an error (server.c) */
#define VD_MAX_OUTPUT (64u << 20)

struct vd {
    struct vsw *vsw;
    json_t *doc;
    struct ctl_config *cfg;
    struct vsw_port **ports;      /* [cfg->n_ports] */
    /* [cfg->n_ports]: why ports[i] has no device ("" if it has one): a
     * device that could not be opened when vesperd started (a NIC not
     * there yet); vd_apply_retry() tries those again. */
    char (*absent)[VD_ABSENT_MSG];
    uint32_t n_absent;
    struct vd_vm_host *vms;       /* VM partitions (vm.c) */
    const char *config_path;      /* as given: named in messages */
    const char *config_file;      /* config_path resolved when locked
                                   * (ctl_store_lock): the file saved */
    const char *socket_path;
    const char *vm_dir;
    bool hugepages;
    char lcores[160]; /* the EAL -l list (vd_cores.eal_list) */
    int epfd;
    /* Captures and the control connection that started each (rpc.c): a
     * capture ends when that connection closes.  id 0: entry free. */
    struct vd_capture_owner {
        int id;
        uint64_t conn;
    } capture_owners[VSW_MAX_CAPTURES];
    uint64_t rpc_conn; /* the connection of the request being handled */
};

/* apply.c: makes `newdoc` the running and stored configuration, or changes
 * nothing.  Takes a reference on success.  Returns 0 or fills e.  A port
 * whose device was absent stays so (it is no reason to refuse a change);
 * every other new port must open. */
int vd_apply(struct vd *d, json_t *newdoc, bool persist, struct ctl_rpc_err *e);
/* The same for the configuration replayed at start: a port whose device
 * cannot be opened (other than for want of memory) is left without one,
 * logged and listed in d->absent, and the rest runs.  Only the default
 * configuration (no file yet) is saved, and a failure to save it is
 * logged, not a refusal: a file that is there is not written again, so a
 * full disk does not keep a valid configuration from
 * running. */
int vd_apply_start(struct vd *d, json_t *doc, bool is_default,
                   struct ctl_rpc_err *e);
/* Tries again to open the devices of absent ports (vd_apply_start's rule);
 * called every VD_RETRY_S seconds, a no-op when none is absent. */
void vd_apply_retry(struct vd *d);
/* Index of the port named `name` in d->cfg, or -1. */
int vd_port_index(const struct vd *d, const char *name);

/* synth.c: the switch ports of VM NICs (class synthetic). */
int vd_synth_init(struct vd *d);
int vd_synth_open(struct vd *d, const struct ctl_port *cp,
                  struct vsw_port **out, struct vsa_errmsg *em);
/* Closes `port` if it is a synthetic NIC port; false if it is not one. */
bool vd_synth_close(struct vd *d, struct vsw_port *port);
void vd_synth_tick(struct vd *d);
/* Forgets the registry after vsw_destroy() closed the ports (shutdown). */
void vd_synth_forget(void);
/* The port's VSP counters (new reference) or NULL. */
json_t *vd_synth_stats_json(const char *port_name);
/* Connects or disconnects `port` if it is a synthetic NIC port
 * (netvsp_port_set_connected) and sets its MAC spoofing
 * (netvsp_port_set_mac_spoofing); false if it is not one. */
bool vd_synth_set_connected(struct vsw_port *port, bool connected,
                            bool mac_spoofing);

/* legacy.c: the switch ports of legacy VM NICs (class legacy, an emulated
 * DEC 21140A each), wired to the VM partitions' device hooks. */
int vd_legacy_init(struct vd *d);
int vd_legacy_open(struct vd *d, const struct ctl_port *cp,
                   struct vsw_port **out, struct vsa_errmsg *em);
/* Closes `port` if it is a legacy NIC port; false if it is not one. */
bool vd_legacy_close(struct vd *d, struct vsw_port *port);
void vd_legacy_tick(struct vd *d);
/* Forgets the registry after vsw_destroy() closed the ports (shutdown). */
void vd_legacy_forget(void);
/* The port's device state and counters (new reference) or NULL. */
json_t *vd_legacy_stats_json(const char *port_name);
/* Connects or disconnects `port` if it is a legacy NIC port
 * (tulip_port_set_connected) and sets its MAC spoofing
 * (tulip_port_set_mac_spoofing); false if it is not one. */
bool vd_legacy_set_connected(struct vsw_port *port, bool connected,
                             bool mac_spoofing);

/* rpc.c: handles one request that came on control connection `conn`
 * (server.c numbers them); returns the response (NULL for a
 * notification). */
json_t *vd_rpc_handle(struct vd *d, const struct ctl_rpc_req *req,
                      uint64_t conn);
/* Control connection `conn` closed: the captures it started end and are
 * forgotten (one INFO line for each that was still running). */
void vd_rpc_conn_closed(struct vd *d, uint64_t conn);

/* server.c */
int vd_server_open(struct vd *d, struct vsa_errmsg *em);
void vd_server_event(struct vd *d, int fd, uint32_t events);
bool vd_server_owns(const struct vd *d, int fd);
void vd_server_close(struct vd *d);

/* nlmon.c: netlink link events → vsw_kernel_link_event */
int vd_nlmon_open(struct vd *d);
int vd_nlmon_fd(void);
void vd_nlmon_event(struct vd *d);
/* Times the receive buffer overflowed (events lost, then a resync);
 * daemon.info's netlink_overflows. */
uint64_t vd_nlmon_overflows(void);
void vd_nlmon_close(void);

#endif /* VD_VESPERD_H */
