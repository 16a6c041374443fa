/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_rndis.c — libFuzzer target for RNDIS as the host sees it
 * (vsp-net/rndis.c and the RNDIS half of vsp.c), the CVE-2021-28476
 * class: control messages incl. OID QUERY/SET and data packets, after a
 * valid NVSP handshake, through GPA-direct ranges and send-buffer
 * sections, plus the pure device functions.
 *
 * Input: byte 0 = flags (bits 0-2: NVSP version index, bit 3: skip RNDIS
 * INITIALIZE, bit 4: MAC change allowed), then records
 * {op u8, aux u8, len u16 LE, msg[len]}:
 *   op % 8 = 0  control message via GPA-direct (copied at scratch offset
 *               aux × 16, so it may cross pages)
 *            1  data message via GPA-direct
 *            2  control message in send section aux (section size from
 *               the NVSP header = len)
 *            3  data message in send section aux
 *            4  pure: decode, vspn_rndis_ctrl() on a private device, PPI
 *               parse, re-decode of the completion
 *            5  the host delivers msg as a frame (VLAN aux)
 *            6  the guest acks every transfer-page packet
 *            7  link down (aux bit 0) / up
 * Invariants (abort): every host completion decodes as NVSP; every
 * transfer-page range holds one decodable RNDIS message inside the
 * receive buffer; a QUERY/SET of an OID outside the allow-list is answered
 * NOT_SUPPORTED with no data, by the VSP and by the pure functions, and
 * the VSP counts it in oid_unsupported (an allowed one not) — the
 * allow-list being the documented one, tests/rndis_oids.h, not the
 * product's (an OID the product allows without a handler also answers
 * NOT_SUPPORTED, so only the counter tells); the
 * host never writes guest memory outside the receive buffer (so the
 * guest's payload stays untouched); a delivered frame comes back bit for
 * bit in the receive buffer with the VLAN it was given.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "tests/rndis_oids.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GPAGES 64u
#define GSIZE (GPAGES * 4096u)
#define GBASE 0x10000ull
#define RECV_SIZE (16u * 4096u)
#define SEND_OFF (16u * 4096u)
#define SEND_SIZE (32u * 4096u)
#define SCRATCH_OFF (48u * 4096u)
#define SCRATCH_SIZE (16u * 4096u)
#define MAX_TIDS 512u

static uint8_t *gmem;
static struct hv_mem *mem;
static struct hv_gpadl_table *gt;
static struct vspn_vsp *vsp;
static uint64_t tids[MAX_TIDS];
static unsigned ntids;
static uint64_t sink, next_tid;
static uint8_t shadow[GSIZE - RECV_SIZE];
/* expectations for the next control reply */
static bool expect_unsupported;
static uint32_t expect_type;
/* what oid_unsupported must grow by for the next control message (-1:
 * no expectation) */
static int expect_unsup_count;
/* the last RNDIS message the host posted */
static uint32_t last_off, last_len;

static int o_comp(void *ctx, uint64_t tid, const void *msg, size_t size)
{
    struct vspn_nvsp_msg m;

    (void)ctx;
    if (size && vspn_nvsp_decode(msg, size, &m) != 0)
        abort();
    sink += tid;
    return 0;
}

static int o_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                  const struct hv_ring_xfer_range *r, uint32_t n,
                  const void *msg, size_t size)
{
    (void)ctx;
    (void)msg;
    (void)size;
    if (pageset != 0xCAFE || n == 0)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        struct vspn_rndis_msg rm;

        if ((uint64_t)r[i].byte_offset + r[i].byte_count > RECV_SIZE ||
            vspn_rndis_decode(gmem + r[i].byte_offset, r[i].byte_count,
                              &rm) != 0 ||
            rm.len != r[i].byte_count)
            abort();
        if (expect_unsupported && rm.type == expect_type) {
            uint32_t st = rm.type == VSPN_RNDIS_MSG_QUERY_CMPLT
                              ? rm.u.query_cmplt.status
                              : rm.u.cmplt.status;
            if (st != VSPN_RNDIS_STATUS_NOT_SUPPORTED ||
                (rm.type == VSPN_RNDIS_MSG_QUERY_CMPLT &&
                 rm.u.query_cmplt.info_len != 0))
                abort();
            expect_unsupported = false;
        }
        last_off = r[i].byte_offset;
        last_len = r[i].byte_count;
    }
    if (ntids < MAX_TIDS)
        tids[ntids++] = tid;
    return 1;
}

