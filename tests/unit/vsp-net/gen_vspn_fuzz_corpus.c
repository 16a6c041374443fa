/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gen_vspn_fuzz_corpus.c — writes the seed corpora of fuzz_nvsp,
 * fuzz_rndis and fuzz_rndis_ppi with the real encoders (input formats are
 * described at the top of each target), so the fuzzers start from whole
 * handshakes (Linux and iPXE orders), every allow-listed OID, data sends
 * through sections and pages, and every PPI type.
 *
 * Usage: gen_vspn_fuzz_corpus <tests/fuzz/corpus>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"

static const char *root;
static uint8_t out[65536];
static size_t olen;

static void put_file(const char *target, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(out, 1, olen, f) != olen) {
        perror(path);
        exit(1);
    }
    fclose(f);
    olen = 0;
}

static void b(uint8_t v)
{
    out[olen++] = v;
}

static void bytes(const void *p, size_t n)
{
    memcpy(out + olen, p, n);
    olen += n;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- fuzz_nvsp: records {op, len, payload} --------------------------------- */

static void n_rec(uint8_t op, const void *p, size_t n)
{
    b(op);
    b((uint8_t)n);
    bytes(p, n);
}

/* op 0: in-band NVSP with p[0] = rc | tid << 1; sent as 40 (or 32) bytes */
static void n_msg(const struct vspn_nvsp_msg *m, int rc, size_t sz)
{
    uint8_t buf[1 + VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf + 1, sizeof(buf) - 1);

    buf[0] = (uint8_t)(rc | 0x10);
    n_rec(0, buf, 1 + (sz && sz < (size_t)n ? sz : (size_t)n));
}

static void n_init(uint32_t v, size_t sz)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };
    m.u.init.min_ver = m.u.init.max_ver = v;
    n_msg(&m, 1, sz);
}

static void n_simple(uint32_t type, uint32_t a, uint32_t bb, int rc,
                     size_t sz)
{
    struct vspn_nvsp_msg m = { .type = type };

    switch (type) {
    case VSPN_NVSP_SEND_NDIS_VERSION:
        m.u.ndis_ver.major = a;
        m.u.ndis_ver.minor = bb;
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
    case VSPN_NVSP_SEND_SEND_BUF:
        m.u.buf.gpadl = a;
        m.u.buf.id = (uint16_t)bb;
        break;
    case VSPN_NVSP_REVOKE_RECV_BUF:
    case VSPN_NVSP_REVOKE_SEND_BUF:
        m.u.revoke.id = (uint16_t)a;
        break;
    case VSPN_NVSP_SEND_NDIS_CONFIG:
        m.u.ndis_config.mtu = a;
        m.u.ndis_config.caps = bb;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        m.u.rndis_pkt.channel_type = a;
        m.u.rndis_pkt.section_index = bb;
        m.u.rndis_pkt.section_size = bb == VSPN_NVSP_NO_SECTION ? 0 : 200;
        break;
    case VSPN_NVSP_SWITCH_DATA_PATH:
        m.u.switch_data_path.active_datapath = a;
        break;
    case VSPN_NVSP_SUBCHANNEL:
        m.u.subchannel.op_or_status = a;
        m.u.subchannel.num = bb;
        break;
    default:
        break;
    }
    n_msg(&m, rc, sz);
}

/* op 3: write `msg` at guest offset `off` (split into ≤ 250-byte records) */
static void n_write(uint32_t off, const uint8_t *msg, size_t n)
{
    while (n) {
        uint8_t buf[255];
        size_t c = n > 250 ? 250 : n;

        buf[0] = (uint8_t)off;
        buf[1] = (uint8_t)(off >> 8);
        buf[2] = (uint8_t)(off >> 16);
        memcpy(buf + 3, msg, c);
        n_rec(3, buf, 3 + c);
        off += (uint32_t)c;
        msg += c;
        n -= c;
    }
}

