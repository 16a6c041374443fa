/* SPDX-License-Identifier: BSD-3-Clause */
#include "vsp-net/rndis.h"

#include <errno.h>
#include <string.h>

#include "vsp-net/vspn_wire.h"

/* ---- codec ---------------------------------------------------------------- */

uint32_t vspn_rndis_min_size(uint32_t type)
{
    switch (type) {
    case VSPN_RNDIS_MSG_PACKET: return VSPN_RNDIS_PACKET_SIZE;
    case VSPN_RNDIS_MSG_INIT: return VSPN_RNDIS_INIT_SIZE;
    case VSPN_RNDIS_MSG_HALT: return VSPN_RNDIS_HALT_SIZE;
    case VSPN_RNDIS_MSG_QUERY: return VSPN_RNDIS_QUERY_SIZE;
    case VSPN_RNDIS_MSG_SET: return VSPN_RNDIS_SET_SIZE;
    case VSPN_RNDIS_MSG_RESET: return VSPN_RNDIS_RESET_SIZE;
    case VSPN_RNDIS_MSG_INDICATE_STATUS: return VSPN_RNDIS_INDICATE_SIZE;
    case VSPN_RNDIS_MSG_KEEPALIVE: return VSPN_RNDIS_KEEPALIVE_SIZE;
    case VSPN_RNDIS_MSG_INIT_CMPLT: return VSPN_RNDIS_INIT_CMPLT_SIZE;
    case VSPN_RNDIS_MSG_QUERY_CMPLT: return VSPN_RNDIS_QUERY_CMPLT_SIZE;
    case VSPN_RNDIS_MSG_SET_CMPLT: return VSPN_RNDIS_SET_CMPLT_SIZE;
    case VSPN_RNDIS_MSG_RESET_CMPLT: return VSPN_RNDIS_RESET_CMPLT_SIZE;
    case VSPN_RNDIS_MSG_KEEPALIVE_CMPLT: return VSPN_RNDIS_KEEPALIVE_CMPLT_SIZE;
    default: return 0;
    }
}

const char *vspn_rndis_type_name(uint32_t type)
{
    switch (type) {
    case VSPN_RNDIS_MSG_PACKET: return "PACKET";
    case VSPN_RNDIS_MSG_INIT: return "INITIALIZE";
    case VSPN_RNDIS_MSG_HALT: return "HALT";
    case VSPN_RNDIS_MSG_QUERY: return "QUERY";
    case VSPN_RNDIS_MSG_SET: return "SET";
    case VSPN_RNDIS_MSG_RESET: return "RESET";
    case VSPN_RNDIS_MSG_INDICATE_STATUS: return "INDICATE_STATUS";
    case VSPN_RNDIS_MSG_KEEPALIVE: return "KEEPALIVE";
    case VSPN_RNDIS_MSG_INIT_CMPLT: return "INITIALIZE_CMPLT";
    case VSPN_RNDIS_MSG_QUERY_CMPLT: return "QUERY_CMPLT";
    case VSPN_RNDIS_MSG_SET_CMPLT: return "SET_CMPLT";
    case VSPN_RNDIS_MSG_RESET_CMPLT: return "RESET_CMPLT";
    case VSPN_RNDIS_MSG_KEEPALIVE_CMPLT: return "KEEPALIVE_CMPLT";
    default: return "?";
    }
}

/*
 * A variable buffer announced by {length at len_at, rel-8 offset at off_at}
 * inside a message of msg_len bytes whose fixed part is `fixed` bytes.
 * Both fields are read once; the end is computed in 64 bits.
 */
static int var_buf(const uint8_t *p, uint32_t msg_len, uint32_t fixed,
                   uint32_t len_at, uint32_t off_at, const uint8_t **out,
                   uint32_t *out_len, uint32_t *err)
{
    uint32_t l = vspn__le32(p + len_at);
    uint32_t o = vspn__le32(p + off_at);
    uint64_t abs = (uint64_t)o + VSPN_RNDIS_HDR_SIZE;

    *out = NULL;
    *out_len = 0;
    if (l == 0) {
        if (o != 0 && abs > msg_len) {
            *err = off_at;
            return -EBADMSG;
        }
        return 0;
    }
    if (abs < fixed || abs > msg_len) {
        *err = off_at;
        return -EBADMSG;
    }
    if (abs + l > msg_len) {
        *err = len_at;
        return -EBADMSG;
    }
    *out = p + abs;
    *out_len = l;
    return 0;
}

static int decode_packet(const uint8_t *p, struct vspn_rndis_msg *m)
{
    uint32_t doff = vspn__le32(p + 8);
    uint32_t dlen = vspn__le32(p + 12);
    uint32_t oob_len = vspn__le32(p + 20);
    uint32_t oob_num = vspn__le32(p + 24);
    uint32_t poff = vspn__le32(p + 28);
    uint32_t plen = vspn__le32(p + 32);
    uint64_t dabs = (uint64_t)doff + VSPN_RNDIS_HDR_SIZE;
    uint64_t pabs = (uint64_t)poff + VSPN_RNDIS_HDR_SIZE;

    if (dlen == 0) {
        m->err_offset = 12;
        return -EBADMSG;
    }
    if (dabs < VSPN_RNDIS_PACKET_SIZE) {
        m->err_offset = 8;
        return -EBADMSG;
    }
    if (dabs + dlen > m->len) {
        m->err_offset = 12;
        return -EBADMSG;
    }
    /* Out-of-band data is unused by every guest (§9): refuse it rather
     * than carry an unchecked third region. */
    if (oob_len != 0 || oob_num != 0) {
        m->err_offset = oob_len ? 20 : 24;
        return -EBADMSG;
    }
    if (plen != 0) {
        if (pabs < VSPN_RNDIS_PACKET_SIZE) {
            m->err_offset = 28;
            return -EBADMSG;
        }
        if (pabs + plen > m->len) {
            m->err_offset = 32;
            return -EBADMSG;
        }
        /* PPI block and frame data must not overlap. */
        if (pabs < dabs + dlen && dabs < pabs + plen) {
            m->err_offset = 28;
            return -EBADMSG;
        }
        m->u.packet.ppi = p + pabs;
        m->u.packet.ppi_len = plen;
    }
    m->u.packet.data = p + dabs;
    m->u.packet.data_len = dlen;
    return 0;
}

