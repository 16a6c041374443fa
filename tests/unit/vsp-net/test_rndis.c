/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_rndis.c — objective: TESTS.md A.5, the RNDIS message and OID
 * closed-set test (CVE-2021-28476 class).
 *  * Every RNDIS message type (requests and completions) with MessageLength
 *    below 8, below its fixed size, above the buffer, and every variable
 *    buffer with an offset below the fixed part, a length beyond the
 *    message and offset + length overflowing 32 bits → -EBADMSG with the
 *    offending field's offset; through the VSP the same messages complete
 *    with NVSP INVALID_RNDIS_PKT and an INDICATE_STATUS(INVALID_DATA)
 *    carrying the diagnostic block.
 *  * Every OID of the allow-list is answered with the right value and
 *    size, SETs change exactly what they should, bad information buffers
 *    (NDIS object headers, lengths, RSS tables with out-of-range queues,
 *    A.7) answer INVALID_LENGTH / INVALID_DATA and change nothing.
 *  * The allow-list is the documented one (tests/rndis_oids.h, not the
 *    product's own list): SUPPORTED_LIST holds exactly its 23 OIDs, and no
 *    other OID of the classes the spec's OIDs come from is allowed.
 *  * Every OID of the spec tables plus 10^5 random 32-bit OIDs outside the
 *    allow-list answer NOT_SUPPORTED without touching the payload: the guest
 *    buffer's checksum is unchanged, the device state is unchanged, and the
 *    pure functions never read an information buffer placed on a PROT_NONE
 *    page (so no payload byte is used as a pointer, length or handle).
 *  * RNDIS state rules: requests before INITIALIZE or after HALT complete
 *    with FAILURE, HALT has no completion, re-INITIALIZE works; HALT
 *    discards the control messages still waiting for a receive slot (none
 *    reaches the halted device), RESET keeps them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "common/vsa_log.h"
#include "tests/rndis_oids.h"
#include "vspn_harness.h"

static struct hx H;
static unsigned ack_cursor;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ---- decoder --------------------------------------------------------------- */

/* A valid message of `type` in buf; returns its length. */
static uint32_t build(uint32_t type, uint8_t *b, size_t cap)
{
    uint8_t info[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    int n = 0;

    memset(b, 0, cap);
    switch (type) {
    case VSPN_RNDIS_MSG_PACKET: {
        struct vspn_rndis_ppi pi = { .has_vlan = true, .vlan_tci = 10 };
        n = vspn_rndis_packet_hdr(b, cap, &pi, 60);
        n += 60;
        break;
    }
    case VSPN_RNDIS_MSG_INIT:
        n = vspn_rndis_encode_init(b, cap, 1, 0x4000);
        break;
    case VSPN_RNDIS_MSG_HALT:
        n = vspn_rndis_encode_halt(b, cap, 2);
        break;
    case VSPN_RNDIS_MSG_QUERY:
    case VSPN_RNDIS_MSG_SET:
        n = vspn_rndis_encode_oid(b, cap, type, 3, 0x00010101, info, 8);
        break;
    case VSPN_RNDIS_MSG_RESET:
        n = vspn_rndis_encode_reset(b, cap);
        break;
    case VSPN_RNDIS_MSG_INDICATE_STATUS:
        n = vspn_rndis_encode_indicate(b, cap, 0x40010018, info, 4);
        break;
    case VSPN_RNDIS_MSG_KEEPALIVE:
        n = vspn_rndis_encode_keepalive(b, cap, 4);
        break;
    case VSPN_RNDIS_MSG_INIT_CMPLT:
        n = vspn_rndis_encode_init_cmplt(b, cap, 1, 0, 8, 65536, 3);
        break;
    case VSPN_RNDIS_MSG_QUERY_CMPLT:
        n = vspn_rndis_encode_query_cmplt(b, cap, 3, 0, info, 8);
        break;
    case VSPN_RNDIS_MSG_SET_CMPLT:
    case VSPN_RNDIS_MSG_KEEPALIVE_CMPLT:
        n = vspn_rndis_encode_cmplt(b, cap, type, 5, 0);
        break;
    case VSPN_RNDIS_MSG_RESET_CMPLT:
        n = vspn_rndis_encode_reset_cmplt(b, cap, 0, 0);
        break;
    }
    assert_true(n > 0);
    return (uint32_t)n;
}

static const uint32_t all_types[] = {
    VSPN_RNDIS_MSG_PACKET,          VSPN_RNDIS_MSG_INIT,
    VSPN_RNDIS_MSG_HALT,            VSPN_RNDIS_MSG_QUERY,
    VSPN_RNDIS_MSG_SET,             VSPN_RNDIS_MSG_RESET,
    VSPN_RNDIS_MSG_INDICATE_STATUS, VSPN_RNDIS_MSG_KEEPALIVE,
    VSPN_RNDIS_MSG_INIT_CMPLT,      VSPN_RNDIS_MSG_QUERY_CMPLT,
    VSPN_RNDIS_MSG_SET_CMPLT,       VSPN_RNDIS_MSG_RESET_CMPLT,
    VSPN_RNDIS_MSG_KEEPALIVE_CMPLT,
};

static void test_decode_lengths(void **state)
{
    uint8_t b[256];
    struct vspn_rndis_msg m;
    (void)state;

    for (size_t i = 0; i < sizeof(all_types) / 4; i++) {
        uint32_t t = all_types[i], len = build(t, b, sizeof(b));
        uint32_t fixed = vspn_rndis_min_size(t);
        static const uint32_t small[] = { 0, 1, 4, 7 };

        assert_true(fixed >= 8);
        assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
        assert_int_equal(m.type, t);
        assert_int_equal(m.len, len);
        /* buffer shorter than the header */
        for (uint32_t k = 0; k < 8; k++)
            assert_int_equal(vspn_rndis_decode(b, k, &m), -EBADMSG);
        /* MessageLength < header, < fixed size */
        for (size_t k = 0; k < 4; k++) {
            put32(b + 4, small[k]);
            assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
            assert_int_equal(m.err_offset, 4);
        }
        put32(b + 4, fixed - 1);
        assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
        assert_int_equal(m.err_offset, 4);
        /* MessageLength > buffer */
        put32(b + 4, len + 1);
        assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
        assert_int_equal(m.err_offset, 4);
        put32(b + 4, 0xFFFFFFFF);
        assert_int_equal(vspn_rndis_decode(b, sizeof(b), &m), -EBADMSG);
        put32(b + 4, len);
        /* the buffer may be longer than MessageLength (multi-packet send) */
        assert_int_equal(vspn_rndis_decode(b, sizeof(b), &m), 0);
        assert_int_equal(m.len, len);
    }
    /* unknown types */
    put32(b, 9);
    put32(b + 4, 64);
    assert_int_equal(vspn_rndis_decode(b, 64, &m), -EBADMSG);
    put32(b, 0x80000001);
    assert_int_equal(vspn_rndis_decode(b, 64, &m), -EBADMSG);
    put32(b, 0x80000007);
    assert_int_equal(vspn_rndis_decode(b, 64, &m), -EBADMSG);
    assert_int_equal(vspn_rndis_decode(NULL, 64, &m), -EINVAL);
}

/* Variable buffers: {length at L, rel-8 offset at O}. */
static void check_var_buf(uint32_t type, uint32_t L, uint32_t O)
{
    uint8_t b[256];
    struct vspn_rndis_msg m;
    uint32_t len = build(type, b, sizeof(b));
    uint32_t fixed = vspn_rndis_min_size(type);
    static const uint32_t bad_off[] = { 0xFFFFFFF8, 0xFFFFFFFC, 0xFFFFFFFF,
                                        0x80000000 };

    /* offset + length wrapping 32 bits */
    for (size_t k = 0; k < 4; k++) {
        put32(b + O, bad_off[k]);
        put32(b + L, 16);
        assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
        put32(b + L, 0xFFFFFFFF);
        assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    }
    /* offset inside the fixed part */
    put32(b + O, fixed - 8 - 4);
    put32(b + L, 4);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    assert_int_equal(m.err_offset, O);
    put32(b + O, 0);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    /* length one past the message */
    put32(b + O, fixed - 8);
    put32(b + L, len - fixed + 1);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    assert_int_equal(m.err_offset, L);
    /* exact fit is fine */
    put32(b + L, len - fixed);
    assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
    /* zero length: offset 0 or inside; beyond → refused */
    put32(b + L, 0);
    put32(b + O, 0);
    assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
    put32(b + O, len - 8);
    assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
    put32(b + O, len - 7);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + O, 0xFFFFFFFF);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
}

static void test_decode_offsets(void **state)
{
    uint8_t b[256];
    struct vspn_rndis_msg m;
    uint32_t len;
    (void)state;

    check_var_buf(VSPN_RNDIS_MSG_QUERY, 16, 20);
    check_var_buf(VSPN_RNDIS_MSG_SET, 16, 20);
    check_var_buf(VSPN_RNDIS_MSG_QUERY_CMPLT, 16, 20);
    check_var_buf(VSPN_RNDIS_MSG_INDICATE_STATUS, 12, 16);

    /* PACKET: data, OOB, PPI */
    len = build(VSPN_RNDIS_MSG_PACKET, b, sizeof(b));
    assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
    assert_int_equal(m.u.packet.data_len, 60);
    assert_int_equal(m.u.packet.ppi_len, 16);
    put32(b + 12, 0); /* data_length 0 */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 12, 60);
    put32(b + 8, 35); /* data inside the header */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 8, 0xFFFFFFF8); /* wraps */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 8, 52);
    put32(b + 12, 61); /* one past */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 12, 0xFFFFFFF0);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 12, 60);
    put32(b + 20, 4); /* OOB length */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 20, 0);
    put32(b + 24, 1); /* OOB count */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 24, 0);
    put32(b + 28, 52); /* PPI over the data */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 28, 40); /* PPI overlapping the first data bytes */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 28, 20); /* PPI inside the header */
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 28, 0xFFFFFFFC);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 28, 36);
    put32(b + 32, 0xFFFFFFF0);
    assert_int_equal(vspn_rndis_decode(b, len, &m), -EBADMSG);
    put32(b + 32, 0); /* no PPI: the offset is ignored */
    put32(b + 28, 0xFFFFFFFF);
    assert_int_equal(vspn_rndis_decode(b, len, &m), 0);
    assert_null(m.u.packet.ppi);
}

