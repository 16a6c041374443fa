/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vd_vm.c — vesperd's VM partitions (tools/vesperd/vm.c) driven by
 * real guests (hv/'s guest API) over real partition sockets in a
 * temporary directory.
 *
 * Objective:
 *  * a configured VM gets its socket (mode 0660, directory created); a
 *    guest connects, negotiates the VMBus version, requests offers and sees
 *    one channel per synthetic NIC with the netvsc class GUID and the
 *    name-derived instance GUID; it opens the channel over a ring GPADL,
 *    and the packets it writes are consumed and counted as unhandled;
 *    vm.show reports all of it, each channel message counted once
 *    (regression: the partition socket counted msgs_in and msgs_out as
 *    well as the VMBus host, and vm.show added the two: 8 and 10 for the
 *    guest's 4 messages and the host's 5);
 *  * a NIC added to the running VM is offered live, a NIC removed is
 *    rescinded live (its open channel closed first);
 *  * a guest disconnecting resets the partition, a new guest reconnects
 *    without any reconfiguration; a second guest is refused; 30
 *    connect/open/vanish cycles leak no file descriptor;
 *  * a hostile guest (garbage frames and channel messages) is counted and
 *    disconnected; a guest corrupting its ring gets only that channel
 *    closed; another VM's guest keeps working throughout;
 *  * a VM whose socket cannot be created fails the prepare cleanly (no
 *    socket left, nothing changed); removing a VM closes its socket; a new
 *    host (a vesperd restart) recreates the sockets from the same
 *    configuration, replacing stale files;
 *  * the synthetic port glue hooks (vd_vm_nic_ops) are called on the
 *    control thread with the documented order, may refuse an open, and
 *    get signals;
 *  * a guest that clears O_NONBLOCK on its signal eventfd cannot make the
 *    host block (regression test for hv_chan_ack_signal's plain read());
 *  * a signal storm (TESTS.md #27: signals with nothing in the ring) puts
 *    the channel's signals on hold for growing backoffs, and work that
 *    arrives meanwhile is served when the backoff ends;
 *  * extra fds a glue registers are served, and deleting one from inside
 *    a callback of the same batch is safe;
 *  * legacy NICs are emulated PCI devices, not VMBus offers: they get
 *    device indexes 0..n-1 in the VM's NIC order counting legacy NICs
 *    only; trapped configuration and BAR accesses reach the device with
 *    that index through the vd_vm_dev_ops hooks (on the control thread),
 *    an index without a device reads all-ones and drops writes, a refused
 *    access (bad size) never reaches the glue; accesses are counted per
 *    device and per VM; the glue raises the guest's interrupt line = its
 *    index; devices are attached when the guest connects or the NIC is
 *    added live, detached when it is removed (the legacy NICs after it
 *    renumbered at once) or the guest goes; without a glue the devices
 *    read as absent and the accesses are counted unhandled;
 *  * log lines per VM (bug: one bucket for every VM's connect and
 *    disconnect lines, so a guest reconnecting in a loop hid every other
 *    VM's): vm1's guest connects and disconnects 20 times and gets
 *    VD_VM_LOG_INFO_BURST lines, vm2's connect is still logged, and hv/'s
 *    lines about vm2 name it as vm.show does.
 * The host (vd_vm_run) runs in the main thread; each guest in a helper
 * thread, as a separate process would.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "tests/proc_self.h"
#include "tests/unit/tools/tools_test.h"
#include "tools/vesperd/vm.h"
#include "tests/unit/common/logcap.h"

#define GPA 0x10000000ull
#define TMO 5000

static char dir[64], vm_dir[128];

/* ---- host side ------------------------------------------------------------ */

static struct vd_vm_host *new_host(void)
{
    struct vd_vm_host *h = NULL;
    struct vsa_errmsg em = { "" };

    if (vd_vm_host_create(vm_dir, &h, &em) != 0)
        fail_msg("vd_vm_host_create: %s", em.msg);
    return h;
}

/* Parses and applies a document (prepare + commit). */
static void apply(struct vd_vm_host *h, const char *text)
{
    struct ctl_config *cfg = NULL;
    struct vd_vm_txn *txn = NULL;
    struct vsa_errmsg em = { "" };
    json_t *doc = jq(text);

    if (ctl_config_parse(doc, &cfg, &em) != 0)
        fail_msg("config: %s", em.msg);
    if (vd_vm_prepare(h, cfg, &txn, &em) != 0)
        fail_msg("vd_vm_prepare: %s", em.msg);
    vd_vm_commit(h, txn);
    ctl_config_free(cfg);
    json_decref(doc);
}

#define SW "'switches':[{'name':'lab','type':'private'}]"
#define NIC(n) "{'name':'" n "','type':'synthetic','switch':'lab'}"
#define LNIC(n) "{'name':'" n "','type':'legacy','switch':'lab'}"
#define DOC_VMS(vms) "{'version':1," SW ",'vms':[" vms "]}"

static void sock_path(const char *vm, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.sock", vm_dir, vm);
}

/* vm.show of `vm` (fails the test if the VM does not exist). */
static json_t *show(struct vd_vm_host *h, const char *vm)
{
    json_t *r = NULL;

    assert_int_equal(vd_vm_show_json(h, vm, &r), 0);
    return r;
}

static const char *show_str(struct vd_vm_host *h, const char *vm,
                            const char *key, char *buf, size_t size)
{
    json_t *r = show(h, vm);

    snprintf(buf, size, "%s",
             json_string_value(json_object_get(r, key)) ?: "(none)");
    json_decref(r);
    return buf;
}

static json_int_t show_int(struct vd_vm_host *h, const char *vm,
                           const char *key)
{
    json_t *r = show(h, vm);
    json_int_t v = json_integer_value(json_object_get(r, key));

    json_decref(r);
    return v;
}

/* The channels[] entry of NIC `nic` (new reference), NULL if none. */
static json_t *show_chan(struct vd_vm_host *h, const char *vm,
                         const char *nic)
{
    json_t *r = show(h, vm), *c, *found = NULL;
    size_t i;

    json_array_foreach(json_object_get(r, "channels"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "nic")), nic))
            found = json_incref(c);
    json_decref(r);
    return found;
}

static bool connected(struct vd_vm_host *h, const char *vm)
{
    return hv_part_host_connected(vd_vm_part(h, vm));
}

/* ---- guest scripts (one thread each) --------------------------------------- */

struct script {
    int (*fn)(struct script *s);
    char path[160];
    atomic_int phase;    /* script-defined progress */
    atomic_int release;  /* host lets the script go on to this phase */
    atomic_bool done;
    int rc;
    struct hv_part_guest *pg;    /* closed by script_main */
    struct hv_part_guest_chan ch; /* rings freed by script_main */
    uint32_t relid;
    int arg;
    char nic[32];        /* the NIC guest_simple opens ("eth0") */
    char note[128];      /* what went wrong */
};

static void *script_main(void *arg)
{
    struct script *s = arg;

    s->rc = s->fn(s);
    /* Whatever path the script took: its rings and connection go. */
    hv_ring_destroy(s->ch.out);
    hv_ring_destroy(s->ch.in);
    s->ch.out = s->ch.in = NULL;
    if (s->pg)
        hv_part_guest_close(s->pg);
    s->pg = NULL;
    atomic_store(&s->done, true);
    return NULL;
}

static void start_nic(struct script *s, pthread_t *th, const char *vm,
                      int (*fn)(struct script *), int arg, const char *nic)
{
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->arg = arg;
    snprintf(s->nic, sizeof(s->nic), "%s", nic);
    sock_path(vm, s->path, sizeof(s->path));
    assert_int_equal(pthread_create(th, NULL, script_main, s), 0);
}

static void start(struct script *s, pthread_t *th, const char *vm,
                  int (*fn)(struct script *), int arg)
{
    start_nic(s, th, vm, fn, arg, "eth0");
}

static void finish(struct vd_vm_host *h, struct script *s, pthread_t th);

/* The host pumps until cond(arg) holds (or the script ended). */
#define PUMP_UNTIL(h, cond)                                                   \
    do {                                                                      \
        for (int i_ = 0; i_ < 20000 && !(cond); i_++)                        \
            vd_vm_run((h), 1);                                                \
        if (!(cond))                                                          \
            fail_msg("timed out waiting for: %s", #cond);                     \
    } while (0)

static void pump_phase(struct vd_vm_host *h, struct script *s, int phase)
{
    for (int i = 0; i < 20000 && atomic_load(&s->phase) < phase &&
                    !atomic_load(&s->done); i++)
        vd_vm_run(h, 1);
    if (atomic_load(&s->phase) < phase)
        fail_msg("guest stopped before phase %d (rc %d: %s)", phase, s->rc,
                 s->note);
}

static void finish(struct vd_vm_host *h, struct script *s, pthread_t th)
{
    atomic_store(&s->release, 1000);
    PUMP_UNTIL(h, atomic_load(&s->done));
    pthread_join(th, NULL);
    if (s->rc != 0)
        fail_msg("guest failed: rc %d: %s", s->rc, s->note);
}

/* Waits (guest side) until the host lets us reach `phase`, pumping our
 * socket meanwhile so that host messages (offers, rescinds) are seen. */
static int wait_release(struct script *s, int phase)
{
    while (atomic_load(&s->release) < phase) {
        int rc = hv_part_guest_poll(s->pg, 2);

        if (rc && rc != -ETIMEDOUT)
            return rc;
    }
    return 0;
}

static int fail_note(struct script *s, int rc, const char *what)
{
    snprintf(s->note, sizeof(s->note), "%s: %d", what, rc);
    return rc ? rc : -1;
}

/* relid of the live offer whose instance GUID is that of (vm, nic). */
static uint32_t find_nic(struct hv_part_guest *pg, const char *vm,
                         const char *nic)
{
    struct hv_vmbus_guest *g = hv_part_guest_vmbus(pg);
    struct hv_guid want;

    vd_vm_instance_guid(vm, nic, &want);
    for (unsigned i = 0; i < hv_vmbus_guest_offer_count(g); i++) {
        const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(g, i);

        if (!o->rescinded && hv_guid_equal(&o->offer.if_type,
                                           &hv_guid_netvsc) &&
            hv_guid_equal(&o->offer.if_instance, &want))
            return o->offer.child_relid;
    }
    return 0;
}

static bool offer_rescinded(struct hv_part_guest *pg, uint32_t relid)
{
    struct hv_vmbus_guest *g = hv_part_guest_vmbus(pg);

    for (unsigned i = 0; i < hv_vmbus_guest_offer_count(g); i++) {
        const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(g, i);

        if (o->offer.child_relid == relid && o->rescinded)
            return true;
    }
    return false;
}

static int send_pkts(struct hv_part_guest_chan *ch, unsigned n)
{
    bool sig, any = false;
    uint64_t one = 1;

    for (unsigned i = 0; i < n; i++) {
        int rc = hv_ring_write_inband(ch->out, 0, i, "vesper-test-payload",
                                      20, &sig);
        if (rc)
            return rc;
        any |= sig;
    }
    if (any && write(ch->to_host_fd, &one, 8) != 8)
        return -errno;
    return 0;
}

/* Connect, memory, handshake, open NIC `eth0` of vm1, 3 packets (phase 1);
 * then wait for the host to add eth1 (seen as a late offer: phase 2) and
 * remove eth0 (rescind: phase 3); then vanish. */
static int guest_lifecycle(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    struct hv_vmbus_guest *g;
    uint32_t relid1;
    int rc;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0)
        return fail_note(s, rc, "connect");
    g = hv_part_guest_vmbus(s->pg);
    if ((rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "memory/handshake");
    if (hv_vmbus_guest_version(g) != HV_VMBUS_VERSION_WIN10_V5_3)
        return fail_note(s, (int)hv_vmbus_guest_version(g), "version");
    if (hv_vmbus_guest_offer_count(g) != 1)
        return fail_note(s, (int)hv_vmbus_guest_offer_count(g), "offers");
    s->relid = find_nic(s->pg, "vm1", "eth0");
    if (!s->relid)
        return fail_note(s, 0, "no eth0 offer");
    if ((rc = hv_part_guest_open_chan(s->pg, s->relid, 4, ch, TMO)) != 0)
        return fail_note(s, rc, "open");
    if ((rc = send_pkts(ch, 3)) != 0)
        return fail_note(s, rc, "send");
    atomic_store(&s->phase, 1);
    /* live offer of eth1 */
    for (int i = 0; i < 2000 && !(relid1 = find_nic(s->pg, "vm1", "eth1"));
         i++)
        if ((rc = hv_part_guest_poll(s->pg, 5)) && rc != -ETIMEDOUT)
            return fail_note(s, rc, "poll");
    if (!relid1)
        return fail_note(s, 0, "eth1 was not offered live");
    atomic_store(&s->phase, 2);
    /* live rescind of eth0 */
    for (int i = 0; i < 2000 && !offer_rescinded(s->pg, s->relid); i++)
        if ((rc = hv_part_guest_poll(s->pg, 5)) && rc != -ETIMEDOUT)
            return fail_note(s, rc, "poll");
    if (!offer_rescinded(s->pg, s->relid))
        return fail_note(s, 0, "eth0 was not rescinded");
    /* the host closed the channel; the guest lets the relid go */
    if ((rc = hv_vmbus_guest_gpadl_teardown(g, s->relid, ch->ring_gpadl)) ||
        (rc = hv_vmbus_guest_relid_released(g, s->relid)))
        return fail_note(s, rc, "release");
    atomic_store(&s->phase, 3);
    if ((rc = wait_release(s, 4)) != 0)
        return fail_note(s, rc, "wait");
    return 0; /* vanish without UNLOAD: script_main closes the socket */
}

/* Connect + handshake + open s->nic of VM "vm<arg>" (phase 1), send 5
 * packets when released to phase 2 (phase 3), hold until released to 4,
 * then close the channel properly and disconnect. */
static int guest_simple(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    char vm[16];
    int rc;

    snprintf(vm, sizeof(vm), "vm%d", s->arg);
    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0)
        return fail_note(s, rc, "connect");
    if ((rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "memory/handshake");
    s->relid = find_nic(s->pg, vm, s->nic);
    if (!s->relid)
        return fail_note(s, 0, "no offer for the NIC");
    if ((rc = hv_part_guest_open_chan(s->pg, s->relid, 4, ch, TMO)) != 0)
        return fail_note(s, rc, "open");
    atomic_store(&s->phase, 1);
    if ((rc = wait_release(s, 2)) != 0)
        return fail_note(s, rc, "wait");
    if ((rc = send_pkts(ch, 5)) != 0)
        return fail_note(s, rc, "send");
    atomic_store(&s->phase, 3);
    if ((rc = wait_release(s, 4)) != 0)
        return fail_note(s, rc, "wait");
    rc = hv_part_guest_close_chan(s->pg, ch, TMO);
    return rc ? fail_note(s, rc, "close") : 0;
}

static int guest_refused(struct script *s)
{
    struct hv_part_guest *pg;
    int rc = hv_part_guest_connect(s->path, TMO, &pg);

    if (rc == 0) {
        hv_part_guest_close(pg);
        return fail_note(s, 0, "second guest accepted");
    }
    return rc == -EBUSY ? 0 : fail_note(s, rc, "connect");
}

/* ---- tests ------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vd-vm-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* Not created yet: the host makes it on demand. */
    snprintf(vm_dir, sizeof(vm_dir), "%s/run/vm", dir);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_lifecycle(void **state)
{
    struct vd_vm_host *h = new_host();
    char path[160], buf[64], guid[VD_VM_GUID_STRLEN];
    struct hv_guid inst;
    struct script g, g2;
    pthread_t t, t2;
    struct stat st;
    json_t *r, *c;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    sock_path("vm1", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_string_equal(show_str(h, "vm1", "state", buf, sizeof(buf)),
                        "waiting");
    r = vd_vm_list_json(h);
    assert_non_null(r);
    {
        char *s = jdump(r);
        assert_string_equal(s, "{\"vms\":[{\"name\":\"vm1\",\"nics\":1,"
                               "\"state\":\"waiting\"}]}");
        free(s);
    }
    json_decref(r);

    start(&g, &t, "vm1", guest_lifecycle, 0);
    pump_phase(h, &g, 1);
    PUMP_UNTIL(h, vd_vm_nic_unhandled(h, "vm1", "eth0") == 3);
    r = show(h, "vm1");
    assert_string_equal(json_string_value(json_object_get(r, "state")),
                        "connected");
    assert_true(json_is_true(json_object_get(r, "guest_connected")));
    assert_string_equal(json_string_value(json_object_get(r,
                        "vmbus_state")), "ready");
    assert_string_equal(json_string_value(json_object_get(r,
                        "vmbus_version")), "5.3");
    assert_int_equal(json_integer_value(json_object_get(r, "gpadls")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "socket")),
                        path);
    c = json_array_get(json_object_get(r, "channels"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "port")),
                        "vm1.eth0");
    assert_string_equal(json_string_value(json_object_get(c, "state")),
                        "open");
    assert_true(json_is_true(json_object_get(c, "offered")));
    assert_true(json_is_true(json_object_get(c, "opened")));
    assert_string_equal(json_string_value(json_object_get(c, "handler")),
                        "none");
    assert_int_equal(json_integer_value(json_object_get(c,
                     "unhandled_packets")), 3);
    assert_int_equal(json_integer_value(json_object_get(
                     json_object_get(c, "counters"), "pkts_read")), 3);
    /* INITIATE_CONTACT, REQUESTOFFERS, GPADL_HEADER, OPENCHANNEL; and
     * VERSION_RESPONSE, the offer, ALLOFFERS_DELIVERED, GPADL_CREATED,
     * OPENCHANNEL_RESULT */
    assert_int_equal(json_integer_value(json_object_get(
                     json_object_get(r, "counters"), "msgs_in")), 4);
    assert_int_equal(json_integer_value(json_object_get(
                     json_object_get(r, "counters"), "msgs_out")), 5);
    vd_vm_instance_guid("vm1", "eth0", &inst);
    assert_string_equal(json_string_value(json_object_get(c, "instance")),
                        vd_vm_guid_format(&inst, guid));
    assert_int_equal(guid[14], '8'); /* version 8 */
    json_decref(r);

    /* the same guest sees a NIC added live ... */
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "," NIC("eth1")
                     "]}"));
    pump_phase(h, &g, 2);
    c = show_chan(h, "vm1", "eth1");
    assert_string_equal(json_string_value(json_object_get(c, "state")),
                        "offered");
    json_decref(c);
    /* ... and one removed live: its open channel is closed, then
     * rescinded */
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth1") "]}"));
    assert_null(vd_vm_nic_chan(h, "vm1", "eth0"));
    assert_null(show_chan(h, "vm1", "eth0"));
    pump_phase(h, &g, 3);
    PUMP_UNTIL(h, hv_vmbus_host_chan(hv_part_host_vmbus(vd_vm_part(h, "vm1")),
                                     g.relid) == NULL); /* RELID_RELEASED */
    PUMP_UNTIL(h, show_int(h, "vm1", "gpadls") == 0);

    /* a second guest is refused while the first is there */
    start(&g2, &t2, "vm1", guest_refused, 0);
    finish(h, &g2, t2);
    assert_int_equal(show_int(h, "vm1", "refused"), 1);
    assert_true(connected(h, "vm1"));

    /* the guest vanishes: the partition resets and waits */
    finish(h, &g, t);
    PUMP_UNTIL(h, !connected(h, "vm1"));
    assert_string_equal(show_str(h, "vm1", "state", buf, sizeof(buf)),
                        "waiting");
    assert_string_equal(show_str(h, "vm1", "vmbus_state", buf, sizeof(buf)),
                        "disconnected");
    c = show_chan(h, "vm1", "eth1");
    assert_string_equal(json_string_value(json_object_get(c, "state")),
                        "idle");
    assert_false(json_is_true(json_object_get(c, "offered")));
    json_decref(c);

    /* a new guest reconnects, nothing reconfigured: it finds eth1 */
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth1") "]}")); /* no-op */
    start_nic(&g, &t, "vm1", guest_simple, 1, "eth1");
    pump_phase(h, &g, 1);
    assert_non_null(vd_vm_nic_chan(h, "vm1", "eth1"));
    atomic_store(&g.release, 2);
    pump_phase(h, &g, 3);
    PUMP_UNTIL(h, vd_vm_nic_unhandled(h, "vm1", "eth1") == 5);
    finish(h, &g, t);
    PUMP_UNTIL(h, !connected(h, "vm1"));
    assert_int_equal(show_int(h, "vm1", "connects"), 2);
    assert_int_equal(show_int(h, "vm1", "disconnects"), 2);
    assert_int_equal(show_int(h, "vm1", "kicked"), 0);
    assert_int_equal(show_int(h, "vm1", "violations"), 0);

    /* removing the VM closes and unlinks its socket */
    apply(h, DOC_VMS(""));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(vd_vm_show_json(h, "vm1", &r), -ENOENT);
    vd_vm_host_destroy(h);
}