int vspn_rndis_decode(const void *buf, size_t len, struct vspn_rndis_msg *m)
{
    const uint8_t *p = buf;
    uint32_t need;
    int rc = 0;

    if (!buf || !m)
        return -EINVAL;
    memset(m, 0, sizeof(*m));
    if (len < VSPN_RNDIS_HDR_SIZE)
        return -EBADMSG; /* err_offset 0 */
    m->type = vspn__le32(p);
    m->len = vspn__le32(p + 4);
    need = vspn_rndis_min_size(m->type);
    if (need == 0) {
        m->err_offset = 0;
        return -EBADMSG;
    }
    if (m->len < need || m->len > len) {
        m->err_offset = 4;
        return -EBADMSG;
    }

    switch (m->type) {
    case VSPN_RNDIS_MSG_PACKET:
        rc = decode_packet(p, m);
        break;
    case VSPN_RNDIS_MSG_INIT:
        m->u.init.request_id = vspn__le32(p + 8);
        m->u.init.major = vspn__le32(p + 12);
        m->u.init.minor = vspn__le32(p + 16);
        m->u.init.max_xfer = vspn__le32(p + 20);
        break;
    case VSPN_RNDIS_MSG_HALT:
    case VSPN_RNDIS_MSG_KEEPALIVE:
        m->u.req.request_id = vspn__le32(p + 8);
        break;
    case VSPN_RNDIS_MSG_QUERY:
    case VSPN_RNDIS_MSG_SET:
        m->u.oid.request_id = vspn__le32(p + 8);
        m->u.oid.oid = vspn__le32(p + 12);
        rc = var_buf(p, m->len, VSPN_RNDIS_QUERY_SIZE, 16, 20,
                     &m->u.oid.info, &m->u.oid.info_len, &m->err_offset);
        break;
    case VSPN_RNDIS_MSG_RESET:
        break; /* 8: reserved */
    case VSPN_RNDIS_MSG_INDICATE_STATUS:
        m->u.indicate.status = vspn__le32(p + 8);
        rc = var_buf(p, m->len, VSPN_RNDIS_INDICATE_SIZE, 12, 16,
                     &m->u.indicate.buf, &m->u.indicate.buf_len,
                     &m->err_offset);
        break;
    case VSPN_RNDIS_MSG_INIT_CMPLT:
        m->u.init_cmplt.request_id = vspn__le32(p + 8);
        m->u.init_cmplt.status = vspn__le32(p + 12);
        m->u.init_cmplt.major = vspn__le32(p + 16);
        m->u.init_cmplt.minor = vspn__le32(p + 20);
        m->u.init_cmplt.device_flags = vspn__le32(p + 24);
        m->u.init_cmplt.medium = vspn__le32(p + 28);
        m->u.init_cmplt.max_pkts = vspn__le32(p + 32);
        m->u.init_cmplt.max_xfer = vspn__le32(p + 36);
        m->u.init_cmplt.align_factor = vspn__le32(p + 40);
        m->u.init_cmplt.af_list_offset = vspn__le32(p + 44);
        m->u.init_cmplt.af_list_size = vspn__le32(p + 48);
        break;
    case VSPN_RNDIS_MSG_QUERY_CMPLT:
        m->u.query_cmplt.request_id = vspn__le32(p + 8);
        m->u.query_cmplt.status = vspn__le32(p + 12);
        rc = var_buf(p, m->len, VSPN_RNDIS_QUERY_CMPLT_SIZE, 16, 20,
                     &m->u.query_cmplt.info, &m->u.query_cmplt.info_len,
                     &m->err_offset);
        break;
    case VSPN_RNDIS_MSG_SET_CMPLT:
    case VSPN_RNDIS_MSG_KEEPALIVE_CMPLT:
        m->u.cmplt.request_id = vspn__le32(p + 8);
        m->u.cmplt.status = vspn__le32(p + 12);
        break;
    case VSPN_RNDIS_MSG_RESET_CMPLT:
        m->u.reset_cmplt.status = vspn__le32(p + 8);
        m->u.reset_cmplt.addressing_reset = vspn__le32(p + 12);
        break;
    default:
        break;
    }
    return rc;
}

/* ---- PPI ------------------------------------------------------------------ */

static int ppi_bad(struct vspn_rndis_ppi *out, uint32_t off)
{
    out->err_offset = off;
    return -EBADMSG;
}

int vspn_rndis_ppi_parse(const uint8_t *ppi, uint32_t len,
                         struct vspn_rndis_ppi *out)
{
    uint32_t off = 0;

    memset(out, 0, sizeof(*out));
    if (len && !ppi)
        return ppi_bad(out, 0);
    while (off < len) {
        uint32_t rem = len - off, size, type, doff, dlen, v;
        const uint8_t *r = ppi + off;
        bool *seen;

        if (rem < VSPN_RNDIS_PPI_HDR_SIZE)
            return ppi_bad(out, off); /* chain ends mid-header */
        if (out->nrecords == VSPN_RNDIS_PPI_MAX_RECORDS)
            return ppi_bad(out, off);
        size = vspn__le32(r);
        type = vspn__le32(r + 4);
        doff = vspn__le32(r + 8);
        if (size < VSPN_RNDIS_PPI_HDR_SIZE || size > rem || (size & 3u))
            return ppi_bad(out, off);
        if (doff < VSPN_RNDIS_PPI_HDR_SIZE || doff > size)
            return ppi_bad(out, off + 8);
        dlen = size - doff;
        switch (type) {
        case VSPN_PPI_IEEE8021Q: seen = &out->has_vlan; break;
        case VSPN_PPI_CHECKSUM: seen = &out->has_csum; break;
        case VSPN_PPI_LSO: seen = &out->has_lso; break;
        case VSPN_PPI_HASH_VALUE: seen = &out->has_hash_value; break;
        case VSPN_PPI_HASH_INFO: seen = &out->has_hash_info; break;
        case VSPN_PPI_PACKET_ID: seen = &out->has_pkt_id; break;
        default: seen = NULL; break;
        }
        if (seen) {
            if (dlen < 4)
                return ppi_bad(out, off);
            if (*seen)
                return ppi_bad(out, off + 4); /* duplicate type */
            *seen = true;
            v = vspn__le32(r + doff);
            switch (type) {
            case VSPN_PPI_IEEE8021Q: {
                uint32_t pcp = v & 7u, cfi = (v >> 3) & 1u;
                uint32_t vid = (v >> 4) & 0xFFFu;

                if (vid == 0xFFFu)
                    return ppi_bad(out, off + doff); /* reserved VID */
                out->vlan_tci = (uint16_t)(pcp << 13 | cfi << 12 | vid);
                break;
            }
            case VSPN_PPI_CHECKSUM: out->csum = v; break;
            case VSPN_PPI_LSO: out->lso = v; break;
            case VSPN_PPI_HASH_VALUE: out->hash_value = v; break;
            case VSPN_PPI_HASH_INFO: out->hash_info = v; break;
            default: out->pkt_id = v; break;
            }
        }
        out->nrecords++;
        off += size; /* size ≤ rem: cannot pass len */
    }
    return 0;
}

