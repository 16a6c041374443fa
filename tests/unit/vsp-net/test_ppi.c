/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ppi.c — objective: per-packet info (spec nvsp-rndis.md §11) is
 * parsed exactly and walked without trusting a single size or offset.
 *  * VLAN (priority, CFI, id ↔ 802.1Q TCI), checksum, LSO, hash value, hash
 *    info and packet-id records are decoded; unknown types are skipped;
 *    encode → decode → parse round trips for every TCI class.
 *  * Malformed chains are rejected with the offset of the bad record: size
 *    0, size below the 12-byte header, size not a multiple of 4, size past
 *    the end (chain overflowing, incl. 2^32 − 16), data offset below the
 *    header or beyond the record, data shorter than the type's u32, a
 *    duplicate type, more than 16 records, a trailing partial header,
 *    VLAN id 4095.
 *  * Through the VSP (TESTS.md A.12, offload metadata lies): a guest frame
 *    with malformed PPI, a PPI block overlapping the frame, LSO with MSS 0
 *    or larger than the frame, a checksum request whose header offset is
 *    beyond the frame or that names both IP versions → dropped with
 *    ppi_bad / rndis_bad_msg; well-formed offload requests → dropped with
 *    offload_unsupported (the host claims none); the frame never reaches
 *    rx_frame in any of these cases; a valid VLAN PPI reaches it with the
 *    TCI.  Host→guest frames carry the VLAN PPI the guest can parse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/vsa_log.h"
#include "vspn_harness.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Appends one record {size, type, offset, data...} at *pos. */
static void rec(uint8_t *b, uint32_t *pos, uint32_t size, uint32_t type,
                uint32_t off, uint32_t val)
{
    put32(b + *pos, size);
    put32(b + *pos + 4, type);
    put32(b + *pos + 8, off);
    if (size >= 16)
        put32(b + *pos + 12, val);
    *pos += size >= 12 && size < 256 ? size : 12;
}

static void test_parse_known(void **state)
{
    uint8_t b[256] = { 0 };
    uint32_t n = 0;
    struct vspn_rndis_ppi p;
    (void)state;

    /* priority 5, CFI 1, VLAN 100: bits 0-2, 3, 4-15 */
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 12, 5u | 1u << 3 | 100u << 4);
    rec(b, &n, 16, VSPN_PPI_CHECKSUM, 12, 0x00220015);
    rec(b, &n, 16, VSPN_PPI_LSO, 12, 0x40000000u | 22u << 20 | 1448u);
    rec(b, &n, 16, VSPN_PPI_HASH_VALUE, 12, 0xDEADBEEF);
    rec(b, &n, 16, VSPN_PPI_HASH_INFO, 12, 0x00000101);
    rec(b, &n, 16, VSPN_PPI_PACKET_ID, 12, 0x12340601);
    rec(b, &n, 24, 11, 12, 7); /* unknown to us: skipped */
    rec(b, &n, 20, VSPN_PPI_SHORT_PAD, 16, 0);
    assert_int_equal(vspn_rndis_ppi_parse(b, n, &p), 0);
    assert_int_equal(p.nrecords, 8);
    assert_true(p.has_vlan);
    assert_int_equal(p.vlan_tci, 5u << 13 | 1u << 12 | 100u);
    assert_true(p.has_csum);
    assert_int_equal(p.csum, 0x00220015);
    assert_true(p.has_lso);
    assert_int_equal(p.lso & 0xFFFFF, 1448);
    assert_true(p.has_hash_value);
    assert_int_equal(p.hash_value, 0xDEADBEEF);
    assert_true(p.has_hash_info);
    assert_int_equal(p.hash_info, 0x101);
    assert_true(p.has_pkt_id);
    assert_int_equal(p.pkt_id, 0x12340601);
    /* empty block */
    assert_int_equal(vspn_rndis_ppi_parse(NULL, 0, &p), 0);
    assert_int_equal(p.nrecords, 0);
    assert_false(p.has_vlan);
    /* a larger data offset inside the record is fine */
    n = 0;
    rec(b, &n, 20, VSPN_PPI_IEEE8021Q, 16, 0);
    put32(b + 16, 7u << 4);
    assert_int_equal(vspn_rndis_ppi_parse(b, n, &p), 0);
    assert_int_equal(p.vlan_tci, 7);
}

