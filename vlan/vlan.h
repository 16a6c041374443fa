/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vlan.h — 802.1Q port VLAN modes and the admission / egress decisions.
 *
 * Design
 * ------
 * An operator configures a port in one of two modes (struct vlan_port_mode):
 *
 *   access  untagged on the wire, one VID (default: access VLAN 1).
 *   trunk   a set of allowed VIDs carried tagged, plus an optional native
 *           VLAN used for untagged frames; the native VLAN is sent untagged
 *           unless `native_tagged` is set.
 *
 * The mode is compiled once (vlan_port_compile) into a `struct vlan_port`,
 * the form the data path reads: a membership bitmap of 4096 bits, the VID
 * that untagged frames are classified into, the VID sent untagged on egress,
 * and whether tagged frames are admitted at all.  Both modes then use the
 * same two decisions:
 *
 *   ingress (vlan_port_ingress): untagged and priority-tagged (VID 0)
 *     frames go to `pvid` (dropped when there is none); frames tagged with a
 *     VID are admitted only on a port that accepts tags and is a member of
 *     that VID; VID 4095 is reserved and always dropped.  Only TPID 0x8100
 *     is a VLAN tag here; a frame with an 802.1ad (0x88a8) outer tag is an
 *     untagged frame of that ethertype.  A double-tagged frame is classified
 *     by its outer tag and the inner tag stays payload.
 *
 *   egress (vlan_port_egress): a port that is not a member of the frame's
 *     VLAN does not get the frame; a member sends it untagged if the VID is
 *     the port's `untagged_vid`, tagged otherwise.
 *
 * Access ports drop tagged frames other than priority-tagged ones (a VM must
 * not pick its own VLAN), and priority-tagged ones with a VLAN tag behind
 * the priority tag; that is the security rule, not an omission.
 *
 * Thread-safety: plain values.  The data path reads compiled `struct
 * vlan_port` values inside RCU-published configuration snapshots and never
 * writes them.
 */
#ifndef VLAN_H
#define VLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_errmsg.h"

#define VLAN_VID_MIN 1
#define VLAN_VID_MAX 4094
#define VLAN_VID_RESERVED 4095
#define VLAN_DEFAULT_VID 1
#define VLAN_TPID_8021Q 0x8100
#define VLAN_BITMAP_WORDS (4096 / 64)

enum vlan_mode {
    VLAN_MODE_ACCESS = 0,
    VLAN_MODE_TRUNK = 1,
};

/* Operator intent, as configured. */
struct vlan_port_mode {
    enum vlan_mode mode;
    uint16_t access_vid;    /* access: the port's VLAN (1..4094) */
    uint16_t native_vid;    /* trunk: VLAN of untagged frames, 0 = none */
    bool native_tagged;     /* trunk: send the native VLAN tagged too */
    uint64_t allowed[VLAN_BITMAP_WORDS]; /* trunk: allowed VIDs */
};

/* Compiled form read by the data path. */
struct vlan_port {
    /* the scalars first: with the bitmap's first words (VIDs 0..319) they
     * share the cache line the data path reads for an egress decision */
    uint16_t pvid;          /* VLAN for untagged/priority frames, 0 = drop */
    uint16_t untagged_vid;  /* VLAN sent untagged on egress, 0 = none */
    bool accept_tagged;     /* admit frames tagged with a member VID */
    uint64_t member[VLAN_BITMAP_WORDS]; /* VIDs this port carries */
};

/* Why ingress refused a frame (values index per-port drop counters). */
enum vlan_verdict {
    VLAN_ADMIT = 0,
    VLAN_DROP_UNTAGGED = 1,   /* untagged/priority frame, port has no pvid */
    VLAN_DROP_TAGGED = 2,     /* tagged frame on a port that takes no tags */
    VLAN_DROP_NOT_MEMBER = 3, /* VID not in the port's allowed set */
    VLAN_DROP_RESERVED = 4,   /* VID 4095 */
};

enum vlan_egress {
    VLAN_EGRESS_SKIP = 0,     /* not a member: do not send */
    VLAN_EGRESS_UNTAGGED = 1,
    VLAN_EGRESS_TAGGED = 2,
};

static inline bool vlan_bitmap_test(const uint64_t *bm, uint16_t vid)
{
    return (bm[(vid >> 6) & 63] >> (vid & 63)) & 1;
}

static inline void vlan_bitmap_set(uint64_t *bm, uint16_t vid)
{
    bm[(vid >> 6) & 63] |= 1ull << (vid & 63);
}

/* The default mode: access VLAN 1. */
void vlan_port_mode_default(struct vlan_port_mode *m);

/* Checks a mode: VIDs in 1..4094, trunk allowed set without 0/4095.
 * Returns 0 or -EINVAL with a message. */
int vlan_port_mode_validate(const struct vlan_port_mode *m,
                            struct vsa_errmsg *em);

/* Compiles a (valid) mode into the data-path form. */
void vlan_port_compile(const struct vlan_port_mode *m, struct vlan_port *out);

/* Ingress classification.  `tagged` says whether the frame carries an
 * 802.1Q tag (TPID 0x8100), `tag_vid` is its VID (0..4095, ignored if
 * untagged), `inner_tagged` whether another 0x8100 tag follows it.  On
 * VLAN_ADMIT, *vid holds the frame's VLAN (1..4094).
 *
 * A priority tag (VID 0) with a VLAN tag behind it is refused on a port
 * that takes no tagged frames (access): admitted to the port's VLAN, it
 * would leave a trunk whose native VLAN goes out untagged with the inner
 * tag outermost, and the VM would have picked its VLAN after all (the
 * double-tagging hop). */
static inline enum vlan_verdict
vlan_port_ingress(const struct vlan_port *p, bool tagged, uint16_t tag_vid,
                  bool inner_tagged, uint16_t *vid)
{
    if (!tagged || tag_vid == 0) {
        if (p->pvid == 0)
            return VLAN_DROP_UNTAGGED;
        if (tagged && inner_tagged && !p->accept_tagged)
            return VLAN_DROP_TAGGED;
        *vid = p->pvid;
        return VLAN_ADMIT;
    }
    if (tag_vid >= VLAN_VID_RESERVED)
        return VLAN_DROP_RESERVED;
    if (!p->accept_tagged)
        return VLAN_DROP_TAGGED;
    if (!vlan_bitmap_test(p->member, tag_vid))
        return VLAN_DROP_NOT_MEMBER;
    *vid = tag_vid;
    return VLAN_ADMIT;
}

/* Egress decision for a frame of VLAN `vid` leaving through port p. */
static inline enum vlan_egress vlan_port_egress(const struct vlan_port *p,
                                                uint16_t vid)
{
    if (!vlan_bitmap_test(p->member, vid))
        return VLAN_EGRESS_SKIP;
    return vid == p->untagged_vid ? VLAN_EGRESS_UNTAGGED : VLAN_EGRESS_TAGGED;
}

/* VID sets in text form: "1-10,20,30-32".  Parse returns 0 or -EINVAL with
 * a message naming the bad element; VIDs must lie in 1..4094. */
int vlan_set_parse(const char *s, uint64_t bitmap[VLAN_BITMAP_WORDS],
                   struct vsa_errmsg *em);
/* Formats a set as ranges; returns the length written (truncated like
 * snprintf). */
size_t vlan_set_format(const uint64_t bitmap[VLAN_BITMAP_WORDS], char *buf,
                       size_t size);

const char *vlan_mode_name(enum vlan_mode m);
const char *vlan_verdict_name(enum vlan_verdict v);

#endif /* VLAN_H */