uint32_t vspn_rndis_ppi_size(const struct vspn_rndis_ppi *ppi)
{
    uint32_t n = 0;

    if (!ppi)
        return 0;
    n += ppi->has_vlan;
    n += ppi->has_csum;
    n += ppi->has_lso;
    n += ppi->has_hash_value;
    n += ppi->has_hash_info;
    return n * (VSPN_RNDIS_PPI_HDR_SIZE + 4u);
}

static uint8_t *put_ppi(uint8_t *p, uint32_t type, uint32_t v)
{
    vspn__put32(p, VSPN_RNDIS_PPI_HDR_SIZE + 4u);
    vspn__put32(p + 4, type);
    vspn__put32(p + 8, VSPN_RNDIS_PPI_HDR_SIZE);
    vspn__put32(p + 12, v);
    return p + VSPN_RNDIS_PPI_HDR_SIZE + 4u;
}

int vspn_rndis_packet_hdr(void *buf, size_t cap,
                          const struct vspn_rndis_ppi *ppi, uint32_t frame_len)
{
    uint8_t *p = buf;
    uint32_t plen = vspn_rndis_ppi_size(ppi);
    uint32_t hdr = VSPN_RNDIS_PACKET_SIZE + plen;

    if (cap < hdr || frame_len > UINT32_MAX - hdr)
        return -EMSGSIZE;
    memset(p, 0, VSPN_RNDIS_PACKET_SIZE);
    vspn__put32(p, VSPN_RNDIS_MSG_PACKET);
    vspn__put32(p + 4, hdr + frame_len);
    vspn__put32(p + 8, hdr - VSPN_RNDIS_HDR_SIZE);
    vspn__put32(p + 12, frame_len);
    if (plen) {
        uint8_t *q = p + VSPN_RNDIS_PACKET_SIZE;

        vspn__put32(p + 28, VSPN_RNDIS_PACKET_SIZE - VSPN_RNDIS_HDR_SIZE);
        vspn__put32(p + 32, plen);
        if (ppi->has_vlan) {
            uint32_t t = ppi->vlan_tci;
            uint32_t v = ((t >> 13) & 7u) | ((t >> 12) & 1u) << 3 |
                         (t & 0xFFFu) << 4;
            q = put_ppi(q, VSPN_PPI_IEEE8021Q, v);
        }
        if (ppi->has_csum)
            q = put_ppi(q, VSPN_PPI_CHECKSUM, ppi->csum);
        if (ppi->has_lso)
            q = put_ppi(q, VSPN_PPI_LSO, ppi->lso);
        if (ppi->has_hash_value)
            q = put_ppi(q, VSPN_PPI_HASH_VALUE, ppi->hash_value);
        if (ppi->has_hash_info)
            (void)put_ppi(q, VSPN_PPI_HASH_INFO, ppi->hash_info);
    }
    return (int)hdr;
}

static int put_hdr(uint8_t *p, size_t cap, uint32_t type, uint32_t len)
{
    if (cap < len)
        return -EMSGSIZE;
    memset(p, 0, len);
    vspn__put32(p, type);
    vspn__put32(p + 4, len);
    return (int)len;
}

int vspn_rndis_encode_init(void *buf, size_t cap, uint32_t request_id,
                           uint32_t max_xfer)
{
    uint8_t *p = buf;
    int n = put_hdr(p, cap, VSPN_RNDIS_MSG_INIT, VSPN_RNDIS_INIT_SIZE);

    if (n < 0)
        return n;
    vspn__put32(p + 8, request_id);
    vspn__put32(p + 12, VSPN_RNDIS_MAJOR);
    vspn__put32(p + 16, VSPN_RNDIS_MINOR);
    vspn__put32(p + 20, max_xfer);
    return n;
}

int vspn_rndis_encode_halt(void *buf, size_t cap, uint32_t request_id)
{
    uint8_t *p = buf;
    int n = put_hdr(p, cap, VSPN_RNDIS_MSG_HALT, VSPN_RNDIS_HALT_SIZE);

    if (n >= 0)
        vspn__put32(p + 8, request_id);
    return n;
}

int vspn_rndis_encode_reset(void *buf, size_t cap)
{
    return put_hdr(buf, cap, VSPN_RNDIS_MSG_RESET, VSPN_RNDIS_RESET_SIZE);
}

int vspn_rndis_encode_keepalive(void *buf, size_t cap, uint32_t request_id)
{
    uint8_t *p = buf;
    int n = put_hdr(p, cap, VSPN_RNDIS_MSG_KEEPALIVE,
                    VSPN_RNDIS_KEEPALIVE_SIZE);

    if (n >= 0)
        vspn__put32(p + 8, request_id);
    return n;
}

int vspn_rndis_encode_oid(void *buf, size_t cap, uint32_t type,
                          uint32_t request_id, uint32_t oid, const void *in,
                          uint32_t in_len)
{
    uint8_t *p = buf;
    int n;

    if (type != VSPN_RNDIS_MSG_QUERY && type != VSPN_RNDIS_MSG_SET)
        return -EINVAL;
    if (in_len > UINT32_MAX - VSPN_RNDIS_QUERY_SIZE)
        return -EMSGSIZE;
    n = put_hdr(p, cap, type, VSPN_RNDIS_QUERY_SIZE + in_len);
    if (n < 0)
        return n;
    vspn__put32(p + 8, request_id);
    vspn__put32(p + 12, oid);
    vspn__put32(p + 16, in_len);
    /* Guests put 20 (absolute 28) even without input (§9). */
    vspn__put32(p + 20, VSPN_RNDIS_QUERY_SIZE - VSPN_RNDIS_HDR_SIZE);
    if (in_len)
        memcpy(p + VSPN_RNDIS_QUERY_SIZE, in, in_len);
    return n;
}

