/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_vmbus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"

VSA_LOG_MODULE(hv_vmbus_host);

struct hv_chan {
    struct hv_vmbus_host *host;
    struct hv_chan *next;
    uint32_t relid;
    struct hv_vmbus_offer_cfg offer;
    enum hv_chan_state state;
    bool upper_open; /* ops->chan_open accepted: chan_close owed */
    struct hv_ring *in;
    struct hv_ring *out;
    uint32_t openid;
    int in_fd;
    int out_fd;
    void *user;
    struct hv_stats stats;
};

struct hv_vmbus_host {
    struct hv_vmbus_host_ops ops;
    void *ctx;
    enum hv_vmbus_state state;
    uint32_t version;
    struct hv_mem *mem;
    struct hv_gpadl_table *gpadls;
    struct hv_chan *chans; /* offer order */
    unsigned nchans;
    uint32_t next_relid;
    /* GPADLs refused at their header whose bodies are still to come: a
     * guest sends header and bodies back to back before it sees the
     * answer (Linux's vmbus_establish_gpadl does), so those bodies are
     * dropped quietly instead of counted as messages for an unknown
     * GPADL.  A few at a time; the oldest is forgotten first. */
    struct {
        uint32_t id;
        uint32_t pfns_left; /* 0: free entry */
    } refused[4];
    unsigned refused_next;
    struct hv_stats stats;
    char name[HV_VMBUS_NAME_SIZE]; /* the VM's, in log lines */
    /* This VM's budget for the lines its guest triggers (and its rings'). */
    struct vsa_ratelimit log_rl;
};

/* The budget of all VMs together, on top of each VM's own. */
static struct vsa_ratelimit host_rl =
    VSA_RATELIMIT_INIT_LABEL(HV_VMBUS_LOG_ALL_BURST, HV_VMBUS_LOG_PERIOD_S,
                             "all VMs");

static const uint32_t host_versions[] = {
    HV_VMBUS_VERSION_WS2008,     HV_VMBUS_VERSION_WIN7,
    HV_VMBUS_VERSION_WIN8,       HV_VMBUS_VERSION_WIN8_1,
    HV_VMBUS_VERSION_WIN10,      HV_VMBUS_VERSION_WIN10_V4_1,
    HV_VMBUS_VERSION_WIN10_V5,   HV_VMBUS_VERSION_WIN10_V5_1,
    HV_VMBUS_VERSION_WIN10_V5_2, HV_VMBUS_VERSION_WIN10_V5_3,
};

/* ---- helpers ------------------------------------------------------------ */

/* One message to the guest.  Counted msgs_out once the transport took it;
 * otherwise msgs_lost, and not resent: VMBus has no retransmission, so the
 * guest never sees it (a reply it waits for never comes) and what becomes
 * of the connection is the transport's call (hv_vmbus_host_ops.send). */
static int send_msg(struct hv_vmbus_host *h, const struct hv_chan_msg *m)
{
    uint8_t buf[HV_CHAN_MSG_MAX_SIZE];
    int n = hv_chan_msg_encode(m, buf, sizeof(buf));
    int rc = n < 0 ? n : h->ops.send(h->ctx, buf, (size_t)n);

    if (rc == 0)
        HV_STAT_INC(&h->stats, msgs_out);
    else
        HV_STAT_INC(&h->stats, msgs_lost);
    return rc;
}

static void freed_cb(void *ctx, uint32_t relid, uint32_t id)
{
    struct hv_vmbus_host *h = ctx;
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_TORNDOWN };

    (void)relid;
    m.u.gpadl = id;
    HV_STAT_INC(&h->stats, gpadl_torndown);
    send_msg(h, &m);
}

static struct hv_chan *find_chan(struct hv_vmbus_host *h, uint32_t relid)
{
    for (struct hv_chan *c = h->chans; c; c = c->next)
        if (c->relid == relid)
            return c;
    return NULL;
}

static void send_offer(struct hv_vmbus_host *h, struct hv_chan *c)
{
    struct hv_chan_msg m = { .type = HV_MSG_OFFERCHANNEL };
    struct hv_msg_offer *o = &m.u.offer;

    o->if_type = c->offer.if_type;
    o->if_instance = c->offer.if_instance;
    o->chn_flags = c->offer.chn_flags;
    o->mmio_megabytes = c->offer.mmio_megabytes;
    memcpy(o->user_def, c->offer.user_def, sizeof(o->user_def));
    o->sub_channel_index = c->offer.sub_channel_index;
    o->child_relid = c->relid;
    o->monitorid = 0;
    o->monitor_allocated = 0;   /* signals are eventfds, no monitor pages */
    o->dedicated_interrupt = 1; /* one signal per channel */
    o->connection_id = 16u + c->relid;
    c->state = HV_CHAN_OFFERED;
    send_msg(h, &m);
}

