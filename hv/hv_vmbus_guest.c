/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_vmbus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_MAX_GPADLS 256u
#define GUEST_MAX_VERSIONS 16u
#define GUEST_GPADL_FIRST_ID 0xE1E10u

struct guest_gpadl {
    uint32_t id;
    uint32_t relid;
    int status; /* -EINPROGRESS, 0, -EIO; teardown pending: tearing */
    bool tearing;
    bool used;
};

struct hv_vmbus_guest {
    struct hv_vmbus_guest_ops ops;
    void *ctx;
    enum hv_vmbus_guest_state state;
    uint32_t versions[GUEST_MAX_VERSIONS];
    unsigned nversions;
    unsigned vidx; /* version being tried */
    uint32_t version;
    struct hv_vmbus_guest_offer offers[HV_VMBUS_MAX_CHANNELS];
    unsigned noffers;
    struct guest_gpadl gpadls[GUEST_MAX_GPADLS];
    uint32_t next_gpadl;
};

static const uint32_t default_versions[] = {
    HV_VMBUS_VERSION_WIN10_V5_3, HV_VMBUS_VERSION_WIN10_V5_2,
    HV_VMBUS_VERSION_WIN10_V5_1, HV_VMBUS_VERSION_WIN10_V5,
    HV_VMBUS_VERSION_WIN10_V4_1, HV_VMBUS_VERSION_WIN10,
    HV_VMBUS_VERSION_WIN8_1,     HV_VMBUS_VERSION_WIN8,
};

static int gsend(struct hv_vmbus_guest *g, const struct hv_chan_msg *m)
{
    uint8_t buf[HV_CHAN_MSG_MAX_SIZE];
    int n = hv_chan_msg_encode(m, buf, sizeof(buf));

    if (n < 0)
        return n;
    return g->ops.send(g->ctx, buf, (size_t)n);
}

static struct hv_vmbus_guest_offer *find_offer(struct hv_vmbus_guest *g,
                                               uint32_t relid)
{
    for (unsigned i = 0; i < g->noffers; i++)
        if (g->offers[i].offer.child_relid == relid)
            return &g->offers[i];
    return NULL;
}

static struct guest_gpadl *find_gpadl(const struct hv_vmbus_guest *g,
                                      uint32_t id)
{
    for (unsigned i = 0; i < GUEST_MAX_GPADLS; i++)
        if (g->gpadls[i].used && g->gpadls[i].id == id)
            return (struct guest_gpadl *)&g->gpadls[i];
    return NULL;
}

int hv_vmbus_guest_create(const struct hv_vmbus_guest_ops *ops, void *ctx,
                          const uint32_t *versions, unsigned nversions,
                          struct hv_vmbus_guest **out)
{
    struct hv_vmbus_guest *g;

    if (!ops || !ops->send || !out || nversions > GUEST_MAX_VERSIONS ||
        (versions && nversions == 0))
        return -EINVAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->ops = *ops;
    g->ctx = ctx;
    if (!versions) {
        versions = default_versions;
        nversions = sizeof(default_versions) / sizeof(default_versions[0]);
    }
    memcpy(g->versions, versions, nversions * sizeof(*versions));
    g->nversions = nversions;
    g->next_gpadl = GUEST_GPADL_FIRST_ID;
    *out = g;
    return 0;
}

void hv_vmbus_guest_destroy(struct hv_vmbus_guest *g)
{
    free(g);
}

static int send_contact(struct hv_vmbus_guest *g)
{
    struct hv_chan_msg m = { .type = HV_MSG_INITIATE_CONTACT };

    m.u.initiate.version = g->versions[g->vidx];
    g->state = HV_GUEST_CONTACTING;
    return gsend(g, &m);
}

int hv_vmbus_guest_connect(struct hv_vmbus_guest *g)
{
    g->vidx = 0;
    g->version = 0;
    g->noffers = 0;
    memset(g->gpadls, 0, sizeof(g->gpadls));
    return send_contact(g);
}