/* ---- through the VSP ------------------------------------------------------- */

static void setup_vsp(bool allow_mac)
{
    struct vspn_vsp_cfg cfg;

    hx_default_cfg(&cfg);
    cfg.allow_mac_change = allow_mac;
    assert_int_equal(hx_init(&H, &cfg), 0);
    ack_cursor = 0;
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 5), 0);
    hx_ack_all(&H, &ack_cursor);
}

/* Last host→guest RNDIS message decoded (and acked). */
static void last_reply(struct vspn_rndis_msg *m, uint8_t *copy)
{
    uint32_t len;
    const uint8_t *p = hx_last_rndis(&H, &len);

    assert_non_null(p);
    memcpy(copy, p, len);
    assert_int_equal(vspn_rndis_decode(copy, len, m), 0);
    hx_ack_all(&H, &ack_cursor);
}

static uint32_t oid_req(uint32_t type, uint32_t oid, const void *in,
                        uint32_t in_len, uint8_t *out, uint32_t *out_len)
{
    static uint32_t rid = 100;
    uint8_t msg[1024], copy[1024];
    struct vspn_rndis_msg r;
    unsigned nx = H.nxfer;
    int n = vspn_rndis_encode_oid(msg, sizeof(msg), type, ++rid, oid, in,
                                  in_len);

    assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)n,
                                  VSPN_NVSP_CHANNEL_CONTROL), 0);
    assert_int_equal(hx_last_status(&H, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE),
                     VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nxfer, nx + 1);
    last_reply(&r, copy);
    if (type == VSPN_RNDIS_MSG_QUERY) {
        assert_int_equal(r.type, VSPN_RNDIS_MSG_QUERY_CMPLT);
        assert_int_equal(r.u.query_cmplt.request_id, rid);
        if (out) {
            if (r.u.query_cmplt.info_len)
                memcpy(out, r.u.query_cmplt.info, r.u.query_cmplt.info_len);
            *out_len = r.u.query_cmplt.info_len;
        }
        if (r.u.query_cmplt.status != 0)
            assert_int_equal(r.u.query_cmplt.info_len, 0);
        return r.u.query_cmplt.status;
    }
    assert_int_equal(r.type, VSPN_RNDIS_MSG_SET_CMPLT);
    assert_int_equal(r.u.cmplt.request_id, rid);
    return r.u.cmplt.status;
}