static void o_signal(void *ctx)
{
    (void)ctx;
}

static void o_buf(void *ctx, uint32_t id, bool recv, struct vspn_buf *out)
{
    (void)ctx;
    vspn_vsp_buf_prepare(vsp, recv, hv_gpadl_get(gt, 1, id), out);
}

static void o_close(void *ctx, const char *why)
{
    (void)ctx;
    (void)why;
    abort(); /* no NVSP violation is possible in this target */
}

static void o_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                 bool has_vlan)
{
    const uint8_t *b = f;

    (void)ctx;
    if (len < 14)
        abort();
    for (size_t i = 0; i < len; i++)
        sink += b[i];
    sink += tci + has_vlan;
}

static void o_mac(void *ctx, const struct vsa_mac *mac)
{
    (void)ctx;
    if (vsa_mac_is_multicast(mac) || vsa_mac_is_zero(mac))
        abort();
}

static const struct vspn_vsp_ops ops = {
    .send_completion = o_comp,
    .send_xfer_page = o_xfer,
    .signal = o_signal,
    .buf_get = o_buf,
    .close = o_close,
    .rx_frame = o_rx,
    .mac_changed = o_mac,
};

static void make_gpadl(uint32_t id, uint32_t first, uint32_t n)
{
    struct hv_gpadl *g;
    uint64_t pfns[64];

    for (uint32_t i = 0; i < n; i++)
        pfns[i] = (GBASE >> 12) + first + i;
    if (hv_gpadl_begin(gt, mem, 1, id, n, &g) || hv_gpadl_add_pfns(g, pfns, n))
        abort();
}

static int inband(const struct vspn_nvsp_msg *m)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf, sizeof(buf));
    struct vspn_pkt p = { .type = 6, .flags = 1, .trans_id = next_tid++,
                          .data = buf, .data_size = (uint32_t)n };

    return vspn_vsp_handle_pkt(vsp, &p);
}

static void gpa_msg(uint32_t channel, uint32_t off, const uint8_t *msg,
                    uint32_t len)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    struct hv_ring_gpa_range r[20];
    uint8_t pfn[20][8], buf[VSPN_NVSP_ENCODE_MAX];
    uint64_t gpa = GBASE + SCRATCH_OFF + off;
    uint32_t n = 0, left = len;
    struct vspn_pkt p = { .type = 9, .flags = 1, .trans_id = next_tid++ };

    (void)msg; /* already written into guest memory by the caller */
    m.u.rndis_pkt.channel_type = channel;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    while (left && n < 20) {
        uint32_t o = (uint32_t)(gpa & 4095u);
        uint32_t c = 4096u - o < left ? 4096u - o : left;
        uint64_t f = gpa >> 12;

        for (int b = 0; b < 8; b++)
            pfn[n][b] = (uint8_t)(f >> (8 * b));
        r[n] = (struct hv_ring_gpa_range){ c, o, 1, pfn[n] };
        n++;
        gpa += c;
        left -= c;
    }
    p.data = buf;
    p.data_size = (uint32_t)vspn_nvsp_encode(&m, buf, sizeof(buf));
    p.gpa = r;
    p.gpa_cnt = n;
    if (vspn_vsp_handle_pkt(vsp, &p) != 0)
        abort();
}

static void section_msg(uint32_t channel, uint32_t idx, const uint8_t *msg,
                        uint32_t len)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };

    (void)msg; /* already written into the section by the caller */
    m.u.rndis_pkt.channel_type = channel;
    m.u.rndis_pkt.section_index = idx;
    m.u.rndis_pkt.section_size = len;
    if (inband(&m) != 0)
        abort();
}

static uint64_t unsupported(void)
{
    return vspn_vsp_stats_get(vspn_vsp_stats(vsp),
                              VSPN_VSP_STATS_ID_oid_unsupported);
}

static void ack_all(void)
{
    static const uint8_t ack[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };

    for (unsigned i = 0; i < ntids; i++) {
        struct vspn_pkt p = { .type = 0xb, .trans_id = tids[i], .data = ack,
                              .data_size = 8 };
        (void)vspn_vsp_handle_pkt(vsp, &p);
    }
    ntids = 0;
}