/* op 1: one GPA range {count, 0, page} + NVSP 107 of `channel` */
static void n_gpa(uint32_t count, uint32_t off, uint8_t page,
                  uint32_t channel)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    uint8_t buf[8 + VSPN_NVSP_ENCODE_MAX];
    int n;

    m.u.rndis_pkt.channel_type = channel;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    buf[0] = 1;
    buf[1] = (uint8_t)count;
    buf[2] = (uint8_t)(count >> 8);
    buf[3] = (uint8_t)off;
    buf[4] = (uint8_t)(off >> 8);
    buf[5] = page;
    n = vspn_nvsp_encode(&m, buf + 6, sizeof(buf) - 6);
    n_rec(1, buf, 6 + (size_t)n);
}

static void n_rndis_ctrl(const uint8_t *msg, int n)
{
    n_write(32u * 4096u, msg, (size_t)n);
    n_gpa((uint32_t)n, 0, 32, 1);
}

static void gen_nvsp(void)
{
    const char *t = "fuzz_nvsp";
    uint8_t msg[256], f[4] = { 0x0D, 0, 0, 0 };
    uint8_t p[20];
    int n;

    /* Linux order, by hand */
    b(0x00);
    n_init(0x60001, 0);
    n_simple(VSPN_NVSP_SEND_NDIS_CONFIG, 1514, 0x2C, 0, 0);
    n_simple(VSPN_NVSP_SEND_NDIS_VERSION, 6, 30, 0, 0);
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 1, 0xCAFE, 1, 0);
    n_simple(VSPN_NVSP_SEND_SEND_BUF, 2, 0, 1, 0);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    n_rndis_ctrl(msg, n);
    n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_QUERY, 2,
                              VSPN_OID_802_3_PERMANENT_ADDRESS, NULL, 0);
    n_rndis_ctrl(msg, n);
    n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_SET, 3,
                              VSPN_OID_GEN_CURRENT_PACKET_FILTER, f, 4);
    n_rndis_ctrl(msg, n);
    p[0] = 4;
    p[1] = 2;
    p[2] = 0;
    p[3] = 30;
    p[4] = 1;
    p[5] = 200;
    p[6] = 5;
    p[7] = 40;
    p[8] = 2;
    n_rec(4, p, 9);
    p[0] = 3;
    n_rec(5, p, 1);
    n_simple(VSPN_NVSP_SWITCH_DATA_PATH, 0, 0, 1, 0);
    n_simple(VSPN_NVSP_SUBCHANNEL, 1, 3, 1, 0);
    n_simple(VSPN_NVSP_REVOKE_RECV_BUF, 0xCAFE, 0, 0, 0);
    n_simple(VSPN_NVSP_REVOKE_SEND_BUF, 0, 0, 0, 0);
    n_init(0x50000, 0);
    put_file(t, "linux_order");

    /* iPXE order: v1, 32-byte messages, NDIS_VER with completion */
    b(0x00);
    n_init(0x2, 32);
    n_simple(VSPN_NVSP_SEND_NDIS_VERSION, 6, 1, 1, 32);
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 1, 0xBEAD, 1, 32);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    n_rndis_ctrl(msg, n);
    n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_SET, 2,
                              VSPN_OID_GEN_CURRENT_PACKET_FILTER, f, 4);
    n_rndis_ctrl(msg, n);
    p[0] = 1;
    p[1] = 3;
    p[2] = 0;
    n_rec(4, p, 3);
    p[0] = 0; /* empty completions */
    n_rec(5, p, 1);
    n_simple(VSPN_NVSP_REVOKE_RECV_BUF, 0xBEAD, 0, 1, 32);
    put_file(t, "ipxe_order");

    /* auto-handshake, then data through a section and through pages */
    b(0x01 | (5 << 1));
    {
        struct vspn_rndis_ppi pi = { .has_vlan = true, .vlan_tci = 20 };
        int h = vspn_rndis_packet_hdr(msg, sizeof(msg), &pi, 64);
        memset(msg + h, 0xff, 6);
        memset(msg + h + 6, 0x42, 58);
        n_write(16u * 4096u, msg, (size_t)h + 64);
        {
            struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
            m.u.rndis_pkt.section_index = 0;
            m.u.rndis_pkt.section_size = (uint32_t)h + 64;
            n_msg(&m, 1, 0);
        }
        n_write(32u * 4096u + 4000u, msg, (size_t)h + 64);
        n_gpa((uint32_t)h + 64, 4000, 32, 0);
        n_gpa((uint32_t)h + 64, 4000, 200, 0); /* outside guest memory */
    }
    p[0] = 8;
    for (int i = 1; i < 17; i++)
        p[i] = (uint8_t)(i * 9);
    n_rec(4, p, 17);
    p[0] = 1;
    n_rec(6, p, 1); /* ring full */
    n_rec(4, p, 3);
    p[0] = 0;
    n_rec(6, p, 1);
    p[0] = 1;
    n_rec(5, p, 1);
    p[0] = 0; /* reset */
    n_rec(7, p, 1);
    n_init(0x40000, 0);
    put_file(t, "auto_data");

    /* bad sections and buffers */
    b(0x01 | (2 << 1));
    n_simple(VSPN_NVSP_SEND_RNDIS_PKT, 1, 99, 1, 0);
    n_simple(VSPN_NVSP_SEND_RNDIS_PKT, 1, VSPN_NVSP_NO_SECTION, 1, 0);
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 1, 0xCAFE, 1, 0); /* again: fail */
    p[0] = 7;
    p[1] = 0;
    p[2] = 0;
    n_rec(2, p, 3); /* completion of nothing */
    put_file(t, "bad_sections");

    b(0x00);
    n_init(0x60000, 0);
    n_simple(VSPN_NVSP_SEND_NDIS_VERSION, 6, 30, 0, 0);
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 4, 0xCAFE, 1, 0); /* one page */
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 5, 0xCAFE, 1, 0); /* repeated page */
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 9, 0xCAFE, 1, 0); /* unknown */
    n_simple(VSPN_NVSP_SEND_RECV_BUF, 1, 0xCAFE, 1, 0);
    n_simple(VSPN_NVSP_SEND_SEND_BUF, 3, 0, 1, 0); /* overlapping */
    n_simple(VSPN_NVSP_SEND_SEND_BUF, 1, 0, 1, 0); /* the same buffer */
    n_simple(VSPN_NVSP_REVOKE_RECV_BUF, 0xBEEF, 0, 0, 0);
    put_file(t, "bad_buffers");

    b(0x00);
    n_init(0x70000, 0);
    n_init(0x1, 0);
    n_init(0x30000, 0);
    {
        struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };
        m.u.init.min_ver = 0x2;
        m.u.init.max_ver = 0x60001;
        n_msg(&m, 1, 0);
    }
    n_simple(VSPN_NVSP_SEND_NDIS_CONFIG, 20, 0, 0, 0);
    put_file(t, "versions");
}