static uint32_t query(uint32_t oid, const void *in, uint32_t in_len,
                      uint8_t *out, uint32_t *out_len)
{
    return oid_req(VSPN_RNDIS_MSG_QUERY, oid, in, in_len, out, out_len);
}

static uint32_t set(uint32_t oid, const void *in, uint32_t in_len)
{
    return oid_req(VSPN_RNDIS_MSG_SET, oid, in, in_len, NULL, NULL);
}

/* Sends a malformed control message; expects NVSP 5 and the diagnostic
 * INDICATE_STATUS with error_offset `eoff`. */
static void expect_invalid(const uint8_t *msg, uint32_t len, uint32_t eoff)
{
    uint64_t bad = HX_STAT(&H, rndis_bad_msg);
    uint8_t copy[512];
    struct vspn_rndis_msg r;

    assert_int_equal(hx_rndis_gpa(&H, msg, len, VSPN_NVSP_CHANNEL_CONTROL), 0);
    assert_int_equal(hx_last_status(&H, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE),
                     VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(HX_STAT(&H, rndis_bad_msg), bad + 1);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_INDICATE_STATUS);
    assert_int_equal(r.u.indicate.status, VSPN_RNDIS_STATUS_INVALID_DATA);
    assert_true(r.u.indicate.buf_len >= 8);
    assert_int_equal(get32(r.u.indicate.buf), VSPN_RNDIS_STATUS_INVALID_DATA);
    assert_int_equal(get32(r.u.indicate.buf + 4), eoff);
    /* followed by (at most 64 bytes of) the offending message */
    assert_int_equal(r.u.indicate.buf_len - 8, len < 64 ? len : 64);
    assert_memory_equal(r.u.indicate.buf + 8, msg, r.u.indicate.buf_len - 8);
    assert_int_equal(H.nclose, 0);
}