/* Sends junk until the host hangs up: frames of a bad size, unknown
 * kinds, and CHAN_MSG frames that are not channel messages. */
static int guest_hostile(struct script *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint8_t frame[64] = { 0 }, hello[64];
    int fd, sent = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.107s", s->path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return fail_note(s, -errno, "connect");
    if (recv(fd, hello, sizeof(hello), 0) != 16)
        return fail_note(s, -EPROTO, "hello");
    atomic_store(&s->phase, 1);
    for (int i = 0; i < 2000; i++) {
        size_t len;

        switch (i % 3) {
        case 0: /* too short */
            len = 5;
            break;
        case 1: /* unknown kind */
            frame[0] = 77;
            frame[4] = 8;
            len = 16;
            break;
        default: /* CHAN_MSG of an unknown type */
            frame[0] = HV_PART_CHAN_MSG;
            frame[4] = 16;
            frame[8] = 0xee;
            len = 24;
            break;
        }
        if (send(fd, frame, len, MSG_NOSIGNAL) < 0)
            break; /* the host hung up */
        sent++;
    }
    /* the connection is dead now: recv sees EOF or an error */
    for (int i = 0; i < 500; i++) {
        ssize_t n = recv(fd, hello, sizeof(hello), MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN))
            break;
        usleep(2000);
    }
    close(fd);
    snprintf(s->note, sizeof(s->note), "sent %d frames", sent);
    return sent < 2000 ? 0 : fail_note(s, -1, "never disconnected");
}