int vspn_rndis_encode_init_cmplt(void *buf, size_t cap, uint32_t request_id,
                                 uint32_t status, uint32_t max_pkts,
                                 uint32_t max_xfer, uint32_t align_factor)
{
    uint8_t *p = buf;
    int n = put_hdr(p, cap, VSPN_RNDIS_MSG_INIT_CMPLT,
                    VSPN_RNDIS_INIT_CMPLT_SIZE);

    if (n < 0)
        return n;
    vspn__put32(p + 8, request_id);
    vspn__put32(p + 12, status);
    vspn__put32(p + 16, VSPN_RNDIS_MAJOR);
    vspn__put32(p + 20, VSPN_RNDIS_MINOR);
    vspn__put32(p + 24, VSPN_RNDIS_DF_CONNECTIONLESS);
    vspn__put32(p + 28, VSPN_RNDIS_MEDIUM_802_3);
    vspn__put32(p + 32, max_pkts);
    vspn__put32(p + 36, max_xfer);
    vspn__put32(p + 40, align_factor);
    /* 44 af_list_offset, 48 af_list_size: 0 */
    return n;
}

int vspn_rndis_encode_query_cmplt(void *buf, size_t cap, uint32_t request_id,
                                  uint32_t status, const void *info,
                                  uint32_t info_len)
{
    uint8_t *p = buf;
    int n;

    if (info_len > UINT32_MAX - VSPN_RNDIS_QUERY_CMPLT_SIZE)
        return -EMSGSIZE;
    n = put_hdr(p, cap, VSPN_RNDIS_MSG_QUERY_CMPLT,
                VSPN_RNDIS_QUERY_CMPLT_SIZE + info_len);
    if (n < 0)
        return n;
    vspn__put32(p + 8, request_id);
    vspn__put32(p + 12, status);
    vspn__put32(p + 16, info_len);
    if (info_len) {
        vspn__put32(p + 20,
                    VSPN_RNDIS_QUERY_CMPLT_SIZE - VSPN_RNDIS_HDR_SIZE);
        memcpy(p + VSPN_RNDIS_QUERY_CMPLT_SIZE, info, info_len);
    }
    return n;
}

int vspn_rndis_encode_cmplt(void *buf, size_t cap, uint32_t type,
                            uint32_t request_id, uint32_t status)
{
    uint8_t *p = buf;
    int n;

    if (type != VSPN_RNDIS_MSG_SET_CMPLT &&
        type != VSPN_RNDIS_MSG_KEEPALIVE_CMPLT)
        return -EINVAL;
    n = put_hdr(p, cap, type, VSPN_RNDIS_SET_CMPLT_SIZE);
    if (n < 0)
        return n;
    vspn__put32(p + 8, request_id);
    vspn__put32(p + 12, status);
    return n;
}

int vspn_rndis_encode_reset_cmplt(void *buf, size_t cap, uint32_t status,
                                  uint32_t addressing_reset)
{
    uint8_t *p = buf;
    int n = put_hdr(p, cap, VSPN_RNDIS_MSG_RESET_CMPLT,
                    VSPN_RNDIS_RESET_CMPLT_SIZE);

    if (n < 0)
        return n;
    vspn__put32(p + 8, status);
    vspn__put32(p + 12, addressing_reset);
    return n;
}

int vspn_rndis_encode_indicate(void *buf, size_t cap, uint32_t status,
                               const void *sbuf, uint32_t sbuf_len)
{
    uint8_t *p = buf;
    int n;

    if (sbuf_len > UINT32_MAX - VSPN_RNDIS_INDICATE_SIZE)
        return -EMSGSIZE;
    n = put_hdr(p, cap, VSPN_RNDIS_MSG_INDICATE_STATUS,
                VSPN_RNDIS_INDICATE_SIZE + sbuf_len);
    if (n < 0)
        return n;
    vspn__put32(p + 8, status);
    vspn__put32(p + 12, sbuf_len);
    if (sbuf_len) {
        vspn__put32(p + 16, VSPN_RNDIS_INDICATE_SIZE - VSPN_RNDIS_HDR_SIZE);
        memcpy(p + VSPN_RNDIS_INDICATE_SIZE, sbuf, sbuf_len);
    }
    return n;
}

int vspn_rndis_encode_invalid(void *buf, size_t cap, uint32_t diag_status,
                              uint32_t error_offset, const void *orig,
                              uint32_t orig_len, uint32_t max_copy)
{
    uint8_t diag[8 + VSPN_RNDIS_DIAG_COPY_MAX];
    uint32_t copy = orig ? orig_len : 0;

    if (copy > max_copy)
        copy = max_copy;
    if (copy > VSPN_RNDIS_DIAG_COPY_MAX)
        copy = VSPN_RNDIS_DIAG_COPY_MAX;
    vspn__put32(diag, diag_status);
    vspn__put32(diag + 4, error_offset);
    if (copy)
        memcpy(diag + 8, orig, copy);
    return vspn_rndis_encode_indicate(buf, cap, VSPN_RNDIS_STATUS_INVALID_DATA,
                                      diag, 8 + copy);
}

/* ---- the device: allow-list ------------------------------------------------- */

static const uint32_t query_oids[] = {
    VSPN_OID_GEN_SUPPORTED_LIST,
    VSPN_OID_GEN_MAXIMUM_FRAME_SIZE,
    VSPN_OID_GEN_LINK_SPEED,
    VSPN_OID_GEN_VENDOR_ID,
    VSPN_OID_GEN_VENDOR_DESCRIPTION,
    VSPN_OID_GEN_CURRENT_PACKET_FILTER,
    VSPN_OID_GEN_DRIVER_VERSION,
    VSPN_OID_GEN_MAXIMUM_TOTAL_SIZE,
    VSPN_OID_GEN_MEDIA_CONNECT_STATUS,
    VSPN_OID_GEN_VENDOR_DRIVER_VERSION,
    VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
    VSPN_OID_GEN_FRIENDLY_NAME,
    VSPN_OID_802_3_PERMANENT_ADDRESS,
    VSPN_OID_802_3_CURRENT_ADDRESS,
    VSPN_OID_802_3_MULTICAST_LIST,
    VSPN_OID_802_3_MAXIMUM_LIST_SIZE,
    VSPN_OID_TCP_OFFLOAD_CURRENT_CONFIG,
    VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
};