static void test_vlan_round_trip(void **state)
{
    static const uint16_t tcis[] = { 0, 1, 100, 4094, 0x2000 | 20,
                                     0xE000 | 4094, 0x1000 | 1, 0xF00F };
    uint8_t b[256];
    (void)state;

    for (size_t i = 0; i < sizeof(tcis) / 2; i++) {
        struct vspn_rndis_ppi in = { .has_vlan = true, .vlan_tci = tcis[i],
                                     .has_hash_value = true,
                                     .hash_value = (uint32_t)i };
        struct vspn_rndis_msg m;
        struct vspn_rndis_ppi out;
        int h = vspn_rndis_packet_hdr(b, sizeof(b), &in, 60);

        assert_int_equal(h, 44 + 32);
        memset(b + h, 0xAB, 60);
        assert_int_equal(vspn_rndis_decode(b, (size_t)h + 60, &m), 0);
        assert_int_equal(m.u.packet.data_len, 60);
        assert_ptr_equal(m.u.packet.data, b + h);
        assert_int_equal(vspn_rndis_ppi_parse(m.u.packet.ppi,
                                              m.u.packet.ppi_len, &out), 0);
        assert_true(out.has_vlan);
        assert_int_equal(out.vlan_tci, tcis[i]);
        assert_int_equal(out.hash_value, i);
    }
    /* VLAN id 4095 is reserved */
    {
        uint32_t n = 0;
        struct vspn_rndis_ppi p;
        rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 12, 4095u << 4);
        assert_int_equal(vspn_rndis_ppi_parse(b, n, &p), -EBADMSG);
        assert_int_equal(p.err_offset, 12);
    }
    assert_int_equal(vspn_rndis_packet_hdr(b, 43, NULL, 10), -EMSGSIZE);
    assert_int_equal(vspn_rndis_packet_hdr(b, 44, NULL, 0xFFFFFFF0),
                     -EMSGSIZE);
}

struct bad_case {
    const char *what;
    uint32_t len;
    uint32_t err_offset;
};

static void test_malformed(void **state)
{
    uint8_t b[512];
    struct vspn_rndis_ppi p;
    uint32_t n;
    (void)state;

#define EXPECT_BAD(len_, eoff_)                                               \
    do {                                                                      \
        assert_int_equal(vspn_rndis_ppi_parse(b, (len_), &p), -EBADMSG);     \
        assert_int_equal(p.err_offset, (eoff_));                              \
    } while (0)

    memset(b, 0, sizeof(b));
    /* size 0 (Linux would loop forever without the check) */
    n = 0;
    rec(b, &n, 0, VSPN_PPI_IEEE8021Q, 12, 0);
    EXPECT_BAD(16, 0);
    /* size < header */
    n = 0;
    rec(b, &n, 8, VSPN_PPI_IEEE8021Q, 12, 0);
    EXPECT_BAD(16, 0);
    /* size not a multiple of 4 */
    n = 0;
    rec(b, &n, 18, 11, 12, 0);
    EXPECT_BAD(20, 0);
    /* chain overflowing: one record larger than the block */
    n = 0;
    rec(b, &n, 32, VSPN_PPI_HASH_VALUE, 12, 1);
    EXPECT_BAD(16, 0);
    /* second record overflowing, incl. a size near 2^32 */
    n = 0;
    rec(b, &n, 16, VSPN_PPI_HASH_VALUE, 12, 1);
    put32(b + 16, 0xFFFFFFF0);
    put32(b + 20, VSPN_PPI_IEEE8021Q);
    put32(b + 24, 12);
    EXPECT_BAD(32, 16);
    put32(b + 16, 20);
    EXPECT_BAD(32, 16);
    /* data offset below the header, beyond the record */
    n = 0;
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 8, 0);
    EXPECT_BAD(16, 8);
    n = 0;
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 20, 0);
    EXPECT_BAD(16, 8);
    n = 0;
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 0xFFFFFFFF, 0);
    EXPECT_BAD(16, 8);
    /* known type, data shorter than its u32 */
    n = 0;
    rec(b, &n, 16, VSPN_PPI_CHECKSUM, 16, 0);
    EXPECT_BAD(16, 0);
    n = 0;
    rec(b, &n, 12, VSPN_PPI_HASH_VALUE, 12, 0);
    EXPECT_BAD(12, 0);
    /* duplicate (overlapping meaning): two VLAN tags */
    n = 0;
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 12, 10u << 4);
    rec(b, &n, 16, VSPN_PPI_IEEE8021Q, 12, 20u << 4);
    EXPECT_BAD(32, 20);
    /* more than 16 records */
    n = 0;
    for (int i = 0; i < 17; i++)
        rec(b, &n, 12, 100u + (uint32_t)i, 12, 0);
    EXPECT_BAD(n, 16 * 12);
    assert_int_equal(vspn_rndis_ppi_parse(b, 16 * 12, &p), 0);
    /* trailing partial header */
    n = 0;
    rec(b, &n, 16, VSPN_PPI_HASH_VALUE, 12, 1);
    EXPECT_BAD(16 + 8, 16);
    EXPECT_BAD(16 + 11, 16);
    /* block named but no pointer */
    assert_int_equal(vspn_rndis_ppi_parse(NULL, 16, &p), -EBADMSG);