/* A rescinded channel that the guest has not released yet and that offers
 * the same device (instance and sub-channel index) as c, or NULL.  A NIC
 * removed and added again under its name has the same instance GUID
 * (config.md); a guest that still holds the old offer would take the new
 * one for a duplicate (Linux's vmbus_process_offer drops those), so the
 * new one waits for the old one's RELID_RELEASED. */
static struct hv_chan *rescinded_twin(const struct hv_vmbus_host *h,
                                      const struct hv_chan *c)
{
    for (struct hv_chan *o = h->chans; o; o = o->next)
        if (o != c && o->state == HV_CHAN_RESCINDED &&
            o->offer.sub_channel_index == c->offer.sub_channel_index &&
            memcmp(&o->offer.if_instance, &c->offer.if_instance,
                   sizeof(o->offer.if_instance)) == 0)
            return o;
    return NULL;
}

/* Offers every channel not offered yet (IDLE) whose device no rescinded,
 * unreleased channel still holds. */
static void offer_idle(struct hv_vmbus_host *h)
{
    for (struct hv_chan *c = h->chans; c; c = c->next)
        if (c->state == HV_CHAN_IDLE && !rescinded_twin(h, c))
            send_offer(h, c);
}

/* Stops servicing a channel: upper layer first (it drops its GPADL
 * references), then our rings (they hold the ring GPADL). */
static void chan_shutdown(struct hv_vmbus_host *h, struct hv_chan *c)
{
    if (c->upper_open && h->ops.chan_close)
        h->ops.chan_close(h->ctx, c);
    c->upper_open = false;
    hv_ring_destroy(c->in);
    hv_ring_destroy(c->out);
    c->in = NULL;
    c->out = NULL;
}

static void chan_free(struct hv_vmbus_host *h, struct hv_chan *c)
{
    for (struct hv_chan **pp = &h->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    h->nchans--;
    vsa_free(c);
}

/* Closes every channel, forgets rescinded ones, drops all GPADLs silently. */
static void bus_reset(struct hv_vmbus_host *h)
{
    struct hv_chan *c = h->chans;

    while (c) {
        struct hv_chan *next = c->next;
        chan_shutdown(h, c);
        if (c->state == HV_CHAN_RESCINDED)
            chan_free(h, c);
        else
            c->state = HV_CHAN_IDLE;
        c = next;
    }
    hv_gpadl_table_clear(h->gpadls);
    memset(h->refused, 0, sizeof(h->refused));
    h->version = 0;
}

static int refuse(struct hv_vmbus_host *h, struct hv_chan *c, uint32_t type,
                  const char *why)
{
    HV_STAT_INC(&h->stats, bad_state);
    VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: guest message %s "
                "refused: %s (channel %u)", h->name,
                hv_chan_msg_type_name(type), why, c ? c->relid : 0);
    if (c && c->state == HV_CHAN_OPEN)
        hv_chan_violation(c, why);
    return -EPROTO;
}

static void gpadl_reply(struct hv_vmbus_host *h, uint32_t relid, uint32_t id,
                        uint32_t status)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_CREATED };

    m.u.gpadl_created.child_relid = relid;
    m.u.gpadl_created.gpadl = id;
    m.u.gpadl_created.status = status;
    send_msg(h, &m);
}

static int gpadl_refuse(struct hv_vmbus_host *h, uint32_t relid, uint32_t id,
                        const char *why)
{
    HV_STAT_INC(&h->stats, bad_gpadl);
    VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u: GPADL %#x "
                "refused: %s", h->name, relid, id, why);
    gpadl_reply(h, relid, id, HV_VMBUS_OPEN_FAILED);
    return -EPROTO;
}

/* A GPADL refused at its header: its bodies, still to come, will be
 * dropped quietly (see struct hv_vmbus_host).  Only for a page count the
 * host could have accepted: bodies of a larger one are violations. */
static void gpadl_expect_bodies(struct hv_vmbus_host *h,
                                const struct hv_msg_gpadl_header *gh)
{
    unsigned i;

    if (gh->total_pfns <= gh->npfns || gh->total_pfns > HV_GPADL_MAX_PAGES)
        return;
    i = h->refused_next++ % (sizeof(h->refused) / sizeof(h->refused[0]));
    h->refused[i].id = gh->gpadl;
    h->refused[i].pfns_left = gh->total_pfns - gh->npfns;
}