static const uint32_t set_oids[] = {
    VSPN_OID_GEN_CURRENT_PACKET_FILTER,
    VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS,
    VSPN_OID_GEN_MACHINE_NAME,
    VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER,
    VSPN_OID_GEN_VLAN_ID,
    VSPN_OID_802_3_MULTICAST_LIST,
    VSPN_OID_TCP_OFFLOAD_PARAMETERS,
};

/* query_oids ∪ set_oids, the SUPPORTED_LIST answer. */
static const uint32_t all_oids[] = {
    VSPN_OID_GEN_SUPPORTED_LIST,
    VSPN_OID_GEN_MAXIMUM_FRAME_SIZE,
    VSPN_OID_GEN_LINK_SPEED,
    VSPN_OID_GEN_VENDOR_ID,
    VSPN_OID_GEN_VENDOR_DESCRIPTION,
    VSPN_OID_GEN_CURRENT_PACKET_FILTER,
    VSPN_OID_GEN_DRIVER_VERSION,
    VSPN_OID_GEN_MAXIMUM_TOTAL_SIZE,
    VSPN_OID_GEN_MEDIA_CONNECT_STATUS,
    VSPN_OID_GEN_VENDOR_DRIVER_VERSION,
    VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
    VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS,
    VSPN_OID_GEN_MACHINE_NAME,
    VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER,
    VSPN_OID_GEN_VLAN_ID,
    VSPN_OID_GEN_FRIENDLY_NAME,
    VSPN_OID_802_3_PERMANENT_ADDRESS,
    VSPN_OID_802_3_CURRENT_ADDRESS,
    VSPN_OID_802_3_MULTICAST_LIST,
    VSPN_OID_802_3_MAXIMUM_LIST_SIZE,
    VSPN_OID_TCP_OFFLOAD_CURRENT_CONFIG,
    VSPN_OID_TCP_OFFLOAD_PARAMETERS,
    VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
};

bool vspn_rndis_oid_allowed(uint32_t oid, bool set)
{
    const uint32_t *l = set ? set_oids : query_oids;
    size_t n = set ? sizeof(set_oids) / 4 : sizeof(query_oids) / 4;

    for (size_t i = 0; i < n; i++)
        if (l[i] == oid)
            return true;
    return false;
}

unsigned vspn_rndis_oid_list(const uint32_t **oids)
{
    *oids = all_oids;
    return (unsigned)(sizeof(all_oids) / sizeof(all_oids[0]));
}

void vspn_rndis_dev_init(struct vspn_rndis_dev *d, const struct vsa_mac *mac,
                         uint32_t mtu)
{
    static const char name[] = "Vesper synthetic NIC";

    memset(d, 0, sizeof(*d));
    d->state = VSPN_RNDIS_UNINITIALIZED;
    d->perm_mac = *mac;
    d->cur_mac = *mac;
    d->mtu = mtu;
    d->link_speed = 100000000u; /* 10 Gbit/s in 100 bit/s units */
    d->link_up = true;
    d->ndis_version = 0x0006001Eu;
    d->max_pkts = VSPN_RNDIS_MAX_PKTS;
    d->max_xfer = 65536;
    d->align_factor = 3;
    memcpy(d->friendly_name, name, sizeof(name));
}

/* ---- the device: QUERY ------------------------------------------------------- */

static uint32_t put_u32(uint8_t *out, uint32_t cap, uint32_t *out_len,
                        uint32_t v)
{
    if (cap < 4)
        return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
    vspn__put32(out, v);
    *out_len = 4;
    return VSPN_RNDIS_STATUS_SUCCESS;
}

static uint32_t put_bytes(uint8_t *out, uint32_t cap, uint32_t *out_len,
                          const void *src, uint32_t n)
{
    if (cap < n)
        return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
    memcpy(out, src, n);
    *out_len = n;
    return VSPN_RNDIS_STATUS_SUCCESS;
}

/* Revision of an NDIS object from the caller's input header, or a default
 * when there is none.  Returns 0 on bad input. */
static uint32_t obj_rev(const uint8_t *in, uint32_t in_len, uint8_t type,
                        uint32_t max_rev, uint32_t dflt,
                        const uint16_t *sizes)
{
    uint32_t rev, size;

    if (in_len == 0)
        return dflt;
    if (in_len < 4 || in[0] != type)
        return 0;
    rev = in[1];
    size = vspn__le16(in + 2);
    if (rev < 1 || rev > max_rev || size != sizes[rev - 1])
        return 0;
    return rev;
}

static uint32_t query_offload(const struct vspn_rndis_dev *d,
                              const uint8_t *in, uint32_t in_len,
                              uint8_t *out, uint32_t cap, uint32_t *out_len)
{
    static const uint16_t sizes[] = { VSPN_NDIS_OFFLOAD_SIZE_REV1,
                                      VSPN_NDIS_OFFLOAD_SIZE_REV2,
                                      VSPN_NDIS_OFFLOAD_SIZE_REV3 };
    uint32_t dflt = d->ndis_version >= 0x0006001Eu ? 3u
                    : d->ndis_version >= 0x00060001u ? 2u : 1u;
    uint32_t rev = obj_rev(in, in_len, VSPN_NDIS_OBJTYPE_OFFLOAD, 3, dflt,
                           sizes);
    uint32_t size;

    if (rev == 0)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    size = sizes[rev - 1];
    if (cap < size)
        return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
    /* Truthful: no checksum, LSO, IPsec, RSC or encapsulation offload, so
     * every capability field stays 0 (encapsulation NONE). */
    memset(out, 0, size);
    out[0] = VSPN_NDIS_OBJTYPE_OFFLOAD;
    out[1] = (uint8_t)rev;
    vspn__put16(out + 2, (uint16_t)size);
    *out_len = size;
    return VSPN_RNDIS_STATUS_SUCCESS;
}