/* Opens eth0 of vm<arg>, then corrupts the write index of its own
 * guest→host ring and signals: the host must close that channel only. */
static int guest_ring_liar(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    uint64_t gpa, one = 1;
    uint8_t *ctl;
    char vm[16];
    int rc;

    snprintf(vm, sizeof(vm), "vm%d", s->arg);
    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "connect");
    /* the bump allocator hands out the ring pages right after this one */
    if (!hv_part_guest_alloc_pages(s->pg, 1, &gpa))
        return fail_note(s, -ENOMEM, "alloc");
    s->relid = find_nic(s->pg, vm, "eth0");
    if ((rc = hv_part_guest_open_chan(s->pg, s->relid, 4, ch, TMO)) != 0)
        return fail_note(s, rc, "open");
    ctl = hv_mem_ptr(hv_part_guest_mem(s->pg), gpa + HV_PAGE_SIZE,
                     HV_PAGE_SIZE);
    if (!ctl)
        return fail_note(s, -EFAULT, "ring page");
    __atomic_store_n((uint32_t *)(void *)(ctl + HV_RING_OFF_WRITE_INDEX),
                     0xfffffff0u, __ATOMIC_RELEASE);
    if (write(ch->to_host_fd, &one, 8) != 8)
        return fail_note(s, -errno, "signal");
    atomic_store(&s->phase, 1);
    return wait_release(s, 2);
}