static void test_vsp_malformed(void **state)
{
    static const uint32_t reqs[] = {
        VSPN_RNDIS_MSG_INIT,  VSPN_RNDIS_MSG_HALT,  VSPN_RNDIS_MSG_QUERY,
        VSPN_RNDIS_MSG_SET,   VSPN_RNDIS_MSG_RESET, VSPN_RNDIS_MSG_KEEPALIVE,
    };
    uint8_t b[256];
    (void)state;

    setup_vsp(false);
    for (size_t i = 0; i < sizeof(reqs) / 4; i++) {
        uint32_t len = build(reqs[i], b, sizeof(b));

        put32(b + 4, 4); /* < header */
        expect_invalid(b, len, 4);
        put32(b + 4, vspn_rndis_min_size(reqs[i]) - 1);
        expect_invalid(b, len, 4);
        put32(b + 4, len + 4); /* > the bytes sent */
        expect_invalid(b, len, 4);
        if (reqs[i] == VSPN_RNDIS_MSG_QUERY || reqs[i] == VSPN_RNDIS_MSG_SET) {
            put32(b + 4, len);
            put32(b + 20, 0xFFFFFFF8); /* offset + length wraps */
            expect_invalid(b, len, 20);
            put32(b + 20, 20);
            put32(b + 16, 0xFFFFFFFF);
            expect_invalid(b, len, 16);
        }
    }
    /* types the device does not take from the guest */
    static const uint32_t not_req[] = {
        VSPN_RNDIS_MSG_PACKET,      VSPN_RNDIS_MSG_INDICATE_STATUS,
        VSPN_RNDIS_MSG_INIT_CMPLT,  VSPN_RNDIS_MSG_QUERY_CMPLT,
        VSPN_RNDIS_MSG_SET_CMPLT,   VSPN_RNDIS_MSG_RESET_CMPLT,
        VSPN_RNDIS_MSG_KEEPALIVE_CMPLT,
    };
    for (size_t i = 0; i < sizeof(not_req) / 4; i++) {
        uint32_t len = build(not_req[i], b, sizeof(b));
        expect_invalid(b, len, 0);
    }
    put32(b, 0x55);
    put32(b + 4, 16);
    expect_invalid(b, 16, 0);
    /* a control message on the data channel is not a PACKET */
    {
        uint32_t len = build(VSPN_RNDIS_MSG_KEEPALIVE, b, sizeof(b));
        assert_int_equal(hx_rndis_gpa(&H, b, len, VSPN_NVSP_CHANNEL_DATA), 0);
        assert_int_equal(
            hx_last_status(&H, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE),
            VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    }
    /* still healthy */
    assert_int_equal(query(VSPN_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0, b,
                           &(uint32_t){ 0 }), 0);
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

/* The product's allow-list is the documented one, exactly: the list it
 * answers SUPPORTED_LIST with holds the 23 documented OIDs once each, and
 * vspn_rndis_oid_allowed() agrees with tests/rndis_oids.h for QUERY and
 * SET on every OID of the classes the spec's OIDs come from (all 2^16 low
 * halves of each). */
static void test_allow_list_documented(void **state)
{
    static const uint16_t classes[] = { 0x0001, 0x0002, 0x0101, 0x0102,
                                        0xFC01, 0xFD01, 0xFF00 };
    const uint32_t *list;
    unsigned nl = vspn_rndis_oid_list(&list), nq = 0, ns = 0;
    size_t nu = RNDIS_DOC_N(rndis_doc_query_oids);
    (void)state;

    /* the documented union: 23 OIDs */
    for (size_t i = 0; i < RNDIS_DOC_N(rndis_doc_set_oids); i++)
        nu += !rndis_doc_oid_allowed(rndis_doc_set_oids[i], false);
    assert_int_equal(nu, RNDIS_DOC_N_OIDS);
    /* the product's list: as many, each documented, none twice */
    assert_int_equal(nl, RNDIS_DOC_N_OIDS);
    for (unsigned i = 0; i < nl; i++) {
        if (!rndis_doc_oid_allowed(list[i], false) &&
            !rndis_doc_oid_allowed(list[i], true))
            fail_msg("0x%08x is in the product's list, not in the "
                     "documented one", list[i]);
        for (unsigned j = 0; j < i; j++)
            assert_true(list[j] != list[i]);
    }
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        for (uint32_t lo = 0; lo <= 0xFFFF; lo++) {
            uint32_t oid = (uint32_t)classes[c] << 16 | lo;
            bool q = vspn_rndis_oid_allowed(oid, false);
            bool st = vspn_rndis_oid_allowed(oid, true);

            if (q != rndis_doc_oid_allowed(oid, false) ||
                st != rndis_doc_oid_allowed(oid, true))
                fail_msg("0x%08x: the product allows QUERY %d SET %d, the "
                         "documented list QUERY %d SET %d", oid, q, st,
                         rndis_doc_oid_allowed(oid, false),
                         rndis_doc_oid_allowed(oid, true));
            nq += q;
            ns += st;
        }
    }
    assert_int_equal(nq, RNDIS_DOC_N(rndis_doc_query_oids));
    assert_int_equal(ns, RNDIS_DOC_N(rndis_doc_set_oids));
}

static void test_allowed_queries(void **state)
{
    uint8_t out[1024], in[256];
    uint32_t n = 0;
    const uint32_t *list;
    unsigned nl = vspn_rndis_oid_list(&list);
    (void)state;

    setup_vsp(false);
    assert_int_equal(query(VSPN_OID_GEN_SUPPORTED_LIST, NULL, 0, out, &n), 0);
    assert_int_equal(nl, RNDIS_DOC_N_OIDS);
    assert_int_equal(n, 4 * nl);
    for (unsigned i = 0; i < nl; i++) {
        assert_int_equal(get32(out + 4 * i), list[i]);
        assert_true(rndis_doc_oid_allowed(list[i], false) ||
                    rndis_doc_oid_allowed(list[i], true));
    }
    assert_int_equal(query(VSPN_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0, out, &n),
                     0);
    assert_int_equal(n, 4);
    assert_int_equal(get32(out), 1500);
    assert_int_equal(query(VSPN_OID_GEN_MAXIMUM_TOTAL_SIZE, NULL, 0, out, &n),
                     0);
    assert_int_equal(get32(out), 1514);
    assert_int_equal(query(VSPN_OID_GEN_LINK_SPEED, NULL, 0, out, &n), 0);
    assert_int_equal(get32(out), 100000000); /* 10 Gbit/s */
    assert_int_equal(query(VSPN_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0, out,
                           &n), 0);
    assert_int_equal(get32(out), 0);
    vspn_vsp_set_link(H.vsp, false);
    hx_ack_all(&H, &ack_cursor);
    assert_int_equal(query(VSPN_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0, out,
                           &n), 0);
    assert_int_equal(get32(out), 1);
    vspn_vsp_set_link(H.vsp, true);
    hx_ack_all(&H, &ack_cursor);
    assert_int_equal(query(VSPN_OID_GEN_VENDOR_ID, NULL, 0, out, &n), 0);
    assert_int_equal(get32(out), 0x00FFFFFF);
    assert_int_equal(query(VSPN_OID_GEN_VENDOR_DESCRIPTION, NULL, 0, out, &n),
                     0);
    assert_string_equal((char *)out, "Vesper synthetic NIC");
    assert_int_equal(n, strlen("Vesper synthetic NIC") + 1);
    assert_int_equal(query(VSPN_OID_GEN_DRIVER_VERSION, NULL, 0, out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 30); /* minor */
    assert_int_equal(out[1], 6);  /* major */
    assert_int_equal(query(VSPN_OID_GEN_VENDOR_DRIVER_VERSION, NULL, 0, out,
                           &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(query(VSPN_OID_GEN_FRIENDLY_NAME, NULL, 0, out, &n), 0);
    assert_int_equal(n, 2 * (strlen("Vesper synthetic NIC") + 1));
    assert_int_equal(out[0], 'V');
    assert_int_equal(out[1], 0);
    assert_int_equal(query(VSPN_OID_802_3_PERMANENT_ADDRESS, NULL, 0, out,
                           &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, H.cfg.mac.b, 6);
    assert_int_equal(query(VSPN_OID_802_3_CURRENT_ADDRESS, NULL, 0, out, &n),
                     0);
    assert_memory_equal(out, H.cfg.mac.b, 6);
    assert_int_equal(query(VSPN_OID_802_3_MAXIMUM_LIST_SIZE, NULL, 0, out,
                           &n), 0);
    assert_int_equal(get32(out), VSPN_RNDIS_MCAST_MAX);
    assert_int_equal(query(VSPN_OID_802_3_MULTICAST_LIST, NULL, 0, out, &n),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(query(VSPN_OID_GEN_CURRENT_PACKET_FILTER, NULL, 0, out,
                           &n), 0);
    assert_int_equal(get32(out), 0);

    /* offload capabilities: truthful (all zero), revision from the input */
    static const uint16_t osz[] = { 112, 144, 156 };
    for (uint8_t rev = 1; rev <= 3; rev++) {
        memset(in, 0, sizeof(in));
        in[0] = 0xA7;
        in[1] = rev;
        in[2] = (uint8_t)osz[rev - 1];
        assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, in,
                               osz[rev - 1], out, &n), 0);
        assert_int_equal(n, osz[rev - 1]);
        assert_int_equal(out[0], 0xA7);
        assert_int_equal(out[1], rev);
        assert_int_equal(out[2] | out[3] << 8, osz[rev - 1]);
        for (uint32_t k = 4; k < n; k++)
            assert_int_equal(out[k], 0);
    }
    in[0] = 0x80; /* wrong object type */
    assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, in, 4,
                           out, &n), VSPN_RNDIS_STATUS_INVALID_DATA);
    in[0] = 0xA7;
    in[1] = 4; /* unknown revision */
    assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, in, 4,
                           out, &n), VSPN_RNDIS_STATUS_INVALID_DATA);
    in[1] = 3;
    in[2] = 100; /* size disagrees with the revision */
    assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, in, 4,
                           out, &n), VSPN_RNDIS_STATUS_INVALID_DATA);
    assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, in, 2,
                           out, &n), VSPN_RNDIS_STATUS_INVALID_DATA);
    assert_int_equal(query(VSPN_OID_TCP_OFFLOAD_CURRENT_CONFIG, NULL, 0, out,
                           &n), 0);
    assert_int_equal(n, 156); /* NDIS 6.30 → revision 3 */

    /* RSS capabilities: one queue */
    memset(in, 0, sizeof(in));
    in[0] = 0x88;
    in[1] = 2;
    in[2] = 18;
    assert_int_equal(query(VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES, in, 18,
                           out, &n), 0);
    assert_int_equal(n, 18);
    assert_int_equal(out[0], 0x88);
    assert_int_equal(get32(out + 12), 1); /* receive queues */
    assert_int_equal(out[16] | out[17] << 8, 128);
    in[1] = 1;
    in[2] = 16;
    assert_int_equal(query(VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES, in, 16,
                           out, &n), 0);
    assert_int_equal(n, 16);
    in[1] = 3;
    assert_int_equal(query(VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES, in, 16,
                           out, &n), VSPN_RNDIS_STATUS_INVALID_DATA);
    assert_int_equal(HX_STAT(&H, oid_unsupported), 0);
    assert_true(HX_STAT(&H, oid_bad_data) >= 5);
    hx_fini(&H);
}

