/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_rndis_ppi.c — libFuzzer target for per-packet-info lists
 * (vspn_rndis_ppi_parse) and for the PACKET offsets around them: the
 * offset/size arithmetic of spec nvsp-rndis.md §9 and §11.
 *
 * Input: byte 0 = flags, byte 1 = frame length / 4, bytes 2.. = the PPI
 * block.
 *   flags bits 0-1  where the PPI block sits: 0 right after the header
 *                   (Linux), 1 after the frame, 2 overlapping the frame
 *                   start, 3 at an offset taken from byte 1
 *         bit 2     also push the message through a VSP data send
 *         bit 3     frame starts with an 802.1Q tag
 * Steps: (1) parse the block alone; if it parses, the fields the host can
 * emit (VLAN, checksum, LSO, hash value, hash info) are re-encoded with
 * vspn_rndis_packet_hdr and must parse back identically (round trip);
 * (2) wrap block and frame into a PACKET with the chosen layout and
 * decode it: a successful decode must hand back in-bounds, disjoint
 * regions equal to what was written; (3) optionally send it to a VSP after
 * a valid handshake: rx_frame may only see the exact frame, and only when
 * the PPI parses and carries no offload request (the host claims none).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GPAGES 48u
#define GSIZE (GPAGES * 4096u)
#define GBASE 0x10000ull
#define SCRATCH_OFF (32u * 4096u)

static uint8_t *gmem;
static struct hv_mem *mem;
static struct hv_gpadl_table *gt;
static struct vspn_vsp *vsp;
static uint64_t sink, next_tid = 1;
static unsigned frames_seen;
static const uint8_t *expect_frame;
static uint32_t expect_len;

static int o_comp(void *ctx, uint64_t tid, const void *msg, size_t size)
{
    (void)ctx;
    (void)msg;
    sink += tid + size;
    return 0;
}

static int o_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                  const struct hv_ring_xfer_range *r, uint32_t n,
                  const void *msg, size_t size)
{
    (void)ctx;
    (void)r;
    (void)msg;
    sink += tid + pageset + n + size;
    return 0;
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
    abort();
}

static void o_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                 bool has_vlan)
{
    (void)ctx;
    if (!expect_frame || len != expect_len ||
        memcmp(f, expect_frame, len) != 0)
        abort();
    frames_seen++;
    sink += tci + has_vlan;
}

static const struct vspn_vsp_ops ops = {
    .send_completion = o_comp,
    .send_xfer_page = o_xfer,
    .signal = o_signal,
    .buf_get = o_buf,
    .close = o_close,
    .rx_frame = o_rx,
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int inband(const struct vspn_nvsp_msg *m)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf, sizeof(buf));
    struct vspn_pkt p = { .type = 6, .flags = 1, .trans_id = next_tid++,
                          .data = buf, .data_size = (uint32_t)n };

    return vspn_vsp_handle_pkt(vsp, &p);
}

static void gpa_send(uint32_t channel, uint32_t len)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    struct hv_ring_gpa_range r[16];
    uint8_t pfn[16][8], buf[VSPN_NVSP_ENCODE_MAX];
    uint64_t gpa = GBASE + SCRATCH_OFF;
    uint32_t n = 0;
    struct vspn_pkt p = { .type = 9, .flags = 1, .trans_id = next_tid++ };

    m.u.rndis_pkt.channel_type = channel;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    while (len && n < 16) {
        uint32_t c = len < 4096u ? len : 4096u;
        uint64_t f = gpa >> 12;

        for (int b = 0; b < 8; b++)
            pfn[n][b] = (uint8_t)(f >> (8 * b));
        r[n] = (struct hv_ring_gpa_range){ c, 0, 1, pfn[n] };
        n++;
        gpa += c;
        len -= c;
    }
    p.data = buf;
    p.data_size = (uint32_t)vspn_nvsp_encode(&m, buf, sizeof(buf));
    p.gpa = r;
    p.gpa_cnt = n;
    if (vspn_vsp_handle_pkt(vsp, &p) != 0)
        abort();
}

static void setup(void)
{
    struct vspn_vsp_cfg cfg = {
        .mac = { { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } },
        .link_up = true,
        .mtu = 9000,
    };
    struct vspn_nvsp_msg m;
    uint64_t pfns[16];
    struct hv_gpadl *g;
    int n;

    vsa_log_set_level(VSA_LOG_ERR);
    gmem = aligned_alloc(4096, GSIZE);
    if (!gmem || hv_mem_create(&mem) ||
        hv_mem_add_buffer(mem, gmem, GBASE, GSIZE) ||
        hv_gpadl_table_create(NULL, NULL, &gt))
        abort();
    memset(gmem, 0, GSIZE);
    for (uint32_t i = 0; i < 16; i++)
        pfns[i] = (GBASE >> 12) + i;
    if (hv_gpadl_begin(gt, mem, 1, 1, 16, &g) || hv_gpadl_add_pfns(g, pfns, 16))
        abort();
    cfg.mem = mem;
    if (vspn_vsp_create(&cfg, &ops, NULL, &vsp))
        abort();
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_INIT;
    m.u.init.min_ver = m.u.init.max_ver = VSPN_NVSP_VERSION_61;
    inband(&m);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_VERSION;
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = 30;
    inband(&m);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RECV_BUF;
    m.u.buf.gpadl = 1;
    m.u.buf.id = 0xCAFE;
    inband(&m);
    n = vspn_rndis_encode_init(gmem + SCRATCH_OFF, 64, 1, 0x4000);
    gpa_send(1, (uint32_t)n);
    if (vspn_vsp_rndis_state(vsp) != VSPN_RNDIS_INITIALIZED)
        abort();
}