static uint32_t query_rss_caps(const uint8_t *in, uint32_t in_len,
                               uint8_t *out, uint32_t cap, uint32_t *out_len)
{
    static const uint16_t sizes[] = { VSPN_NDIS_RSS_CAPS_SIZE_REV1,
                                      VSPN_NDIS_RSS_CAPS_SIZE_REV2 };
    uint32_t rev = obj_rev(in, in_len, VSPN_NDIS_OBJTYPE_RSS_CAPS, 2, 2,
                           sizes);
    uint32_t size;

    if (rev == 0)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    size = sizes[rev - 1];
    if (cap < size)
        return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
    memset(out, 0, size);
    out[0] = VSPN_NDIS_OBJTYPE_RSS_CAPS;
    out[1] = (uint8_t)rev;
    vspn__put16(out + 2, (uint16_t)size);
    /* One channel, no hashing by the host: capabilities 0, one interrupt
     * message, one receive queue (guests then skip sub-channels). */
    vspn__put32(out + 4, 0);
    vspn__put32(out + 8, 1);
    vspn__put32(out + 12, 1);
    if (rev >= 2)
        vspn__put16(out + 16, VSPN_NDIS_RSS_TABLE_MAX);
    *out_len = size;
    return VSPN_RNDIS_STATUS_SUCCESS;
}

uint32_t vspn_rndis_query(const struct vspn_rndis_dev *d, uint32_t oid,
                          const uint8_t *in, uint32_t in_len, uint8_t *out,
                          uint32_t cap, uint32_t *out_len)
{
    *out_len = 0;
    /* Closed set: anything else is refused before `in` is looked at. */
    if (!vspn_rndis_oid_allowed(oid, false))
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED;

    switch (oid) {
    case VSPN_OID_GEN_SUPPORTED_LIST: {
        uint32_t n = (uint32_t)(sizeof(all_oids) / 4);

        if (cap < 4 * n)
            return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
        for (uint32_t i = 0; i < n; i++)
            vspn__put32(out + 4 * i, all_oids[i]);
        *out_len = 4 * n;
        return VSPN_RNDIS_STATUS_SUCCESS;
    }
    case VSPN_OID_GEN_MAXIMUM_FRAME_SIZE:
        return put_u32(out, cap, out_len, d->mtu);
    case VSPN_OID_GEN_LINK_SPEED:
        return put_u32(out, cap, out_len, d->link_speed);
    case VSPN_OID_GEN_VENDOR_ID:
        /* no IEEE OUI of our own: 0xFFFFFF, NIC index 0 */
        return put_u32(out, cap, out_len, 0x00FFFFFFu);
    case VSPN_OID_GEN_VENDOR_DESCRIPTION:
        return put_bytes(out, cap, out_len, d->friendly_name,
                         (uint32_t)strnlen(d->friendly_name,
                                           VSPN_RNDIS_NAME_MAX - 1) + 1u);
    case VSPN_OID_GEN_CURRENT_PACKET_FILTER:
        return put_u32(out, cap, out_len, d->filter);
    case VSPN_OID_GEN_DRIVER_VERSION: {
        /* u16: NDIS major in the high byte, minor in the low byte */
        uint8_t v[2] = { (uint8_t)(d->ndis_version & 0xFFu),
                         (uint8_t)((d->ndis_version >> 16) & 0xFFu) };
        return put_bytes(out, cap, out_len, v, 2);
    }
    case VSPN_OID_GEN_MAXIMUM_TOTAL_SIZE:
        return put_u32(out, cap, out_len, d->mtu + 14u);
    case VSPN_OID_GEN_MEDIA_CONNECT_STATUS:
        return put_u32(out, cap, out_len, d->link_up ? 0u : 1u);
    case VSPN_OID_GEN_VENDOR_DRIVER_VERSION:
        return put_u32(out, cap, out_len, 0x00010000u);
    case VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES:
        return query_rss_caps(in, in_len, out, cap, out_len);
    case VSPN_OID_GEN_FRIENDLY_NAME: {
        uint32_t n = (uint32_t)strnlen(d->friendly_name,
                                       VSPN_RNDIS_NAME_MAX - 1) + 1u;

        if (cap < 2 * n)
            return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
        for (uint32_t i = 0; i < n; i++) /* ASCII → UTF-16LE, with NUL */
            vspn__put16(out + 2 * i, (uint8_t)d->friendly_name[i]);
        *out_len = 2 * n;
        return VSPN_RNDIS_STATUS_SUCCESS;
    }
    case VSPN_OID_802_3_PERMANENT_ADDRESS:
        return put_bytes(out, cap, out_len, d->perm_mac.b, 6);
    case VSPN_OID_802_3_CURRENT_ADDRESS:
        return put_bytes(out, cap, out_len, d->cur_mac.b, 6);
    case VSPN_OID_802_3_MULTICAST_LIST:
        if (cap < 6 * d->nmcast)
            return VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT;
        for (uint32_t i = 0; i < d->nmcast; i++)
            memcpy(out + 6 * i, d->mcast[i].b, 6);
        *out_len = 6 * d->nmcast;
        return VSPN_RNDIS_STATUS_SUCCESS;
    case VSPN_OID_802_3_MAXIMUM_LIST_SIZE:
        return put_u32(out, cap, out_len, VSPN_RNDIS_MCAST_MAX);
    case VSPN_OID_TCP_OFFLOAD_CURRENT_CONFIG:
        return query_offload(d, NULL, 0, out, cap, out_len);
    case VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
        return query_offload(d, in, in_len, out, cap, out_len);
    default:
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED; /* unreachable: allow-list */
    }
}

/* ---- the device: SET ---------------------------------------------------------- */

/* §10.5.  Every offset and size is checked against in_len in 64 bits; the
 * table entries must name an existing queue (we have exactly one). */