#undef EXPECT_BAD
}

/* ---- through the VSP ------------------------------------------------------- */

static struct hx H;

/* PACKET with raw PPI bytes and a 64-byte broadcast frame. */
static uint32_t packet(uint8_t *b, const uint8_t *ppi, uint32_t plen,
                       uint32_t flen)
{
    uint32_t hdr = 44 + plen;

    memset(b, 0, hdr + flen);
    put32(b, VSPN_RNDIS_MSG_PACKET);
    put32(b + 4, hdr + flen);
    put32(b + 8, hdr - 8);
    put32(b + 12, flen);
    if (plen) {
        put32(b + 28, 36);
        put32(b + 32, plen);
        memcpy(b + 44, ppi, plen);
    }
    memset(b + hdr, 0xff, 6);
    for (uint32_t i = 6; i < flen; i++)
        b[hdr + i] = (uint8_t)i;
    b[hdr + 12] = 0x08;
    b[hdr + 13] = 0x00;
    return hdr + flen;
}

static void send_data(const uint8_t *msg, uint32_t len, uint32_t status)
{
    assert_int_equal(hx_rndis_gpa(&H, msg, len, VSPN_NVSP_CHANNEL_DATA), 0);
    assert_int_equal(hx_last_status(&H, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE),
                     status);
}

