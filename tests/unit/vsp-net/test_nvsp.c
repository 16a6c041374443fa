/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvsp.c — objective: prove the NVSP codec (vsp-net/nvsp.c) matches
 * the layouts of spec nvsp-rndis.md §3-§4 and is strict: every message type
 * survives an encode → decode round trip with every field intact and a
 * zero-padded 40-byte minimum; every truncation below a type's field
 * coverage is rejected (-EBADMSG) while the 32-byte iPXE size and the
 * padded ring payloads are accepted; every field violation listed in nvsp.h
 * is rejected; unknown type numbers are rejected; the encoder refuses bad
 * arguments and short buffers.  Byte offsets are checked against the spec
 * tables directly (golden bytes), not only through the decoder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vsp-net/nvsp.h"

static const uint32_t known_types[] = {
    0,   1,   2,   100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
    111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124,
    125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136,
};

/* A message of `type` with every field set to a distinct valid value. */
static struct vspn_nvsp_msg sample(uint32_t type)
{
    struct vspn_nvsp_msg m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    switch (type) {
    case VSPN_NVSP_INIT:
        m.u.init.min_ver = 0x2;
        m.u.init.max_ver = 0x60001;
        break;
    case VSPN_NVSP_INIT_COMPLETE:
        m.u.init_complete.negotiated_ver = 0x50000;
        m.u.init_complete.max_mdl_chain_len = 34;
        m.u.init_complete.status = 1;
        break;
    case VSPN_NVSP_SEND_NDIS_VERSION:
        m.u.ndis_ver.major = 6;
        m.u.ndis_ver.minor = 30;
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
    case VSPN_NVSP_SEND_SEND_BUF:
        m.u.buf.gpadl = 0xE1E10;
        m.u.buf.id = 0xCAFE;
        break;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE:
        m.u.recv_buf_complete.status = 1;
        m.u.recv_buf_complete.num_sections = 2;
        m.u.recv_buf_complete.sections[0] =
            (struct vspn_nvsp_section){ 0, 1728, 100, 172800 };
        m.u.recv_buf_complete.sections[1] =
            (struct vspn_nvsp_section){ 172800, 64, 3, 172992 };
        break;
    case VSPN_NVSP_REVOKE_RECV_BUF:
    case VSPN_NVSP_REVOKE_SEND_BUF:
        m.u.revoke.id = 0xFACE;
        break;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE:
        m.u.send_buf_complete.status = 1;
        m.u.send_buf_complete.section_size = 6144;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        m.u.rndis_pkt.channel_type = 1;
        m.u.rndis_pkt.section_index = 7;
        m.u.rndis_pkt.section_size = 1234;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE:
        m.u.rndis_pkt_complete.status = 5;
        break;
    case VSPN_NVSP_SEND_NDIS_CONFIG:
        m.u.ndis_config.mtu = 1514;
        m.u.ndis_config.caps = 0x8000000000000008ull;
        break;
    case VSPN_NVSP_SEND_VF_ASSOCIATION:
        m.u.vf_assoc.allocated = 1;
        m.u.vf_assoc.serial = 0x12345678;
        break;
    case VSPN_NVSP_SWITCH_DATA_PATH:
        m.u.switch_data_path.active_datapath = 1;
        break;
    case VSPN_NVSP_SUBCHANNEL:
        m.u.subchannel.op_or_status = 1;
        m.u.subchannel.num = 7;
        break;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE:
        m.u.indirection.count = 16;
        m.u.indirection.offset = 12;
        for (uint32_t i = 0; i < 16; i++)
            m.u.indirection.table[i] = i * 3 + 1;
        break;
    default:
        break;
    }
    return m;
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known_types) / 4; i++) {
        uint32_t t = known_types[i];
        struct vspn_nvsp_msg m = sample(t), d;
        uint8_t buf[VSPN_NVSP_ENCODE_MAX];
        int n = vspn_nvsp_encode(&m, buf, sizeof(buf));

        assert_true(vspn_nvsp_type_known(t));
        assert_true(n >= (int)VSPN_NVSP_MSG_SIZE);
        assert_int_equal(buf[0] | buf[1] << 8 | buf[2] << 16 | buf[3] << 24,
                         t);
        assert_int_equal(vspn_nvsp_decode(buf, (size_t)n, &d), 0);
        assert_memory_equal(&m, &d, sizeof(m));
        /* padding beyond the fields is zero */
        for (uint32_t k = vspn_nvsp_min_size(t); k < VSPN_NVSP_MSG_SIZE; k++)
            if (t != VSPN_NVSP_SEND_RECV_BUF_COMPLETE &&
                t != VSPN_NVSP_SEND_INDIRECTION_TABLE)
                assert_int_equal(buf[k], 0);
        assert_string_not_equal(vspn_nvsp_type_name(t), "?");
    }
}