static void rss_params(uint8_t *b, uint16_t flags, uint16_t tsize,
                       uint32_t toff, uint16_t ksize, uint32_t koff)
{
    memset(b, 0, 600);
    b[0] = 0x89;
    b[1] = 2;
    b[2] = 40;
    b[4] = (uint8_t)flags;
    put32(b + 8, 0x1701);
    b[12] = (uint8_t)tsize;
    b[13] = (uint8_t)(tsize >> 8);
    put32(b + 16, toff);
    b[20] = (uint8_t)ksize;
    put32(b + 24, koff);
}

/* A SET of an allowed OID answered `want`: oid_bad_data grows by one for a
 * refused information buffer (INVALID_LENGTH / INVALID_DATA) and stays for
 * an accepted one or a well-formed request the device does not offer
 * (NOT_SUPPORTED: a filter bit, an offload, a MAC change by policy);
 * oid_unsupported, for OIDs outside the allow-list, stays. */
static void set_expect(uint32_t oid, const void *in, uint32_t in_len,
                       uint32_t want)
{
    uint64_t bad = HX_STAT(&H, oid_bad_data);
    uint64_t unsup = HX_STAT(&H, oid_unsupported);

    assert_int_equal(set(oid, in, in_len), want);
    assert_int_equal(HX_STAT(&H, oid_bad_data),
                     bad + (want == VSPN_RNDIS_STATUS_INVALID_LENGTH ||
                            want == VSPN_RNDIS_STATUS_INVALID_DATA));
    assert_int_equal(HX_STAT(&H, oid_unsupported), unsup);
}

static void test_allowed_sets(void **state)
{
    uint8_t in[700], out[64];
    uint32_t n;
    struct vsa_mac mac;
    (void)state;

    setup_vsp(false);
    /* packet filter */
    put32(in, 0x0D);
    set_expect(VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4, 0);
    assert_int_equal(vspn_vsp_filter(H.vsp), 0x0D);
    put32(in, 0x10); /* source routing: a filter bit the VSP does not offer */
    set_expect(VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4,
               VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    put32(in, 0x8000);
    set_expect(VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4,
               VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    set_expect(VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 3,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);
    set_expect(VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 8,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);
    assert_int_equal(vspn_vsp_filter(H.vsp), 0x0D); /* unchanged */
    assert_int_equal(query(VSPN_OID_GEN_CURRENT_PACKET_FILTER, NULL, 0, out,
                           &n), 0);
    assert_int_equal(get32(out), 0x0D);

    /* multicast list */
    static const uint8_t mc[12] = { 0x01, 0x00, 0x5e, 0, 0, 1,
                                    0x33, 0x33, 0, 0, 0, 1 };
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, mc, 12, 0);
    assert_int_equal(query(VSPN_OID_802_3_MULTICAST_LIST, NULL, 0, out, &n),
                     0);
    assert_int_equal(n, 12);
    assert_memory_equal(out, mc, 12);
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, mc, 11,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);
    memset(in, 0, sizeof(in));
    in[0] = 0x02; /* unicast in a multicast list */
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, in, 6,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    for (int i = 0; i < 33; i++)
        in[6 * i] = 0x01;
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, in, 6 * 33,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, in, 6 * 32, 0);
    set_expect(VSPN_OID_802_3_MULTICAST_LIST, NULL, 0, 0);

    /* RSS parameters (A.7): queues ≥ 1, oversize tables, bad offsets */
    rss_params(in, 0x10, 0, 0, 0, 0); /* disable */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 40, 0);
    rss_params(in, 0, 512, 40, 40, 552); /* 128 × queue 0 */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592, 0);
    put32(in + 40 + 4 * 77, 1); /* entry ≥ number of queues */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 512, 40, 40, 552);
    for (int i = 0; i < 128; i++)
        put32(in + 40 + 4 * i, 0xFFFFFFFF);
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 516, 40, 40, 556); /* table longer than 128 */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 600,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 512, 0xFFFFFF00, 40, 552); /* offset wraps */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 512, 100, 40, 552); /* table beyond the buffer */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 510, 40, 40, 552); /* not a multiple of 4 */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 512, 40, 41, 552); /* key too long */
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 600,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    rss_params(in, 0, 512, 40, 40, 552);
    in[0] = 0x88;
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 592,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    set_expect(VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS, in, 20,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);

    /* offload parameters: disable is fine, enabling is refused */
    memset(in, 0, 28);
    in[0] = 0x80;
    in[1] = 3;
    in[2] = 28;
    in[4] = 1;
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28, 0);
    in[2] = 22;
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 22, 0);
    in[2] = 28;
    in[5] = 4; /* TCPv4 checksum TX+RX */
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28,
               VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    in[5] = 9;
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    in[5] = 0;
    in[11] = 2; /* LSOv2 IPv4 on */
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28,
               VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    in[11] = 0;
    in[22] = 2; /* RSC on */
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28,
               VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    in[22] = 0;
    in[2] = 200; /* size beyond the buffer */
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 28,
               VSPN_RNDIS_STATUS_INVALID_DATA);
    set_expect(VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, 10,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);

    /* VLAN id, machine name */
    put32(in, 20);
    set_expect(VSPN_OID_GEN_VLAN_ID, in, 4, 0);
    put32(in, 4095);
    set_expect(VSPN_OID_GEN_VLAN_ID, in, 4, VSPN_RNDIS_STATUS_INVALID_DATA);
    set_expect(VSPN_OID_GEN_MACHINE_NAME, "v\0m\0", 4, 0);
    set_expect(VSPN_OID_GEN_MACHINE_NAME, "v\0m", 3,
               VSPN_RNDIS_STATUS_INVALID_LENGTH);

    /* config parameter NetworkAddress: refused by policy */
    {
        static const char name[] = "NetworkAddress";
        static const char val[] = "02AABBCCDDEE";
        uint32_t L = 20 + 28 + 24;

        memset(in, 0, sizeof(in));
        put32(in, 20);
        put32(in + 4, 28);
        put32(in + 8, 2);
        put32(in + 12, 48);
        put32(in + 16, 24);
        for (int i = 0; i < 14; i++)
            in[20 + 2 * i] = (uint8_t)name[i];
        for (int i = 0; i < 12; i++)
            in[48 + 2 * i] = (uint8_t)val[i];
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L,
                   VSPN_RNDIS_STATUS_NOT_SUPPORTED);
        mac = vspn_vsp_mac(H.vsp);
        assert_memory_equal(mac.b, H.cfg.mac.b, 6);
        hx_fini(&H);

        setup_vsp(true); /* allowed: the current MAC changes */
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L, 0);
        mac = vspn_vsp_mac(H.vsp);
        assert_int_equal(mac.b[0], 0x02);
        assert_int_equal(mac.b[5], 0xEE);
        assert_int_equal(query(VSPN_OID_802_3_PERMANENT_ADDRESS, NULL, 0, out,
                               &n), 0);
        assert_memory_equal(out, H.cfg.mac.b, 6); /* permanent unchanged */
        assert_int_equal(query(VSPN_OID_802_3_CURRENT_ADDRESS, NULL, 0, out,
                               &n), 0);
        assert_memory_equal(out, mac.b, 6);
        in[48] = 'G'; /* not hex */
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L,
                   VSPN_RNDIS_STATUS_INVALID_DATA);
        in[48] = '0';
        in[50] = '1'; /* 01...: multicast */
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L,
                   VSPN_RNDIS_STATUS_INVALID_DATA);
        put32(in + 12, 0xFFFFFFF0); /* value offset wraps */
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L,
                   VSPN_RNDIS_STATUS_INVALID_DATA);
        put32(in + 12, 48);
        put32(in + 4, 26); /* another name: untouched, not supported */
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, L,
                   VSPN_RNDIS_STATUS_NOT_SUPPORTED);
        set_expect(VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER, in, 19,
                   VSPN_RNDIS_STATUS_INVALID_LENGTH);
        assert_memory_equal(vspn_vsp_mac(H.vsp).b, mac.b, 6);
    }
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

