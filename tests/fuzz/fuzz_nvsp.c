/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_nvsp.c — libFuzzer target for the host NVSP state machine
 * (vsp-net/vsp.c): sequences of guest packets fed to one VSP with fake
 * guest memory (64 pages at GPA 0x10000) and real hv_gpadl buffers.
 *
 * Input: byte 0 = flags, then records {op u8, len u8, payload[len]}.
 *   flags bit 0    auto-handshake first (INIT, NDIS_CONFIG, NDIS_VER,
 *                  receive + send buffer, RNDIS INITIALIZE, filter), so the
 *                  fuzzer starts past version negotiation
 *         bits 1-3 NVSP version of the auto-handshake (index, mod 6)
 *         bit 4    MTU 9000 (bigger receive slots), bit 5 MAC change
 *                  allowed, bit 6 link initially down
 *   op % 8 = 0  in-band packet: p[0] bit 0 = completion requested, the
 *               rest of p[0] = trans_id; p[1..] = the NVSP message
 *            1  GPA-direct packet: p[0] % 5 ranges of {count u16, offset
 *               u16, page u8} (PFNs consecutive from page), then the NVSP
 *               message
 *            2  completion: trans_id p[0..1], payload p[2..]
 *            3  write p[3..] into the send buffer / scratch pages at
 *               offset p[0..2] (RNDIS messages)
 *            4  host delivers p[0] % 9 frames shaped by p[1..]
 *            5  guest acks every transfer-page packet seen; p[0] = link
 *            6  host→guest ring full on/off (p[0] bit 0), then poll
 *            7  p[0] % 3: reset the VSP / a packet of raw type p[1] /
 *               poll
 * Invariants checked (abort on violation): every completion the host
 * emits decodes as NVSP (or is empty); every transfer-page range lies in
 * the receive buffer (whichever GPADL the VSP accepted) and holds exactly
 * one decodable RNDIS message;
 * frames handed to rx_frame are ≥ 14 bytes; the host never writes guest
 * memory outside the receive buffer; after the VSP is destroyed no GPADL
 * reference is left (teardown is immediate).
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

#define GPAGES 64u
#define GSIZE (GPAGES * 4096u)
#define GBASE 0x10000ull
#define RECV_OFF 0u
#define RECV_SIZE (16u * 4096u)
#define SEND_OFF (16u * 4096u)
#define SEND_SIZE (16u * 4096u)
#define SCRATCH_OFF (32u * 4096u)
#define MAX_TIDS 512u

static uint8_t *gmem;
static struct hv_mem *mem;
static struct hv_gpadl_table *gt;
static struct vspn_vsp *vsp;
static int send_rc;
static uint64_t tids[MAX_TIDS];
static unsigned ntids;
static uint64_t sink;
static uint64_t next_tid;
static uint8_t shadow[GSIZE]; /* guest memory before each operation */
static uint32_t last_gpadl_req, recv_id; /* GPADL the VSP took as receive
                                         * buffer (1 or 3 can pass) */

static uint64_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t s = 0;

    for (size_t i = 0; i < n; i++)
        s = s * 31 + b[i];
    return s;
}

static int o_comp(void *ctx, uint64_t tid, const void *msg, size_t size)
{
    struct vspn_nvsp_msg m;

    (void)ctx;
    if (send_rc)
        return send_rc;
    if (size && vspn_nvsp_decode(msg, size, &m) != 0)
        abort(); /* the host must emit valid NVSP */
    if (size && size < VSPN_NVSP_MSG_SIZE)
        abort(); /* replies satisfy every guest's minimum length */
    sink += tid + size;
    return (int)(tid & 1);
}

