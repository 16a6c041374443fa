/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvsp.h — NVSP, the control protocol of the Hyper-V synthetic network
 * device: message type numbers, status codes, protocol versions, the
 * message layouts, a strict decoder and the encoders.
 *
 * Design
 * ------
 * An NVSP message is a u32 `type` followed by a type-specific body, carried
 * as the in-band payload of a VMBus packet (spec nvsp-rndis.md §1, §3, §4).
 * Linux and DPDK send zero-padded 40-byte messages, iPXE 32-byte ones, and
 * the payload the ring hands out is padded to 8 bytes: the decoder
 * therefore accepts ANY length that covers the fields of the type
 * (vspn_nvsp_min_size()) and ignores the rest.  The encoder always writes
 * at least VSPN_NVSP_MSG_SIZE (40) bytes, zero padded, which satisfies the
 * minimum reply lengths every known guest checks (§4).
 *
 * Strictness (the decoder is the first thing guest bytes meet):
 *  * the caller passes its OWN copy of the message (the ring reader copies
 *    packets out of shared memory); every field is read exactly once from
 *    that copy into `struct vspn_nvsp_msg`, and nothing else looks at the
 *    bytes afterwards (no double fetch, TESTS.md A.3);
 *  * -EBADMSG for: a length that does not cover the type's fields, a type
 *    number not in the table of §3, and these field violations:
 *      INIT            min_protocol_ver > max_protocol_ver
 *      RECV_BUF_COMPL  num_sections > VSPN_NVSP_MAX_SECTIONS or sections
 *                      not covered by the length
 *      SEND_RNDIS_PKT  channel_type not 0/1; section index "none"
 *                      (0xFFFFFFFF) with a non-zero section size
 *      VF_ASSOCIATION  allocated not 0/1
 *      SWITCH_DATAPATH active_datapath not 0/1
 *      INDIRECTION     count ≠ 16, offset < 12 or unaligned, table beyond
 *                      the message
 *  * types that exist in the table but carry nothing we use (chimney,
 *    VMQ, PD API, OID_QUERY_EX …) decode to just their type: the state
 *    machine, not the decoder, refuses them (vsp.h).
 * Semantic checks that depend on state (versions, GPADL ids, section
 * indexes, MTU bounds) belong to the VSP and the VSC, not here.
 *
 * Thread-safety
 * -------------
 * Pure functions over caller-owned buffers; no global state.  Any thread.
 */
#ifndef VSPN_NVSP_H
#define VSPN_NVSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Sizes and limits (§4, §12) ---------------------------------------- */
#define VSPN_NVSP_MSG_SIZE 40u       /* Linux/DPDK request size; our replies */
#define VSPN_NVSP_MSG_SIZE_IPXE 32u  /* iPXE request size */
#define VSPN_NVSP_MAX_SECTIONS 4u    /* decoder bound; hosts send exactly 1 */
#define VSPN_NVSP_INDIRECTION_SIZE 16u
#define VSPN_NVSP_ENCODE_MAX (12u + 4u * VSPN_NVSP_INDIRECTION_SIZE + 64u)
#define VSPN_NVSP_NO_SECTION 0xFFFFFFFFu
#define VSPN_NVSP_RECV_BUF_ID_LINUX 0xCAFEu
#define VSPN_NVSP_RECV_BUF_ID_IPXE 0xBEADu
#define VSPN_NVSP_SEND_BUF_ID_DPDK 0xFACEu

/* ---- Protocol versions (§2) ---------------------------------------------- */
#define VSPN_NVSP_VERSION_1 0x00000002u
#define VSPN_NVSP_VERSION_2 0x00030002u
#define VSPN_NVSP_VERSION_4 0x00040000u
#define VSPN_NVSP_VERSION_5 0x00050000u
#define VSPN_NVSP_VERSION_6 0x00060000u
#define VSPN_NVSP_VERSION_61 0x00060001u