static void test_hostile_isolation(void **state)
{
    struct vd_vm_host *h = new_host();
    struct script good, bad, liar;
    pthread_t tg, tb, tl;
    json_t *r, *c;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]},"
                     "{'name':'vm2','nics':[" NIC("eth0") "]},"
                     "{'name':'vm3','nics':[" NIC("eth0") "]}"));
    start(&good, &tg, "vm1", guest_simple, 1);
    pump_phase(h, &good, 1);

    /* vm2: garbage until it is disconnected */
    start(&bad, &tb, "vm2", guest_hostile, 0);
    PUMP_UNTIL(h, atomic_load(&bad.done));
    pthread_join(tb, NULL);
    if (bad.rc)
        fail_msg("hostile guest: %d: %s", bad.rc, bad.note);
    PUMP_UNTIL(h, !connected(h, "vm2"));
    r = show(h, "vm2");
    assert_int_equal(json_integer_value(json_object_get(r, "kicked")), 1);
    assert_true(json_integer_value(json_object_get(r, "violations")) >
                VD_VM_MAX_VIOLATIONS);
    assert_true(json_integer_value(json_object_get(json_object_get(r,
                "counters"), "bad_frame")) > 0);
    assert_true(json_integer_value(json_object_get(json_object_get(r,
                "counters"), "bad_msg")) > 0);
    assert_string_equal(json_string_value(json_object_get(r, "state")),
                        "waiting");
    json_decref(r);

    /* vm3: a guest that lies about its ring loses that channel only */
    start(&liar, &tl, "vm3", guest_ring_liar, 3);
    pump_phase(h, &liar, 1);
    c = NULL;
    for (int i = 0; i < 2000; i++) {
        json_decref(c);
        c = show_chan(h, "vm3", "eth0");
        if (!strcmp(json_string_value(json_object_get(c, "state")),
                    "broken"))
            break;
        vd_vm_run(h, 1);
    }
    assert_string_equal(json_string_value(json_object_get(c, "state")),
                        "broken");
    assert_int_equal(json_integer_value(json_object_get(
                     json_object_get(c, "counters"), "bad_index")), 1);
    json_decref(c);
    assert_null(vd_vm_nic_chan(h, "vm3", "eth0"));
    assert_true(connected(h, "vm3"));
    finish(h, &liar, tl);

    /* vm1 never noticed: its channel is open and still carries packets */
    assert_true(connected(h, "vm1"));
    assert_non_null(vd_vm_nic_chan(h, "vm1", "eth0"));
    atomic_store(&good.release, 2);
    pump_phase(h, &good, 3);
    PUMP_UNTIL(h, vd_vm_nic_unhandled(h, "vm1", "eth0") == 5);
    assert_int_equal(show_int(h, "vm1", "violations"), 0);
    finish(h, &good, tg);

    /* and vm2 takes a well-behaved guest again */
    start(&good, &tg, "vm2", guest_simple, 2);
    pump_phase(h, &good, 1);
    finish(h, &good, tg);
    vd_vm_host_destroy(h);
}

/* 30 × (connect, open, vanish or close): no fd left behind. */
static int guest_cycle(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    int rc;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 16 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "connect");
    s->relid = find_nic(s->pg, "vm1", "eth0");
    if ((rc = hv_part_guest_open_chan(s->pg, s->relid, 2, ch, TMO)) != 0)
        return fail_note(s, rc, "open");
    if ((rc = send_pkts(ch, 2)) != 0)
        return fail_note(s, rc, "send");
    /* odd rounds close properly; even ones vanish (script_main) */
    if (s->arg & 1)
        rc = hv_part_guest_close_chan(s->pg, ch, TMO);
    return rc ? fail_note(s, rc, "close") : 0;
}

static void test_reconnect_no_leak(void **state)
{
    struct vd_vm_host *h = new_host();
    unsigned fds0;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    fds0 = proc_self_fds();
    for (int i = 0; i < 30; i++) {
        struct script s;
        pthread_t t;

        start(&s, &t, "vm1", guest_cycle, i);
        finish(h, &s, t);
        PUMP_UNTIL(h, !connected(h, "vm1"));
    }
    assert_int_equal(show_int(h, "vm1", "connects"), 30);
    assert_int_equal(show_int(h, "vm1", "gpadls"), 0);
    assert_int_equal(proc_self_fds(), fds0);
    vd_vm_host_destroy(h);
}

static void test_apply_failures(void **state)
{
    struct vd_vm_host *h;
    struct ctl_config *cfg = NULL;
    struct vd_vm_txn *txn = (struct vd_vm_txn *)&cfg;
    struct vsa_errmsg em = { "" };
    char path[160], file[160];
    json_t *doc, *r;
    int fd;

    (void)state;
    /* vm_dir's parent is a regular file: no socket can be made */
    snprintf(file, sizeof(file), "%s/run", dir);
    fd = open(file, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    h = new_host();
    apply(h, DOC_VMS(""));
    doc = jq(DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]},"
                     "{'name':'vm2'}"));
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), 0);
    assert_true(vd_vm_prepare(h, cfg, &txn, &em) < 0);
    assert_substr(em.msg, "VM \"vm1\": cannot create its partition socket");
    assert_substr(em.msg, "/run/vm/vm1.sock");
    r = vd_vm_list_json(h);
    assert_int_equal(json_array_size(json_object_get(r, "vms")), 0);
    json_decref(r);
    unlink(file);

    /* now it works: a prepare that is aborted leaves nothing behind */
    assert_int_equal(vd_vm_prepare(h, cfg, &txn, &em), 0);
    sock_path("vm1", path, sizeof(path));
    assert_int_equal(access(path, F_OK), 0); /* bound, not committed */
    vd_vm_abort(h, txn);
    assert_int_equal(access(path, F_OK), -1);
    r = vd_vm_list_json(h);
    assert_int_equal(json_array_size(json_object_get(r, "vms")), 0);
    json_decref(r);
    vd_vm_host_destroy(h);

    /* a socket path longer than sun_path */
    {
        struct vd_vm_host *h2 = NULL;
        char longdir[200];

        snprintf(longdir, sizeof(longdir), "%s/%0120d", dir, 0);
        assert_int_equal(vd_vm_host_create(longdir, &h2, &em), 0);
        assert_int_equal(vd_vm_prepare(h2, cfg, &txn, &em), -ENAMETOOLONG);
        assert_substr(em.msg, "is too long");
        vd_vm_host_destroy(h2);
    }
    ctl_config_free(cfg);
    json_decref(doc);
}

/* A vesperd restart: a new host over the same configuration recreates
 * the sockets (replacing a stale file) and guests connect again. */
static void test_restart(void **state)
{
    static const char *const text =
        DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]},{'name':'vm2'}");
    struct vd_vm_host *h = new_host();
    char path[160];
    struct script g;
    pthread_t t;
    int fd;

    (void)state;
    apply(h, text);
    start(&g, &t, "vm1", guest_simple, 1);
    pump_phase(h, &g, 1);
    vd_vm_host_destroy(h); /* the guest sees its socket die */
    sock_path("vm1", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    atomic_store(&g.release, 1000);
    pthread_join(t, NULL); /* its close_chan fails: the host is gone */

    /* a stale file where vm2's socket goes */
    sock_path("vm2", path, sizeof(path));
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    h = new_host();
    apply(h, text);
    start(&g, &t, "vm1", guest_simple, 1);
    pump_phase(h, &g, 1);
    finish(h, &g, t);
    {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
    }
    vd_vm_host_destroy(h);
}

