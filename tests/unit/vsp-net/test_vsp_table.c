/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vsp_table.c — objective: TESTS.md A.4 (and A.8 for the version
 * axis).  For EVERY cell (NVSP state × NVSP message type × negotiated
 * version ∈ {1 (0x2), 2, 4, 5, 6, 6.1}) drive a fresh host VSP into the
 * state, send one well-formed message of the type, and check the observed
 * behaviour against the explicit table below — written here independently
 * of vsp.c:
 *   A  accepted: handler ran (success reply, or an empty completion for a
 *      notification sent with completion-requested), channel open;
 *   F  refused with the type's reply carrying status FAILURE, state and
 *      buffers unchanged, channel open;
 *   X  protocol violation: ops->close called once, state CLOSED, nothing
 *      emitted;
 *   D  (CLOSED) ignored: nothing emitted, -EPIPE.
 * Types introduced by a later NVSP version are X under a lower one.  Also:
 * vspn_vsp_table_action() agrees with every cell, no GPADL reference is
 * left behind by any cell (teardown is immediate after a reset), and the
 * INIT negotiation statuses (success / too new / too old / failure).
 * Issue (synthetic NIC, "repeated INIT 100,000 times gets its channel
 * closed"): INIT is legal only in WAIT_INIT, where a refused version may be
 * retried any number of times; once a version is negotiated, INIT in every
 * later state and version closes the channel (init_repeated) and is never
 * answered, and the 100,000 INITs that follow are dropped without output.
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

static const uint32_t versions[] = {
    VSPN_NVSP_VERSION_1, VSPN_NVSP_VERSION_2, VSPN_NVSP_VERSION_4,
    VSPN_NVSP_VERSION_5, VSPN_NVSP_VERSION_6, VSPN_NVSP_VERSION_61,
};

/* Columns: WAIT_INIT VERSIONED NDIS RXBUF READY TXBUF_ONLY REVOKED;
 * CLOSED is 'D' for every type. */
struct row {
    uint32_t type;
    const char *cells;
    uint32_t min_version;
};

static const struct row rows[] = {
    { VSPN_NVSP_INIT, "AXXXXXX", 0 },
    { VSPN_NVSP_SEND_NDIS_VERSION, "XAXXXXX", 0 },
    { VSPN_NVSP_SEND_RECV_BUF, "FFAFFFF", 0 },
    { VSPN_NVSP_REVOKE_RECV_BUF, "XXXAAXX", 0 },
    { VSPN_NVSP_SEND_SEND_BUF, "FFFAFFF", 0 },
    { VSPN_NVSP_REVOKE_SEND_BUF, "XXXXAAX", 0 },
    { VSPN_NVSP_SEND_RNDIS_PKT, "FFFAAFF", 0 },
    { VSPN_NVSP_SEND_NDIS_CONFIG, "XAAXXXX", VSPN_NVSP_VERSION_2 },
    { VSPN_NVSP_SWITCH_DATA_PATH, "XXXAAXX", VSPN_NVSP_VERSION_4 },
    { VSPN_NVSP_SUBCHANNEL, "FFFAAFF", VSPN_NVSP_VERSION_5 },
};

/* Every type of §3 plus numbers outside it (decoder refuses those). */
static const uint32_t all_types[] = {
    0,   1,   2,   100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129,
    130, 131, 132, 133, 134, 135, 136,
    3,   99,  137, 0xFFFFFFFF,
};

static char expected(enum vspn_vsp_state s, uint32_t type, uint32_t version)
{
    if (s == VSPN_VSP_CLOSED)
        return 'D';
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].type == type)
            return version < rows[i].min_version ? 'X' : rows[i].cells[s];
    return 'X';
}

static struct hx H;

