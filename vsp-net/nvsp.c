/* SPDX-License-Identifier: BSD-3-Clause */
#include "vsp-net/nvsp.h"

#include <errno.h>
#include <string.h>

#include "vsp-net/vspn_wire.h"

bool vspn_nvsp_type_known(uint32_t type)
{
    return type <= 2u || (type >= 100u && type <= VSPN_NVSP_TYPE_MAX);
}

const char *vspn_nvsp_type_name(uint32_t type)
{
    switch (type) {
    case VSPN_NVSP_NONE: return "NONE";
    case VSPN_NVSP_INIT: return "INIT";
    case VSPN_NVSP_INIT_COMPLETE: return "INIT_COMPLETE";
    case VSPN_NVSP_SEND_NDIS_VERSION: return "SEND_NDIS_VERSION";
    case VSPN_NVSP_SEND_RECV_BUF: return "SEND_RECV_BUF";
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE: return "SEND_RECV_BUF_COMPLETE";
    case VSPN_NVSP_REVOKE_RECV_BUF: return "REVOKE_RECV_BUF";
    case VSPN_NVSP_SEND_SEND_BUF: return "SEND_SEND_BUF";
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE: return "SEND_SEND_BUF_COMPLETE";
    case VSPN_NVSP_REVOKE_SEND_BUF: return "REVOKE_SEND_BUF";
    case VSPN_NVSP_SEND_RNDIS_PKT: return "SEND_RNDIS_PKT";
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE: return "SEND_RNDIS_PKT_COMPLETE";
    case VSPN_NVSP_SEND_NDIS_CONFIG: return "SEND_NDIS_CONFIG";
    case VSPN_NVSP_ALLOC_CHIMNEY_HANDLE: return "ALLOC_CHIMNEY_HANDLE";
    case VSPN_NVSP_ALLOC_CHIMNEY_HANDLE_COMPLETE:
        return "ALLOC_CHIMNEY_HANDLE_COMPLETE";
    case VSPN_NVSP_SEND_VF_ASSOCIATION: return "SEND_VF_ASSOCIATION";
    case VSPN_NVSP_SWITCH_DATA_PATH: return "SWITCH_DATA_PATH";
    case VSPN_NVSP_UPLINK_CONNECT_STATE: return "UPLINK_CONNECT_STATE";
    case VSPN_NVSP_OID_QUERY_EX: return "OID_QUERY_EX";
    case VSPN_NVSP_OID_QUERY_EX_COMPLETE: return "OID_QUERY_EX_COMPLETE";
    case VSPN_NVSP_SUBCHANNEL: return "SUBCHANNEL";
    case VSPN_NVSP_SEND_INDIRECTION_TABLE: return "SEND_INDIRECTION_TABLE";
    case VSPN_NVSP_PD_API: return "PD_API";
    case VSPN_NVSP_PD_POST_BATCH: return "PD_POST_BATCH";
    default:
        if (type >= VSPN_NVSP_CHIMNEY_FIRST && type <= VSPN_NVSP_CHIMNEY_LAST)
            return "CHIMNEY";
        return "?";
    }
}

uint32_t vspn_nvsp_min_size(uint32_t type)
{
    switch (type) {
    case VSPN_NVSP_INIT: return 12;
    case VSPN_NVSP_INIT_COMPLETE: return 16;
    case VSPN_NVSP_SEND_NDIS_VERSION: return 12;
    case VSPN_NVSP_SEND_RECV_BUF: return 10;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE: return 12;
    case VSPN_NVSP_REVOKE_RECV_BUF: return 6;
    case VSPN_NVSP_SEND_SEND_BUF: return 10;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE: return 12;
    case VSPN_NVSP_REVOKE_SEND_BUF: return 6;
    case VSPN_NVSP_SEND_RNDIS_PKT: return 16;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE: return 8;
    case VSPN_NVSP_SEND_NDIS_CONFIG: return 20;
    case VSPN_NVSP_SEND_VF_ASSOCIATION: return 12;
    case VSPN_NVSP_SWITCH_DATA_PATH: return 8;
    case VSPN_NVSP_SUBCHANNEL: return 12;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE: return 12;
    default:
        return vspn_nvsp_type_known(type) ? 4u : 0u;
    }
}

bool vspn_nvsp_version_known(uint32_t v)
{
    return v == VSPN_NVSP_VERSION_1 || v == VSPN_NVSP_VERSION_2 ||
           v == VSPN_NVSP_VERSION_4 || v == VSPN_NVSP_VERSION_5 ||
           v == VSPN_NVSP_VERSION_6 || v == VSPN_NVSP_VERSION_61;
}

