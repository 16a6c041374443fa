/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_chan_msg.h — VMBus channel-management messages: wire layouts, encoder
 * and strict decoder (spec vmbus.md §6-§8).
 *
 * Design
 * ------
 * Every message starts with {msgtype u32, padding u32} and is at most 240
 * bytes (one SynIC message payload; here one partition-socket frame).  The
 * decoder turns a received byte buffer into a plain struct (struct
 * hv_chan_msg, a tagged union) and is the only code that looks at the
 * bytes: the state machines (hv_vmbus.h) only see decoded values.  It
 * accepts a message only if
 *  * its type is one of 1..17 (the set this layer implements),
 *  * its length is EXACTLY the size of that type (GPADL_HEADER: 28 + 8 × n
 *    with 1 ≤ n ≤ 26 PFNs carried; GPADL_BODY: 16 + 8 × n, 1 ≤ n ≤ 28),
 *  * the fields that shape the message are consistent: GPADL_HEADER has
 *    rangecount = 1 (the only shape Linux, DPDK, iPXE and QEMU use; others
 *    are refused rather than half-understood), range_buflen = 8 + 8 × total
 *    with total ≥ the PFNs carried; OFFERCHANNEL's child_relid is neither 0
 *    nor 0xFFFFFFFF.
 * Anything else is -EBADMSG.  Reserved and padding bytes are ignored on
 * decode and written as zero on encode (rejecting them would be over-strict
 * and buys nothing).  MODIFYCHANNEL and the hv_sock messages (21-24) are not
 * implemented (XXX: needed for guests ≥ 4.1 that move channel interrupts).
 *
 * Thread-safety: pure functions on caller buffers.
 */
#ifndef HV_CHAN_MSG_H
#define HV_CHAN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_CHAN_MSG_MAX_SIZE 240u
#define HV_CHAN_MSG_HDR_SIZE 8u
#define HV_GPADL_HEADER_MAX_PFNS 26u
#define HV_GPADL_BODY_MAX_PFNS 28u

enum hv_chan_msg_type {
    HV_MSG_INVALID = 0,
    HV_MSG_OFFERCHANNEL = 1,
    HV_MSG_RESCIND_CHANNELOFFER = 2,
    HV_MSG_REQUESTOFFERS = 3,
    HV_MSG_ALLOFFERS_DELIVERED = 4,
    HV_MSG_OPENCHANNEL = 5,
    HV_MSG_OPENCHANNEL_RESULT = 6,
    HV_MSG_CLOSECHANNEL = 7,
    HV_MSG_GPADL_HEADER = 8,
    HV_MSG_GPADL_BODY = 9,
    HV_MSG_GPADL_CREATED = 10,
    HV_MSG_GPADL_TEARDOWN = 11,
    HV_MSG_GPADL_TORNDOWN = 12,
    HV_MSG_RELID_RELEASED = 13,
    HV_MSG_INITIATE_CONTACT = 14,
    HV_MSG_VERSION_RESPONSE = 15,
    HV_MSG_UNLOAD = 16,
    HV_MSG_UNLOAD_RESPONSE = 17,
    HV_MSG_TYPE_MAX = 17,
};

/* Wire sizes of the fixed-size messages. */
#define HV_MSG_SIZE_OFFER 196u
#define HV_MSG_SIZE_RELID 12u /* RESCIND, CLOSECHANNEL, RELID_RELEASED */
#define HV_MSG_SIZE_EMPTY 8u  /* REQUESTOFFERS, ALLOFFERS, UNLOAD(_RESPONSE) */
#define HV_MSG_SIZE_OPEN 148u
#define HV_MSG_SIZE_OPEN_RESULT 20u
#define HV_MSG_SIZE_GPADL_CREATED 20u
#define HV_MSG_SIZE_GPADL_TEARDOWN 16u
#define HV_MSG_SIZE_GPADL_TORNDOWN 12u
#define HV_MSG_SIZE_INITIATE_CONTACT 40u
#define HV_MSG_SIZE_VERSION_RESPONSE 16u
#define HV_MSG_GPADL_HEADER_FIXED 28u /* up to and incl. byte_offset */
#define HV_MSG_GPADL_BODY_FIXED 16u

/* VMBus versions, (major << 16) | minor (§6.3). */
#define HV_VMBUS_VERSION_WS2008 0x0000000Du
#define HV_VMBUS_VERSION_WIN7 0x00010001u
#define HV_VMBUS_VERSION_WIN8 0x00020004u
#define HV_VMBUS_VERSION_WIN8_1 0x00030000u
#define HV_VMBUS_VERSION_WIN10 0x00040000u
#define HV_VMBUS_VERSION_WIN10_V4_1 0x00040001u
#define HV_VMBUS_VERSION_WIN10_V5 0x00050000u
#define HV_VMBUS_VERSION_WIN10_V5_1 0x00050001u
#define HV_VMBUS_VERSION_WIN10_V5_2 0x00050002u
#define HV_VMBUS_VERSION_WIN10_V5_3 0x00050003u