static void msg_for(uint32_t type, uint32_t ver, struct vspn_nvsp_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case VSPN_NVSP_INIT:
        m->u.init.min_ver = m->u.init.max_ver = ver;
        break;
    case VSPN_NVSP_INIT_COMPLETE:
        m->u.init_complete.status = 1;
        break;
    case VSPN_NVSP_SEND_NDIS_VERSION:
        m->u.ndis_ver.major = 6;
        m->u.ndis_ver.minor = ver >= VSPN_NVSP_VERSION_5 ? 30 : 1;
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
        m->u.buf.gpadl = HX_RECV_GPADL;
        m->u.buf.id = VSPN_NVSP_RECV_BUF_ID_LINUX;
        break;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE:
        m->u.recv_buf_complete.status = 1;
        m->u.recv_buf_complete.num_sections = 1;
        break;
    case VSPN_NVSP_REVOKE_RECV_BUF:
        m->u.revoke.id = VSPN_NVSP_RECV_BUF_ID_LINUX;
        break;
    case VSPN_NVSP_SEND_SEND_BUF:
        m->u.buf.gpadl = HX_SEND_GPADL;
        m->u.buf.id = 0;
        break;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE:
        m->u.send_buf_complete.status = 1;
        m->u.send_buf_complete.section_size = 6144;
        break;
    case VSPN_NVSP_REVOKE_SEND_BUF:
        m->u.revoke.id = 0;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        m->u.rndis_pkt.channel_type = VSPN_NVSP_CHANNEL_CONTROL;
        m->u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE:
        m->u.rndis_pkt_complete.status = 1;
        break;
    case VSPN_NVSP_SEND_NDIS_CONFIG:
        m->u.ndis_config.mtu = 1514;
        m->u.ndis_config.caps = VSPN_NVSP_CAP_IEEE8021Q;
        break;
    case VSPN_NVSP_SWITCH_DATA_PATH:
        m->u.switch_data_path.active_datapath = 0;
        break;
    case VSPN_NVSP_SUBCHANNEL:
        m->u.subchannel.op_or_status = VSPN_NVSP_SUBCHANNEL_ALLOCATE;
        m->u.subchannel.num = 1;
        break;
    case VSPN_NVSP_SEND_INDIRECTION_TABLE:
        m->u.indirection.count = 16;
        m->u.indirection.offset = 12;
        break;
    default:
        break;
    }
}

/* Sends `type` the way a guest would; returns handle_pkt's result. */
static int send_type(uint32_t type, uint32_t ver, uint64_t tid)
{
    struct vspn_nvsp_msg m;
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n;

    if (!vspn_nvsp_type_known(type)) {
        memset(buf, 0, sizeof(buf));
        buf[0] = (uint8_t)type;
        buf[1] = (uint8_t)(type >> 8);
        buf[2] = (uint8_t)(type >> 16);
        buf[3] = (uint8_t)(type >> 24);
        return hx_raw(&H, HV_PKT_INBAND, HV_PKT_FLAG_COMPLETION_REQUESTED,
                      tid, buf, 40);
    }
    msg_for(type, ver, &m);
    if (type == VSPN_NVSP_SEND_RNDIS_PKT) {
        uint8_t ka[VSPN_RNDIS_KEEPALIVE_SIZE];
        int k = vspn_rndis_encode_keepalive(ka, sizeof(ka), 77);

        memcpy(H.gmem + HX_SCRATCH_OFF, ka, (size_t)k);
        return hx_gpa(&H, &m, HX_SCRATCH_OFF, (uint32_t)k, tid);
    }
    n = vspn_nvsp_encode(&m, buf, sizeof(buf));
    return hx_raw(&H, HV_PKT_INBAND, HV_PKT_FLAG_COMPLETION_REQUESTED, tid,
                  buf, (uint32_t)n);
}

static void drive(enum vspn_vsp_state s, uint32_t ver)
{
    int stage = 0;

    switch (s) {
    case VSPN_VSP_WAIT_INIT: stage = 0; break;
    case VSPN_VSP_VERSIONED: stage = 1; break;
    case VSPN_VSP_NDIS: stage = 2; break;
    case VSPN_VSP_RXBUF:
    case VSPN_VSP_REVOKED: stage = 3; break;
    case VSPN_VSP_READY:
    case VSPN_VSP_TXBUF_ONLY: stage = 4; break;
    case VSPN_VSP_CLOSED: stage = 1; break;
    }
    assert_int_equal(hx_handshake(&H, ver, stage), 0);
    if (s == VSPN_VSP_REVOKED || s == VSPN_VSP_TXBUF_ONLY) {
        struct vspn_nvsp_msg m = { .type = VSPN_NVSP_REVOKE_RECV_BUF };
        m.u.revoke.id = VSPN_NVSP_RECV_BUF_ID_LINUX;
        assert_int_equal(hx_nvsp(&H, &m, 0), 0);
    }
    if (s == VSPN_VSP_CLOSED) {
        uint8_t z[40] = { 0 }; /* NONE: never allowed */
        assert_int_equal(hx_raw(&H, HV_PKT_INBAND, 0, 1, z, 40), -EPROTO);
    }
    assert_int_equal(vspn_vsp_state(H.vsp), s);
}

