/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gen_hv_fuzz_corpus.c — writes the seed corpora of fuzz_hv_ring and
 * fuzz_hv_chan_msg (valid inputs built with the real encoders), so that
 * the fuzzers start from well-formed rings and complete handshakes.
 *
 * Usage: gen_hv_fuzz_corpus <tests/fuzz/corpus>
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_ring.h"

static const char *root;

static void put_file(const char *target, const char *name, const void *buf,
                     size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* ---- fuzz_hv_ring ---- */
static void ring_seed(const char *name, uint8_t sel, uint8_t flags,
                      uint32_t dsize, int kinds)
{
    static uint8_t mem[4096 + 8192] __attribute__((aligned(4096)));
    static uint8_t out[22 + 8192];
    struct hv_ring_cfg wc = { .role = HV_RING_WRITER, .dsize = dsize };
    struct hv_ring_xfer_range xr[2] = { { 1514, 0 }, { 60, 2048 } };
    struct hv_ring_gpa_page gp[2] = { { 4096, 0, 0x1000 }, { 100, 96, 9 } };
    uint8_t payload[64] = "RNDIS/NVSP payload bytes";
    struct hv_ring *w;

    memset(mem, 0, sizeof(mem));
    hv_ring_ctl_init(mem);
    if (hv_ring_create_buf(&wc, mem, &w))
        exit(2);
    for (int i = 0; i < kinds; i++) {
        switch (i % 4) {
        case 0:
            hv_ring_write_inband(w, 1, (uint64_t)i, payload, 24, NULL);
            break;
        case 1:
            hv_ring_write_xfer(w, 0, (uint64_t)i, 0xCAFE, xr, 2, payload, 16,
                               NULL);
            break;
        case 2:
            hv_ring_write_gpa(w, 1, (uint64_t)i, gp, 2, payload, 32, NULL);
            break;
        default:
            hv_ring_write_comp(w, (uint64_t)i, payload, 8, NULL);
            break;
        }
    }
    hv_ring_destroy(w);
    out[0] = sel;
    out[1] = flags;
    memcpy(out + 2, mem, 16);
    memcpy(out + 18, mem + HV_RING_OFF_FEATURES, 4);
    memcpy(out + 22, mem + 4096, dsize);
    put_file("fuzz_hv_ring", name, out, 22 + dsize);
}

/* ---- fuzz_hv_chan_msg ---- */
static uint8_t seq[8192];
static size_t seqlen;

static void rec(uint8_t op, const void *p, size_t len)
{
    seq[seqlen++] = op;
    seq[seqlen++] = (uint8_t)len;
    memcpy(seq + seqlen, p, len);
    seqlen += len;
}

static void msg(const struct hv_chan_msg *m)
{
    uint8_t buf[HV_CHAN_MSG_MAX_SIZE];
    int n = hv_chan_msg_encode(m, buf, sizeof(buf));
    if (n < 0)
        exit(3);
    rec(0, buf, (size_t)n);
}

static void m_simple(uint32_t type, uint32_t relid)
{
    struct hv_chan_msg m = { .type = type };
    m.u.child_relid = relid;
    msg(&m);
}

static void m_contact(uint32_t version)
{
    struct hv_chan_msg m = { .type = HV_MSG_INITIATE_CONTACT };
    m.u.initiate.version = version;
    msg(&m);
}

static void m_gpadl(uint32_t relid, uint32_t id, uint32_t first, uint32_t n)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_HEADER };
    uint32_t done;

    m.u.gpadl_header.child_relid = relid;
    m.u.gpadl_header.gpadl = id;
    m.u.gpadl_header.byte_count = n * 4096;
    m.u.gpadl_header.total_pfns = n;
    m.u.gpadl_header.npfns = n < 26 ? n : 26;
    for (uint32_t i = 0; i < m.u.gpadl_header.npfns; i++)
        m.u.gpadl_header.pfns[i] = first + i;
    msg(&m);
    for (done = m.u.gpadl_header.npfns; done < n;) {
        struct hv_chan_msg b = { .type = HV_MSG_GPADL_BODY };
        uint32_t k = n - done < 28 ? n - done : 28;
        b.u.gpadl_body.gpadl = id;
        b.u.gpadl_body.npfns = k;
        for (uint32_t i = 0; i < k; i++)
            b.u.gpadl_body.pfns[i] = first + done + i;
        msg(&b);
        done += k;
    }
}