static int o_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                  const struct hv_ring_xfer_range *r, uint32_t n,
                  const void *msg, size_t size)
{
    struct vspn_nvsp_msg m;

    (void)ctx;
    if (send_rc)
        return send_rc;
    if (n == 0 || n > VSPN_VSP_BATCH_MAX ||
        vspn_nvsp_decode(msg, size, &m) != 0 ||
        m.type != VSPN_NVSP_SEND_RNDIS_PKT)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        static uint8_t copy[16384];
        struct hv_gpadl *g = hv_gpadl_lookup(gt, recv_id);
        struct vspn_rndis_msg rm;

        if (!g || r[i].byte_count > sizeof(copy) ||
            hv_gpadl_read(g, r[i].byte_offset, copy, r[i].byte_count) != 0)
            abort();
        if (vspn_rndis_decode(copy, r[i].byte_count, &rm) != 0 ||
            rm.len != r[i].byte_count)
            abort();
        if (rm.type == VSPN_RNDIS_MSG_PACKET) {
            struct vspn_rndis_ppi pi;
            if (vspn_rndis_ppi_parse(rm.u.packet.ppi, rm.u.packet.ppi_len,
                                     &pi) != 0 ||
                rm.u.packet.data_len < 14)
                abort();
        }
    }
    if (ntids < MAX_TIDS)
        tids[ntids++] = tid;
    sink += pageset;
    return 1;
}

static void o_signal(void *ctx)
{
    (void)ctx;
    sink++;
}

static void o_buf(void *ctx, uint32_t id, bool recv, struct vspn_buf *out)
{
    (void)ctx;
    last_gpadl_req = id;
    vspn_vsp_buf_prepare(vsp, recv, hv_gpadl_get(gt, 1, id), out);
}

/* handle_pkt, noting which GPADL became the receive buffer */
static int handle(const struct vspn_pkt *p)
{
    bool had = vspn_vsp_has_recv_buf(vsp);
    int rc = vspn_vsp_handle_pkt(vsp, p);

    if (!had && vspn_vsp_has_recv_buf(vsp))
        recv_id = last_gpadl_req;
    return rc;
}

static bool page_in_recv(uint32_t page)
{
    if (!vspn_vsp_has_recv_buf(vsp))
        return false;
    return recv_id == 1 ? page < 16 : (page >= 8 && page < 24);
}

static void o_close(void *ctx, const char *why)
{
    (void)ctx;
    sink += strlen(why);
}

static void o_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                 bool has_vlan)
{
    (void)ctx;
    if (len < 14)
        abort();
    sink += sum(f, len) + tci + has_vlan;
}

static const struct vspn_vsp_ops ops = {
    .send_completion = o_comp,
    .send_xfer_page = o_xfer,
    .signal = o_signal,
    .buf_get = o_buf,
    .close = o_close,
    .rx_frame = o_rx,
};

static void make_gpadl(uint32_t id, const uint32_t *pages, uint32_t n)
{
    struct hv_gpadl *g;
    uint64_t pfns[32];

    for (uint32_t i = 0; i < n; i++)
        pfns[i] = (GBASE >> 12) + pages[i];
    if (hv_gpadl_begin(gt, mem, 1, id, n, &g) == 0)
        (void)hv_gpadl_add_pfns(g, pfns, n);
}

static void setup_gpadls(void)
{
    uint32_t p[32];

    for (uint32_t i = 0; i < 16; i++)
        p[i] = i;
    make_gpadl(1, p, 16); /* receive buffer */
    for (uint32_t i = 0; i < 16; i++)
        p[i] = 16 + i;
    make_gpadl(2, p, 16); /* send buffer */
    for (uint32_t i = 0; i < 16; i++)
        p[i] = 8 + i;
    make_gpadl(3, p, 16); /* overlaps both */
    p[0] = 40;
    make_gpadl(4, p, 1); /* one page */
    p[0] = 41;
    p[1] = 42;
    p[2] = 41;
    make_gpadl(5, p, 3); /* repeats a page */
}

static int inband(const struct vspn_nvsp_msg *m, uint16_t flags)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf, sizeof(buf));
    struct vspn_pkt p = { .type = 6, .flags = flags, .trans_id = next_tid++,
                          .data = buf, .data_size = (uint32_t)n };

    return handle(&p);
}

/* GPA-direct with one range per page over [off, off + len) of memory. */
static int gpa_send(const void *nvsp, uint32_t nsize, uint32_t off,
                    uint32_t len)
{
    struct hv_ring_gpa_range r[8];
    uint8_t pfn[8][8];
    uint32_t n = 0;
    uint64_t gpa = GBASE + off;
    struct vspn_pkt p = { .type = 9, .flags = 1, .trans_id = next_tid++,
                          .data = nvsp, .data_size = nsize };

    while (len && n < 8) {
        uint32_t o = (uint32_t)(gpa & 4095u);
        uint32_t c = 4096u - o < len ? 4096u - o : len;
        uint64_t f = gpa >> 12;

        for (int b = 0; b < 8; b++)
            pfn[n][b] = (uint8_t)(f >> (8 * b));
        r[n] = (struct hv_ring_gpa_range){ c, o, 1, pfn[n] };
        n++;
        gpa += c;
        len -= c;
    }
    p.gpa = r;
    p.gpa_cnt = n;
    return handle(&p);
}