/* Golden offsets from the spec tables (§4). */
static void test_golden_layouts(void **state)
{
    uint8_t b[VSPN_NVSP_ENCODE_MAX];
    struct vspn_nvsp_msg m;
    (void)state;

    m = sample(VSPN_NVSP_SEND_RECV_BUF);
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 40);
    assert_int_equal(b[0], 101);
    assert_int_equal(b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24, 0xE1E10);
    assert_int_equal(b[8] | b[9] << 8, 0xCAFE);

    m = sample(VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 44); /* 12+2×16 */
    assert_int_equal(b[8], 2);                                /* count */
    assert_int_equal(b[12 + 4] | b[12 + 5] << 8, 1728); /* sub_alloc_size */
    assert_int_equal(b[12 + 8], 100);                   /* num_sub_allocs */
    assert_int_equal(b[28] | b[29] << 8 | b[30] << 16, 172800);

    m = sample(VSPN_NVSP_SEND_NDIS_CONFIG);
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 40);
    assert_int_equal(b[4] | b[5] << 8, 1514);
    assert_int_equal(b[8] | b[9] | b[10] | b[11], 0); /* reserved */
    assert_int_equal(b[12], 0x08);                    /* capability u64 */
    assert_int_equal(b[19], 0x80);

    m = sample(VSPN_NVSP_INIT_COMPLETE);
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 40);
    assert_int_equal(b[12], 1); /* status at 12 */

    m = sample(VSPN_NVSP_SEND_RNDIS_PKT);
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(b[4], 1);
    assert_int_equal(b[8], 7);
    assert_int_equal(b[12] | b[13] << 8, 1234);

    m = sample(VSPN_NVSP_SEND_INDIRECTION_TABLE);
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 76); /* 12+64 */
    assert_int_equal(b[12], 1);
    assert_int_equal(b[12 + 60], 46);
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known_types) / 4; i++) {
        uint32_t t = known_types[i];
        struct vspn_nvsp_msg m = sample(t), d;
        uint8_t buf[VSPN_NVSP_ENCODE_MAX];
        int n = vspn_nvsp_encode(&m, buf, sizeof(buf));
        uint32_t need = vspn_nvsp_min_size(t);

        if (t == VSPN_NVSP_SEND_RECV_BUF_COMPLETE)
            need = 12 + 16 * 2;
        if (t == VSPN_NVSP_SEND_INDIRECTION_TABLE)
            need = 12 + 64;
        for (uint32_t len = 0; len < need; len++)
            assert_int_equal(vspn_nvsp_decode(buf, len, &d), -EBADMSG);
        for (uint32_t len = need; len <= (uint32_t)n; len++)
            assert_int_equal(vspn_nvsp_decode(buf, len, &d), 0);
        /* iPXE's 32-byte requests carry every guest→host field */
        if (t == 1 || t == 100 || t == 101 || t == 103 || t == 104 ||
            t == 106 || t == 107 || t == 125 || t == 129 || t == 133)
            assert_true(need <= VSPN_NVSP_MSG_SIZE_IPXE);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void test_field_violations(void **state)
{
    uint8_t b[VSPN_NVSP_ENCODE_MAX];
    struct vspn_nvsp_msg m, d;
    (void)state;

    /* INIT min > max */
    m = sample(VSPN_NVSP_INIT);
    m.u.init.min_ver = 0x60001;
    m.u.init.max_ver = 0x2;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), -EBADMSG);

    /* 102: too many sections, sections beyond the length */
    m = sample(VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    vspn_nvsp_encode(&m, b, sizeof(b));
    put32(b + 8, VSPN_NVSP_MAX_SECTIONS + 1);
    assert_int_equal(vspn_nvsp_decode(b, sizeof(b), &d), -EBADMSG);
    put32(b + 8, 0xFFFFFFFF);
    assert_int_equal(vspn_nvsp_decode(b, sizeof(b), &d), -EBADMSG);
    put32(b + 8, 3); /* 12 + 48 = 60 > 44 */
    assert_int_equal(vspn_nvsp_decode(b, 44, &d), -EBADMSG);
    put32(b + 8, 0);
    assert_int_equal(vspn_nvsp_decode(b, 12, &d), 0);

    /* 107: channel type 2, "no section" with a size */
    m = sample(VSPN_NVSP_SEND_RNDIS_PKT);
    m.u.rndis_pkt.channel_type = 2;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), -EBADMSG);
    m = sample(VSPN_NVSP_SEND_RNDIS_PKT);
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    m.u.rndis_pkt.section_size = 1;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), -EBADMSG);
    m.u.rndis_pkt.section_size = 0;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), 0);

    /* 128 allocated 2, 129 datapath 2 */
    m = sample(VSPN_NVSP_SEND_VF_ASSOCIATION);
    m.u.vf_assoc.allocated = 2;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), -EBADMSG);
    m = sample(VSPN_NVSP_SWITCH_DATA_PATH);
    m.u.switch_data_path.active_datapath = 2;
    vspn_nvsp_encode(&m, b, sizeof(b));
    assert_int_equal(vspn_nvsp_decode(b, 40, &d), -EBADMSG);

    /* 134: count, offset below/unaligned/beyond, offset + table wraps */
    m = sample(VSPN_NVSP_SEND_INDIRECTION_TABLE);
    vspn_nvsp_encode(&m, b, sizeof(b));
    put32(b + 4, 15);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), -EBADMSG);
    put32(b + 4, 16);
    put32(b + 8, 8);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), -EBADMSG);
    put32(b + 8, 13);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), -EBADMSG);
    put32(b + 8, 16);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), -EBADMSG);
    put32(b + 8, 0xFFFFFFFC);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), -EBADMSG);
    put32(b + 8, 12);
    assert_int_equal(vspn_nvsp_decode(b, 76, &d), 0);

    /* unknown type numbers */
    static const uint32_t unknown[] = { 3, 4, 50, 99, 137, 200, 0x10000,
                                        0x80000001, 0xFFFFFFFF };
    memset(b, 0, sizeof(b));
    for (size_t i = 0; i < sizeof(unknown) / 4; i++) {
        put32(b, unknown[i]);
        assert_false(vspn_nvsp_type_known(unknown[i]));
        assert_int_equal(vspn_nvsp_min_size(unknown[i]), 0);
        assert_int_equal(vspn_nvsp_decode(b, sizeof(b), &d), -EBADMSG);
    }
    assert_int_equal(vspn_nvsp_decode(NULL, 40, &d), -EINVAL);
    assert_int_equal(vspn_nvsp_decode(b, 40, NULL), -EINVAL);
}