int vspn_nvsp_decode(const void *buf, size_t len, struct vspn_nvsp_msg *m)
{
    const uint8_t *p = buf;
    uint32_t type, need;

    if (!buf || !m)
        return -EINVAL;
    memset(m, 0, sizeof(*m));
    if (len < 4)
        return -EBADMSG;
    type = vspn__le32(p);
    need = vspn_nvsp_min_size(type);
    if (need == 0 || len < need)
        return -EBADMSG;
    m->type = type;

    switch (type) {
    case VSPN_NVSP_INIT:
        m->u.init.min_ver = vspn__le32(p + 4);
        m->u.init.max_ver = vspn__le32(p + 8);
        if (m->u.init.min_ver > m->u.init.max_ver)
            return -EBADMSG;
        break;
    case VSPN_NVSP_INIT_COMPLETE:
        m->u.init_complete.negotiated_ver = vspn__le32(p + 4);
        m->u.init_complete.max_mdl_chain_len = vspn__le32(p + 8);
        m->u.init_complete.status = vspn__le32(p + 12);
        break;
    case VSPN_NVSP_SEND_NDIS_VERSION:
        m->u.ndis_ver.major = vspn__le32(p + 4);
        m->u.ndis_ver.minor = vspn__le32(p + 8);
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
    case VSPN_NVSP_SEND_SEND_BUF:
        m->u.buf.gpadl = vspn__le32(p + 4);
        m->u.buf.id = vspn__le16(p + 8);
        break;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE: {
        uint32_t n = vspn__le32(p + 8);

        m->u.recv_buf_complete.status = vspn__le32(p + 4);
        /* n bounded before the multiplication: no overflow. */
        if (n > VSPN_NVSP_MAX_SECTIONS || len < 12u + 16u * (size_t)n)
            return -EBADMSG;
        m->u.recv_buf_complete.num_sections = n;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *s = p + 12 + 16 * i;
            struct vspn_nvsp_section *d = &m->u.recv_buf_complete.sections[i];

            d->offset = vspn__le32(s);
            d->sub_alloc_size = vspn__le32(s + 4);
            d->num_sub_allocs = vspn__le32(s + 8);
            d->end_offset = vspn__le32(s + 12);
        }
        break;
    }
    case VSPN_NVSP_REVOKE_RECV_BUF:
    case VSPN_NVSP_REVOKE_SEND_BUF:
        m->u.revoke.id = vspn__le16(p + 4);
        break;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE:
        m->u.send_buf_complete.status = vspn__le32(p + 4);
        m->u.send_buf_complete.section_size = vspn__le32(p + 8);
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        m->u.rndis_pkt.channel_type = vspn__le32(p + 4);
        m->u.rndis_pkt.section_index = vspn__le32(p + 8);
        m->u.rndis_pkt.section_size = vspn__le32(p + 12);
        if (m->u.rndis_pkt.channel_type > VSPN_NVSP_CHANNEL_CONTROL)
            return -EBADMSG;
        if (m->u.rndis_pkt.section_index == VSPN_NVSP_NO_SECTION &&
            m->u.rndis_pkt.section_size != 0)
            return -EBADMSG;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE:
        m->u.rndis_pkt_complete.status = vspn__le32(p + 4);
        break;
    case VSPN_NVSP_SEND_NDIS_CONFIG:
        m->u.ndis_config.mtu = vspn__le32(p + 4);
        /* 8:4 reserved */
        m->u.ndis_config.caps = vspn__le64(p + 12);
        break;
    case VSPN_NVSP_SEND_VF_ASSOCIATION:
        m->u.vf_assoc.allocated = vspn__le32(p + 4);
        m->u.vf_assoc.serial = vspn__le32(p + 8);
        if (m->u.vf_assoc.allocated > 1)
            return -EBADMSG;
        break;
    case VSPN_NVSP_SWITCH_DATA_PATH:
        m->u.switch_data_path.active_datapath = vspn__le32(p + 4);
        if (m->u.switch_data_path.active_datapath > 1)
            return -EBADMSG;
        break;
    case VSPN_NVSP_SUBCHANNEL:
        m->u.subchannel.op_or_status = vspn__le32(p + 4);
        m->u.subchannel.num = vspn__le32(p + 8);
        break;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE: {
        uint32_t count = vspn__le32(p + 4);
        uint32_t off = vspn__le32(p + 8);

        /* 64-bit sum: off is guest controlled. */
        if (count != VSPN_NVSP_INDIRECTION_SIZE || off < 12u || (off & 3u) ||
            (uint64_t)off + 4u * VSPN_NVSP_INDIRECTION_SIZE > len)
            return -EBADMSG;
        m->u.indirection.count = count;
        m->u.indirection.offset = off;
        for (uint32_t i = 0; i < count; i++)
            m->u.indirection.table[i] = vspn__le32(p + off + 4 * i);
        break;
    }
    default:
        break; /* known, no body we use */
    }
    return 0;
}