static void rndis_ctrl(const uint8_t *msg, uint32_t len)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n;

    m.u.rndis_pkt.channel_type = 1;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    n = vspn_nvsp_encode(&m, buf, sizeof(buf));
    memcpy(gmem + SCRATCH_OFF, msg, len);
    (void)gpa_send(buf, (uint32_t)n, SCRATCH_OFF, len);
}

static void handshake(uint32_t ver)
{
    struct vspn_nvsp_msg m;
    uint8_t msg[64];
    uint8_t f[4] = { 0x2F, 0, 0, 0 };
    int n;

    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_INIT;
    m.u.init.min_ver = m.u.init.max_ver = ver;
    inband(&m, 1);
    if (ver >= VSPN_NVSP_VERSION_2) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_NDIS_CONFIG;
        m.u.ndis_config.mtu = 1514;
        inband(&m, 0);
    }
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_VERSION;
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = 30;
    inband(&m, 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RECV_BUF;
    m.u.buf.gpadl = 1;
    m.u.buf.id = 0xCAFE;
    inband(&m, 1);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_SEND_BUF;
    m.u.buf.gpadl = 2;
    inband(&m, 1);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    rndis_ctrl(msg, (uint32_t)n);
    n = vspn_rndis_encode_oid(msg, sizeof(msg), 5, 2, 0x0001010E, f, 4);
    rndis_ctrl(msg, (uint32_t)n);
}

static void ack_all(int style)
{
    static const uint8_t ack[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };

    for (unsigned i = 0; i < ntids; i++) {
        struct vspn_pkt p = { .type = 0xb, .trans_id = tids[i] };

        if (style & 1) {
            p.data = ack;
            p.data_size = 8;
        }
        (void)handle(&p);
    }
    ntids = 0;
}