/* NDIS versions announced in SEND_NDIS_VERSION (§2), major << 16 | minor. */
#define VSPN_NDIS_VERSION_6_1 0x00060001u
#define VSPN_NDIS_VERSION_6_20 0x00060014u
#define VSPN_NDIS_VERSION_6_30 0x0006001Eu

/* ---- Message types (§3) ---------------------------------------------------- */
enum vspn_nvsp_type {
    VSPN_NVSP_NONE = 0,
    VSPN_NVSP_INIT = 1,
    VSPN_NVSP_INIT_COMPLETE = 2,
    VSPN_NVSP_SEND_NDIS_VERSION = 100,
    VSPN_NVSP_SEND_RECV_BUF = 101,
    VSPN_NVSP_SEND_RECV_BUF_COMPLETE = 102,
    VSPN_NVSP_REVOKE_RECV_BUF = 103,
    VSPN_NVSP_SEND_SEND_BUF = 104,
    VSPN_NVSP_SEND_SEND_BUF_COMPLETE = 105,
    VSPN_NVSP_REVOKE_SEND_BUF = 106,
    VSPN_NVSP_SEND_RNDIS_PKT = 107,
    VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE = 108,
    /* 109..124: chimney / VMQ messages of NVSP v2, unused by guests */
    VSPN_NVSP_CHIMNEY_FIRST = 109,
    VSPN_NVSP_CHIMNEY_LAST = 124,
    VSPN_NVSP_SEND_NDIS_CONFIG = 125,
    VSPN_NVSP_ALLOC_CHIMNEY_HANDLE = 126,
    VSPN_NVSP_ALLOC_CHIMNEY_HANDLE_COMPLETE = 127,
    VSPN_NVSP_SEND_VF_ASSOCIATION = 128,
    VSPN_NVSP_SWITCH_DATA_PATH = 129,
    VSPN_NVSP_UPLINK_CONNECT_STATE = 130,
    VSPN_NVSP_OID_QUERY_EX = 131,
    VSPN_NVSP_OID_QUERY_EX_COMPLETE = 132,
    VSPN_NVSP_SUBCHANNEL = 133,
    VSPN_NVSP_SEND_INDIRECTION_TABLE = 134,
    VSPN_NVSP_PD_API = 135,
    VSPN_NVSP_PD_POST_BATCH = 136,
};
#define VSPN_NVSP_TYPE_MAX 136u

/* ---- Status codes (§3.1) ---------------------------------------------------- */
#define VSPN_NVSP_STATUS_NONE 0u
#define VSPN_NVSP_STATUS_SUCCESS 1u
#define VSPN_NVSP_STATUS_FAILURE 2u
#define VSPN_NVSP_STATUS_PROTOCOL_TOO_NEW 3u
#define VSPN_NVSP_STATUS_PROTOCOL_TOO_OLD 4u
#define VSPN_NVSP_STATUS_INVALID_RNDIS_PKT 5u
#define VSPN_NVSP_STATUS_BUSY 6u
#define VSPN_NVSP_STATUS_PROTOCOL_UNSUPPORTED 7u

/* SEND_RNDIS_PKT channel types (§4). */
#define VSPN_NVSP_CHANNEL_DATA 0u
#define VSPN_NVSP_CHANNEL_CONTROL 1u

/* SUBCHANNEL request operation. */
#define VSPN_NVSP_SUBCHANNEL_NONE 0u
#define VSPN_NVSP_SUBCHANNEL_ALLOCATE 1u

/* NDIS_CONFIG capability bits (§4). */
#define VSPN_NVSP_CAP_VMQ (1ull << 0)
#define VSPN_NVSP_CAP_CHIMNEY (1ull << 1)
#define VSPN_NVSP_CAP_SRIOV (1ull << 2)
#define VSPN_NVSP_CAP_IEEE8021Q (1ull << 3)
#define VSPN_NVSP_CAP_CORRELATION_ID (1ull << 4)
#define VSPN_NVSP_CAP_TEAMING (1ull << 5)
#define VSPN_NVSP_CAP_VSUBNET_ID (1ull << 6)
#define VSPN_NVSP_CAP_RSC (1ull << 7)