/* ---- the synthetic port glue hooks ------------------------------------------ */

struct hooks {
    int refuse;           /* channel_opened returns this */
    unsigned opened, closed, signals;
    struct hv_chan *ch;
    char port[64];
    pthread_t thread;     /* where hooks must run: the test's main thread */
    bool wrong_thread;
};

static struct hooks hk;

static int hk_opened(void *ctx, const struct vd_vm_nic_info *nic,
                     struct hv_chan *ch)
{
    (void)ctx;
    hk.wrong_thread |= !pthread_equal(pthread_self(), hk.thread);
    if (hk.refuse)
        return hk.refuse;
    hk.opened++;
    hk.ch = ch;
    snprintf(hk.port, sizeof(hk.port), "%s", nic->port);
    assert_non_null(hv_chan_in_ring(ch));
    assert_non_null(hv_part_host_mem(nic->part));
    return 0;
}

static bool hk_signal(void *ctx, const struct vd_vm_nic_info *nic,
                      struct hv_chan *ch)
{
    struct hv_ring_pkt pkt;
    uint8_t buf[256];
    bool work = false;

    (void)ctx;
    (void)nic;
    hk.wrong_thread |= !pthread_equal(pthread_self(), hk.thread);
    assert_ptr_equal(ch, hk.ch);
    while (hv_ring_read_pkt(hv_chan_in_ring(ch), buf, sizeof(buf), &pkt) == 0) {
        hk.signals++;
        work = true;
    }
    return work;
}

static void hk_closed(void *ctx, const struct vd_vm_nic_info *nic,
                      struct hv_chan *ch)
{
    (void)ctx;
    (void)nic;
    hk.wrong_thread |= !pthread_equal(pthread_self(), hk.thread);
    assert_ptr_equal(ch, hk.ch);
    hk.closed++;
    hk.ch = NULL;
}

static int guest_open_only(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    int rc;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "connect");
    s->relid = find_nic(s->pg, "vm1", "eth0");
    rc = hv_part_guest_open_chan(s->pg, s->relid, 4, ch, TMO);
    return rc == -EIO ? 0 : fail_note(s, rc, "open not refused");
}

static void test_nic_ops(void **state)
{
    static const struct vd_vm_nic_ops ops = {
        .channel_opened = hk_opened,
        .channel_signal = hk_signal,
        .channel_closed = hk_closed,
    };
    struct vd_vm_host *h = new_host();
    struct script g;
    pthread_t t;
    json_t *c;

    (void)state;
    memset(&hk, 0, sizeof(hk));
    hk.thread = pthread_self();
    assert_int_equal(vd_vm_host_set_nic_ops(h, &ops, NULL), 0);
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));

    /* opened → signal (×5 packets) → closed, in that order */
    start(&g, &t, "vm1", guest_simple, 1);
    pump_phase(h, &g, 1);
    assert_int_equal(hk.opened, 1);
    assert_string_equal(hk.port, "vm1.eth0");
    assert_int_equal(vd_vm_host_set_nic_ops(h, NULL, NULL), -EBUSY);
    c = show_chan(h, "vm1", "eth0");
    assert_string_equal(json_string_value(json_object_get(c, "handler")),
                        "synthetic");
    json_decref(c);
    atomic_store(&g.release, 2);
    pump_phase(h, &g, 3);
    PUMP_UNTIL(h, hk.signals == 5);
    assert_int_equal(vd_vm_nic_unhandled(h, "vm1", "eth0"), 0);
    finish(h, &g, t);
    PUMP_UNTIL(h, !connected(h, "vm1"));
    assert_int_equal(hk.closed, 1);

    /* a refused open: the guest gets status 1, no close owed */
    hk.refuse = -EPERM;
    start(&g, &t, "vm1", guest_open_only, 0);
    finish(h, &g, t);
    assert_int_equal(hk.opened, 1);
    assert_int_equal(hk.closed, 1);
    hk.refuse = 0;

    /* closing by removal: VM deleted with its channel open */
    start(&g, &t, "vm1", guest_simple, 1);
    pump_phase(h, &g, 1);
    assert_int_equal(hk.opened, 2);
    apply(h, DOC_VMS(""));
    assert_int_equal(hk.closed, 2);
    atomic_store(&g.release, 1000);
    pthread_join(t, NULL); /* the guest's socket went away */
    assert_false(hk.wrong_thread);
    vd_vm_host_destroy(h);
}

/* ---- a guest that makes its signal eventfd blocking --------------------- */