/* Every OID named in spec §10 plus the rest of the NDIS general/802.3 OIDs:
 * allow-listed ones work, the others are NOT_SUPPORTED. */
static void test_spec_oids(void **state)
{
    static const uint32_t oids[] = {
        0x00010101, 0x00010102, 0x00010103, 0x00010104, 0x00010105,
        0x00010106, 0x00010107, 0x00010108, 0x00010109, 0x0001010A,
        0x0001010B, 0x0001010C, 0x0001010D, 0x0001010E, 0x0001010F,
        0x00010110, 0x00010111, 0x00010112, 0x00010113, 0x00010114,
        0x00010115, 0x00010116, 0x00010117, 0x00010118, 0x00010203,
        0x00010204, 0x0001021A, 0x0001021B, 0x0001021C, 0x00020101,
        0x00020102, 0x00020103, 0x00020104, 0x00020105, 0x00020216,
        0x01010101, 0x01010102, 0x01010103, 0x01010104, 0x01010105,
        0x0101010A, 0x01020101, 0x01020102, 0x01020103, 0xFC01020B,
        0xFC01020C, 0xFC01020D, 0xFD010100, 0xFF000000,
    };
    uint8_t out[1024], in[64] = { 0 };
    uint32_t n;
    (void)state;

    setup_vsp(false);
    for (size_t i = 0; i < sizeof(oids) / 4; i++) {
        bool doc_q = rndis_doc_oid_allowed(oids[i], false);
        bool doc_s = rndis_doc_oid_allowed(oids[i], true);
        uint64_t unsup = HX_STAT(&H, oid_unsupported);
        uint32_t q = query(oids[i], NULL, 0, out, &n);
        uint32_t s;

        if (doc_q)
            assert_int_equal(q, 0);
        else
            assert_int_equal(q, VSPN_RNDIS_STATUS_NOT_SUPPORTED);
        /* counted as outside the allow-list even where the answer alone
         * would not tell (an OID allowed with no handler answers
         * NOT_SUPPORTED too) */
        assert_int_equal(HX_STAT(&H, oid_unsupported), unsup + !doc_q);
        s = set(oids[i], in, 0);
        if (!doc_s)
            assert_int_equal(s, VSPN_RNDIS_STATUS_NOT_SUPPORTED);
        assert_int_equal(HX_STAT(&H, oid_unsupported),
                         unsup + !doc_q + !doc_s);
    }
    /* the spec lists OFFLOAD_ENCAPSULATION but no guest sends it */
    assert_false(vspn_rndis_oid_allowed(VSPN_OID_OFFLOAD_ENCAPSULATION, true));
    hx_fini(&H);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* 10^5 random OIDs through the VSP, payload in guest memory. */
static void test_random_oids(void **state)
{
    uint64_t x = 0x9E3779B97F4A7C15ull, sum_before, unsup;
    uint8_t payload[96], msg[256];
    struct vsa_mac mac;
    unsigned done = 0;
    uint32_t filter;
    (void)state;

    setup_vsp(false);
    filter = vspn_vsp_filter(H.vsp);
    mac = vspn_vsp_mac(H.vsp);
    unsup = HX_STAT(&H, oid_unsupported);
    while (done < 100000) {
        uint32_t oid, type, len, rid;
        int n;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        oid = (uint32_t)x;
        if (rndis_doc_oid_allowed(oid, false) ||
            rndis_doc_oid_allowed(oid, true))
            continue;
        for (size_t i = 0; i < sizeof(payload); i++)
            payload[i] = (uint8_t)(x >> (i % 56));
        type = (done & 1) ? VSPN_RNDIS_MSG_SET : VSPN_RNDIS_MSG_QUERY;
        len = (uint32_t)(x >> 40) % sizeof(payload);
        rid = done + 1;
        n = vspn_rndis_encode_oid(msg, sizeof(msg), type, rid, oid, payload,
                                  len);
        memcpy(H.gmem + HX_SCRATCH_OFF, msg, (size_t)n);
        sum_before = fnv(H.gmem + HX_SCRATCH_OFF, 4096);
        {
            struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
            m.u.rndis_pkt.channel_type = VSPN_NVSP_CHANNEL_CONTROL;
            m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
            assert_int_equal(hx_gpa(&H, &m, HX_SCRATCH_OFF, (uint32_t)n,
                                    H.next_tid++), 0);
        }
        assert_true(fnv(H.gmem + HX_SCRATCH_OFF, 4096) == sum_before);
        {
            uint32_t rl;
            const uint8_t *r = hx_last_rndis(&H, &rl);
            /* QUERY_CMPLT: 24 bytes, status NOT_SUPPORTED, no data;
             * SET_CMPLT: 16 bytes */
            assert_int_equal(get32(r + 8), rid);
            assert_int_equal(get32(r + 12), VSPN_RNDIS_STATUS_NOT_SUPPORTED);
            if (type == VSPN_RNDIS_MSG_QUERY) {
                assert_int_equal(rl, 24);
                assert_int_equal(get32(r + 16), 0);
            } else {
                assert_int_equal(rl, 16);
            }
        }
        hx_ack_all(&H, &ack_cursor);
        done++;
    }
    assert_int_equal(HX_STAT(&H, oid_unsupported), unsup + 100000);
    assert_int_equal(vspn_vsp_filter(H.vsp), filter);
    assert_memory_equal(vspn_vsp_mac(H.vsp).b, mac.b, 6);
    assert_int_equal(vspn_vsp_recv_slots_free(H.vsp),
                     vspn_vsp_recv_slots(H.vsp));
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

/* The pure functions never touch the information buffer of an OID
 * outside the allow-list: it sits on a PROT_NONE page. */
static void test_payload_never_read(void **state)
{
    struct vspn_rndis_dev d;
    struct vsa_mac mac = { { 2, 0, 0, 0, 0, 1 } };
    uint8_t out[512];
    uint32_t n = 7;
    uint64_t x = 12345;
    uint8_t *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    (void)state;

    assert_true(guard != MAP_FAILED);
    vspn_rndis_dev_init(&d, &mac, 1500);
    d.state = VSPN_RNDIS_INITIALIZED;
    for (int i = 0; i < 100000; i++) {
        uint32_t oid;

        x = x * 6364136223846793005ull + 1442695040888963407ull;
        oid = (uint32_t)(x >> 32);
        if (rndis_doc_oid_allowed(oid, false) ||
            rndis_doc_oid_allowed(oid, true))
            continue;
        assert_int_equal(vspn_rndis_query(&d, oid, guard, 0xFFFFFFFF, out,
                                          sizeof(out), &n),
                         VSPN_RNDIS_STATUS_NOT_SUPPORTED);
        assert_int_equal(n, 0);
        assert_int_equal(vspn_rndis_set(&d, oid, guard, 0xFFFFFFFF),
                         VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    }
    munmap(guard, 4096);
}

static void test_rndis_states(void **state)
{
    uint8_t b[128], copy[512];
    struct vspn_rndis_msg r;
    unsigned nx;
    int n;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    ack_cursor = 0;
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_5, 4), 0);
    /* QUERY before INITIALIZE: FAILURE */
    n = vspn_rndis_encode_oid(b, sizeof(b), VSPN_RNDIS_MSG_QUERY, 9,
                              VSPN_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.u.query_cmplt.status, VSPN_RNDIS_STATUS_FAILURE);
    assert_int_equal(HX_STAT(&H, rndis_bad_state), 1);
    /* one of an OID outside the allow-list too: out of state, not an
     * unsupported OID (it used to count both) */
    n = vspn_rndis_encode_oid(b, sizeof(b), VSPN_RNDIS_MSG_QUERY, 10,
                              0xFF0000FFu, NULL, 0);
    assert_false(vspn_rndis_oid_allowed(0xFF0000FFu, false));
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.u.query_cmplt.status, VSPN_RNDIS_STATUS_FAILURE);
    assert_int_equal(HX_STAT(&H, rndis_bad_state), 2);
    assert_int_equal(HX_STAT(&H, oid_unsupported), 0);
    /* data before INITIALIZE: dropped, counted */
    n = build(VSPN_RNDIS_MSG_PACKET, b, sizeof(b));
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 0), 0);
    assert_int_equal(HX_STAT(&H, g2h_not_ready), 1);
    assert_int_equal(H.nframes, 0);
    /* INIT with RNDIS major 2: NOT_SUPPORTED, stays uninitialised */
    n = vspn_rndis_encode_init(b, sizeof(b), 10, 0x4000);
    put32(b + 12, 2);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_INIT_CMPLT);
    assert_int_equal(r.u.init_cmplt.status, VSPN_RNDIS_STATUS_NOT_SUPPORTED);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_UNINITIALIZED);
    /* proper INIT: the values the guests rely on (§9) */
    n = vspn_rndis_encode_init(b, sizeof(b), 11, 0x4000);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.len, 52);
    assert_int_equal(r.u.init_cmplt.request_id, 11);
    assert_int_equal(r.u.init_cmplt.status, 0);
    assert_int_equal(r.u.init_cmplt.major, 1);
    assert_int_equal(r.u.init_cmplt.device_flags, 1);
    assert_int_equal(r.u.init_cmplt.medium, 0);
    assert_int_equal(r.u.init_cmplt.max_pkts, 8);
    assert_int_equal(r.u.init_cmplt.align_factor, 3);
    assert_true(r.u.init_cmplt.max_xfer >= 6144);
    /* KEEPALIVE and RESET */
    n = vspn_rndis_encode_keepalive(b, sizeof(b), 0x77);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_KEEPALIVE_CMPLT);
    assert_int_equal(r.u.cmplt.request_id, 0x77);
    assert_int_equal(r.u.cmplt.status, 0);
    n = vspn_rndis_encode_reset(b, sizeof(b));
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_RESET_CMPLT);
    assert_int_equal(r.u.reset_cmplt.status, 0);
    /* HALT: no completion at all; then requests fail */
    nx = H.nxfer;
    n = vspn_rndis_encode_halt(b, sizeof(b), 12);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(H.nxfer, nx);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_HALTED);
    n = vspn_rndis_encode_oid(b, sizeof(b), VSPN_RNDIS_MSG_QUERY, 13,
                              VSPN_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.u.query_cmplt.status, VSPN_RNDIS_STATUS_FAILURE);
    /* re-INITIALIZE */
    n = vspn_rndis_encode_init(b, sizeof(b), 14, 0x4000);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_INITIALIZED);
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