/* Round trip of the fields the host can emit. */
static void round_trip(const struct vspn_rndis_ppi *a)
{
    uint8_t buf[VSPN_RNDIS_PACKET_SIZE + 5 * 16 + 16];
    struct vspn_rndis_ppi in = *a, b;
    struct vspn_rndis_msg m;
    int h;

    in.has_pkt_id = false;
    h = vspn_rndis_packet_hdr(buf, sizeof(buf), &in, 16);
    if (h < 0)
        abort();
    memset(buf + h, 0x5a, 16);
    if (vspn_rndis_decode(buf, (size_t)h + 16, &m) != 0 ||
        vspn_rndis_ppi_parse(m.u.packet.ppi, m.u.packet.ppi_len, &b) != 0)
        abort();
    if (b.has_vlan != in.has_vlan || b.has_csum != in.has_csum ||
        b.has_lso != in.has_lso || b.has_hash_value != in.has_hash_value ||
        b.has_hash_info != in.has_hash_info ||
        (in.has_vlan && b.vlan_tci != in.vlan_tci) ||
        (in.has_csum && b.csum != in.csum) ||
        (in.has_lso && b.lso != in.lso) ||
        (in.has_hash_value && b.hash_value != in.hash_value) ||
        (in.has_hash_info && b.hash_info != in.hash_info))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t msg[32768];
    static uint8_t frame[2048];
    struct vspn_rndis_ppi pi;
    struct vspn_rndis_msg m;
    uint32_t plen, flen, poff, doff, total;
    uint8_t flags;
    int prc, drc;

    if (!gmem)
        setup();
    if (size < 2)
        return 0;
    flags = data[0];
    flen = 14u + (uint32_t)data[1] * 4u;
    plen = (uint32_t)(size - 2);
    if (plen > 16384)
        plen = 16384;

    /* (1) the block alone */
    prc = vspn_rndis_ppi_parse(data + 2, plen, &pi);
    if (prc == 0) {
        if (pi.nrecords > VSPN_RNDIS_PPI_MAX_RECORDS)
            abort();
        round_trip(&pi);
    } else if (prc != -EBADMSG || pi.err_offset >= plen + 1) {
        abort();
    }

    /* (2) inside a PACKET */
    for (uint32_t i = 0; i < flen; i++)
        frame[i] = (uint8_t)(i * 13 + flags);
    memset(frame, 0xff, 6);
    if (flags & 8) {
        frame[12] = 0x81;
        frame[13] = 0x00;
    } else {
        frame[12] = 0x08;
        frame[13] = 0x00;
    }
    switch (flags & 3) {
    case 0: poff = 44; doff = 44 + plen; break;
    case 1: doff = 44; poff = 44 + flen; break;
    case 2: doff = 44; poff = 44 + (flen > 8 ? flen - 8 : 0); break;
    default: poff = 44 + data[1]; doff = 44 + plen + 64; break;
    }
    total = (poff + plen > doff + flen ? poff + plen : doff + flen);
    if (total > sizeof(msg))
        return 0;
    memset(msg, 0, total);
    put32(msg, VSPN_RNDIS_MSG_PACKET);
    put32(msg + 4, total);
    put32(msg + 8, doff - 8);
    put32(msg + 12, flen);
    put32(msg + 28, plen ? poff - 8 : 0);
    put32(msg + 32, plen);
    memcpy(msg + poff, data + 2, plen);
    memcpy(msg + doff, frame, flen); /* the frame wins an overlap */
    drc = vspn_rndis_decode(msg, total, &m);
    if (drc == 0) {
        const uint8_t *d = m.u.packet.data, *q = m.u.packet.ppi;

        if (d < msg + 44 || d + m.u.packet.data_len > msg + total)
            abort();
        if (q && (q < msg + 44 || q + m.u.packet.ppi_len > msg + total ||
                  (q < d + m.u.packet.data_len &&
                   d < q + m.u.packet.ppi_len)))
            abort();
        if (m.u.packet.data_len != flen || memcmp(d, frame, flen) != 0)
            abort();
        sink += (uint64_t)vspn_rndis_ppi_parse(q, m.u.packet.ppi_len, &pi);
    }

    /* (3) through the VSP */
    if ((flags & 4) && total <= 16 * 4096u) {
        unsigned before = frames_seen;
        bool want;

        memcpy(gmem + SCRATCH_OFF, msg, total);
        expect_frame = frame;
        expect_len = flen;
        gpa_send(0, total);
        expect_frame = NULL;
        want = drc == 0 && prc == 0 &&
               !pi.has_lso &&
               !(pi.has_csum && (pi.csum & (VSPN_PPI_TXCSUM_TCP |
                                            VSPN_PPI_TXCSUM_UDP |
                                            VSPN_PPI_TXCSUM_IP)));
        if (frames_seen != before + (want ? 1u : 0u))
            abort();
    }
    return 0;
}