/* ---- fuzz_rndis: records {op, aux, len u16, msg} -------------------------- */

static void r_rec(uint8_t op, uint8_t aux, const void *msg, size_t n)
{
    b(op);
    b(aux);
    b((uint8_t)n);
    b((uint8_t)(n >> 8));
    bytes(msg, n);
}

static void r_oid(uint32_t type, uint32_t oid, const void *in, uint32_t len)
{
    static uint32_t rid = 10;
    uint8_t msg[1024];
    int n = vspn_rndis_encode_oid(msg, sizeof(msg), type, rid++, oid, in,
                                  len);
    r_rec(0, (uint8_t)(rid * 7), msg, (size_t)n);
}

static void gen_rndis(void)
{
    const char *t = "fuzz_rndis";
    const uint32_t *oids;
    unsigned n_oids = vspn_rndis_oid_list(&oids);
    uint8_t in[700], msg[2048];
    int n;

    /* every allow-listed OID as a QUERY (with the input headers guests
     * send) */
    b(0x05);
    for (unsigned i = 0; i < n_oids; i++)
        r_oid(VSPN_RNDIS_MSG_QUERY, oids[i], NULL, 0);
    memset(in, 0, sizeof(in));
    in[0] = 0xA7;
    in[1] = 3;
    in[2] = 156;
    r_oid(VSPN_RNDIS_MSG_QUERY, VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
          in, 156);
    in[0] = 0x88;
    in[1] = 2;
    in[2] = 18;
    r_oid(VSPN_RNDIS_MSG_QUERY, VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES, in,
          18);
    r_rec(6, 0, NULL, 0);
    put_file(t, "queries");

    /* every allow-listed SET with a valid buffer */
    b(0x15);
    put32(in, 0x0D);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4);
    {
        static const uint8_t mc[12] = { 1, 0, 0x5e, 0, 0, 1,
                                        0x33, 0x33, 0, 0, 0, 1 };
        r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_802_3_MULTICAST_LIST, mc, 12);
    }
    memset(in, 0, sizeof(in));
    in[0] = 0x89;
    in[1] = 2;
    in[2] = 40;
    put32(in + 8, 0x1701);
    in[12] = 0x00;
    in[13] = 0x02; /* 512 */
    put32(in + 16, 40);
    in[20] = 40;
    put32(in + 24, 552);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592);
    memset(in, 0, 28);
    in[0] = 0x80;
    in[1] = 3;
    in[2] = 28;
    in[4] = 1;
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28);
    {
        static const char name[] = "NetworkAddress";
        static const char val[] = "02AABBCCDDEE";

        memset(in, 0, 72);
        put32(in, 20);
        put32(in + 4, 28);
        put32(in + 8, 2);
        put32(in + 12, 48);
        put32(in + 16, 24);
        for (int i = 0; i < 14; i++)
            in[20 + 2 * i] = (uint8_t)name[i];
        for (int i = 0; i < 12; i++)
            in[48 + 2 * i] = (uint8_t)val[i];
        r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, 72);
    }
    put32(in, 20);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_VLAN_ID, in, 4);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_MACHINE_NAME, "v\0m\0", 4);
    put_file(t, "sets");

    /* OIDs outside the allow-list, with payload */
    b(0x03);
    memset(in, 0xAA, 64);
    r_oid(VSPN_RNDIS_MSG_QUERY, 0x00010102, in, 64);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_OFFLOAD_ENCAPSULATION, in, 64);
    r_oid(VSPN_RNDIS_MSG_QUERY, 0xFFFFFFFF, in, 8);
    r_oid(VSPN_RNDIS_MSG_SET, 0x00000000, in, 0);
    put_file(t, "unknown_oids");

    /* data: GPA, section, multi-packet section, deliver/ack/link */
    b(0x04);
    put32(in, 0x2F);
    r_oid(VSPN_RNDIS_MSG_SET, VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4);
    {
        struct vspn_rndis_ppi pi = { .has_vlan = true, .vlan_tci = 0x2014,
                                     .has_hash_value = true,
                                     .hash_value = 7 };
        uint32_t off = 0;
        int h = vspn_rndis_packet_hdr(msg, sizeof(msg), &pi, 100);

        memset(msg + h, 0xff, 6);
        memset(msg + h + 6, 0x33, 94);
        r_rec(1, 3, msg, (size_t)h + 100);
        r_rec(3, 0, msg, (size_t)h + 100);
        memset(msg, 0, sizeof(msg));
        for (int i = 0; i < 3; i++) {
            uint32_t start = off, flen = 60 + (uint32_t)i;

            h = vspn_rndis_packet_hdr(msg + off, sizeof(msg) - off, NULL,
                                      flen);
            memset(msg + off + h, 0xff, flen);
            off += (uint32_t)h + flen;
            if (i < 2) { /* pad to 8 by enlarging msg_len (§5.2) */
                uint32_t al = (off + 7u) & ~7u;
                put32(msg + start + 4, al - start);
                off = al;
            }
        }
        r_rec(3, 4, msg, off);
        memset(msg, 0xff, 6);
        memset(msg + 6, 0x11, 58);
        r_rec(5, 3, msg, 64);
        r_rec(6, 0, NULL, 0);
        r_rec(7, 1, NULL, 0);
        r_rec(5, 0, msg, 64);
        r_rec(7, 0, NULL, 0);
    }
    put_file(t, "data");

    /* the other control messages, and messages the guest must not send */
    b(0x02);
    n = vspn_rndis_encode_keepalive(msg, sizeof(msg), 5);
    r_rec(0, 0, msg, (size_t)n);
    n = vspn_rndis_encode_reset(msg, sizeof(msg));
    r_rec(2, 1, msg, (size_t)n);
    n = vspn_rndis_encode_indicate(msg, sizeof(msg), 0x4001000B, NULL, 0);
    r_rec(0, 0, msg, (size_t)n);
    n = vspn_rndis_encode_cmplt(msg, sizeof(msg), VSPN_RNDIS_MSG_SET_CMPLT, 1,
                                0);
    r_rec(0, 0, msg, (size_t)n);
    n = vspn_rndis_encode_halt(msg, sizeof(msg), 6);
    r_rec(0, 0, msg, (size_t)n);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 7, 0x4000);
    r_rec(0, 0, msg, (size_t)n);
    r_rec(4, 0, msg, (size_t)n);
    put_file(t, "control_misc");

    /* malformed: short length, info overflow */
    b(0x00);
    n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_QUERY, 9,
                              VSPN_OID_GEN_LINK_SPEED, NULL, 0);
    put32(msg + 4, 4);
    r_rec(0, 0, msg, (size_t)n);
    put32(msg + 4, (uint32_t)n);
    put32(msg + 16, 16);
    put32(msg + 20, 0xFFFFFFF8);
    r_rec(0, 0, msg, (size_t)n);
    r_rec(2, 0, msg, (size_t)n);
    r_rec(4, 0, msg, (size_t)n);
    put_file(t, "malformed");
}

