/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_chan_msg.h"

#include <errno.h>
#include <string.h>

#include "hv/hv_wire.h"

/* {f8615163-df3e-46c5-913f-f2d2f965ed0e}, fields 1-3 little-endian (§8). */
const struct hv_guid hv_guid_netvsc = { {
    0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } };

static const char *const type_names[] = {
    [HV_MSG_INVALID] = "INVALID",
    [HV_MSG_OFFERCHANNEL] = "OFFERCHANNEL",
    [HV_MSG_RESCIND_CHANNELOFFER] = "RESCIND_CHANNELOFFER",
    [HV_MSG_REQUESTOFFERS] = "REQUESTOFFERS",
    [HV_MSG_ALLOFFERS_DELIVERED] = "ALLOFFERS_DELIVERED",
    [HV_MSG_OPENCHANNEL] = "OPENCHANNEL",
    [HV_MSG_OPENCHANNEL_RESULT] = "OPENCHANNEL_RESULT",
    [HV_MSG_CLOSECHANNEL] = "CLOSECHANNEL",
    [HV_MSG_GPADL_HEADER] = "GPADL_HEADER",
    [HV_MSG_GPADL_BODY] = "GPADL_BODY",
    [HV_MSG_GPADL_CREATED] = "GPADL_CREATED",
    [HV_MSG_GPADL_TEARDOWN] = "GPADL_TEARDOWN",
    [HV_MSG_GPADL_TORNDOWN] = "GPADL_TORNDOWN",
    [HV_MSG_RELID_RELEASED] = "RELID_RELEASED",
    [HV_MSG_INITIATE_CONTACT] = "INITIATE_CONTACT",
    [HV_MSG_VERSION_RESPONSE] = "VERSION_RESPONSE",
    [HV_MSG_UNLOAD] = "UNLOAD",
    [HV_MSG_UNLOAD_RESPONSE] = "UNLOAD_RESPONSE",
};