static void test_encode_errors(void **state)
{
    uint8_t b[VSPN_NVSP_ENCODE_MAX];
    struct vspn_nvsp_msg m = sample(VSPN_NVSP_INIT);
    (void)state;

    assert_int_equal(vspn_nvsp_encode(&m, b, 39), -EMSGSIZE);
    assert_int_equal(vspn_nvsp_encode(&m, b, 40), 40);
    m.type = 99;
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), -EINVAL);
    m = sample(VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    m.u.recv_buf_complete.num_sections = VSPN_NVSP_MAX_SECTIONS + 1;
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), -EINVAL);
    m = sample(VSPN_NVSP_SEND_INDIRECTION_TABLE);
    m.u.indirection.count = 8;
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), -EINVAL);
    m = sample(VSPN_NVSP_SEND_INDIRECTION_TABLE);
    m.u.indirection.offset = 40; /* Linux's quirk position: 40 + 64 */
    assert_int_equal(vspn_nvsp_encode(&m, b, sizeof(b)), 104);
    assert_int_equal(vspn_nvsp_encode(&m, b, 103), -EMSGSIZE);
    assert_int_equal(vspn_nvsp_encode(NULL, b, sizeof(b)), -EINVAL);
}

static void test_versions(void **state)
{
    static const uint32_t good[] = { 0x2, 0x30002, 0x40000, 0x50000,
                                     0x60000, 0x60001 };
    static const uint32_t bad[] = { 0, 1, 3, 0x30000, 0x30001, 0x40001,
                                    0x60002, 0x70000, 0xFFFFFFFF };
    (void)state;
    for (size_t i = 0; i < 6; i++)
        assert_true(vspn_nvsp_version_known(good[i]));
    for (size_t i = 0; i < sizeof(bad) / 4; i++)
        assert_false(vspn_nvsp_version_known(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_golden_layouts),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_field_violations),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