/* A body of a GPADL refused at its header: true (and accounted) if it is
 * one the guest could not help sending. */
static bool gpadl_refused_body(struct hv_vmbus_host *h,
                               const struct hv_msg_gpadl_body *gb)
{
    for (unsigned i = 0; i < sizeof(h->refused) / sizeof(h->refused[0]);
         i++) {
        if (h->refused[i].pfns_left == 0 || h->refused[i].id != gb->gpadl)
            continue;
        if (gb->npfns > h->refused[i].pfns_left)
            return false; /* more than announced: a violation after all */
        h->refused[i].pfns_left -= gb->npfns;
        return true;
    }
    return false;
}

/* The host has no memory for a GPADL: refused, but not the guest's fault
 * (counted nomem, not bad_gpadl, so not a violation). */
static int gpadl_nomem(struct hv_vmbus_host *h, uint32_t relid, uint32_t id)
{
    HV_STAT_INC(&h->stats, nomem);
    VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u: GPADL %#x "
                "refused: out of host memory", h->name, relid, id);
    gpadl_reply(h, relid, id, HV_VMBUS_OPEN_FAILED);
    return -ENOMEM;
}

/* A GPADL received its last PFN: answer and keep or drop it. */
static int gpadl_finish(struct hv_vmbus_host *h, struct hv_gpadl *g)
{
    uint32_t relid = hv_gpadl_relid(g), id = hv_gpadl_id(g);

    if (hv_gpadl_failed(g)) {
        hv_gpadl_discard(h->gpadls, g);
        return gpadl_refuse(h, relid, id, "PFN outside guest memory");
    }
    HV_STAT_INC(&h->stats, gpadl_created);
    gpadl_reply(h, relid, id, 0);
    return 0;
}

/* ---- message handlers ------------------------------------------------- */

static int on_initiate(struct hv_vmbus_host *h,
                       const struct hv_msg_initiate_contact *c)
{
    struct hv_chan_msg m = { .type = HV_MSG_VERSION_RESPONSE };
    bool ok = false;

    if (h->state != HV_VMBUS_CONNECTED)
        bus_reset(h); /* a new INITIATE_CONTACT restarts the bus */
    h->state = HV_VMBUS_CONNECTED;
    for (unsigned i = 0; i < sizeof(host_versions) / sizeof(host_versions[0]);
         i++)
        ok |= host_versions[i] == c->version;
    if (ok) {
        h->version = c->version;
        h->state = HV_VMBUS_VERSIONED;
    }
    m.u.version_response.version_supported = ok ? 1 : 0;
    m.u.version_response.connection_state = 0;
    /* ≥ 5.0: later messages go to msg_conn_id; our socket has one queue. */
    m.u.version_response.msg_conn_id =
        ok && c->version >= HV_VMBUS_VERSION_WIN10_V5 ? 1u : 0u;
    return send_msg(h, &m);
}

static int on_request_offers(struct hv_vmbus_host *h)
{
    struct hv_chan_msg m = { .type = HV_MSG_ALLOFFERS_DELIVERED };

    offer_idle(h);
    h->state = HV_VMBUS_READY;
    return send_msg(h, &m);
}

static int on_gpadl_header(struct hv_vmbus_host *h,
                           const struct hv_msg_gpadl_header *gh)
{
    struct hv_chan *c = find_chan(h, gh->child_relid);
    struct hv_gpadl *g;
    int rc;

    if (!c || (c->state != HV_CHAN_OFFERED && c->state != HV_CHAN_OPEN))
        return refuse(h, c, HV_MSG_GPADL_HEADER, "channel not usable");
    if (gh->byte_offset != 0 ||
        (uint64_t)gh->byte_count != (uint64_t)gh->total_pfns * HV_PAGE_SIZE)
        return gpadl_refuse(h, c->relid, gh->gpadl, "range shape");
    rc = hv_gpadl_begin(h->gpadls, h->mem, c->relid, gh->gpadl,
                        gh->total_pfns, &g);
    if (rc == -EEXIST)
        return gpadl_refuse(h, c->relid, gh->gpadl, "duplicate id");
    if (rc == -ENOSPC)
        return gpadl_refuse(h, c->relid, gh->gpadl, "too many GPADLs");
    if (rc == -ENOMEM) {
        gpadl_expect_bodies(h, gh);
        return gpadl_nomem(h, c->relid, gh->gpadl);
    }
    if (rc)
        return gpadl_refuse(h, c->relid, gh->gpadl, "page count");
    hv_gpadl_add_pfns(g, gh->pfns, gh->npfns); /* failure noted in g */
    return hv_gpadl_complete(g) ? gpadl_finish(h, g) : 0;
}