static uint32_t reply_type(uint32_t type)
{
    switch (type) {
    case VSPN_NVSP_INIT: return VSPN_NVSP_INIT_COMPLETE;
    case VSPN_NVSP_SEND_RECV_BUF: return VSPN_NVSP_SEND_RECV_BUF_COMPLETE;
    case VSPN_NVSP_SEND_SEND_BUF: return VSPN_NVSP_SEND_SEND_BUF_COMPLETE;
    case VSPN_NVSP_SEND_RNDIS_PKT: return VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE;
    case VSPN_NVSP_SUBCHANNEL: return VSPN_NVSP_SUBCHANNEL;
    default: return 0;
    }
}

/* After a cell: reset the VSP and prove it holds no GPADL reference
 * (teardown releases at once), then rebuild the buffers. */
static void cell_cleanup(void)
{
    vspn_vsp_reset(H.vsp);
    assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_RECV_GPADL), 0);
    assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_SEND_GPADL), 0);
    assert_int_equal(hv_gpadl_count(H.gt), 0);
    assert_int_equal(hx_make_gpadl(H.gt, H.mem, HX_RECV_GPADL, HX_RECV_OFF,
                                   HX_RECV_SIZE), 0);
    assert_int_equal(hx_make_gpadl(H.gt, H.mem, HX_SEND_GPADL, HX_SEND_OFF,
                                   HX_SEND_SIZE), 0);
    H.nclose = 0;
}

static void test_every_cell(void **state)
{
    unsigned cells = 0, counts[4] = { 0 };
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    for (size_t vi = 0; vi < sizeof(versions) / 4; vi++) {
        uint32_t ver = versions[vi];

        for (unsigned s = 0; s < VSPN_VSP_NSTATES; s++) {
            for (size_t ti = 0; ti < sizeof(all_types) / 4; ti++) {
                uint32_t t = all_types[ti];
                uint32_t eff = s == VSPN_VSP_WAIT_INIT ? 0 : ver;
                char want = expected((enum vspn_vsp_state)s, t, eff);
                const struct vspn_vsp_stats *st = vspn_vsp_stats(H.vsp);
                uint64_t msgs, refused, viol, after;
                unsigned nout, nclose;
                uint64_t tid = 0xABC000 + cells;
                struct hx_out *o;
                int rc;

                drive((enum vspn_vsp_state)s, ver);
                msgs = st->nvsp_msgs;
                refused = st->nvsp_refused;
                viol = st->violations;
                after = st->after_close;
                nout = H.nout;
                nclose = H.nclose;

                /* the library's own table says the same thing */
                if (vspn_nvsp_type_known(t)) {
                    static const char map[] = { 'A', 'F', 'X', 'D' };
                    enum vspn_vsp_action a = vspn_vsp_table_action(
                        (enum vspn_vsp_state)s, t, eff);
                    assert_int_equal(map[a], want);
                }

                rc = send_type(t, ver, tid);
                o = hx_last(&H);
                switch (want) {
                case 'A':
                    assert_int_equal(rc, 0);
                    assert_int_equal(H.nclose, 0);
                    assert_int_not_equal(vspn_vsp_state(H.vsp),
                                         VSPN_VSP_CLOSED);
                    assert_int_equal(st->nvsp_msgs, msgs + 1);
                    assert_int_equal(st->nvsp_refused, refused);
                    assert_true(H.nout > nout);
                    if (reply_type(t)) {
                        assert_int_equal(hx_last_status(&H, reply_type(t)),
                                         VSPN_NVSP_STATUS_SUCCESS);
                    } else {
                        /* notification with completion-requested */
                        assert_int_equal(o->kind, 'C');
                        assert_int_equal(o->size, 0);
                    }
                    assert_true(o->tid == tid);
                    break;
                case 'F':
                    assert_int_equal(rc, 0);
                    assert_int_equal(H.nclose, 0);
                    assert_int_equal(vspn_vsp_state(H.vsp), s);
                    assert_int_equal(st->nvsp_refused, refused + 1);
                    assert_int_equal(st->nvsp_msgs, msgs);
                    assert_int_equal(H.nout, nout + 1);
                    assert_int_equal(hx_last_status(&H, reply_type(t)),
                                     VSPN_NVSP_STATUS_FAILURE);
                    assert_true(o->tid == tid);
                    break;
                case 'X':
                    assert_true(rc == -EPROTO || rc == -EBADMSG);
                    assert_int_equal(H.nclose, nclose + 1);
                    assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_CLOSED);
                    assert_int_equal(st->violations, viol + 1);
                    assert_int_equal(H.nout, nout);
                    assert_int_equal(st->nvsp_msgs, msgs);
                    break;
                default: /* 'D' */
                    assert_int_equal(rc, -EPIPE);
                    assert_int_equal(H.nclose, nclose);
                    assert_int_equal(H.nout, nout);
                    assert_int_equal(st->after_close, after + 1);
                    break;
                }
                counts[want == 'A' ? 0 : want == 'F' ? 1 : want == 'X' ? 2 : 3]++;
                cells++;
                cell_cleanup();
            }
        }
    }
    /* 100% of the cells: 6 versions × 8 states × 44 types */
    assert_int_equal(cells, 6 * VSPN_VSP_NSTATES * (sizeof(all_types) / 4));
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0 &&
                counts[3] > 0);
    print_message("cells: %u (allow %u, fail %u, close %u, drop %u)\n",
                  cells, counts[0], counts[1], counts[2], counts[3]);
    hx_fini(&H);
}