/* Sets the closed-set expectation for a control message. */
static void expect_for(const uint8_t *msg, uint32_t len)
{
    struct vspn_rndis_msg m;

    expect_unsupported = false;
    expect_unsup_count = -1;
    if (vspn_rndis_decode(msg, len, &m) != 0)
        return;
    if (vspn_vsp_rndis_state(vsp) != VSPN_RNDIS_INITIALIZED)
        return;
    if (m.type == VSPN_RNDIS_MSG_QUERY || m.type == VSPN_RNDIS_MSG_SET)
        expect_unsup_count = 0;
    if (m.type == VSPN_RNDIS_MSG_QUERY &&
        !rndis_doc_oid_allowed(m.u.oid.oid, false)) {
        expect_unsupported = true;
        expect_type = VSPN_RNDIS_MSG_QUERY_CMPLT;
        expect_unsup_count = 1;
    } else if (m.type == VSPN_RNDIS_MSG_SET &&
               !rndis_doc_oid_allowed(m.u.oid.oid, true)) {
        expect_unsupported = true;
        expect_type = VSPN_RNDIS_MSG_SET_CMPLT;
        expect_unsup_count = 1;
    }
}

static void pure(const uint8_t *msg, uint32_t len)
{
    static struct vspn_rndis_dev d;
    struct vsa_mac mac = { { 2, 0, 0, 0, 0, 1 } };
    uint8_t out[VSPN_RNDIS_CTRL_MAX];
    struct vspn_rndis_msg m, c;
    int n;

    vspn_rndis_dev_init(&d, &mac, 1500);
    d.state = VSPN_RNDIS_INITIALIZED;
    d.allow_mac_change = true;
    if (vspn_rndis_decode(msg, len, &m) != 0)
        return;
    if (m.type == VSPN_RNDIS_MSG_PACKET) {
        struct vspn_rndis_ppi pi;
        sink += (uint64_t)vspn_rndis_ppi_parse(m.u.packet.ppi,
                                               m.u.packet.ppi_len, &pi);
        return;
    }
    n = vspn_rndis_ctrl(&d, &m, out, sizeof(out));
    if (n <= 0)
        return;
    if (vspn_rndis_decode(out, (size_t)n, &c) != 0)
        abort();
    if ((m.type == VSPN_RNDIS_MSG_QUERY &&
         !rndis_doc_oid_allowed(m.u.oid.oid, false) &&
         (c.u.query_cmplt.status != VSPN_RNDIS_STATUS_NOT_SUPPORTED ||
          c.u.query_cmplt.info_len)) ||
        (m.type == VSPN_RNDIS_MSG_SET &&
         !rndis_doc_oid_allowed(m.u.oid.oid, true) &&
         c.u.cmplt.status != VSPN_RNDIS_STATUS_NOT_SUPPORTED))
        abort();
    sink += d.filter + d.nmcast + d.cur_mac.b[5];
}