static int on_gpadl_body(struct hv_vmbus_host *h,
                         const struct hv_msg_gpadl_body *gb)
{
    struct hv_gpadl *g = hv_gpadl_lookup(h->gpadls, gb->gpadl);
    uint32_t relid;

    if (!g && gpadl_refused_body(h, gb))
        return 0;
    if (!g || hv_gpadl_complete(g)) {
        HV_STAT_INC(&h->stats, bad_gpadl);
        VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: GPADL_BODY for "
                    "unknown or complete GPADL %#x", h->name, gb->gpadl);
        return -EPROTO;
    }
    relid = hv_gpadl_relid(g);
    if (hv_gpadl_add_pfns(g, gb->pfns, gb->npfns) == -E2BIG) {
        hv_gpadl_discard(h->gpadls, g);
        return gpadl_refuse(h, relid, gb->gpadl, "more PFNs than announced");
    }
    return hv_gpadl_complete(g) ? gpadl_finish(h, g) : 0;
}

static int on_gpadl_teardown(struct hv_vmbus_host *h,
                             const struct hv_msg_gpadl_teardown *t)
{
    struct hv_chan *c = find_chan(h, t->child_relid);
    int rc;

    if (!c || c->state == HV_CHAN_IDLE)
        return refuse(h, c, HV_MSG_GPADL_TEARDOWN, "unknown channel");
    rc = hv_gpadl_teardown(h->gpadls, c->relid, t->gpadl);
    if (rc == 1) {
        HV_STAT_INC(&h->stats, gpadl_deferred);
        return 0;
    }
    if (rc < 0) {
        HV_STAT_INC(&h->stats, bad_gpadl);
        VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u: "
                    "teardown of unknown GPADL %#x", h->name, c->relid,
                    t->gpadl);
        return -EPROTO;
    }
    return 0;
}

static int open_reply(struct hv_vmbus_host *h, struct hv_chan *c,
                      uint32_t openid, uint32_t status)
{
    struct hv_chan_msg m = { .type = HV_MSG_OPENCHANNEL_RESULT };

    m.u.open_result.child_relid = c->relid;
    m.u.open_result.openid = openid;
    m.u.open_result.status = status;
    send_msg(h, &m);
    return status ? -EPROTO : 0;
}

static int on_open(struct hv_vmbus_host *h, const struct hv_msg_open *o)
{
    struct hv_chan *c = find_chan(h, o->child_relid);
    struct hv_ring_cfg in_cfg, out_cfg;
    char in_name[HV_RING_NAME_SIZE], out_name[HV_RING_NAME_SIZE];
    struct hv_gpadl *g;
    uint32_t npages, off = o->downstream_offset;
    const char *why = NULL;
    int rc;

    if (!c || c->state != HV_CHAN_OFFERED)
        return refuse(h, c, HV_MSG_OPENCHANNEL, "channel not offered");
    g = hv_gpadl_get(h->gpadls, c->relid, o->ring_gpadl);
    if (!g) {
        HV_STAT_INC(&c->stats, bad_gpadl);
        why = "ring GPADL unknown or incomplete";
        goto fail;
    }
    npages = hv_gpadl_npages(g);
    if (off < 2 || npages < 4 || off > npages - 2) {
        HV_STAT_INC(&c->stats, bad_gpadl);
        why = "ring page offset";
        goto fail_put;
    }
    in_cfg = (struct hv_ring_cfg){
        .role = HV_RING_READER,
        .dsize = (off - 1u) * HV_PAGE_SIZE,
        .accept_types = HV_PKT_TYPE_BIT(HV_PKT_INBAND) |
                        HV_PKT_TYPE_BIT(HV_PKT_GPA_DIRECT) |
                        HV_PKT_TYPE_BIT(HV_PKT_CANCEL_REQUEST) |
                        HV_PKT_TYPE_BIT(HV_PKT_COMP),
        .stats = &c->stats,
        .name = in_name,
        .log_rl = &h->log_rl,
    };
    out_cfg = (struct hv_ring_cfg){
        .role = HV_RING_WRITER,
        .dsize = (npages - off - 1u) * HV_PAGE_SIZE,
        .stats = &c->stats,
        .name = out_name,
        .log_rl = &h->log_rl,
    };
    snprintf(in_name, sizeof(in_name), "vm %s: channel %u: guest-to-host "
             "ring", h->name, c->relid);
    snprintf(out_name, sizeof(out_name), "vm %s: channel %u: host-to-guest "
             "ring", h->name, c->relid);
    if ((off - 1u) > HV_RING_MAX_DSIZE / HV_PAGE_SIZE ||
        (npages - off - 1u) > HV_RING_MAX_DSIZE / HV_PAGE_SIZE)
        rc = -EINVAL;
    else if ((rc = hv_ring_create_gpadl(&in_cfg, g, 0, &c->in)) == 0)
        rc = hv_ring_create_gpadl(&out_cfg, g, off, &c->out);
    if (rc == -ENOMEM) {
        HV_STAT_INC(&h->stats, nomem); /* not the guest's fault */
        why = "out of host memory";
        goto fail_rings;
    }
    if (rc) {
        why = "ring indices out of range";
        goto fail_rings;
    }
    hv_gpadl_put(g); /* the rings hold their own references */
    c->openid = o->openid;
    if (h->ops.chan_open && (rc = h->ops.chan_open(h->ctx, c)) != 0) {
        if (rc == -ENOMEM)
            HV_STAT_INC(&h->stats, nomem);
        chan_shutdown(h, c);
        return open_reply(h, c, o->openid, HV_VMBUS_OPEN_FAILED);
    }
    c->upper_open = true;
    c->state = HV_CHAN_OPEN;
    return open_reply(h, c, o->openid, 0);

fail_rings:
    hv_ring_destroy(c->in);
    hv_ring_destroy(c->out);
    c->in = NULL;
    c->out = NULL;
fail_put:
    hv_gpadl_put(g);
fail:
    VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u: open "
                "refused: %s", h->name, c->relid, why);
    return open_reply(h, c, o->openid, HV_VMBUS_OPEN_FAILED);
}