/* A GPA-direct packet may only carry SEND_RNDIS_PKT; a cancel request
 * (iPXE's close) is counted and ignored, unanswered; anything else but
 * INBAND, GPA-direct and COMP from the guest is a violation. */
static void test_packet_types(void **state)
{
    struct vspn_nvsp_msg m;
    unsigned nout;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 3), 0);
    nout = H.nout;
    assert_int_equal(hx_raw(&H, HV_PKT_CANCEL_REQUEST, 0, 2, NULL, 0), 0);
    assert_int_equal(hx_raw(&H, HV_PKT_CANCEL_REQUEST,
                            HV_PKT_FLAG_COMPLETION_REQUESTED, 99, NULL, 0),
                     0);
    assert_int_equal(HX_STAT(&H, cancel_ignored), 2);
    assert_int_equal(HX_STAT(&H, bad_pkt_type), 0);
    assert_int_equal(H.nclose, 0);
    assert_int_equal(H.nout, nout);
    msg_for(VSPN_NVSP_SEND_NDIS_VERSION, VSPN_NVSP_VERSION_61, &m);
    assert_int_equal(hx_gpa(&H, &m, HX_SCRATCH_OFF, 64, 5), -EPROTO);
    assert_int_equal(HX_STAT(&H, bad_pkt_type), 1);
    assert_int_equal(H.nclose, 1);
    vspn_vsp_reset(H.vsp);
    H.nclose = 0;
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 3), 0);
    assert_int_equal(hx_raw(&H, HV_PKT_XFER_PAGES, 0, 1, NULL, 0), -EPROTO);
    assert_int_equal(H.nclose, 1);
    /* closed: everything is ignored from now on */
    assert_int_equal(hx_init_msg(&H, VSPN_NVSP_VERSION_61), -EPIPE);
    assert_int_equal(hx_raw(&H, HV_PKT_CANCEL_REQUEST, 0, 2, NULL, 0), -EPIPE);
    assert_int_equal(HX_STAT(&H, cancel_ignored), 2);
    hx_fini(&H);
}

static void test_init_negotiation(void **state)
{
    static const struct {
        uint32_t min, max, status, chosen;
    } cases[] = {
        { 0x60001, 0x60001, 1, 0x60001 },
        { 0x60000, 0x60000, 1, 0x60000 },
        { 0x50000, 0x50000, 1, 0x50000 },
        { 0x40000, 0x40000, 1, 0x40000 },
        { 0x30002, 0x30002, 1, 0x30002 },
        { 0x2, 0x2, 1, 0x2 },                 /* iPXE */
        { 0x2, 0x60001, 1, 0x60001 },         /* a range: highest */
        { 0x40000, 0x5FFFF, 1, 0x50000 },
        { 0x70000, 0x70000, 3, 0 },           /* too new */
        { 0x60002, 0xFFFFFFFF, 3, 0 },
        { 0x1, 0x1, 4, 0 },                   /* too old */
        { 0, 0, 4, 0 },
        { 0x30000, 0x30000, 2, 0 },           /* a gap: failure */
        { 0x40001, 0x4FFFF, 2, 0 },
    };
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT }, d;
        struct hx_out *o;

        m.u.init.min_ver = cases[i].min;
        m.u.init.max_ver = cases[i].max;
        assert_int_equal(hx_nvsp(&H, &m, HV_PKT_FLAG_COMPLETION_REQUESTED),
                         0);
        o = hx_last(&H);
        assert_int_equal(o->size, 40); /* ≥ 28 (Linux), 32 (iPXE) */
        assert_int_equal(vspn_nvsp_decode(o->msg, o->size, &d), 0);
        assert_int_equal(d.type, VSPN_NVSP_INIT_COMPLETE);
        assert_int_equal(d.u.init_complete.status, cases[i].status);
        assert_int_equal(d.u.init_complete.negotiated_ver, cases[i].chosen);
        assert_int_equal(vspn_vsp_nvsp_version(H.vsp), cases[i].chosen);
        assert_int_equal(vspn_vsp_state(H.vsp),
                         cases[i].chosen ? VSPN_VSP_VERSIONED
                                         : VSPN_VSP_WAIT_INIT);
        /* a negotiated version is final on this channel: a new case
         * starts from a reopened (reset) channel */
        if (cases[i].chosen)
            vspn_vsp_reset(H.vsp);
    }
    assert_int_equal(H.nclose, 0);
    assert_int_equal(HX_STAT(&H, init_repeated), 0);
    hx_fini(&H);
}