bool hv_guid_equal(const struct hv_guid *a, const struct hv_guid *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

const char *hv_chan_msg_type_name(uint32_t type)
{
    return type <= HV_MSG_TYPE_MAX ? type_names[type] : "?";
}

bool hv_chan_msg_from_guest(uint32_t type)
{
    switch (type) {
    case HV_MSG_REQUESTOFFERS:
    case HV_MSG_OPENCHANNEL:
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_GPADL_HEADER:
    case HV_MSG_GPADL_BODY:
    case HV_MSG_GPADL_TEARDOWN:
    case HV_MSG_RELID_RELEASED:
    case HV_MSG_INITIATE_CONTACT:
    case HV_MSG_UNLOAD:
        return true;
    default:
        return false;
    }
}

/* Exact wire size of fixed-size types; 0 for variable ones. */
static size_t fixed_size(uint32_t type)
{
    switch (type) {
    case HV_MSG_OFFERCHANNEL:
        return HV_MSG_SIZE_OFFER;
    case HV_MSG_RESCIND_CHANNELOFFER:
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_RELID_RELEASED:
        return HV_MSG_SIZE_RELID;
    case HV_MSG_REQUESTOFFERS:
    case HV_MSG_ALLOFFERS_DELIVERED:
    case HV_MSG_UNLOAD:
    case HV_MSG_UNLOAD_RESPONSE:
        return HV_MSG_SIZE_EMPTY;
    case HV_MSG_OPENCHANNEL:
        return HV_MSG_SIZE_OPEN;
    case HV_MSG_OPENCHANNEL_RESULT:
        return HV_MSG_SIZE_OPEN_RESULT;
    case HV_MSG_GPADL_CREATED:
        return HV_MSG_SIZE_GPADL_CREATED;
    case HV_MSG_GPADL_TEARDOWN:
        return HV_MSG_SIZE_GPADL_TEARDOWN;
    case HV_MSG_GPADL_TORNDOWN:
        return HV_MSG_SIZE_GPADL_TORNDOWN;
    case HV_MSG_INITIATE_CONTACT:
        return HV_MSG_SIZE_INITIATE_CONTACT;
    case HV_MSG_VERSION_RESPONSE:
        return HV_MSG_SIZE_VERSION_RESPONSE;
    default:
        return 0;
    }
}

int hv_chan_msg_decode(const void *buf, size_t len, struct hv_chan_msg *out)
{
    const uint8_t *p = buf;
    uint32_t type;
    size_t want;

    if (!buf || len < HV_CHAN_MSG_HDR_SIZE || len > HV_CHAN_MSG_MAX_SIZE)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    type = hv__le32(p);
    if (type == HV_MSG_INVALID || type > HV_MSG_TYPE_MAX)
        return -EBADMSG;
    want = fixed_size(type);
    if (want && len != want)
        return -EBADMSG;
    out->type = type;

    switch (type) {
    case HV_MSG_OFFERCHANNEL: {
        struct hv_msg_offer *o = &out->u.offer;
        memcpy(o->if_type.b, p + 8, 16);
        memcpy(o->if_instance.b, p + 24, 16);
        o->chn_flags = hv__le16(p + 56);
        o->mmio_megabytes = hv__le16(p + 58);
        memcpy(o->user_def, p + 60, 120);
        o->sub_channel_index = hv__le16(p + 180);
        o->child_relid = hv__le32(p + 184);
        o->monitorid = p[188];
        o->monitor_allocated = p[189] & 1u;
        o->dedicated_interrupt = hv__le16(p + 190) & 1u;
        o->connection_id = hv__le32(p + 192);
        if (o->child_relid == 0 || o->child_relid == UINT32_MAX)
            return -EBADMSG;
        break;
    }
    case HV_MSG_RESCIND_CHANNELOFFER:
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_RELID_RELEASED:
        out->u.child_relid = hv__le32(p + 8);
        break;
    case HV_MSG_REQUESTOFFERS:
    case HV_MSG_ALLOFFERS_DELIVERED:
    case HV_MSG_UNLOAD:
    case HV_MSG_UNLOAD_RESPONSE:
        break;
    case HV_MSG_OPENCHANNEL: {
        struct hv_msg_open *o = &out->u.open;
        o->child_relid = hv__le32(p + 8);
        o->openid = hv__le32(p + 12);
        o->ring_gpadl = hv__le32(p + 16);
        o->target_vp = hv__le32(p + 20);
        o->downstream_offset = hv__le32(p + 24);
        memcpy(o->user_data, p + 28, 120);
        break;
    }
    case HV_MSG_OPENCHANNEL_RESULT:
        out->u.open_result.child_relid = hv__le32(p + 8);
        out->u.open_result.openid = hv__le32(p + 12);
        out->u.open_result.status = hv__le32(p + 16);
        break;
    case HV_MSG_GPADL_HEADER: {
        struct hv_msg_gpadl_header *h = &out->u.gpadl_header;
        uint16_t buflen, rangecount;

        if (len < HV_MSG_GPADL_HEADER_FIXED + 8 ||
            (len - HV_MSG_GPADL_HEADER_FIXED) % 8 != 0)
            return -EBADMSG;
        h->child_relid = hv__le32(p + 8);
        h->gpadl = hv__le32(p + 12);
        buflen = hv__le16(p + 16);
        rangecount = hv__le16(p + 18);
        h->byte_count = hv__le32(p + 20);
        h->byte_offset = hv__le32(p + 24);
        if (rangecount != 1 || buflen < 16 || buflen % 8 != 0)
            return -EBADMSG;
        h->total_pfns = (uint32_t)(buflen - 8u) / 8u;
        h->npfns = (uint32_t)(len - HV_MSG_GPADL_HEADER_FIXED) / 8u;
        if (h->npfns > h->total_pfns || h->npfns > HV_GPADL_HEADER_MAX_PFNS)
            return -EBADMSG;
        for (uint32_t i = 0; i < h->npfns; i++)
            h->pfns[i] = hv__le64(p + HV_MSG_GPADL_HEADER_FIXED + 8 * i);
        break;
    }
    case HV_MSG_GPADL_BODY: {
        struct hv_msg_gpadl_body *b = &out->u.gpadl_body;

        if (len < HV_MSG_GPADL_BODY_FIXED + 8 ||
            (len - HV_MSG_GPADL_BODY_FIXED) % 8 != 0)
            return -EBADMSG;
        b->msgnumber = hv__le32(p + 8);
        b->gpadl = hv__le32(p + 12);
        b->npfns = (uint32_t)(len - HV_MSG_GPADL_BODY_FIXED) / 8u;
        if (b->npfns > HV_GPADL_BODY_MAX_PFNS)
            return -EBADMSG;
        for (uint32_t i = 0; i < b->npfns; i++)
            b->pfns[i] = hv__le64(p + HV_MSG_GPADL_BODY_FIXED + 8 * i);
        break;
    }
    case HV_MSG_GPADL_CREATED:
        out->u.gpadl_created.child_relid = hv__le32(p + 8);
        out->u.gpadl_created.gpadl = hv__le32(p + 12);
        out->u.gpadl_created.status = hv__le32(p + 16);
        break;
    case HV_MSG_GPADL_TEARDOWN:
        out->u.gpadl_teardown.child_relid = hv__le32(p + 8);
        out->u.gpadl_teardown.gpadl = hv__le32(p + 12);
        break;
    case HV_MSG_GPADL_TORNDOWN:
        out->u.gpadl = hv__le32(p + 8);
        break;
    case HV_MSG_INITIATE_CONTACT: {
        struct hv_msg_initiate_contact *c = &out->u.initiate;
        c->version = hv__le32(p + 8);
        c->target_vcpu = hv__le32(p + 12);
        c->interrupt_page = hv__le64(p + 16);
        c->monitor_page1 = hv__le64(p + 24);
        c->monitor_page2 = hv__le64(p + 32);
        break;
    }
    case HV_MSG_VERSION_RESPONSE:
        out->u.version_response.version_supported = p[8];
        out->u.version_response.connection_state = p[9];
        out->u.version_response.msg_conn_id = hv__le32(p + 12);
        break;
    default:
        return -EBADMSG;
    }
    return 0;
}

int hv_chan_msg_encode(const struct hv_chan_msg *m, void *buf, size_t size)
{
    uint8_t p[HV_CHAN_MSG_MAX_SIZE];
    size_t len = fixed_size(m->type);

    if (m->type == HV_MSG_INVALID || m->type > HV_MSG_TYPE_MAX)
        return -EINVAL;
    memset(p, 0, sizeof(p));
    hv__put32(p, m->type);

    switch (m->type) {
    case HV_MSG_OFFERCHANNEL: {
        const struct hv_msg_offer *o = &m->u.offer;
        if (o->child_relid == 0 || o->child_relid == UINT32_MAX)
            return -EINVAL;
        memcpy(p + 8, o->if_type.b, 16);
        memcpy(p + 24, o->if_instance.b, 16);
        hv__put16(p + 56, o->chn_flags);
        hv__put16(p + 58, o->mmio_megabytes);
        memcpy(p + 60, o->user_def, 120);
        hv__put16(p + 180, o->sub_channel_index);
        hv__put32(p + 184, o->child_relid);
        p[188] = o->monitorid;
        p[189] = o->monitor_allocated & 1u;
        hv__put16(p + 190, (uint16_t)(o->dedicated_interrupt & 1u));
        hv__put32(p + 192, o->connection_id);
        break;
    }
    case HV_MSG_RESCIND_CHANNELOFFER:
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_RELID_RELEASED:
        hv__put32(p + 8, m->u.child_relid);
        break;
    case HV_MSG_REQUESTOFFERS:
    case HV_MSG_ALLOFFERS_DELIVERED:
    case HV_MSG_UNLOAD:
    case HV_MSG_UNLOAD_RESPONSE:
        break;
    case HV_MSG_OPENCHANNEL: {
        const struct hv_msg_open *o = &m->u.open;
        hv__put32(p + 8, o->child_relid);
        hv__put32(p + 12, o->openid);
        hv__put32(p + 16, o->ring_gpadl);
        hv__put32(p + 20, o->target_vp);
        hv__put32(p + 24, o->downstream_offset);
        memcpy(p + 28, o->user_data, 120);
        break;
    }
    case HV_MSG_OPENCHANNEL_RESULT:
        hv__put32(p + 8, m->u.open_result.child_relid);
        hv__put32(p + 12, m->u.open_result.openid);
        hv__put32(p + 16, m->u.open_result.status);
        break;
    case HV_MSG_GPADL_HEADER: {
        const struct hv_msg_gpadl_header *h = &m->u.gpadl_header;
        uint64_t buflen = 8u + 8u * (uint64_t)h->total_pfns;
        if (h->npfns == 0 || h->npfns > HV_GPADL_HEADER_MAX_PFNS ||
            h->npfns > h->total_pfns || buflen > 0xffffu)
            return -EINVAL;
        hv__put32(p + 8, h->child_relid);
        hv__put32(p + 12, h->gpadl);
        hv__put16(p + 16, (uint16_t)buflen);
        hv__put16(p + 18, 1);
        hv__put32(p + 20, h->byte_count);
        hv__put32(p + 24, h->byte_offset);
        for (uint32_t i = 0; i < h->npfns; i++)
            hv__put64(p + HV_MSG_GPADL_HEADER_FIXED + 8 * i, h->pfns[i]);
        len = HV_MSG_GPADL_HEADER_FIXED + 8u * h->npfns;
        break;
    }
    case HV_MSG_GPADL_BODY: {
        const struct hv_msg_gpadl_body *b = &m->u.gpadl_body;
        if (b->npfns == 0 || b->npfns > HV_GPADL_BODY_MAX_PFNS)
            return -EINVAL;
        hv__put32(p + 8, b->msgnumber);
        hv__put32(p + 12, b->gpadl);
        for (uint32_t i = 0; i < b->npfns; i++)
            hv__put64(p + HV_MSG_GPADL_BODY_FIXED + 8 * i, b->pfns[i]);
        len = HV_MSG_GPADL_BODY_FIXED + 8u * b->npfns;
        break;
    }
    case HV_MSG_GPADL_CREATED:
        hv__put32(p + 8, m->u.gpadl_created.child_relid);
        hv__put32(p + 12, m->u.gpadl_created.gpadl);
        hv__put32(p + 16, m->u.gpadl_created.status);
        break;
    case HV_MSG_GPADL_TEARDOWN:
        hv__put32(p + 8, m->u.gpadl_teardown.child_relid);
        hv__put32(p + 12, m->u.gpadl_teardown.gpadl);
        break;
    case HV_MSG_GPADL_TORNDOWN:
        hv__put32(p + 8, m->u.gpadl);
        break;
    case HV_MSG_INITIATE_CONTACT: {
        const struct hv_msg_initiate_contact *c = &m->u.initiate;
        hv__put32(p + 8, c->version);
        hv__put32(p + 12, c->target_vcpu);
        hv__put64(p + 16, c->interrupt_page);
        hv__put64(p + 24, c->monitor_page1);
        hv__put64(p + 32, c->monitor_page2);
        break;
    }
    case HV_MSG_VERSION_RESPONSE:
        p[8] = m->u.version_response.version_supported;
        p[9] = m->u.version_response.connection_state;
        hv__put32(p + 12, m->u.version_response.msg_conn_id);
        break;
    default:
        return -EINVAL;
    }
    if (size < len)
        return -ENOSPC;
    memcpy(buf, p, len);
    return (int)len;
}