static int on_close(struct hv_vmbus_host *h, uint32_t relid)
{
    struct hv_chan *c = find_chan(h, relid);

    if (!c || (c->state != HV_CHAN_OPEN && c->state != HV_CHAN_BROKEN &&
               c->state != HV_CHAN_RESCINDED))
        return refuse(h, c, HV_MSG_CLOSECHANNEL, "channel not open");
    chan_shutdown(h, c);
    if (c->state != HV_CHAN_RESCINDED)
        c->state = HV_CHAN_OFFERED;
    return 0;
}

static int on_relid_released(struct hv_vmbus_host *h, uint32_t relid)
{
    struct hv_chan *c = find_chan(h, relid);
    unsigned left;

    if (!c || c->state != HV_CHAN_RESCINDED)
        return refuse(h, c, HV_MSG_RELID_RELEASED, "channel not rescinded");
    /* GPADLs the guest did not tear down would stay in the table with no
     * channel to name them: each cycle of a hot-removed NIC would then
     * hold host memory and a share of HV_GPADL_MAX_TOTAL until the VM
     * disconnects (a guest that skips its teardowns). */
    left = hv_gpadl_table_drop_chan(h->gpadls, relid);
    if (left) {
        HV_STAT_ADD(&h->stats, gpadl_orphaned, left);
        VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u released "
                    "with %u GPADL%s not torn down: dropped", h->name, relid,
                    left, left == 1 ? "" : "s");
    }
    chan_free(h, c);
    if (h->state == HV_VMBUS_READY)
        offer_idle(h); /* a NIC added again while the guest held this one */
    return 0;
}

static int on_unload(struct hv_vmbus_host *h)
{
    struct hv_chan_msg m = { .type = HV_MSG_UNLOAD_RESPONSE };

    bus_reset(h);
    h->state = HV_VMBUS_CONNECTED;
    return send_msg(h, &m);
}

/* ---- public: host ------------------------------------------------------- */

int hv_vmbus_host_create(const struct hv_vmbus_host_ops *ops, void *ctx,
                         struct hv_vmbus_host **out)
{
    struct hv_vmbus_host *h;
    int rc;

    if (!ops || !ops->send || !out)
        return -EINVAL;
    h = vsa_calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    rc = hv_gpadl_table_create(freed_cb, h, &h->gpadls);
    if (rc) {
        vsa_free(h);
        return rc;
    }
    h->ops = *ops;
    h->ctx = ctx;
    h->next_relid = 1;
    vsa_ratelimit_init(&h->log_rl, HV_VMBUS_LOG_VM_BURST,
                       HV_VMBUS_LOG_PERIOD_S, NULL);
    hv_vmbus_host_set_name(h, "vmbus");
    *out = h;
    return 0;
}

