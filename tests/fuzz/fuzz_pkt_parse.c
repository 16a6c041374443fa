/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pkt_parse.c — libFuzzer target: the input is one raw frame.
 *
 * Objective (TESTS.md item 13): vsw_parse_l2 never reads past the frame
 * (libFuzzer hands over an exact-size heap buffer, so ASan sees any
 * overrun), agrees with the 802.1Q layout on when a frame is a runt, and
 * everything downstream of the parse keeps its invariants on whatever it
 * returns: VLAN ingress on a set of compiled port modes, egress of every
 * admitted VLAN on all the other ports, and MAC formatting (format, parse
 * back, compare).  A failed invariant aborts, which libFuzzer reports as a
 * crash and `meson test` (fuzz-regress-fuzz_pkt_parse) as a failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_mac.h"
#include "vlan/vlan.h"
#include "vswitch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #c);                                        \
            abort();                                                      \
        }                                                                 \
    } while (0)

#define N_PORTS 7

static struct vlan_port ports[N_PORTS];
static bool ports_ready;

static void setup_ports(void)
{
    for (int i = 0; i < N_PORTS; i++) {
        struct vlan_port_mode m;

        vlan_port_mode_default(&m);
        switch (i) {
        case 0: /* access 1 (default) */
            break;
        case 1:
            m.access_vid = 10;
            break;
        case 2:
            m.access_vid = 4094;
            break;
        case 3: /* trunk {10,20} */
        case 4: /* ... native 1 */
        case 5: /* ... native 10 tagged */
            m.mode = VLAN_MODE_TRUNK;
            vlan_bitmap_set(m.allowed, 10);
            vlan_bitmap_set(m.allowed, 20);
            if (i == 4)
                m.native_vid = 1;
            if (i == 5) {
                m.native_vid = 10;
                m.native_tagged = true;
            }
            break;
        default: /* trunk 1-4094 */
            m.mode = VLAN_MODE_TRUNK;
            for (unsigned v = 1; v <= 4094; v++)
                vlan_bitmap_set(m.allowed, (uint16_t)v);
            break;
        }
        CHECK(vlan_port_mode_validate(&m, NULL) == 0);
        vlan_port_compile(&m, &ports[i]);
    }
    ports_ready = true;
}

static void check_mac(uint64_t v, const uint8_t *wire)
{
    struct vsa_mac m = vsa_mac_from_u64(v), back;
    char buf[VSA_MAC_STRLEN];
    char want[VSA_MAC_STRLEN];

    CHECK((v >> 48) == 0);
    CHECK(memcmp(m.b, wire, 6) == 0);
    CHECK(vsa_mac_to_u64(&m) == v);
    CHECK(vsa_mac_format(&m, buf) == buf);
    snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", wire[0],
             wire[1], wire[2], wire[3], wire[4], wire[5]);
    CHECK(strcmp(buf, want) == 0);
    CHECK(vsa_mac_parse(buf, &back) == 0);
    CHECK(memcmp(&back, &m, sizeof(m)) == 0);
    CHECK(vsa_mac_is_multicast(&m) == ((wire[0] & 1) != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vsw_l2 l2;
    uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    bool c_tag;
    char trace[512];
    size_t tl = 0;
    int rc;

    if (!ports_ready)
        setup_ports();

    rc = vsw_parse_l2(data, len, &l2);
    c_tag = size >= 14 && data[12] == 0x81 && data[13] == 0x00;
    CHECK(rc == ((size < 14 || (c_tag && size < 18)) ? -1 : 0));
    if (rc != 0)
        return 0;

    /* The parsed fields, against the wire. */
    CHECK(l2.tagged == c_tag);
    CHECK(l2.l3_offset == (c_tag ? 18 : 14));
    CHECK(l2.l3_offset <= size);
    CHECK(l2.tag_vid <= 4095 && l2.tag_pcp <= 7);
    if (c_tag) {
        CHECK(l2.tag_vid == ((data[14] & 0x0f) << 8 | data[15]));
        CHECK(l2.tag_pcp == data[14] >> 5);
        CHECK(l2.ethertype == (data[16] << 8 | data[17]));
        CHECK(l2.inner_tagged == (l2.ethertype == VSW_ETHERTYPE_VLAN));
    } else {
        CHECK(l2.tag_vid == 0 && l2.tag_pcp == 0 && !l2.inner_tagged);
        CHECK(l2.ethertype == (data[12] << 8 | data[13]));
    }
    check_mac(l2.dst, data);
    check_mac(l2.src, data + 6);

    /* Downstream: ingress on every port, egress of the result on the
     * others; a trace line is printed into a buffer as a dump would. */
    for (int i = 0; i < N_PORTS; i++) {
        const struct vlan_port *in = &ports[i];
        uint16_t vid = 0;
        enum vlan_verdict v =
            vlan_port_ingress(in, l2.tagged, l2.tag_vid, l2.inner_tagged, &vid);
        const char *name = vlan_verdict_name(v);
        bool prio = !l2.tagged || l2.tag_vid == 0;
        /* a priority tag with a VLAN tag behind it (vlan.h) */
        bool prio_hop = l2.tagged && l2.tag_vid == 0 && l2.inner_tagged;

        CHECK(strcmp(name, "?") != 0);
        switch (v) {
        case VLAN_ADMIT:
            CHECK(vid >= VLAN_VID_MIN && vid <= VLAN_VID_MAX);
            CHECK(vid == (prio ? in->pvid : l2.tag_vid));
            CHECK(!(prio_hop && !in->accept_tagged));
            break;
        case VLAN_DROP_UNTAGGED:
            CHECK(prio && in->pvid == 0);
            break;
        case VLAN_DROP_TAGGED:
            CHECK(!in->accept_tagged &&
                  ((!prio && l2.tag_vid < 4095) || (prio_hop && in->pvid)));
            break;
        case VLAN_DROP_NOT_MEMBER:
            CHECK(!prio && in->accept_tagged && l2.tag_vid < 4095 &&
                  !vlan_bitmap_test(in->member, l2.tag_vid));
            break;
        case VLAN_DROP_RESERVED:
            CHECK(l2.tagged && l2.tag_vid == VLAN_VID_RESERVED);
            break;
        }
        if (tl < sizeof(trace))
            tl += (size_t)snprintf(trace + tl, sizeof(trace) - tl,
                                   "p%d:%s ", i, name);
        if (v != VLAN_ADMIT)
            continue;
        CHECK(vlan_bitmap_test(in->member, vid));
        CHECK(vlan_port_egress(in, vid) != VLAN_EGRESS_SKIP);
        for (int o = 0; o < N_PORTS; o++) {
            const struct vlan_port *out = &ports[o];
            enum vlan_egress e;

            if (o == i)
                continue;
            e = vlan_port_egress(out, vid);
            if (!vlan_bitmap_test(out->member, vid))
                CHECK(e == VLAN_EGRESS_SKIP);
            else if (vid == out->untagged_vid)
                CHECK(e == VLAN_EGRESS_UNTAGGED);
            else
                CHECK(e == VLAN_EGRESS_TAGGED);
        }
    }
    CHECK(strlen(trace) < sizeof(trace));
    return 0;
}