static void m_open(uint32_t relid, uint32_t gpadl, uint32_t off)
{
    struct hv_chan_msg m = { .type = HV_MSG_OPENCHANNEL };
    m.u.open.child_relid = relid;
    m.u.open.openid = 0x1234;
    m.u.open.ring_gpadl = gpadl;
    m.u.open.downstream_offset = off;
    msg(&m);
}

static void m_teardown(uint32_t relid, uint32_t gpadl)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_TEARDOWN };
    m.u.gpadl_teardown.child_relid = relid;
    m.u.gpadl_teardown.gpadl = gpadl;
    msg(&m);
}

/* An INBAND packet with completion requested into the guest→host ring at
 * page `page` (data at page+1), then write_index. */
static void put_packet(uint8_t page)
{
    uint8_t w[3 + 40] = { 0 };
    uint8_t idx[3 + 4] = { 0 };

    w[0] = (uint8_t)(page + 1);
    w[3] = 6;      /* type INBAND */
    w[5] = 2;      /* offset8 */
    w[7] = 4;      /* len8: 32 bytes */
    w[9] = 1;      /* flags: completion requested */
    w[11] = 0x42;  /* trans_id */
    memcpy(w + 3 + 16, "payload!", 8);
    rec(4, w, sizeof(w));
    idx[0] = page;
    idx[3] = 40;   /* write_index = 32 + 8 */
    rec(4, idx, sizeof(idx));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 1;
    }
    root = argv[1];
    ring_seed("inband_small", 0, 0, 32, 1);
    ring_seed("mixed_4k", 4, 2, 4096, 8);
    ring_seed("mixed_8k_host_types", 5, 3, 8192, 12);
    ring_seed("scattered_8k", 5, 6, 8192, 6);
    ring_seed("wrap_256", 3, 2, 256, 9);

    /* Linux-like: 5.3, offers, ring GPADL (4 pages), open, packet, service,
     * close, teardown, unload. */
    seqlen = 0;
    m_contact(HV_VMBUS_VERSION_WIN10_V5_3);
    m_simple(HV_MSG_REQUESTOFFERS, 0);
    m_gpadl(1, 0xE1E10, 0, 4);
    m_open(1, 0xE1E10, 2);
    put_packet(0);
    rec(5, "", 0);
    m_simple(HV_MSG_CLOSECHANNEL, 1);
    m_teardown(1, 0xE1E10);
    m_simple(HV_MSG_UNLOAD, 0);
    put_file("fuzz_hv_chan_msg", "linux_handshake", seq, seqlen);

    /* multi-message GPADL (40 pages) + open with buffers */
    seqlen = 0;
    m_contact(HV_VMBUS_VERSION_WIN10);
    m_simple(HV_MSG_REQUESTOFFERS, 0);
    m_gpadl(1, 0x100, 0, 8);
    m_open(1, 0x100, 4);
    m_gpadl(1, 0x200, 8, 40);
    m_gpadl(2, 0x300, 48, 4);
    m_open(2, 0x300, 2);
    put_packet(48);
    rec(5, "", 0);
    m_teardown(1, 0x100);
    m_simple(HV_MSG_CLOSECHANNEL, 1);
    rec(6, "\x01\x02", 2);
    m_simple(HV_MSG_CLOSECHANNEL, 2);
    m_simple(HV_MSG_RELID_RELEASED, 2);
    put_file("fuzz_hv_chan_msg", "buffers_rescind", seq, seqlen);

    /* iPXE: IC(3.0), UNLOAD, IC(0.13), one-message GPADL, open, reset */
    seqlen = 0;
    m_contact(HV_VMBUS_VERSION_WIN8_1);
    m_simple(HV_MSG_UNLOAD, 0);
    m_contact(HV_VMBUS_VERSION_WS2008);
    m_simple(HV_MSG_REQUESTOFFERS, 0);
    m_gpadl(1, 0x18AE0001, 10, 4);
    m_open(1, 0x18AE0001, 2);
    rec(7, "", 0);
    m_contact(0x00060000);
    put_file("fuzz_hv_chan_msg", "ipxe", seq, seqlen);
    return 0;
}