static uint32_t set_rss_params(const uint8_t *in, uint32_t in_len)
{
    uint32_t rev, size, flags, hash, tsize, toff, ksize, koff, hdr;

    if (in_len < VSPN_NDIS_RSS_PARAMS_SIZE_REV1)
        return VSPN_RNDIS_STATUS_INVALID_LENGTH;
    rev = in[1];
    size = vspn__le16(in + 2);
    if (in[0] != VSPN_NDIS_OBJTYPE_RSS_PARAMS || rev < 1 || rev > 2)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    hdr = rev == 1 ? VSPN_NDIS_RSS_PARAMS_SIZE_REV1
                   : VSPN_NDIS_RSS_PARAMS_SIZE_REV2;
    if (size != hdr || in_len < hdr)
        return VSPN_RNDIS_STATUS_INVALID_LENGTH;
    flags = vspn__le16(in + 4);
    hash = vspn__le32(in + 8);
    tsize = vspn__le16(in + 12);
    toff = vspn__le32(in + 16);
    ksize = vspn__le16(in + 20);
    koff = vspn__le32(in + 24);
    if (flags & VSPN_NDIS_RSS_FLAG_DISABLE)
        return VSPN_RNDIS_STATUS_SUCCESS;
    if ((hash & 0xFFu) > 1u) /* hash function: none or Toeplitz */
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    if (!(flags & VSPN_NDIS_RSS_FLAG_TABLE_UNCHANGED)) {
        if ((tsize & 3u) || tsize > 4u * VSPN_NDIS_RSS_TABLE_MAX ||
            toff < hdr || (uint64_t)toff + tsize > in_len)
            return VSPN_RNDIS_STATUS_INVALID_DATA;
        for (uint32_t i = 0; i < tsize; i += 4)
            if (vspn__le32(in + toff + i) != 0) /* queue ≥ 1 queue */
                return VSPN_RNDIS_STATUS_INVALID_DATA;
    }
    if (!(flags & VSPN_NDIS_RSS_FLAG_KEY_UNCHANGED)) {
        if (ksize > VSPN_NDIS_RSS_KEY_MAX || koff < hdr ||
            (uint64_t)koff + ksize > in_len)
            return VSPN_RNDIS_STATUS_INVALID_DATA;
    }
    return VSPN_RNDIS_STATUS_SUCCESS;
}

/* §10.3: accept "no change" and "disabled" everywhere; enabling anything
 * is refused because the host claims no offload. */
static uint32_t set_offload_params(const uint8_t *in, uint32_t in_len)
{
    uint32_t size;

    if (in_len < VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV2)
        return VSPN_RNDIS_STATUS_INVALID_LENGTH;
    size = vspn__le16(in + 2);
    if (in[0] != VSPN_NDIS_OBJTYPE_DEFAULT || in[1] < 1 || in[1] > 3 ||
        (size != VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV2 &&
         size != VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV3) ||
        size > in_len)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    /* bytes 4..14: checksum families (max 4), LSOv1 (2), IPsec v1 (4),
     * LSOv2 v4/v6 (2), TCP connection v4/v6 (2) */
    static const uint8_t maxv[11] = { 4, 4, 4, 4, 4, 2, 4, 2, 2, 2, 2 };
    for (uint32_t i = 0; i < 11; i++) {
        uint8_t v = in[4 + i];
        if (v > maxv[i])
            return VSPN_RNDIS_STATUS_INVALID_DATA;
        if (v > 1)
            return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    }
    if (size >= VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV3) {
        /* 20, 21 IPsec v2; 22, 23 RSC: 0 no change, 1 off, >1 on */
        for (uint32_t i = 20; i < 24; i++) {
            if (in[i] > 4)
                return VSPN_RNDIS_STATUS_INVALID_DATA;
            if (in[i] > 1)
                return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
        }
        /* 24 encapsulated-packet task offload: 0 no change, 1 on, 2 off */
        if (in[24] > 2)
            return VSPN_RNDIS_STATUS_INVALID_DATA;
        if (in[24] == 1)
            return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    }
    return VSPN_RNDIS_STATUS_SUCCESS;
}