int hv_vmbus_guest_handle_msg(struct hv_vmbus_guest *g, const void *msg,
                              size_t len)
{
    struct hv_chan_msg m;
    struct hv_vmbus_guest_offer *o;
    struct guest_gpadl *gp;
    int rc = 0;

    if (hv_chan_msg_decode(msg, len, &m) != 0)
        return -EBADMSG;
    if (hv_chan_msg_from_guest(m.type))
        return -EPROTO;

    switch (m.type) {
    case HV_MSG_VERSION_RESPONSE:
        if (g->state != HV_GUEST_CONTACTING)
            return -EPROTO;
        if (m.u.version_response.version_supported) {
            struct hv_chan_msg req = { .type = HV_MSG_REQUESTOFFERS };
            g->version = g->versions[g->vidx];
            g->state = HV_GUEST_REQUESTING;
            rc = gsend(g, &req);
        } else if (++g->vidx < g->nversions) {
            rc = send_contact(g);
        } else {
            g->state = HV_GUEST_FAILED;
            rc = -EPROTONOSUPPORT;
        }
        break;
    case HV_MSG_OFFERCHANNEL:
        if (g->state != HV_GUEST_REQUESTING && g->state != HV_GUEST_READY)
            return -EPROTO;
        o = find_offer(g, m.u.offer.child_relid);
        if (!o) {
            if (g->noffers >= HV_VMBUS_MAX_CHANNELS)
                return -EPROTO;
            o = &g->offers[g->noffers++];
        }
        memset(o, 0, sizeof(*o));
        o->offer = m.u.offer;
        o->open_status = -ENOENT;
        break;
    case HV_MSG_ALLOFFERS_DELIVERED:
        if (g->state != HV_GUEST_REQUESTING)
            return -EPROTO;
        g->state = HV_GUEST_READY;
        break;
    case HV_MSG_RESCIND_CHANNELOFFER:
        o = find_offer(g, m.u.child_relid);
        if (!o)
            return -EPROTO;
        o->rescinded = true;
        break;
    case HV_MSG_OPENCHANNEL_RESULT:
        o = find_offer(g, m.u.open_result.child_relid);
        if (!o || o->open_status != -EINPROGRESS ||
            o->openid != m.u.open_result.openid)
            return -EPROTO;
        o->open_status = m.u.open_result.status == 0 ? 0 : -EIO;
        break;
    case HV_MSG_GPADL_CREATED:
        gp = find_gpadl(g, m.u.gpadl_created.gpadl);
        if (!gp || gp->status != -EINPROGRESS || gp->tearing ||
            gp->relid != m.u.gpadl_created.child_relid)
            return -EPROTO;
        gp->status = m.u.gpadl_created.status == 0 ? 0 : -EIO;
        break;
    case HV_MSG_GPADL_TORNDOWN:
        gp = find_gpadl(g, m.u.gpadl);
        if (!gp || !gp->tearing)
            return -EPROTO;
        memset(gp, 0, sizeof(*gp));
        break;
    case HV_MSG_UNLOAD_RESPONSE:
        if (g->state != HV_GUEST_UNLOADING)
            return -EPROTO;
        g->state = HV_GUEST_IDLE;
        g->version = 0;
        g->noffers = 0;
        memset(g->gpadls, 0, sizeof(g->gpadls));
        break;
    default:
        return -EPROTO;
    }
    if (g->ops.event)
        g->ops.event(g->ctx, &m);
    return rc;
}

enum hv_vmbus_guest_state hv_vmbus_guest_state(const struct hv_vmbus_guest *g)
{
    return g->state;
}

uint32_t hv_vmbus_guest_version(const struct hv_vmbus_guest *g)
{
    return g->version;
}

unsigned hv_vmbus_guest_offer_count(const struct hv_vmbus_guest *g)
{
    return g->noffers;
}

const struct hv_vmbus_guest_offer *
hv_vmbus_guest_offer_at(const struct hv_vmbus_guest *g, unsigned i)
{
    return i < g->noffers ? &g->offers[i] : NULL;
}

uint32_t hv_vmbus_guest_find_offer(const struct hv_vmbus_guest *g,
                                   const struct hv_guid *if_type,
                                   uint16_t sub_channel_index)
{
    for (unsigned i = 0; i < g->noffers; i++) {
        const struct hv_msg_offer *o = &g->offers[i].offer;
        if (!g->offers[i].rescinded && hv_guid_equal(&o->if_type, if_type) &&
            o->sub_channel_index == sub_channel_index)
            return o->child_relid;
    }
    return 0;
}

uint32_t hv_vmbus_guest_next_gpadl_id(struct hv_vmbus_guest *g)
{
    while (find_gpadl(g, g->next_gpadl) || g->next_gpadl == 0)
        g->next_gpadl++;
    return g->next_gpadl++;
}