/* The guest's version fallback (spec §2: 6.1, 6, 5, 4, 2, 1 until SUCCESS)
 * is legal however long it takes; INIT after SUCCESS closes the channel in
 * every state past WAIT_INIT, under every version, unanswered; what follows
 * is dropped. */
static void test_repeated_init(void **state)
{
    const struct vspn_vsp_stats *st;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    st = vspn_vsp_stats(H.vsp);
    /* refused versions, 10,000 times: answered FAILURE each, no close */
    for (unsigned i = 0; i < 10000; i++) {
        assert_int_equal(hx_init_msg(&H, i & 1 ? 0x70000u : 0x30000u), 0);
        assert_int_not_equal(hx_last_status(&H, VSPN_NVSP_INIT_COMPLETE),
                             VSPN_NVSP_STATUS_SUCCESS);
        assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_WAIT_INIT);
    }
    assert_int_equal(st->init_refused, 10000);
    assert_int_equal(H.nclose, 0);
    /* then the fallback succeeds: one answer */
    assert_int_equal(hx_init_msg(&H, VSPN_NVSP_VERSION_5), 0);
    assert_int_equal(hx_last_status(&H, VSPN_NVSP_INIT_COMPLETE),
                     VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(st->init_ok, 1);

    /* INIT after SUCCESS, for every later state × version × the INIT's own
     * version (a supported one, or one the host would refuse) */
    for (size_t vi = 0; vi < sizeof(versions) / 4; vi++) {
        for (unsigned s = VSPN_VSP_VERSIONED; s < VSPN_VSP_CLOSED; s++) {
            for (unsigned k = 0; k < 2; k++) {
                uint64_t rep = st->init_repeated, viol = st->violations;
                unsigned nout;

                vspn_vsp_reset(H.vsp);
                drive((enum vspn_vsp_state)s, versions[vi]);
                H.nclose = 0;
                nout = H.nout;
                assert_int_equal(hx_init_msg(&H, k ? 0x30000u : versions[vi]),
                                 -EPROTO);
                assert_int_equal(H.nclose, 1);
                assert_non_null(strstr(H.close_reason, "INIT after version"));
                assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_CLOSED);
                assert_int_equal(st->init_repeated, rep + 1);
                assert_int_equal(st->violations, viol + 1);
                assert_int_equal(H.nout, nout); /* not answered */
                assert_false(vspn_vsp_has_recv_buf(H.vsp));
                assert_false(vspn_vsp_has_send_buf(H.vsp));
                cell_cleanup();
            }
        }
    }

    /* the attack: 100,000 INITs on one channel — one answer, one
     * close, the rest dropped without output or allocation */
    vspn_vsp_reset(H.vsp);
    H.nclose = 0;
    {
        uint64_t after = st->after_close, rep = st->init_repeated;
        unsigned nout = H.nout;

        for (unsigned i = 0; i < 100000; i++) {
            int rc = hx_init_msg(&H, VSPN_NVSP_VERSION_61);

            assert_int_equal(rc, i == 0 ? 0 : i == 1 ? -EPROTO : -EPIPE);
        }
        assert_int_equal(H.nout, nout + 1);
        assert_int_equal(H.nclose, 1);
        assert_int_equal(st->init_repeated, rep + 1);
        assert_int_equal(st->after_close, after + 99998);
    }
    hx_fini(&H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell),
        cmocka_unit_test(test_packet_types),
        cmocka_unit_test(test_init_negotiation),
        cmocka_unit_test(test_repeated_init),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