static int guest_blocking_efd(struct script *s)
{
    struct hv_part_guest_chan *ch = &s->ch;
    int rc, fl;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "connect");
    s->relid = find_nic(s->pg, "vm1", "eth0");
    if ((rc = hv_part_guest_open_chan(s->pg, s->relid, 4, ch, TMO)) != 0)
        return fail_note(s, rc, "open");
    /* the file is shared with the host: this changes the host's view */
    fl = fcntl(ch->to_host_fd, F_GETFL);
    if (fl < 0 || fcntl(ch->to_host_fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return fail_note(s, -errno, "fcntl");
    atomic_store(&s->phase, 1);
    return wait_release(s, 2);
}

static void on_alarm(int sig)
{
    (void)sig;
    /* async-signal-safe: report and die rather than hang the suite */
    static const char msg[] = "test_vd_vm: host blocked on a guest eventfd\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static void test_blocking_eventfd(void **state)
{
    struct vd_vm_host *h = new_host();
    struct hv_chan *ch;
    struct script g;
    pthread_t t;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    start(&g, &t, "vm1", guest_blocking_efd, 0);
    pump_phase(h, &g, 1);
    ch = vd_vm_nic_chan(h, "vm1", "eth0");
    assert_non_null(ch);
    signal(SIGALRM, on_alarm);
    alarm(5);
    /* counter 0 and the fd now blocking: a plain read() never returns */
    assert_int_equal(hv_chan_ack_signal(ch), 0);
    for (int i = 0; i < 50; i++)
        vd_vm_run(h, 1);
    alarm(0);
    finish(h, &g, t);
    vd_vm_host_destroy(h);
}

/* ---- extra fds for the glue ---------------------------------------------------- */

struct wctx {
    struct vd_vm_host *h;
    struct vd_vm_watch *self, *other;
    int fd;
    unsigned calls;
};

/* Drains its fd and deletes both watches: the other one's event, if it is
 * in the same batch, must be skipped (and not touch freed memory). */
static void w_cb(void *arg)
{
    struct wctx *c = arg;
    uint64_t v;

    c->calls++;
    assert_int_equal(read(c->fd, &v, 8), 8);
    vd_vm_watch_del(c->h, c->other);
    vd_vm_watch_del(c->h, c->self);
}

/* A counter of the channel of (vm, nic). */
static json_int_t chan_counter(struct vd_vm_host *h, const char *vm,
                               const char *nic, const char *name)
{
    json_t *c = show_chan(h, vm, nic);
    json_int_t v;

    assert_non_null(c);
    v = json_integer_value(json_object_get(json_object_get(c, "counters"),
                                           name));
    json_decref(c);
    return v;
}

/* Writes one guest->host signal and lets the host handle it. */
static void storm_signal(struct vd_vm_host *h, struct script *g)
{
    uint64_t one = 1;

    assert_int_equal(write(g->ch.to_host_fd, &one, sizeof(one)), 8);
    vd_vm_run(h, 0);
}

/* TESTS.md #27 (signal storm): signals that find no work are counted;
 * after VD_VM_STORM_IDLE_MAX of them in a row the channel's signal fd is
 * no longer watched for a backoff that doubles up to the maximum while the
 * guest keeps signalling; a signal that carried work during a backoff is
 * served when the backoff ends (the ring is polled), and that calms the
 * channel; a guest that signals only with work never backs off.  Time is
 * the manual clock; vd_vm_tick ends backoffs. */
static void test_signal_storm(void **state)
{
    struct vd_vm_host *h = new_host();
    struct script g;
    pthread_t t;
    unsigned expect_ms;

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(1000);
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    start(&g, &t, "vm1", guest_simple, 1);
    pump_phase(h, &g, 1);

    /* a guest that signals with work (a packet each time) never backs off */
    for (unsigned i = 0; i < 3 * VD_VM_STORM_IDLE_MAX; i++) {
        bool sig;

        assert_int_equal(hv_ring_write_inband(g.ch.out, 0, i, "work", 4,
                                              &sig), 0);
        storm_signal(h, &g);
    }
    assert_int_equal(vd_vm_nic_unhandled(h, "vm1", "eth0"),
                     3 * VD_VM_STORM_IDLE_MAX);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 0);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "signals_idle"), 0);

    /* the storm: idle wakeups are counted, the last one backs off */
    for (unsigned i = 0; i < VD_VM_STORM_IDLE_MAX; i++) {
        assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 0);
        storm_signal(h, &g);
    }
    assert_int_equal(chan_counter(h, "vm1", "eth0", "signals_idle"),
                     VD_VM_STORM_IDLE_MAX);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 1);
    /* signals are not even read during the backoff */
    json_int_t rx = chan_counter(h, "vm1", "eth0", "signals_received");
    for (unsigned i = 0; i < 100; i++)
        storm_signal(h, &g);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "signals_received"), rx);
    vd_vm_tick(h); /* not due yet */
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 1);

    /* each backoff that ends with signals pending and no work doubles */
    expect_ms = VD_VM_STORM_BACKOFF_MIN_MS;
    for (unsigned k = 2; k <= 6; k++) {
        vsa_time_manual_advance(expect_ms - 1);
        vd_vm_tick(h);
        assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"),
                         k - 1);
        vsa_time_manual_advance(1);
        vd_vm_tick(h);
        assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), k);
        assert_int_equal(chan_counter(h, "vm1", "eth0", "signals_idle"),
                         VD_VM_STORM_IDLE_MAX + k - 1);
        storm_signal(h, &g); /* still storming */
        expect_ms *= 2;
        if (expect_ms > VD_VM_STORM_BACKOFF_MAX_MS)
            expect_ms = VD_VM_STORM_BACKOFF_MAX_MS;
    }

    /* work during a backoff: 5 packets and their signal wait, unseen,
     * until the backoff ends; then they are served */
    atomic_store(&g.release, 2);
    for (int i = 0; i < 20000 && atomic_load(&g.phase) < 3; i++)
        usleep(100);
    assert_int_equal(atomic_load(&g.phase), 3);
    for (unsigned i = 0; i < 10; i++)
        vd_vm_run(h, 1);
    assert_int_equal(vd_vm_nic_unhandled(h, "vm1", "eth0"),
                     3 * VD_VM_STORM_IDLE_MAX);
    vsa_time_manual_advance(expect_ms);
    vd_vm_tick(h);
    assert_int_equal(vd_vm_nic_unhandled(h, "vm1", "eth0"),
                     3 * VD_VM_STORM_IDLE_MAX + 5);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 6);
    /* calm again: watched, and the full count of idle wakeups is needed
     * before the next backoff */
    for (unsigned i = 0; i + 1 < VD_VM_STORM_IDLE_MAX; i++)
        storm_signal(h, &g);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 6);
    storm_signal(h, &g);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 7);
    /* a guest that goes quiet during its backoff is watched again */
    vsa_time_manual_advance(VD_VM_STORM_BACKOFF_MAX_MS);
    vd_vm_tick(h);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "storm_backoffs"), 7);
    rx = chan_counter(h, "vm1", "eth0", "signals_received");
    storm_signal(h, &g);
    assert_int_equal(chan_counter(h, "vm1", "eth0", "signals_received"),
                     rx + 1);

    finish(h, &g, t);
    vd_vm_host_destroy(h);
    vsa_time_set_source(NULL);
}

static void test_watch(void **state)
{
    struct vd_vm_host *h = new_host();
    struct wctx a = { .h = h }, b = { .h = h };
    struct vd_vm_watch *w3;
    uint64_t one = 1;
    int fd3;

    (void)state;
    a.fd = eventfd(0, EFD_NONBLOCK);
    b.fd = eventfd(0, EFD_NONBLOCK);
    fd3 = eventfd(0, EFD_NONBLOCK);
    assert_int_equal(vd_vm_watch_add(h, a.fd, w_cb, &a, &a.self), 0);
    assert_int_equal(vd_vm_watch_add(h, b.fd, w_cb, &b, &b.self), 0);
    assert_int_equal(vd_vm_watch_add(h, a.fd, w_cb, &a, &w3), -EEXIST);
    a.other = b.self;
    b.other = a.self;
    assert_int_equal(write(a.fd, &one, 8), 8);
    assert_int_equal(write(b.fd, &one, 8), 8);
    for (int i = 0; i < 5; i++)
        vd_vm_run(h, 5);
    assert_int_equal(a.calls + b.calls, 1);
    /* both gone: more signals call nothing */
    assert_int_equal(write(a.fd, &one, 8), 8);
    assert_int_equal(vd_vm_run(h, 5), 0);
    /* a watch left behind is freed with the host (LSan checks) */
    assert_int_equal(vd_vm_watch_add(h, fd3, w_cb, &a, &w3), 0);
    vd_vm_host_destroy(h);
    close(a.fd);
    close(b.fd);
    close(fd3);
}

/* ---- legacy NICs: emulated devices ---------------------------------------------- */

struct dev_hooks {
    unsigned attaches, detaches, ios;
    char last_attach[64];
    char last_detach[64];
    pthread_t thread;
    bool wrong_thread;
    bool no_mem;
};

static struct dev_hooks dk;

/* The digit at the end of a NIC name ("eth2" → 2): who answered. */
static unsigned nic_id(const struct vd_vm_nic_info *nic)
{
    return (unsigned)(nic->nic[strlen(nic->nic) - 1] - '0');
}

static int dk_attach(void *ctx, const struct vd_vm_nic_info *nic)
{
    (void)ctx;
    dk.wrong_thread |= !pthread_equal(pthread_self(), dk.thread);
    dk.no_mem |= hv_part_host_mem(nic->part) == NULL;
    dk.attaches++;
    snprintf(dk.last_attach, sizeof(dk.last_attach), "%s@%u", nic->port,
             nic->dev_index);
    return 0;
}

/* A fake 21140: configuration space answers the ids; a BAR read answers
 * 0xC000 | NIC digit << 8 | offset; a write of CSR7 raises the line. */
static void dk_io(void *ctx, const struct vd_vm_nic_info *nic,
                  struct hv_part_io *io)
{
    (void)ctx;
    dk.wrong_thread |= !pthread_equal(pthread_self(), dk.thread);
    dk.ios++;
    if (io->flags & HV_PART_IO_WRITE) {
        if (!(io->flags & HV_PART_IO_CONFIG) && io->addr == 0x38)
            (void)hv_part_host_raise_irq(nic->part, nic->dev_index);
        return;
    }
    if (io->flags & HV_PART_IO_CONFIG)
        io->value = 0x00091011ull >> ((io->addr & 3) * 8);
    else
        io->value = 0xc000u | nic_id(nic) << 8 | io->addr;
}

static void dk_detach(void *ctx, const struct vd_vm_nic_info *nic)
{
    (void)ctx;
    dk.wrong_thread |= !pthread_equal(pthread_self(), dk.thread);
    dk.detaches++;
    snprintf(dk.last_detach, sizeof(dk.last_detach), "%s", nic->port);
}