void hv_vmbus_host_destroy(struct hv_vmbus_host *h)
{
    if (!h)
        return;
    hv_vmbus_host_disconnect(h);
    while (h->chans)
        chan_free(h, h->chans);
    hv_gpadl_table_destroy(h->gpadls);
    vsa_free(h);
}

void hv_vmbus_host_set_name(struct hv_vmbus_host *h, const char *name)
{
    char label[VSA_RATELIMIT_LABEL_SIZE];

    snprintf(h->name, sizeof(h->name), "%s", name ? name : "vmbus");
    snprintf(label, sizeof(label), "vm %.*s", (int)sizeof(label) - 4,
             h->name);
    vsa_ratelimit_set_label(&h->log_rl, label);
}

const char *hv_vmbus_host_name(const struct hv_vmbus_host *h)
{
    return h->name;
}

int hv_vmbus_host_connect(struct hv_vmbus_host *h, struct hv_mem *mem)
{
    if (h->state != HV_VMBUS_DISCONNECTED)
        return -EBUSY;
    h->mem = hv_mem_get(mem);
    h->state = HV_VMBUS_CONNECTED;
    return 0;
}

void hv_vmbus_host_disconnect(struct hv_vmbus_host *h)
{
    if (h->state == HV_VMBUS_DISCONNECTED)
        return;
    bus_reset(h);
    hv_mem_put(h->mem);
    h->mem = NULL;
    h->state = HV_VMBUS_DISCONNECTED;
}

/* The memory of an offer is its channel's, zeroed. */
struct hv_vmbus_offer_mem *hv_vmbus_offer_mem_alloc(void)
{
    return vsa_calloc(1, sizeof(struct hv_chan));
}

void hv_vmbus_offer_mem_free(struct hv_vmbus_offer_mem *mem)
{
    vsa_free(mem);
}

int hv_vmbus_host_add_offer(struct hv_vmbus_host *h,
                            const struct hv_vmbus_offer_cfg *cfg,
                            uint32_t *relid)
{
    struct hv_vmbus_offer_mem *mem = NULL;

    return hv_vmbus_host_add_offer_mem(h, cfg, &mem, relid);
}

int hv_vmbus_host_add_offer_mem(struct hv_vmbus_host *h,
                                const struct hv_vmbus_offer_cfg *cfg,
                                struct hv_vmbus_offer_mem **mem,
                                uint32_t *relid)
{
    struct hv_chan *c, **pp;

    if (h->nchans >= HV_VMBUS_MAX_CHANNELS)
        return -ENOSPC;
    c = *mem ? (struct hv_chan *)(void *)*mem : vsa_calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    *mem = NULL;
    while (find_chan(h, h->next_relid) || h->next_relid == 0 ||
           h->next_relid == UINT32_MAX)
        h->next_relid++;
    c->host = h;
    c->relid = h->next_relid++;
    c->offer = *cfg;
    c->state = HV_CHAN_IDLE;
    c->in_fd = -1;
    c->out_fd = -1;
    for (pp = &h->chans; *pp; pp = &(*pp)->next)
        ;
    *pp = c; /* offer order = creation order (primary before subs) */
    h->nchans++;
    if (h->state == HV_VMBUS_READY) {
        const struct hv_chan *twin = rescinded_twin(h, c);

        if (!twin)
            send_offer(h, c);
        else
            VSA_LOG(INFO, "vm %s: channel %u offered once the guest releases "
                    "channel %u, the same device rescinded", h->name,
                    c->relid, twin->relid);
    }
    if (relid)
        *relid = c->relid;
    return 0;
}

int hv_vmbus_host_rescind(struct hv_vmbus_host *h, uint32_t relid)
{
    struct hv_chan *c = find_chan(h, relid);
    struct hv_chan_msg m = { .type = HV_MSG_RESCIND_CHANNELOFFER };

    if (!c || c->state == HV_CHAN_RESCINDED)
        return -ENOENT;
    if (c->state == HV_CHAN_IDLE) {
        chan_free(h, c);
        return 0;
    }
    chan_shutdown(h, c);
    c->state = HV_CHAN_RESCINDED;
    m.u.child_relid = relid;
    send_msg(h, &m);
    hv_vmbus_host_reap(h);
    return 0;
}