/* ---- fuzz_rndis_ppi: {flags, flen / 4, ppi...} ----------------------------- */

static void ppi_rec(uint32_t type, uint32_t v)
{
    uint8_t r[16];

    put32(r, 16);
    put32(r + 4, type);
    put32(r + 8, 12);
    put32(r + 12, v);
    bytes(r, 16);
}

static void gen_ppi(void)
{
    const char *t = "fuzz_rndis_ppi";

    b(0x04);
    b(15);
    ppi_rec(VSPN_PPI_IEEE8021Q, 3u | 20u << 4);
    put_file(t, "vlan");

    b(0x04);
    b(30);
    ppi_rec(VSPN_PPI_HASH_VALUE, 0x12345678);
    ppi_rec(VSPN_PPI_HASH_INFO, 0x101);
    ppi_rec(VSPN_PPI_CHECKSUM, 0x01);
    put_file(t, "hash_csum_none");

    b(0x04);
    b(60);
    ppi_rec(VSPN_PPI_CHECKSUM, 0x05 | 34u << 16);
    put_file(t, "csum_tcp4");

    b(0x04);
    b(250);
    ppi_rec(VSPN_PPI_LSO, 0x40000000u | 34u << 20 | 1448u);
    put_file(t, "lso");

    b(0x0D);
    b(20);
    ppi_rec(VSPN_PPI_IEEE8021Q, 100u << 4);
    ppi_rec(VSPN_PPI_PACKET_ID, 0x00010601);
    ppi_rec(11, 0);
    put_file(t, "after_frame_tagged");

    b(0x06);
    b(20);
    ppi_rec(VSPN_PPI_IEEE8021Q, 100u << 4);
    put_file(t, "overlap");

    b(0x07);
    b(40);
    ppi_rec(VSPN_PPI_HASH_VALUE, 1);
    ppi_rec(VSPN_PPI_HASH_VALUE, 2);
    put_file(t, "offset_dup");

    b(0x04);
    b(16);
    {
        uint8_t r[12];
        put32(r, 0);
        put32(r + 4, 6);
        put32(r + 8, 12);
        bytes(r, 12);
    }
    put_file(t, "size_zero");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <tests/fuzz/corpus>\n", argv[0]);
        return 2;
    }
    root = argv[1];
    gen_nvsp();
    gen_rndis();
    gen_ppi();
    return 0;
}