static const struct vd_vm_dev_ops dev_hooks = {
    .dev_attach = dk_attach,
    .dev_io = dk_io,
    .dev_detach = dk_detach,
};

static int g_io(struct hv_part_guest *pg, uint32_t dev, uint32_t flags,
                uint64_t addr, uint32_t size, uint64_t value, uint64_t *out)
{
    struct hv_part_io io = { .dev = dev, .flags = flags, .addr = addr,
                             .size = size, .value = value };
    int rc = hv_part_guest_io(pg, &io, TMO);

    if (rc == 0 && out)
        *out = io.value;
    return rc;
}

/* Expects a read of (dev, flags, addr, size) to answer `want`. */
static int g_expect(struct script *s, uint32_t dev, uint32_t flags,
                    uint64_t addr, uint32_t size, uint64_t want)
{
    uint64_t v = 0;
    int rc = g_io(s->pg, dev, flags, addr, size, 0, &v);

    if (rc)
        return fail_note(s, rc, "io");
    if (v != want) {
        snprintf(s->note, sizeof(s->note), "dev %u %s %#llx: %#llx, want "
                 "%#llx", dev, flags & HV_PART_IO_CONFIG ? "cfg" : "bar",
                 (unsigned long long)addr, (unsigned long long)v,
                 (unsigned long long)want);
        return -1;
    }
    return 0;
}

/* vm1 = [synthetic eth0, legacy eth1, legacy eth2]: only eth0 is offered;
 * enumerate, read and write the devices, take an interrupt (phase 1);
 * then (host: eth1 removed, legacy eth3 added) the renumbered devices
 * (phase 3); hold until released, vanish. */
static int guest_legacy(struct script *s)
{
    struct hv_vmbus_guest *g;
    uint64_t v = 0;
    int rc, efd;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 64 * 4096)) != 0 ||
        (rc = hv_part_guest_handshake(s->pg, TMO)) != 0)
        return fail_note(s, rc, "connect");
    g = hv_part_guest_vmbus(s->pg);
    if (hv_vmbus_guest_offer_count(g) != 1 || !find_nic(s->pg, "vm1", "eth0"))
        return fail_note(s, (int)hv_vmbus_guest_offer_count(g),
                         "offers (legacy NICs are not on the VMBus)");
    /* enumeration: ids at config offset 0 until all-ones */
    if ((rc = g_expect(s, 0, HV_PART_IO_CONFIG, 0, 4, 0x00091011)) ||
        (rc = g_expect(s, 1, HV_PART_IO_CONFIG, 0, 4, 0x00091011)) ||
        (rc = g_expect(s, 2, HV_PART_IO_CONFIG, 0, 4, 0xffffffff)) ||
        (rc = g_expect(s, 7, HV_PART_IO_CONFIG, 0, 2, 0xffff)) ||
        (rc = g_expect(s, 1, HV_PART_IO_CONFIG, 2, 2, 0x0009)))
        return rc;
    /* BARs: device 0 is eth1, device 1 is eth2 (either BAR) */
    if ((rc = g_expect(s, 0, 0, 0x28, 4, 0xc128)) ||
        (rc = g_expect(s, 1, HV_PART_IO_MEM, 0x28, 4, 0xc228)))
        return rc;
    /* a write to no device is dropped; a refused size never reaches it */
    if ((rc = g_io(s->pg, 5, HV_PART_IO_WRITE, 0x38, 4, 1, NULL)) ||
        (rc = g_expect(s, 0, 0, 0x28, 3, ~0ull)))
        return fail_note(s, rc, "io");
    /* interrupt line 1 = device 1 (eth2): raised by its CSR7 write */
    if ((rc = hv_part_guest_setup_irq(s->pg, 1, &efd)) != 0 ||
        (rc = g_io(s->pg, 1, HV_PART_IO_WRITE, 0x38, 4, 1, NULL)) != 0)
        return fail_note(s, rc, "irq setup");
    for (int i = 0; i < 2000 && read(efd, &v, 8) != 8; i++)
        usleep(1000);
    if (v != 1)
        return fail_note(s, (int)v, "interrupt");
    atomic_store(&s->phase, 1);
    if ((rc = wait_release(s, 2)) != 0)
        return fail_note(s, rc, "wait");
    /* eth1 removed, eth3 added: eth2 is device 0, eth3 device 1 */
    if ((rc = g_expect(s, 0, 0, 0x28, 4, 0xc228)) ||
        (rc = g_expect(s, 1, 0, 0x28, 4, 0xc328)) ||
        (rc = g_expect(s, 2, HV_PART_IO_CONFIG, 0, 4, 0xffffffff)))
        return rc;
    atomic_store(&s->phase, 3);
    return wait_release(s, 4);
}

/* Reads device 0's ids into s->relid (phase 1), holds until released. */
static int guest_enum(struct script *s)
{
    uint64_t v = 0;
    int rc;

    if ((rc = hv_part_guest_connect(s->path, TMO, &s->pg)) != 0 ||
        (rc = hv_part_guest_add_memory(s->pg, GPA, 16 * 4096)) != 0 ||
        (rc = g_io(s->pg, 0, HV_PART_IO_CONFIG, 0, 4, 0, &v)) != 0)
        return fail_note(s, rc, "connect/io");
    s->relid = (uint32_t)v;
    atomic_store(&s->phase, 1);
    return wait_release(s, 2);
}

/* The devices[] entry of NIC `nic` (new reference), NULL if none. */
static json_t *show_dev(struct vd_vm_host *h, const char *vm,
                        const char *nic)
{
    json_t *r = show(h, vm), *c, *found = NULL;
    size_t i;

    json_array_foreach(json_object_get(r, "devices"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "nic")), nic))
            found = json_incref(c);
    json_decref(r);
    return found;
}

static json_int_t dev_int(struct vd_vm_host *h, const char *nic,
                          const char *key)
{
    json_t *d = show_dev(h, "vm1", nic);
    json_int_t v;

    if (!d)
        fail_msg("no device entry for %s", nic);
    v = json_integer_value(json_object_get(d, key));
    json_decref(d);
    return v;
}

static const char *dev_str(struct vd_vm_host *h, const char *nic,
                           const char *key, char *buf, size_t size)
{
    json_t *d = show_dev(h, "vm1", nic);

    if (!d)
        fail_msg("no device entry for %s", nic);
    snprintf(buf, size, "%s",
             json_string_value(json_object_get(d, key)) ?: "(none)");
    json_decref(d);
    return buf;
}