int hv_vmbus_guest_gpadl_create(struct hv_vmbus_guest *g, uint32_t relid,
                                uint32_t id, const uint64_t *pfns, uint32_t n)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_HEADER };
    struct guest_gpadl *slot = NULL;
    uint32_t done, msgno = 0;
    int rc;

    if (n == 0 || n > (0xffffu - 8u) / 8u || find_gpadl(g, id))
        return -EINVAL;
    for (unsigned i = 0; i < GUEST_MAX_GPADLS && !slot; i++)
        if (!g->gpadls[i].used)
            slot = &g->gpadls[i];
    if (!slot)
        return -ENOSPC;
    m.u.gpadl_header.child_relid = relid;
    m.u.gpadl_header.gpadl = id;
    m.u.gpadl_header.byte_count = n * HV_PAGE_SIZE;
    m.u.gpadl_header.byte_offset = 0;
    m.u.gpadl_header.total_pfns = n;
    m.u.gpadl_header.npfns = n < HV_GPADL_HEADER_MAX_PFNS
                                 ? n : HV_GPADL_HEADER_MAX_PFNS;
    memcpy(m.u.gpadl_header.pfns, pfns, m.u.gpadl_header.npfns * 8u);
    *slot = (struct guest_gpadl){ .id = id, .relid = relid,
                                  .status = -EINPROGRESS, .used = true };
    rc = gsend(g, &m);
    done = m.u.gpadl_header.npfns;
    while (rc == 0 && done < n) {
        struct hv_chan_msg b = { .type = HV_MSG_GPADL_BODY };
        uint32_t k = n - done < HV_GPADL_BODY_MAX_PFNS
                         ? n - done : HV_GPADL_BODY_MAX_PFNS;
        b.u.gpadl_body.msgnumber = ++msgno;
        b.u.gpadl_body.gpadl = id;
        b.u.gpadl_body.npfns = k;
        memcpy(b.u.gpadl_body.pfns, pfns + done, k * 8u);
        rc = gsend(g, &b);
        done += k;
    }
    if (rc)
        memset(slot, 0, sizeof(*slot));
    return rc;
}

int hv_vmbus_guest_gpadl_status(const struct hv_vmbus_guest *g, uint32_t id)
{
    const struct guest_gpadl *gp = find_gpadl(g, id);

    if (!gp)
        return -ENOENT;
    return gp->tearing ? -EINPROGRESS : gp->status;
}

int hv_vmbus_guest_gpadl_teardown(struct hv_vmbus_guest *g, uint32_t relid,
                                  uint32_t id)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_TEARDOWN };
    struct guest_gpadl *gp = find_gpadl(g, id);

    int rc;

    if (!gp || gp->tearing)
        return -ENOENT;
    /* State changes here are set before the send (its answer must find
     * them) and undone when it fails: the host heard nothing, and the
     * request may be retried. */
    gp->tearing = true;
    m.u.gpadl_teardown.child_relid = relid;
    m.u.gpadl_teardown.gpadl = id;
    rc = gsend(g, &m);
    if (rc)
        gp->tearing = false;
    return rc;
}

int hv_vmbus_guest_open(struct hv_vmbus_guest *g, uint32_t relid,
                        uint32_t openid, uint32_t ring_gpadl,
                        uint32_t downstream_offset)
{
    struct hv_chan_msg m = { .type = HV_MSG_OPENCHANNEL };
    struct hv_vmbus_guest_offer *o = find_offer(g, relid);
    int status, rc;
    uint32_t prev_openid;

    if (!o)
        return -ENOENT;
    status = o->open_status;
    prev_openid = o->openid;
    o->open_status = -EINPROGRESS;
    o->openid = openid;
    m.u.open.child_relid = relid;
    m.u.open.openid = openid;
    m.u.open.ring_gpadl = ring_gpadl;
    m.u.open.downstream_offset = downstream_offset;
    rc = gsend(g, &m);
    if (rc) {
        o->open_status = status;
        o->openid = prev_openid;
    }
    return rc;
}

int hv_vmbus_guest_open_status(const struct hv_vmbus_guest *g, uint32_t relid)
{
    for (unsigned i = 0; i < g->noffers; i++)
        if (g->offers[i].offer.child_relid == relid)
            return g->offers[i].open_status;
    return -ENOENT;
}

static int send_relid(struct hv_vmbus_guest *g, uint32_t type, uint32_t relid)
{
    struct hv_chan_msg m = { .type = type };

    m.u.child_relid = relid;
    return gsend(g, &m);
}

int hv_vmbus_guest_close(struct hv_vmbus_guest *g, uint32_t relid)
{
    struct hv_vmbus_guest_offer *o = find_offer(g, relid);
    int status = o ? o->open_status : -ENOENT;
    int rc;

    if (o)
        o->open_status = -ENOENT;
    rc = send_relid(g, HV_MSG_CLOSECHANNEL, relid);
    if (o && rc) /* not sent: the host still has it open */
        o->open_status = status;
    return rc;
}

int hv_vmbus_guest_relid_released(struct hv_vmbus_guest *g, uint32_t relid)
{
    struct hv_vmbus_guest_offer *o = find_offer(g, relid);
    int rc = send_relid(g, HV_MSG_RELID_RELEASED, relid);

    /* Forgotten once the host was told (the host will reuse nothing, but
     * keep it tidy); kept otherwise, so that the release can be retried. */
    if (o && rc == 0)
        *o = g->offers[--g->noffers];
    return rc;
}

int hv_vmbus_guest_unload(struct hv_vmbus_guest *g)
{
    struct hv_chan_msg m = { .type = HV_MSG_UNLOAD };
    enum hv_vmbus_guest_state prev = g->state;
    int rc;

    g->state = HV_GUEST_UNLOADING;
    rc = gsend(g, &m);
    if (rc)
        g->state = prev;
    return rc;
}