int hv_vmbus_host_handle_msg(struct hv_vmbus_host *h, const void *msg,
                             size_t len)
{
    struct hv_chan_msg m;
    int rc;

    if (h->state == HV_VMBUS_DISCONNECTED)
        return -ENOTCONN;
    HV_STAT_INC(&h->stats, msgs_in);
    if (hv_chan_msg_decode(msg, len, &m) != 0) {
        HV_STAT_INC(&h->stats, bad_msg);
        VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: malformed channel "
                    "message (%zu bytes)", h->name, len);
        return -EBADMSG;
    }
    if (!hv_chan_msg_from_guest(m.type))
        return refuse(h, NULL, m.type, "host-to-guest message type");

    switch (m.type) {
    case HV_MSG_INITIATE_CONTACT:
        return on_initiate(h, &m.u.initiate);
    case HV_MSG_REQUESTOFFERS:
        if (h->state != HV_VMBUS_VERSIONED)
            return refuse(h, NULL, m.type, "not right after version");
        return on_request_offers(h);
    case HV_MSG_UNLOAD:
        if (h->state < HV_VMBUS_VERSIONED)
            return refuse(h, NULL, m.type, "no version negotiated");
        return on_unload(h);
    default:
        break;
    }
    if (h->state != HV_VMBUS_READY)
        return refuse(h, NULL, m.type, "offers not requested");
    switch (m.type) {
    case HV_MSG_GPADL_HEADER:
        rc = on_gpadl_header(h, &m.u.gpadl_header);
        break;
    case HV_MSG_GPADL_BODY:
        rc = on_gpadl_body(h, &m.u.gpadl_body);
        break;
    case HV_MSG_GPADL_TEARDOWN:
        rc = on_gpadl_teardown(h, &m.u.gpadl_teardown);
        break;
    case HV_MSG_OPENCHANNEL:
        rc = on_open(h, &m.u.open);
        break;
    case HV_MSG_CLOSECHANNEL:
        rc = on_close(h, m.u.child_relid);
        break;
    case HV_MSG_RELID_RELEASED:
        rc = on_relid_released(h, m.u.child_relid);
        break;
    default:
        rc = refuse(h, NULL, m.type, "unexpected");
        break;
    }
    hv_vmbus_host_reap(h);
    return rc;
}

unsigned hv_vmbus_host_check_rings(struct hv_vmbus_host *h)
{
    unsigned n = 0;

    for (struct hv_chan *c = h->chans; c; c = c->next)
        if (c->state == HV_CHAN_OPEN &&
            (hv_ring_broken(c->in) || hv_ring_broken(c->out))) {
            hv_chan_violation(c, "ring broken");
            n++;
        }
    return n;
}

void hv_vmbus_host_reap(struct hv_vmbus_host *h)
{
    hv_gpadl_table_reap(h->gpadls);
}

enum hv_vmbus_state hv_vmbus_host_state(const struct hv_vmbus_host *h)
{
    return h->state;
}

uint32_t hv_vmbus_host_version(const struct hv_vmbus_host *h)
{
    return h->version;
}

struct hv_chan *hv_vmbus_host_chan(struct hv_vmbus_host *h, uint32_t relid)
{
    return find_chan(h, relid);
}

struct hv_chan *hv_vmbus_host_chan_at(struct hv_vmbus_host *h, unsigned i)
{
    struct hv_chan *c = h->chans;

    while (c && i--)
        c = c->next;
    return c;
}

const struct hv_stats *hv_vmbus_host_stats(const struct hv_vmbus_host *h)
{
    return &h->stats;
}

unsigned hv_vmbus_host_gpadl_count(const struct hv_vmbus_host *h)
{
    return hv_gpadl_count(h->gpadls);
}

struct hv_gpadl *hv_vmbus_host_gpadl_get(struct hv_vmbus_host *h,
                                         uint32_t relid, uint32_t id)
{
    return hv_gpadl_get(h->gpadls, relid, id);
}