static void test_legacy_devices(void **state)
{
    static const struct vd_vm_dev_ops partial = { .dev_attach = dk_attach };
    struct vd_vm_host *h = new_host();
    char buf[64];
    struct script g;
    pthread_t t;
    json_t *r;

    (void)state;
    memset(&dk, 0, sizeof(dk));
    dk.thread = pthread_self();
    assert_int_equal(vd_vm_host_set_dev_ops(h, &partial, NULL), -EINVAL);
    assert_int_equal(vd_vm_host_set_dev_ops(h, &dev_hooks, NULL), 0);
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "," LNIC("eth1")
                     "," LNIC("eth2") "]}"));
    /* indexes among legacy NICs, in NIC order; not connected yet */
    assert_int_equal(dev_int(h, "eth1", "device"), 0);
    assert_int_equal(dev_int(h, "eth2", "device"), 1);
    assert_string_equal(dev_str(h, "eth1", "state", buf, sizeof(buf)),
                        "waiting");
    assert_string_equal(dev_str(h, "eth1", "type", buf, sizeof(buf)),
                        "legacy");
    r = show(h, "vm1");
    assert_int_equal(json_array_size(json_object_get(r, "channels")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "devices")), 2);
    json_decref(r);
    assert_int_equal(dk.attaches, 0);

    start(&g, &t, "vm1", guest_legacy, 0);
    pump_phase(h, &g, 1);
    assert_int_equal(dk.attaches, 2);
    assert_false(dk.no_mem);
    assert_int_equal(vd_vm_host_set_dev_ops(h, NULL, NULL), -EBUSY);
    assert_string_equal(dev_str(h, "eth2", "state", buf, sizeof(buf)),
                        "attached");
    /* eth1: cfg 0 + BAR; eth2: cfg 0 + cfg 2 + BAR + CSR7 write; absent:
     * indexes 2 and 7 and the write to 5; the bad size: refused by hv/ */
    assert_int_equal(dev_int(h, "eth1", "traps"), 2);
    assert_int_equal(dev_int(h, "eth2", "traps"), 4);
    assert_int_equal(dk.ios, 6);
    assert_int_equal(show_int(h, "vm1", "io_absent"), 3);
    r = show(h, "vm1");
    assert_int_equal(json_integer_value(json_object_get(
        json_object_get(r, "counters"), "bad_io")), 1);
    assert_int_equal(json_integer_value(json_object_get(
        json_object_get(r, "counters"), "irqs_raised")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "violations")),
                     1);
    json_decref(r);

    /* live: eth1 removed (detached, eth2 renumbered to 0), eth3 added
     * (attached at once as device 1) */
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "," LNIC("eth2")
                     "," LNIC("eth3") "]}"));
    assert_int_equal(dk.detaches, 1);
    assert_string_equal(dk.last_detach, "vm1.eth1");
    assert_int_equal(dk.attaches, 3);
    assert_string_equal(dk.last_attach, "vm1.eth3@1");
    assert_int_equal(dev_int(h, "eth2", "device"), 0);
    assert_int_equal(dev_int(h, "eth3", "device"), 1);
    atomic_store(&g.release, 2);
    pump_phase(h, &g, 3);
    assert_int_equal(dev_int(h, "eth2", "traps"), 5);
    assert_int_equal(dev_int(h, "eth3", "traps"), 1);
    assert_int_equal(show_int(h, "vm1", "io_absent"), 4);

    /* the guest goes: every device detached, the glue may be replaced */
    finish(h, &g, t);
    PUMP_UNTIL(h, !connected(h, "vm1"));
    assert_int_equal(dk.detaches, 3);
    assert_int_equal(dev_int(h, "eth2", "detaches"), 1);
    assert_string_equal(dev_str(h, "eth2", "state", buf, sizeof(buf)),
                        "waiting");
    assert_int_equal(vd_vm_host_set_dev_ops(h, NULL, NULL), 0);

    /* no glue: the device reads as absent, counted unhandled */
    start(&g, &t, "vm1", guest_enum, 0);
    pump_phase(h, &g, 1);
    assert_int_equal(g.relid, 0xffffffffu);
    assert_string_equal(dev_str(h, "eth2", "state", buf, sizeof(buf)),
                        "unhandled");
    assert_int_equal(dev_int(h, "eth2", "traps_unhandled"), 1);
    finish(h, &g, t);
    assert_int_equal(dk.ios, 8);
    assert_false(dk.wrong_thread);

    /* a VM removed with its guest connected detaches its devices */
    assert_int_equal(vd_vm_host_set_dev_ops(h, &dev_hooks, NULL), 0);
    start(&g, &t, "vm1", guest_enum, 0);
    pump_phase(h, &g, 1);
    assert_int_equal(g.relid, 0x00091011u);
    assert_int_equal(dk.attaches, 5);
    apply(h, DOC_VMS(""));
    assert_int_equal(dk.detaches, 5);
    atomic_store(&g.release, 1000);
    pthread_join(t, NULL);
    vd_vm_host_destroy(h);
}

/* A document that changes a NIC's type (same name) replaces the NIC: the
 * synthetic one's offer goes, a device comes, and back. */
static void test_nic_type_change(void **state)
{
    struct vd_vm_host *h = new_host();
    json_t *r;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    r = show(h, "vm1");
    assert_int_equal(json_array_size(json_object_get(r, "channels")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "devices")), 0);
    json_decref(r);
    apply(h, DOC_VMS("{'name':'vm1','nics':[" LNIC("eth0") "]}"));
    r = show(h, "vm1");
    assert_int_equal(json_array_size(json_object_get(r, "channels")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "devices")), 1);
    json_decref(r);
    assert_int_equal(dev_int(h, "eth0", "device"), 0);
    apply(h, DOC_VMS("{'name':'vm1','nics':[" NIC("eth0") "]}"));
    r = show(h, "vm1");
    assert_int_equal(json_array_size(json_object_get(r, "channels")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "devices")), 0);
    assert_int_equal(json_integer_value(json_object_get(
        json_array_get(json_object_get(r, "channels"), 0), "relid")) > 0, 1);
    json_decref(r);
    vd_vm_host_destroy(h);
}

/* ---- identities --------------------------------------------------------------- */

/* ---- log lines per VM ----------------------------------------------------- */


/* A guest that only connects (the host accepts it in vd_vm_run). */
static int raw_connect(const char *vm)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    char path[160];

    assert_true(fd >= 0);
    sock_path(vm, path, sizeof(path));
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void test_log_per_vm(void **state)
{
    struct vd_vm_host *h = new_host();
    /* a frame of kind 99 (none such), no payload */
    static const uint8_t bad[8] = { 99 };
    int fd;

    (void)state;
    apply(h, DOC_VMS("{'name':'vm1'},{'name':'vm2'}"));
    /* a manual clock past every window the earlier tests opened */
    vsa_time_manual_set(vsa_time_now_ms() + 3600u * 1000u);
    vsa_time_set_source(vsa_time_manual);
    n_logcap = 0;
    vsa_log_set_hook(logcap_hook);
    for (int i = 0; i < 20; i++) {
        fd = raw_connect("vm1");
        PUMP_UNTIL(h, connected(h, "vm1"));
        close(fd);
        PUMP_UNTIL(h, !connected(h, "vm1"));
    }
    fd = raw_connect("vm2");
    PUMP_UNTIL(h, connected(h, "vm2"));
    assert_int_equal(show_int(h, "vm1", "connects"), 20);
    assert_int_equal(logcap_count("vm vm1: guest "), VD_VM_LOG_INFO_BURST);
    assert_int_equal(logcap_count("vm vm2: guest connected"), 1);
    /* (the earlier tests may leave an "all VMs: N ... suppressed") */
    assert_int_equal(logcap_count("vm vm1: "), VD_VM_LOG_INFO_BURST);
    /* hv/ names the VM as vm.show does */
    assert_int_equal(send(fd, bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    PUMP_UNTIL(h, hv_part_host_stats(vd_vm_part(h, "vm2"))->bad_frame == 1);
    assert_int_equal(logcap_count("vm vm2: frame kind 99 refused: kind"), 1);
    vsa_log_set_hook(NULL);
    vsa_time_set_source(NULL);
    close(fd);
    PUMP_UNTIL(h, !connected(h, "vm2"));
    vd_vm_host_destroy(h);
}

static void test_identities(void **state)
{
    struct hv_guid a, b, c;
    char buf[VD_VM_GUID_STRLEN];

    (void)state;
    vd_vm_instance_guid("vm1", "eth0", &a);
    vd_vm_instance_guid("vm1", "eth0", &b);
    vd_vm_instance_guid("vm1", "eth1", &c);
    assert_true(hv_guid_equal(&a, &b));
    assert_false(hv_guid_equal(&a, &c));
    vd_vm_guid_format(&a, buf);
    assert_int_equal(strlen(buf), 36);
    assert_int_equal(buf[14], '8');
    assert_true(strchr("89ab", buf[19]) != NULL);
    vd_vm_instance_guid("vm1e", "th0", &c);
    assert_false(hv_guid_equal(&a, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identities),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_isolation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_no_leak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_apply_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nic_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_devices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nic_type_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_signal_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_eventfd, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_per_vm, setup, teardown),
    };

    return cmocka_run_group_tests_name("tools-vd_vm", tests, NULL, NULL);
}