/* ---- Decoded message -------------------------------------------------------- */
struct vspn_nvsp_section {
    uint32_t offset;
    uint32_t sub_alloc_size;
    uint32_t num_sub_allocs;
    uint32_t end_offset;
};

struct vspn_nvsp_msg {
    uint32_t type; /* enum vspn_nvsp_type */
    union {
        struct { /* 1 */
            uint32_t min_ver;
            uint32_t max_ver;
        } init;
        struct { /* 2 */
            uint32_t negotiated_ver; /* deprecated, ignored by guests */
            uint32_t max_mdl_chain_len;
            uint32_t status;
        } init_complete;
        struct { /* 100 */
            uint32_t major;
            uint32_t minor;
        } ndis_ver;
        struct { /* 101 SEND_RECV_BUF and 104 SEND_SEND_BUF */
            uint32_t gpadl;
            uint16_t id;
        } buf;
        struct { /* 102 */
            uint32_t status;
            uint32_t num_sections;
            struct vspn_nvsp_section sections[VSPN_NVSP_MAX_SECTIONS];
        } recv_buf_complete;
        struct { /* 103 REVOKE_RECV_BUF and 106 REVOKE_SEND_BUF */
            uint16_t id;
        } revoke;
        struct { /* 105 */
            uint32_t status;
            uint32_t section_size;
        } send_buf_complete;
        struct { /* 107 */
            uint32_t channel_type;
            uint32_t section_index;
            uint32_t section_size;
        } rndis_pkt;
        struct { /* 108 */
            uint32_t status;
        } rndis_pkt_complete;
        struct { /* 125 */
            uint32_t mtu; /* interface MTU + 14 */
            uint64_t caps;
        } ndis_config;
        struct { /* 128 */
            uint32_t allocated;
            uint32_t serial;
        } vf_assoc;
        struct { /* 129 */
            uint32_t active_datapath; /* 0 synthetic, 1 VF */
        } switch_data_path;
        struct { /* 133: request {op, num} or completion {status, num} */
            uint32_t op_or_status;
            uint32_t num;
        } subchannel;
        struct { /* 134 */
            uint32_t count;
            uint32_t offset; /* of the table, from the message start */
            uint32_t table[VSPN_NVSP_INDIRECTION_SIZE];
        } indirection;
    } u;
};

/* ---- Type table ------------------------------------------------------------- */
/* True if `type` is a message type of §3. */
bool vspn_nvsp_type_known(uint32_t type);
/* Short name ("INIT", "SEND_RNDIS_PKT", "CHIMNEY", ...); "?" if unknown. */
const char *vspn_nvsp_type_name(uint32_t type);
/* Bytes a message of `type` must have for the decoder (fixed part only;
 * 102 and 134 need more, see the essay).  0 if the type is unknown. */
uint32_t vspn_nvsp_min_size(uint32_t type);
/* True for the six protocol versions of §2. */
bool vspn_nvsp_version_known(uint32_t version);

/* ---- Decode / encode --------------------------------------------------------- */
/* Decodes `len` bytes of a caller-owned copy.  Returns 0 or -EBADMSG
 * (-EINVAL for NULL arguments).  *msg is zeroed first. */
int vspn_nvsp_decode(const void *buf, size_t len, struct vspn_nvsp_msg *msg);

/* Encodes `msg` into `buf`: max(fields, VSPN_NVSP_MSG_SIZE) bytes, zero
 * padded.  Returns the length, -EMSGSIZE (`size` too small) or -EINVAL
 * (unknown type, num_sections / indirection count or offset invalid). */
int vspn_nvsp_encode(const struct vspn_nvsp_msg *msg, void *buf, size_t size);

#endif /* VSPN_NVSP_H */