/* HALT discards what the device had queued for the guest and is not yet
 * in the receive buffer ([MS-RNDIS] REMOTE_NDIS_HALT_MSG: outstanding
 * requests and packets are discarded when it arrives): nothing is posted
 * once the guest returns a slot, the drop is counted in ctrl_dropped, and
 * requests after HALT are still answered (FAILURE), re-INITIALIZE too.
 * RESET keeps the queue and the owed link indication, in order.
 * Regression test for: with every receive slot held by the guest,
 * set_link(false) queued MEDIA_DISCONNECT, the guest sent HALT and acked
 * one slot, and the INDICATE_STATUS went out to the halted device. */
static void test_halt_discards_queued(void **state)
{
    static uint64_t tids[1024];
    uint8_t b[128], copy[512];
    struct vspn_rndis_msg r;
    unsigned nslots, nx, next = 0;
    uint64_t dropped;
    int n;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    ack_cursor = 0;
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    hx_ack_all(&H, &ack_cursor);
    nslots = hx_fill_slots(&H, tids, 1024);
    assert_int_equal(nslots, vspn_vsp_recv_slots(H.vsp));
    ack_cursor = H.nout; /* last_reply acks only what comes next */
    /* a link change and a KEEPALIVE wait for a slot */
    vspn_vsp_set_link(H.vsp, false);
    n = vspn_rndis_encode_keepalive(b, sizeof(b), 0x51);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(vspn_vsp_queued(H.vsp), 2);
    dropped = HX_STAT(&H, ctrl_dropped);
    /* HALT: both discarded and counted */
    n = vspn_rndis_encode_halt(b, sizeof(b), 0x52);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_HALTED);
    assert_int_equal(vspn_vsp_queued(H.vsp), 0);
    assert_int_equal(HX_STAT(&H, ctrl_dropped), dropped + 2);
    /* the guest returns slots: nothing goes out to the halted device */
    nx = H.nxfer;
    assert_int_equal(hx_ack(&H, tids[next++]), 0);
    assert_int_equal(hx_ack(&H, tids[next++]), 0);
    assert_int_equal(H.nxfer, nx);
    assert_int_equal(vspn_vsp_poll(H.vsp), 0);
    assert_int_equal(H.nxfer, nx);
    /* a request after HALT is still answered, with FAILURE */
    n = vspn_rndis_encode_keepalive(b, sizeof(b), 0x53);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(H.nxfer, nx + 1);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_KEEPALIVE_CMPLT);
    assert_int_equal(r.u.cmplt.request_id, 0x53);
    assert_int_equal(r.u.cmplt.status, VSPN_RNDIS_STATUS_FAILURE);
    /* re-INITIALIZE: the guest reads the link (down) with a query */
    n = vspn_rndis_encode_init(b, sizeof(b), 0x54, 0x4000);
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_INIT_CMPLT);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_INITIALIZED);
    assert_int_equal(vspn_vsp_queued(H.vsp), 0);

    /* RESET keeps what is queued: with every slot held again, the link
     * comes up and the guest resets; both go out in that order */
    while (vspn_vsp_recv_slots_free(H.vsp) > 0) {
        /* KEEPALIVE replies take the slots the guest returned */
        n = vspn_rndis_encode_keepalive(b, sizeof(b), 0x60);
        assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    }
    ack_cursor = H.nout;
    vspn_vsp_set_link(H.vsp, true);
    n = vspn_rndis_encode_reset(b, sizeof(b));
    assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    assert_int_equal(vspn_vsp_rndis_state(H.vsp), VSPN_RNDIS_INITIALIZED);
    assert_int_equal(vspn_vsp_queued(H.vsp), 2);
    dropped = HX_STAT(&H, ctrl_dropped);
    assert_int_equal(hx_ack(&H, tids[next++]), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_INDICATE_STATUS);
    assert_int_equal(r.u.indicate.status, VSPN_RNDIS_STATUS_MEDIA_CONNECT);
    assert_int_equal(hx_ack(&H, tids[next++]), 0);
    last_reply(&r, copy);
    assert_int_equal(r.type, VSPN_RNDIS_MSG_RESET_CMPLT);
    assert_int_equal(r.u.reset_cmplt.status, VSPN_RNDIS_STATUS_SUCCESS);
    assert_int_equal(vspn_vsp_queued(H.vsp), 0);
    assert_int_equal(HX_STAT(&H, ctrl_dropped), dropped);
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_lengths),
        cmocka_unit_test(test_decode_offsets),
        cmocka_unit_test(test_vsp_malformed),
        cmocka_unit_test(test_allow_list_documented),
        cmocka_unit_test(test_allowed_queries),
        cmocka_unit_test(test_allowed_sets),
        cmocka_unit_test(test_spec_oids),
        cmocka_unit_test(test_random_oids),
        cmocka_unit_test(test_payload_never_read),
        cmocka_unit_test(test_rndis_states),
        cmocka_unit_test(test_halt_discards_queued),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