static uint32_t encoded_fields(const struct vspn_nvsp_msg *m)
{
    switch (m->type) {
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE:
        return 12u + 16u * m->u.recv_buf_complete.num_sections;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE:
        return m->u.indirection.offset + 4u * VSPN_NVSP_INDIRECTION_SIZE;
    default:
        return vspn_nvsp_min_size(m->type);
    }
}

int vspn_nvsp_encode(const struct vspn_nvsp_msg *m, void *buf, size_t size)
{
    uint8_t *p = buf;
    uint32_t total;

    if (!m || !buf || !vspn_nvsp_type_known(m->type))
        return -EINVAL;
    if (m->type == VSPN_NVSP_SEND_RECV_BUF_COMPLETE &&
        m->u.recv_buf_complete.num_sections > VSPN_NVSP_MAX_SECTIONS)
        return -EINVAL;
    if (m->type == VSPN_NVSP_SEND_INDIRECTION_TABLE &&
        (m->u.indirection.count != VSPN_NVSP_INDIRECTION_SIZE ||
         m->u.indirection.offset < 12u || (m->u.indirection.offset & 3u) ||
         m->u.indirection.offset > 64u))
        return -EINVAL;
    total = encoded_fields(m);
    if (total < VSPN_NVSP_MSG_SIZE)
        total = VSPN_NVSP_MSG_SIZE;
    if (size < total)
        return -EMSGSIZE;
    memset(p, 0, total);
    vspn__put32(p, m->type);

    switch (m->type) {
    case VSPN_NVSP_INIT:
        vspn__put32(p + 4, m->u.init.min_ver);
        vspn__put32(p + 8, m->u.init.max_ver);
        break;
    case VSPN_NVSP_INIT_COMPLETE:
        vspn__put32(p + 4, m->u.init_complete.negotiated_ver);
        vspn__put32(p + 8, m->u.init_complete.max_mdl_chain_len);
        vspn__put32(p + 12, m->u.init_complete.status);
        break;
    case VSPN_NVSP_SEND_NDIS_VERSION:
        vspn__put32(p + 4, m->u.ndis_ver.major);
        vspn__put32(p + 8, m->u.ndis_ver.minor);
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
    case VSPN_NVSP_SEND_SEND_BUF:
        vspn__put32(p + 4, m->u.buf.gpadl);
        vspn__put16(p + 8, m->u.buf.id);
        break;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE:
        vspn__put32(p + 4, m->u.recv_buf_complete.status);
        vspn__put32(p + 8, m->u.recv_buf_complete.num_sections);
        for (uint32_t i = 0; i < m->u.recv_buf_complete.num_sections; i++) {
            const struct vspn_nvsp_section *s =
                &m->u.recv_buf_complete.sections[i];
            uint8_t *d = p + 12 + 16 * i;

            vspn__put32(d, s->offset);
            vspn__put32(d + 4, s->sub_alloc_size);
            vspn__put32(d + 8, s->num_sub_allocs);
            vspn__put32(d + 12, s->end_offset);
        }
        break;
    case VSPN_NVSP_REVOKE_RECV_BUF:
    case VSPN_NVSP_REVOKE_SEND_BUF:
        vspn__put16(p + 4, m->u.revoke.id);
        break;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE:
        vspn__put32(p + 4, m->u.send_buf_complete.status);
        vspn__put32(p + 8, m->u.send_buf_complete.section_size);
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        vspn__put32(p + 4, m->u.rndis_pkt.channel_type);
        vspn__put32(p + 8, m->u.rndis_pkt.section_index);
        vspn__put32(p + 12, m->u.rndis_pkt.section_size);
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE:
        vspn__put32(p + 4, m->u.rndis_pkt_complete.status);
        break;
    case VSPN_NVSP_SEND_NDIS_CONFIG:
        vspn__put32(p + 4, m->u.ndis_config.mtu);
        vspn__put64(p + 12, m->u.ndis_config.caps);
        break;
    case VSPN_NVSP_SEND_VF_ASSOCIATION:
        vspn__put32(p + 4, m->u.vf_assoc.allocated);
        vspn__put32(p + 8, m->u.vf_assoc.serial);
        break;
    case VSPN_NVSP_SWITCH_DATA_PATH:
        vspn__put32(p + 4, m->u.switch_data_path.active_datapath);
        break;
    case VSPN_NVSP_SUBCHANNEL:
        vspn__put32(p + 4, m->u.subchannel.op_or_status);
        vspn__put32(p + 8, m->u.subchannel.num);
        break;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE:
        vspn__put32(p + 4, m->u.indirection.count);
        vspn__put32(p + 8, m->u.indirection.offset);
        for (uint32_t i = 0; i < VSPN_NVSP_INDIRECTION_SIZE; i++)
            vspn__put32(p + m->u.indirection.offset + 4 * i,
                        m->u.indirection.table[i]);
        break;
    default:
        break;
    }
    return (int)total;
}