const char *hv_vmbus_state_name(enum hv_vmbus_state s)
{
    static const char *const n[] = { "disconnected", "connected", "versioned",
                                     "ready" };
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *hv_chan_state_name(enum hv_chan_state s)
{
    static const char *const n[] = { "idle", "offered", "open", "broken",
                                     "rescinded" };
    return (unsigned)s < 5 ? n[s] : "?";
}

/* ---- public: channels --------------------------------------------------- */

uint32_t hv_chan_relid(const struct hv_chan *ch)
{
    return ch->relid;
}

enum hv_chan_state hv_chan_state(const struct hv_chan *ch)
{
    return ch->state;
}

const struct hv_vmbus_offer_cfg *hv_chan_offer(const struct hv_chan *ch)
{
    return &ch->offer;
}

struct hv_ring *hv_chan_in_ring(struct hv_chan *ch)
{
    return ch->in;
}

struct hv_ring *hv_chan_out_ring(struct hv_chan *ch)
{
    return ch->out;
}

struct hv_stats *hv_chan_stats(struct hv_chan *ch)
{
    return &ch->stats;
}

void hv_chan_set_user(struct hv_chan *ch, void *user)
{
    ch->user = user;
}

void *hv_chan_user(const struct hv_chan *ch)
{
    return ch->user;
}

void hv_chan_violation(struct hv_chan *ch, const char *why)
{
    struct hv_vmbus_host *h = ch->host;

    if (ch->state != HV_CHAN_OPEN)
        return;
    HV_STAT_INC(&ch->stats, chan_violation_closed);
    HV_STAT_INC(&h->stats, chan_violation_closed);
    VSA_LOG_RL2(&h->log_rl, &host_rl, WARN, "vm %s: channel %u closed: %s",
                h->name, ch->relid, why);
    chan_shutdown(h, ch);
    ch->state = HV_CHAN_BROKEN;
    hv_vmbus_host_reap(h);
}

void hv_chan_set_signal_fds(struct hv_chan *ch, int in_fd, int out_fd)
{
    ch->in_fd = in_fd;
    ch->out_fd = out_fd;
}

int hv_chan_in_signal_fd(const struct hv_chan *ch)
{
    return ch->in_fd;
}

int hv_chan_signal_fd_check(int fd)
{
    struct sockaddr_un peer;
    int v;
    socklen_t len = sizeof(v);

    /* getsockopt first: it answers ENOTSOCK for any other file without
     * calling into its filesystem, which fstat would (a FUSE file the
     * guest serves itself could make it wait). */
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
        return -ENOTSOCK;
    if (v != AF_UNIX)
        return -EPROTOTYPE;
    len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ||
        v != SOCK_SEQPACKET)
        return -EPROTOTYPE;
    /* Connected (a connection-oriented socket cannot be re-connected
     * later), and to an unnamed peer: a socketpair end, not a connection
     * to some listening socket on which our signals would be 8-byte
     * messages sent with the host's credentials. */
    len = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
        return -ENOTCONN;
    if (len != sizeof(sa_family_t))
        return -EPERM;
    return 0;
}

int hv_chan_in_signal_fd_check(int fd)
{
    static const char want[] = "anon_inode:[eventfd]";
    char path[40], link[sizeof(want) + 1];
    struct stat st;
    ssize_t n;

    if (fd < 0)
        return -EBADF;
    /* The link first: procfs names the file without calling into its
     * filesystem, so fstat only ever sees an anonymous inode (on a FUSE
     * file the guest serves, fstat could wait for the guest). */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof(link));
    if (n < 0)
        return errno == ENOENT ? -EBADF : -EINVAL;
    if (n != (ssize_t)(sizeof(want) - 1) || memcmp(link, want, (size_t)n))
        return -EINVAL;
    /* an anonymous inode carries no file type bits */
    if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != 0)
        return -EINVAL;
    return 0;
}

int hv_chan_notify_guest(struct hv_chan *ch)
{
    static const uint64_t one = 1;
    ssize_t n;

    if (ch->out_fd < 0)
        return -ENOTCONN;
    /* The guest shares this socket's file: it may clear O_NONBLOCK,
     * shrink the buffer, stop reading or close its end.  MSG_DONTWAIT and
     * MSG_NOSIGNAL are per call, so none of that can block or kill the
     * servicing thread (an eventfd here could block: write() on a full
     * counter sleeps unless the shared file is O_NONBLOCK). */
    n = send(ch->out_fd, &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)sizeof(one)) {
        HV_STAT_INC(&ch->stats, signals_sent);
        return 0;
    }
    HV_STAT_INC(&ch->stats, signals_dropped);
    if (n >= 0)
        return -EIO;
    /* Queue full: unread signals are pending, the guest will wake. */
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    return -errno;
}

uint64_t hv_chan_ack_signal(struct hv_chan *ch)
{
    uint64_t v = 0;
    struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

    /* The eventfd's file description is shared with the guest, which can
     * clear O_NONBLOCK on it and drain the counter between our wakeup and
     * this read: a plain read() would then block the servicing thread.
     * RWF_NOWAIT makes this one read non-blocking whatever the flags. */
    if (ch->in_fd < 0 ||
        preadv2(ch->in_fd, &iov, 1, -1, RWF_NOWAIT) != (ssize_t)sizeof(v))
        return 0;
    HV_STAT_INC(&ch->stats, signals_received);
    return v;
}