static void deliver(const uint8_t *p, uint32_t len)
{
    static uint8_t fb[8][9300];
    struct vspn_frame fr[8];
    static const uint8_t dsts[4][6] = {
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 },
        { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
        { 0x00, 0x15, 0x5d, 0x09, 0x09, 0x09 },
    };
    unsigned n = len ? p[0] % 9u : 0;

    for (unsigned i = 0; i < n; i++) {
        uint8_t a = 1 + 2 * i < len ? p[1 + 2 * i] : 0;
        uint8_t b = 2 + 2 * i < len ? p[2 + 2 * i] : 0;
        uint32_t flen = (uint32_t)a * 40u;

        if (flen > sizeof(fb[i]))
            flen = sizeof(fb[i]);
        memset(fb[i], (int)b, flen);
        if (flen >= 6)
            memcpy(fb[i], dsts[b & 3], 6);
        fr[i] = (struct vspn_frame){ fb[i], flen, (uint16_t)(b * 97u),
                                     (b & 4) != 0 };
    }
    sink += vspn_vsp_deliver(vsp, fr, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t vers[] = { 0x2, 0x30002, 0x40000,
                                     0x50000, 0x60000, 0x60001 };
    struct vspn_vsp_cfg cfg = {
        .mac = { { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } },
    };
    size_t pos = 1;
    uint8_t flags;

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
    setup_gpadls();
    cfg.mtu = (flags & 0x10) ? 9000 : 1500;
    cfg.allow_mac_change = (flags & 0x20) != 0;
    cfg.link_up = !(flags & 0x40);
    cfg.mem = mem;
    if (vspn_vsp_create(&cfg, &ops, NULL, &vsp))
        abort();
    send_rc = 0;
    ntids = 0;
    next_tid = 1;
    recv_id = 0;
    if (flags & 1)
        handshake(vers[((flags >> 1) & 7) % 6]);

    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        uint32_t len = data[pos + 1];
        const uint8_t *p = data + pos + 2;

        if (pos + 2 + len > size)
            len = (uint32_t)(size - pos - 2);
        pos += 2 + len;
        memcpy(shadow, gmem, sizeof(shadow));

        switch (op % 8) {
        case 0: {
            struct vspn_pkt pk = { .type = 6 };
            if (len == 0)
                break;
            pk.flags = p[0] & 1;
            pk.trans_id = p[0] >> 1;
            pk.data = p + 1;
            pk.data_size = len - 1;
            (void)handle(&pk);
            break;
        }
        case 1: {
            struct hv_ring_gpa_range r[4];
            uint8_t pfn[4][3][8];
            uint32_t nr = len ? p[0] % 5u : 0, off = 1;
            struct vspn_pkt pk = { .type = 9, .flags = 1,
                                   .trans_id = next_tid++ };

            if (nr > 4)
                nr = 4;
            for (uint32_t i = 0; i < nr && off + 5 <= len; i++, off += 5) {
                uint32_t cnt = (uint32_t)(p[off] | p[off + 1] << 8);
                uint32_t o = (uint32_t)(p[off + 2] | p[off + 3] << 8);
                uint32_t np = (uint32_t)(((o & 4095u) + cnt + 4095u) / 4096u);

                if (np > 3)
                    np = 3;
                for (uint32_t k = 0; k < np; k++) {
                    uint64_t f = (GBASE >> 12) + p[off + 4] + k;
                    for (int b = 0; b < 8; b++)
                        pfn[i][k][b] = (uint8_t)(f >> (8 * b));
                }
                r[pk.gpa_cnt++] = (struct hv_ring_gpa_range){
                    cnt, o, np, &pfn[i][0][0] };
            }
            pk.gpa = r;
            pk.data = p + (off < len ? off : len);
            pk.data_size = off < len ? len - off : 0;
            (void)handle(&pk);
            break;
        }
        case 2: {
            struct vspn_pkt pk = { .type = 0xb };
            if (len < 2)
                break;
            pk.trans_id = (uint64_t)(p[0] | p[1] << 8);
            pk.data = p + 2;
            pk.data_size = len - 2;
            (void)handle(&pk);
            break;
        }
        case 3: {
            uint32_t off;
            if (len < 3)
                break;
            /* the guest writes its send buffer and scratch pages */
            off = (uint32_t)(p[0] | p[1] << 8 | p[2] << 16) %
                      (GSIZE - SEND_OFF) + SEND_OFF;
            if (len - 3 > GSIZE - off)
                break;
            memcpy(gmem + off, p + 3, len - 3);
            memcpy(shadow, gmem, sizeof(shadow));
            break;
        }
        case 4:
            deliver(p, len);
            break;
        case 5:
            ack_all(len ? p[0] : 1);
            if (len)
                vspn_vsp_set_link(vsp, (p[0] & 2) != 0);
            break;
        case 6:
            send_rc = (len && (p[0] & 1)) ? -EAGAIN : 0;
            sink += vspn_vsp_poll(vsp) + vspn_vsp_busy(vsp);
            break;
        default: {
            uint8_t k = len ? p[0] % 3u : 2;
            if (k == 0) {
                vspn_vsp_reset(vsp);
                ntids = 0;
            } else if (k == 1 && len >= 2) {
                struct vspn_pkt pk = { .type = p[1], .data = p + 2,
                                       .data_size = len - 2 };
                (void)handle(&pk);
            } else {
                sink += vspn_vsp_poll(vsp);
            }
            break;
        }
        }
        /* the host writes only into the receive buffer */
        for (uint32_t pg = 0; pg < GPAGES; pg++)
            if (!page_in_recv(pg) &&
                memcmp(shadow + pg * 4096u, gmem + pg * 4096u, 4096) != 0)
                abort();
    }
    sink += vspn_vsp_state(vsp) + vspn_vsp_mtu(vsp) + vspn_vsp_filter(vsp);
    for (unsigned i = 0; i < VSPN_VSP_STATS_N; i++)
        sink += vspn_vsp_stats_get(vspn_vsp_stats(vsp), i);
    vspn_vsp_destroy(vsp);
    vsp = NULL;
    /* no reference left: every teardown is immediate */
    for (uint32_t id = 1; id <= 5; id++)
        if (hv_gpadl_teardown(gt, 1, id) == 1)
            abort();
    hv_gpadl_table_destroy(gt);
    gt = NULL;
    return 0;
}