static void expect_drop(const uint8_t *ppi, uint32_t plen, unsigned stat_id)
{
    uint8_t m[512];
    uint64_t before = hx_stat(&H, stat_id);
    unsigned frames = H.nframes;
    uint32_t len = packet(m, ppi, plen, 64);

    send_data(m, len, VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(hx_stat(&H, stat_id), before + 1);
    assert_int_equal(H.nframes, frames);
}

static void test_vsp_ppi(void **state)
{
    uint8_t ppi[256], m[512];
    uint32_t n, len;
    unsigned cursor = 0;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    hx_ack_all(&H, &cursor);

    /* a good VLAN PPI reaches rx_frame with the TCI */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_IEEE8021Q, 12, 3u | 300u << 4);
    len = packet(m, ppi, n, 64);
    send_data(m, len, VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nframes, 1);
    assert_true(H.frame_has_vlan);
    assert_int_equal(H.frame_tci, 3u << 13 | 300u);
    assert_int_equal(H.frame_len, 64);
    assert_memory_equal(H.frame, m + 44 + 16, 64);
    /* hash value / checksum without a request are fine */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_HASH_VALUE, 12, 0x1234);
    rec(ppi, &n, 16, VSPN_PPI_CHECKSUM, 12, VSPN_PPI_TXCSUM_IPV4);
    len = packet(m, ppi, n, 64);
    send_data(m, len, VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nframes, 2);
    assert_false(H.frame_has_vlan);

    /* malformed chains: dropped with ppi_bad */
    n = 0;
    rec(ppi, &n, 0, VSPN_PPI_IEEE8021Q, 12, 0);
    expect_drop(ppi, 16, VSPN_VSP_STATS_ID_ppi_bad);
    n = 0;
    rec(ppi, &n, 8, VSPN_PPI_IEEE8021Q, 12, 0);
    expect_drop(ppi, 16, VSPN_VSP_STATS_ID_ppi_bad);
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_IEEE8021Q, 64, 0);
    expect_drop(ppi, 16, VSPN_VSP_STATS_ID_ppi_bad);
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_HASH_VALUE, 12, 0);
    put32(ppi + 16, 0xFFFFFFF0);
    expect_drop(ppi, 32, VSPN_VSP_STATS_ID_ppi_bad);
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_IEEE8021Q, 12, 1u << 4);
    rec(ppi, &n, 16, VSPN_PPI_IEEE8021Q, 12, 2u << 4);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad);

    /* A.12 offload lies */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_LSO, 12, 0x40000000u | 14u << 20 | 0u);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* MSS 0 */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_LSO, 12, 0x40000000u | 14u << 20 | 9000u);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* MSS > frame */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_LSO, 12, 0x40000000u | 1000u << 20 | 20u);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* header beyond */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_LSO, 12, 0x40000000u | 34u << 20 | 20u);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_offload_unsupported);
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_CHECKSUM, 12,
        VSPN_PPI_TXCSUM_IPV4 | VSPN_PPI_TXCSUM_TCP | 200u << 16);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* offset beyond */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_CHECKSUM, 12,
        VSPN_PPI_TXCSUM_IPV4 | VSPN_PPI_TXCSUM_IPV6 | VSPN_PPI_TXCSUM_UDP |
            34u << 16);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* both families */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_CHECKSUM, 12, VSPN_PPI_TXCSUM_TCP | 34u << 16);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_ppi_bad); /* no family */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_CHECKSUM, 12,
        VSPN_PPI_TXCSUM_IPV4 | VSPN_PPI_TXCSUM_TCP | 34u << 16);
    expect_drop(ppi, n, VSPN_VSP_STATS_ID_offload_unsupported);

    /* PPI block overlapping the frame: the message itself is malformed */
    n = 0;
    rec(ppi, &n, 16, VSPN_PPI_IEEE8021Q, 12, 1u << 4);
    len = packet(m, ppi, n, 64);
    put32(m + 32, 32); /* PPI now runs 16 bytes into the data */
    send_data(m, len, VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(HX_STAT(&H, rndis_bad_msg), 1);

    /* runt frame */
    len = packet(m, NULL, 0, 13);
    send_data(m, len, VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(HX_STAT(&H, g2h_runt), 1);
    assert_int_equal(H.nframes, 2);
    assert_int_equal(H.nclose, 0);

    /* host → guest: the VLAN travels in a PPI the guest parses */
    {
        uint8_t f[64];
        struct vspn_frame fr = { f, 64, 0x6000 | 42, true };
        const uint8_t *r;
        uint32_t rl;
        struct vspn_rndis_msg d;
        struct vspn_rndis_ppi pi;

        memset(f, 0xff, 6);
        memset(f + 6, 0x22, 58);
        assert_int_equal(vspn_vsp_deliver(H.vsp, &fr, 1), 1);
        r = hx_last_rndis(&H, &rl);
        assert_int_equal(vspn_rndis_decode(r, rl, &d), 0);
        assert_int_equal(d.type, VSPN_RNDIS_MSG_PACKET);
        assert_int_equal(vspn_rndis_ppi_parse(d.u.packet.ppi,
                                              d.u.packet.ppi_len, &pi), 0);
        assert_true(pi.has_vlan);
        assert_int_equal(pi.vlan_tci, 0x6000 | 42);
        assert_memory_equal(d.u.packet.data, f, 64);
    }
    hx_fini(&H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_known),
        cmocka_unit_test(test_vlan_round_trip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_vsp_ppi),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