/* OFFERCHANNEL chn_flags (§7). */
#define HV_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE 0x1u
#define HV_OFFER_FLAG_SERVER_SUPPORTS_TRANSFER_PAGES 0x2u
#define HV_OFFER_FLAG_SERVER_SUPPORTS_GPADLS 0x4u

/* A GUID in wire byte order (fields 1-3 little-endian, §8). */
struct hv_guid {
    uint8_t b[16];
};

/* Synthetic network device class {f8615163-df3e-46c5-913f-f2d2f965ed0e}. */
extern const struct hv_guid hv_guid_netvsc;

bool hv_guid_equal(const struct hv_guid *a, const struct hv_guid *b);

struct hv_msg_offer {
    struct hv_guid if_type;
    struct hv_guid if_instance;
    uint16_t chn_flags;
    uint16_t mmio_megabytes;
    uint8_t user_def[120];
    uint16_t sub_channel_index;
    uint32_t child_relid;
    uint8_t monitorid;
    uint8_t monitor_allocated;    /* bit 0 of byte 189 */
    uint16_t dedicated_interrupt; /* bit 0 of bytes 190-191 */
    uint32_t connection_id;
};

struct hv_msg_initiate_contact {
    uint32_t version;
    uint32_t target_vcpu;
    uint64_t interrupt_page; /* ≥ 5.0: msg_sint u8 @16, msg_vtl u8 @17 */
    uint64_t monitor_page1;
    uint64_t monitor_page2;
};

struct hv_msg_version_response {
    uint8_t version_supported; /* non-zero = accepted */
    uint8_t connection_state;
    uint32_t msg_conn_id;
};

struct hv_msg_open {
    uint32_t child_relid;
    uint32_t openid;
    uint32_t ring_gpadl;
    uint32_t target_vp;
    uint32_t downstream_offset; /* page offset of the host→guest ring */
    uint8_t user_data[120];
};

struct hv_msg_open_result {
    uint32_t child_relid;
    uint32_t openid;
    uint32_t status; /* 0 = success */
};

struct hv_msg_gpadl_header {
    uint32_t child_relid;
    uint32_t gpadl;
    uint32_t byte_count;  /* of the single range */
    uint32_t byte_offset;
    uint32_t total_pfns;  /* (range_buflen − 8) / 8 */
    uint32_t npfns;       /* carried in this message */
    uint64_t pfns[HV_GPADL_HEADER_MAX_PFNS];
};

struct hv_msg_gpadl_body {
    uint32_t msgnumber;
    uint32_t gpadl;
    uint32_t npfns;
    uint64_t pfns[HV_GPADL_BODY_MAX_PFNS];
};

struct hv_msg_gpadl_created {
    uint32_t child_relid;
    uint32_t gpadl;
    uint32_t status; /* 0 = success */
};

struct hv_msg_gpadl_teardown {
    uint32_t child_relid;
    uint32_t gpadl;
};

struct hv_chan_msg {
    uint32_t type; /* enum hv_chan_msg_type */
    union {
        struct hv_msg_offer offer;
        uint32_t child_relid; /* RESCIND, CLOSECHANNEL, RELID_RELEASED */
        struct hv_msg_open open;
        struct hv_msg_open_result open_result;
        struct hv_msg_gpadl_header gpadl_header;
        struct hv_msg_gpadl_body gpadl_body;
        struct hv_msg_gpadl_created gpadl_created;
        struct hv_msg_gpadl_teardown gpadl_teardown;
        uint32_t gpadl; /* GPADL_TORNDOWN */
        struct hv_msg_initiate_contact initiate;
        struct hv_msg_version_response version_response;
    } u;
};

/* Decodes `len` bytes.  0 or -EBADMSG (see the essay for the rules). */
int hv_chan_msg_decode(const void *buf, size_t len, struct hv_chan_msg *out);

/* Encodes into buf.  Returns the message size, -EINVAL (unknown type or
 * inconsistent fields, e.g. npfns out of range) or -ENOSPC (size too
 * small).  Round trip: decode(encode(m)) == m for every valid m. */
int hv_chan_msg_encode(const struct hv_chan_msg *m, void *buf, size_t size);

/* Name of a message type ("OFFERCHANNEL"), "?" if unknown. */
const char *hv_chan_msg_type_name(uint32_t type);

/* True if messages of `type` travel guest→host. */
bool hv_chan_msg_from_guest(uint32_t type);

#endif /* HV_CHAN_MSG_H */