static int hexval(uint16_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* §10.6.  Only "NetworkAddress" is known; other names → NOT_SUPPORTED with
 * the value untouched. */
static uint32_t set_config_param(struct vspn_rndis_dev *d, const uint8_t *in,
                                 uint32_t in_len)
{
    static const char want[] = "NetworkAddress";
    uint32_t noff, nlen, ptype, voff, vlen;
    struct vsa_mac mac;

    if (in_len < VSPN_RNDIS_CONFIG_PARAM_HDR)
        return VSPN_RNDIS_STATUS_INVALID_LENGTH;
    noff = vspn__le32(in);
    nlen = vspn__le32(in + 4);
    ptype = vspn__le32(in + 8);
    voff = vspn__le32(in + 12);
    vlen = vspn__le32(in + 16);
    if (noff < VSPN_RNDIS_CONFIG_PARAM_HDR || nlen == 0 || (nlen & 1u) ||
        (uint64_t)noff + nlen > in_len)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    if (voff < VSPN_RNDIS_CONFIG_PARAM_HDR || (uint64_t)voff + vlen > in_len)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    if (nlen != 2 * (sizeof(want) - 1))
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    for (uint32_t i = 0; i < sizeof(want) - 1; i++)
        if (vspn__le16(in + noff + 2 * i) != (uint8_t)want[i])
            return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    /* type 2 = string: 12 hex digits as UTF-16LE */
    if (ptype != 2 || vlen != 24)
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    for (uint32_t i = 0; i < 6; i++) {
        int hi = hexval(vspn__le16(in + voff + 4 * i));
        int lo = hexval(vspn__le16(in + voff + 4 * i + 2));

        if (hi < 0 || lo < 0)
            return VSPN_RNDIS_STATUS_INVALID_DATA;
        mac.b[i] = (uint8_t)(hi << 4 | lo);
    }
    if (vsa_mac_is_multicast(&mac) || vsa_mac_is_zero(&mac))
        return VSPN_RNDIS_STATUS_INVALID_DATA;
    if (!d->allow_mac_change)
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    d->cur_mac = mac;
    d->mac_changed = true;
    return VSPN_RNDIS_STATUS_SUCCESS;
}

uint32_t vspn_rndis_set(struct vspn_rndis_dev *d, uint32_t oid,
                        const uint8_t *in, uint32_t in_len)
{
    if (!vspn_rndis_oid_allowed(oid, true))
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
    if (in_len && !in)
        return VSPN_RNDIS_STATUS_INVALID_DATA;

    switch (oid) {
    case VSPN_OID_GEN_CURRENT_PACKET_FILTER: {
        uint32_t f;

        if (in_len != 4)
            return VSPN_RNDIS_STATUS_INVALID_LENGTH;
        f = vspn__le32(in);
        if (f & ~VSPN_RNDIS_FILTER_SUPPORTED)
            return VSPN_RNDIS_STATUS_NOT_SUPPORTED;
        d->filter = f;
        return VSPN_RNDIS_STATUS_SUCCESS;
    }
    case VSPN_OID_802_3_MULTICAST_LIST: {
        uint32_t n = in_len / 6;

        if (in_len % 6 || n > VSPN_RNDIS_MCAST_MAX)
            return VSPN_RNDIS_STATUS_INVALID_LENGTH;
        for (uint32_t i = 0; i < n; i++)
            if (!(in[6 * i] & 1u))
                return VSPN_RNDIS_STATUS_INVALID_DATA;
        for (uint32_t i = 0; i < n; i++)
            memcpy(d->mcast[i].b, in + 6 * i, 6);
        d->nmcast = n;
        return VSPN_RNDIS_STATUS_SUCCESS;
    }
    case VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS:
        return set_rss_params(in, in_len);
    case VSPN_OID_GEN_MACHINE_NAME:
        /* UTF-16 string; recorded nowhere, only its shape is checked */
        if ((in_len & 1u) || in_len > 512u)
            return VSPN_RNDIS_STATUS_INVALID_LENGTH;
        return VSPN_RNDIS_STATUS_SUCCESS;
    case VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER:
        return set_config_param(d, in, in_len);
    case VSPN_OID_GEN_VLAN_ID: {
        uint32_t v;

        if (in_len != 4)
            return VSPN_RNDIS_STATUS_INVALID_LENGTH;
        v = vspn__le32(in);
        if (v > 4094u)
            return VSPN_RNDIS_STATUS_INVALID_DATA;
        d->vlan_id = v;
        return VSPN_RNDIS_STATUS_SUCCESS;
    }
    case VSPN_OID_TCP_OFFLOAD_PARAMETERS:
        return set_offload_params(in, in_len);
    default:
        return VSPN_RNDIS_STATUS_NOT_SUPPORTED; /* unreachable: allow-list */
    }
}

/* ---- the device: control messages ----------------------------------------------- */

int vspn_rndis_ctrl(struct vspn_rndis_dev *d, const struct vspn_rndis_msg *m,
                    uint8_t *out, size_t cap)
{
    bool up = d->state == VSPN_RNDIS_INITIALIZED;

    if (cap < VSPN_RNDIS_CTRL_MAX)
        return -EMSGSIZE;
    switch (m->type) {
    case VSPN_RNDIS_MSG_INIT: {
        uint32_t st = VSPN_RNDIS_STATUS_SUCCESS;

        if (m->u.init.major != VSPN_RNDIS_MAJOR) {
            st = VSPN_RNDIS_STATUS_NOT_SUPPORTED;
        } else {
            /* (Re-)initialisation starts from a closed filter. */
            d->state = VSPN_RNDIS_INITIALIZED;
            d->guest_max_xfer = m->u.init.max_xfer;
            d->filter = 0;
            d->nmcast = 0;
        }
        return vspn_rndis_encode_init_cmplt(out, cap, m->u.init.request_id, st,
                                            d->max_pkts, d->max_xfer,
                                            d->align_factor);
    }
    case VSPN_RNDIS_MSG_HALT:
        d->state = VSPN_RNDIS_HALTED;
        d->filter = 0;
        return 0; /* HALT has no completion */
    case VSPN_RNDIS_MSG_QUERY: {
        uint8_t info[VSPN_RNDIS_CTRL_MAX - VSPN_RNDIS_QUERY_CMPLT_SIZE];
        uint32_t n = 0, st;

        if (!up)
            st = VSPN_RNDIS_STATUS_FAILURE;
        else
            st = vspn_rndis_query(d, m->u.oid.oid, m->u.oid.info,
                                  m->u.oid.info_len, info, sizeof(info), &n);
        if (st != VSPN_RNDIS_STATUS_SUCCESS)
            n = 0;
        return vspn_rndis_encode_query_cmplt(out, cap, m->u.oid.request_id,
                                             st, info, n);
    }
    case VSPN_RNDIS_MSG_SET: {
        uint32_t st = up ? vspn_rndis_set(d, m->u.oid.oid, m->u.oid.info,
                                          m->u.oid.info_len)
                         : VSPN_RNDIS_STATUS_FAILURE;

        return vspn_rndis_encode_cmplt(out, cap, VSPN_RNDIS_MSG_SET_CMPLT,
                                       m->u.oid.request_id, st);
    }
    case VSPN_RNDIS_MSG_RESET:
        /* Addresses and filter survive: addressing_reset = 0. */
        return vspn_rndis_encode_reset_cmplt(
            out, cap, up ? VSPN_RNDIS_STATUS_SUCCESS : VSPN_RNDIS_STATUS_FAILURE,
            0);
    case VSPN_RNDIS_MSG_KEEPALIVE:
        return vspn_rndis_encode_cmplt(
            out, cap, VSPN_RNDIS_MSG_KEEPALIVE_CMPLT, m->u.req.request_id,
            up ? VSPN_RNDIS_STATUS_SUCCESS : VSPN_RNDIS_STATUS_FAILURE);
    default:
        return -EPROTO;
    }
}

bool vspn_rndis_filter_pass(const struct vspn_rndis_dev *d,
                            const uint8_t dst[6])
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint32_t f = d->filter;

    if (f & VSPN_RNDIS_FILTER_PROMISCUOUS)
        return true;
    if (memcmp(dst, bcast, 6) == 0)
        return (f & VSPN_RNDIS_FILTER_BROADCAST) != 0;
    if (dst[0] & 1u) {
        if (f & VSPN_RNDIS_FILTER_ALL_MULTICAST)
            return true;
        if (f & VSPN_RNDIS_FILTER_MULTICAST)
            for (uint32_t i = 0; i < d->nmcast; i++)
                if (memcmp(d->mcast[i].b, dst, 6) == 0)
                    return true;
        return false;
    }
    return (f & VSPN_RNDIS_FILTER_DIRECTED) &&
           memcmp(dst, d->cur_mac.b, 6) == 0;
}