static void deliver(uint8_t aux, const uint8_t *msg, uint32_t len)
{
    struct vspn_frame f = { msg, len, (uint16_t)(aux * 263u), (aux & 1) != 0 };
    struct vspn_rndis_msg m;
    struct vspn_rndis_ppi pi;

    last_len = 0;
    if (vspn_vsp_deliver(vsp, &f, 1) != 1)
        return;
    if (vspn_rndis_decode(gmem + last_off, last_len, &m) != 0 ||
        m.type != VSPN_RNDIS_MSG_PACKET || m.u.packet.data_len != len ||
        memcmp(m.u.packet.data, msg, len) != 0 ||
        vspn_rndis_ppi_parse(m.u.packet.ppi, m.u.packet.ppi_len, &pi) != 0 ||
        pi.has_vlan != f.has_vlan ||
        (f.has_vlan && pi.vlan_tci != f.vlan_tci))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t vers[] = { 0x2, 0x30002, 0x40000,
                                     0x50000, 0x60000, 0x60001 };
    struct vspn_vsp_cfg cfg = {
        .mac = { { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } },
        .link_up = true,
    };
    struct vspn_nvsp_msg m;
    size_t pos = 1;
    uint8_t flags, msg[64];
    uint32_t ver;
    int n;

    if (!gmem) {
        vsa_log_set_level(VSA_LOG_ERR);
        gmem = aligned_alloc(4096, GSIZE);
        if (!gmem || hv_mem_create(&mem) ||
            hv_mem_add_buffer(mem, gmem, GBASE, GSIZE))
            abort();
    }
    if (size < 1)
        return 0;
    flags = data[0];
    memset(gmem, 0, GSIZE);
    if (hv_gpadl_table_create(NULL, NULL, &gt))
        abort();
    make_gpadl(1, 0, 16);
    make_gpadl(2, 16, 32);
    cfg.mem = mem;
    cfg.allow_mac_change = (flags & 0x10) != 0;
    if (vspn_vsp_create(&cfg, &ops, NULL, &vsp))
        abort();
    ntids = 0;
    next_tid = 1;
    expect_unsupported = false;
    expect_unsup_count = -1;

    ver = vers[(flags & 7) % 6];
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_INIT;
    m.u.init.min_ver = m.u.init.max_ver = ver;
    inband(&m);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_VERSION;
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = ver >= 0x50000 ? 30 : 1;
    inband(&m);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RECV_BUF;
    m.u.buf.gpadl = 1;
    m.u.buf.id = 0xCAFE;
    inband(&m);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_SEND_BUF;
    m.u.buf.gpadl = 2;
    inband(&m);
    if (vspn_vsp_state(vsp) != VSPN_VSP_READY)
        abort();
    if (!(flags & 8)) {
        n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
        memcpy(gmem + SCRATCH_OFF, msg, (size_t)n);
        gpa_msg(1, 0, msg, (uint32_t)n);
    }

    while (pos + 4 <= size) {
        uint8_t op = data[pos], aux = data[pos + 1];
        uint32_t len = (uint32_t)(data[pos + 2] | data[pos + 3] << 8);
        const uint8_t *p = data + pos + 4;

        if (len > size - pos - 4)
            len = (uint32_t)(size - pos - 4);
        pos += 4 + len;
        memcpy(shadow, gmem + RECV_SIZE, sizeof(shadow));
        switch (op % 8) {
        case 0:
        case 1: {
            uint32_t off = (uint32_t)aux * 16u;
            uint64_t unsup;
            bool immediate;

            if (len == 0 || off + len > SCRATCH_SIZE)
                break;
            memcpy(gmem + SCRATCH_OFF + off, p, len); /* the guest writes */
            memcpy(shadow, gmem + RECV_SIZE, sizeof(shadow));
            /* a reply is posted at once only with a free slot and nothing
             * queued before it */
            immediate = vspn_vsp_poll(vsp) == 0 &&
                        vspn_vsp_recv_slots_free(vsp) > 0;
            expect_unsup_count = -1;
            if (op % 8 == 0 && immediate)
                expect_for(p, len);
            unsup = unsupported();
            gpa_msg(op % 8 == 0 ? 1 : 0, off, p, len);
            if (expect_unsupported)
                abort(); /* the NOT_SUPPORTED reply never came */
            if (expect_unsup_count >= 0 &&
                unsupported() != unsup + (uint64_t)expect_unsup_count)
                abort();
            break;
        }
        case 2:
        case 3: {
            uint32_t idx = aux % 24u;
            bool immediate;

            if (len == 0)
                break;
            if (idx < 21) {
                uint32_t room = SEND_SIZE - idx * 6144u;
                memcpy(gmem + SEND_OFF + idx * 6144u, p,
                       len < room ? len : room);
            }
            memcpy(shadow, gmem + RECV_SIZE, sizeof(shadow));
            immediate = vspn_vsp_poll(vsp) == 0 &&
                        vspn_vsp_recv_slots_free(vsp) > 0;
            if (op % 8 == 2 && immediate && len <= 6144 && idx < 21)
                expect_for(p, len);
            section_msg(op % 8 == 2 ? 1 : 0, idx, p, len);
            if (expect_unsupported)
                abort();
            break;
        }
        case 4:
            pure(p, len);
            break;
        case 5:
            deliver(aux, p, len);
            break;
        case 6:
            ack_all();
            break;
        default:
            vspn_vsp_set_link(vsp, !(aux & 1));
            break;
        }
        if (memcmp(shadow, gmem + RECV_SIZE, sizeof(shadow)) != 0)
            abort();
        sink += vspn_vsp_poll(vsp);
    }
    for (unsigned i = 0; i < VSPN_VSP_STATS_N; i++)
        sink += vspn_vsp_stats_get(vspn_vsp_stats(vsp), i);
    vspn_vsp_destroy(vsp);
    vsp = NULL;
    for (uint32_t id = 1; id <= 2; id++)
        if (hv_gpadl_teardown(gt, 1, id) != 0)
            abort();
    hv_gpadl_table_destroy(gt);
    gt = NULL;
    return 0;
}
