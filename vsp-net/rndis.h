/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rndis.h — RNDIS as spoken over NVSP by the synthetic NIC: message
 * layouts, a strict decoder, encoders for both directions, per-packet-info
 * (PPI) parsing and building, and the "RNDIS device" — the closed OID set
 * the host answers and the control-message handler the VSP runs.
 *
 * Design
 * ------
 * Every RNDIS message is {type u32, length u32, body} (spec nvsp-rndis.md
 * §8-§9); offsets inside QUERY/SET/QUERY_CMPLT/INDICATE_STATUS/PACKET are
 * counted from byte 8 ("rel-8").  The decoder takes a caller-owned copy
 * (the VSP assembles guest bytes into a private buffer first), reads each
 * field once into `struct vspn_rndis_msg`, and hands back pointers into
 * that same copy for the variable parts (information buffer, status
 * buffer, frame data, PPI block).
 *
 * Length and offset rules (-EBADMSG, with `err_offset` = byte offset of the
 * offending field, which goes into the diagnostic INDICATE_STATUS of
 * [MS-RNDIS] / spec §13.2):
 *  * buffer < 8; MessageLength < 8, < the type's fixed size, or > buffer;
 *  * type not one of §8 (requests and completions);
 *  * QUERY / SET / QUERY_CMPLT / INDICATE_STATUS: with a non-zero length
 *    the buffer must start at or after the fixed part and end inside
 *    MessageLength, computed in 64 bits (offset + 8 + length cannot wrap);
 *    with a zero length the offset must be 0 or inside the message;
 *  * PACKET: data_length ≠ 0 and the data inside the message after the
 *    44-byte header; OOB must be empty (unused by every guest, §9); a PPI
 *    block, when present, lies after the header, inside the message, and
 *    does not overlap the data.
 * MessageLength is authoritative for message boundaries inside a
 * multi-packet send (§5.2): the decoder reads one message and nothing of
 * the buffer after MessageLength.  The VSP takes the next message of a
 * data send from there; fewer than 8 bytes (a header) after the last
 * message are ignored, 8 or more are decoded as a message and must be
 * one.  A control send carries one message; bytes after it are ignored.
 *
 * PPI (§11): records {size, type, data offset, data}.  The walker bounds
 * every step by the bytes left: a record smaller than its 12-byte header,
 * larger than what is left, not a multiple of 4, with a data offset below
 * 12 or beyond its size, a known type whose data is shorter than its u32,
 * a known type seen twice (two VLAN tags: which one wins?), or more than
 * VSPN_RNDIS_PPI_MAX_RECORDS records → -EBADMSG; the packet is dropped and
 * counted by the caller.  Unknown types are skipped.
 *
 * The device (`struct vspn_rndis_dev`) is plain state: MACs, MTU, link,
 * filter, multicast list, NDIS version.  vspn_rndis_ctrl() turns one
 * decoded control message into its completion.  QUERY and SET go through
 * a closed allow-list (vspn_rndis_oid_allowed()): every other OID is
 * answered NOT_SUPPORTED without reading its information buffer — the
 * payload is never interpreted, never used as a pointer, length or handle
 * (the CVE-2021-28476 class, TESTS.md A.5).  Allowed OIDs validate their
 * input exactly (length, NDIS object header type/revision/size, embedded
 * offsets); bad input answers INVALID_LENGTH / INVALID_DATA and changes
 * nothing.  Offload capabilities are answered truthfully: the host does no
 * checksum, LSO, RSC or IPsec offload, so it claims none, and a request to
 * enable one is refused (NOT_SUPPORTED); RSS capabilities say one queue.
 * Vendor/driver OIDs (VENDOR_ID 0x0001010C, VENDOR_DESCRIPTION 0x0001010D,
 * DRIVER_VERSION 0x00010110, VENDOR_DRIVER_VERSION 0x00010116) are the
 * standard NDIS values; they are not in the spec digest, which lists only
 * what netvsc guests query.
 *
 * Thread-safety
 * -------------
 * Codec functions are pure.  A vspn_rndis_dev is owned by one thread (the
 * VSP's service thread); no internal locking.
 */
#ifndef VSPN_RNDIS_H
#define VSPN_RNDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_mac.h"

/* ---- Message types (§8) ------------------------------------------------- */
#define VSPN_RNDIS_MSG_PACKET 0x00000001u
#define VSPN_RNDIS_MSG_INIT 0x00000002u
#define VSPN_RNDIS_MSG_HALT 0x00000003u
#define VSPN_RNDIS_MSG_QUERY 0x00000004u
#define VSPN_RNDIS_MSG_SET 0x00000005u
#define VSPN_RNDIS_MSG_RESET 0x00000006u
#define VSPN_RNDIS_MSG_INDICATE_STATUS 0x00000007u
#define VSPN_RNDIS_MSG_KEEPALIVE 0x00000008u
#define VSPN_RNDIS_MSG_COMPLETION 0x80000000u
#define VSPN_RNDIS_MSG_INIT_CMPLT 0x80000002u
#define VSPN_RNDIS_MSG_QUERY_CMPLT 0x80000004u
#define VSPN_RNDIS_MSG_SET_CMPLT 0x80000005u
#define VSPN_RNDIS_MSG_RESET_CMPLT 0x80000006u
#define VSPN_RNDIS_MSG_KEEPALIVE_CMPLT 0x80000008u

/* Fixed sizes (§9). */
#define VSPN_RNDIS_HDR_SIZE 8u
#define VSPN_RNDIS_INIT_SIZE 24u
#define VSPN_RNDIS_INIT_CMPLT_SIZE 52u
#define VSPN_RNDIS_HALT_SIZE 12u
#define VSPN_RNDIS_QUERY_SIZE 28u
#define VSPN_RNDIS_QUERY_CMPLT_SIZE 24u
#define VSPN_RNDIS_SET_SIZE 28u
#define VSPN_RNDIS_SET_CMPLT_SIZE 16u
#define VSPN_RNDIS_RESET_SIZE 12u
#define VSPN_RNDIS_RESET_CMPLT_SIZE 16u
#define VSPN_RNDIS_INDICATE_SIZE 20u
#define VSPN_RNDIS_KEEPALIVE_SIZE 12u
#define VSPN_RNDIS_KEEPALIVE_CMPLT_SIZE 16u
#define VSPN_RNDIS_PACKET_SIZE 44u
#define VSPN_RNDIS_PPI_HDR_SIZE 12u
#define VSPN_RNDIS_PPI_MAX_RECORDS 16u

/* INIT / INIT_CMPLT values (§9). */
#define VSPN_RNDIS_MAJOR 1u
#define VSPN_RNDIS_MINOR 0u
#define VSPN_RNDIS_DF_CONNECTIONLESS 1u
#define VSPN_RNDIS_MEDIUM_802_3 0u
#define VSPN_RNDIS_MAX_XFER_GUEST 0x4000u /* what guests request */
#define VSPN_RNDIS_MAX_PKTS 8u /* INIT_CMPLT max_packets_per_message */

/* ---- Status codes (§9.1) ------------------------------------------------ */
#define VSPN_RNDIS_STATUS_SUCCESS 0x00000000u
#define VSPN_RNDIS_STATUS_PENDING 0x00000103u
#define VSPN_RNDIS_STATUS_BUFFER_OVERFLOW 0x80000005u
#define VSPN_RNDIS_STATUS_ONLINE 0x40010003u
#define VSPN_RNDIS_STATUS_RESET_START 0x40010004u
#define VSPN_RNDIS_STATUS_RESET_END 0x40010005u
#define VSPN_RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define VSPN_RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define VSPN_RNDIS_STATUS_MEDIA_SPECIFIC_INDICATION 0x40010012u
#define VSPN_RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u
#define VSPN_RNDIS_STATUS_NETWORK_CHANGE 0x40010018u
#define VSPN_RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG 0x40020006u
#define VSPN_RNDIS_STATUS_FAILURE 0xC0000001u
#define VSPN_RNDIS_STATUS_RESOURCES 0xC000009Au
#define VSPN_RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define VSPN_RNDIS_STATUS_INVALID_PACKET 0xC001000Fu
#define VSPN_RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define VSPN_RNDIS_STATUS_INVALID_DATA 0xC0010015u
#define VSPN_RNDIS_STATUS_BUFFER_TOO_SHORT 0xC0010016u
#define VSPN_RNDIS_STATUS_INVALID_OID 0xC0010017u
#define VSPN_RNDIS_STATUS_UNSUPPORTED_MEDIA 0xC0010019u

/* ---- OIDs (§10) --------------------------------------------------------- */
#define VSPN_OID_GEN_SUPPORTED_LIST 0x00010101u
#define VSPN_OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u
#define VSPN_OID_GEN_LINK_SPEED 0x00010107u
#define VSPN_OID_GEN_VENDOR_ID 0x0001010Cu            /* NDIS, see essay */
#define VSPN_OID_GEN_VENDOR_DESCRIPTION 0x0001010Du   /* NDIS */
#define VSPN_OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu
#define VSPN_OID_GEN_DRIVER_VERSION 0x00010110u       /* NDIS */
#define VSPN_OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define VSPN_OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u
#define VSPN_OID_GEN_VENDOR_DRIVER_VERSION 0x00010116u /* NDIS */
#define VSPN_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define VSPN_OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u
#define VSPN_OID_GEN_MACHINE_NAME 0x0001021Au
#define VSPN_OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu
#define VSPN_OID_GEN_VLAN_ID 0x0001021Cu
#define VSPN_OID_GEN_FRIENDLY_NAME 0x00020216u
#define VSPN_OID_802_3_PERMANENT_ADDRESS 0x01010101u
#define VSPN_OID_802_3_CURRENT_ADDRESS 0x01010102u
#define VSPN_OID_802_3_MULTICAST_LIST 0x01010103u
#define VSPN_OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define VSPN_OID_OFFLOAD_ENCAPSULATION 0x0101010Au
#define VSPN_OID_TCP_OFFLOAD_CURRENT_CONFIG 0xFC01020Bu
#define VSPN_OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu
#define VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du

/* Packet filter bits (§10.1). */
#define VSPN_RNDIS_FILTER_DIRECTED 0x00000001u
#define VSPN_RNDIS_FILTER_MULTICAST 0x00000002u
#define VSPN_RNDIS_FILTER_ALL_MULTICAST 0x00000004u
#define VSPN_RNDIS_FILTER_BROADCAST 0x00000008u
#define VSPN_RNDIS_FILTER_SOURCE_ROUTING 0x00000010u
#define VSPN_RNDIS_FILTER_PROMISCUOUS 0x00000020u
#define VSPN_RNDIS_FILTER_SMT 0x00000040u
#define VSPN_RNDIS_FILTER_ALL_LOCAL 0x00000080u
#define VSPN_RNDIS_FILTER_GROUP 0x00001000u
#define VSPN_RNDIS_FILTER_ALL_FUNCTIONAL 0x00002000u
#define VSPN_RNDIS_FILTER_FUNCTIONAL 0x00004000u
#define VSPN_RNDIS_FILTER_MAC_FRAME 0x00008000u
/* The bits this device implements; others answer NOT_SUPPORTED. */
#define VSPN_RNDIS_FILTER_SUPPORTED                                          \
    (VSPN_RNDIS_FILTER_DIRECTED | VSPN_RNDIS_FILTER_MULTICAST |              \
     VSPN_RNDIS_FILTER_ALL_MULTICAST | VSPN_RNDIS_FILTER_BROADCAST |         \
     VSPN_RNDIS_FILTER_PROMISCUOUS)

/* NDIS object header types (§10.0) and object sizes (§10.2-§10.5). */
#define VSPN_NDIS_OBJTYPE_DEFAULT 0x80u
#define VSPN_NDIS_OBJTYPE_RSS_CAPS 0x88u
#define VSPN_NDIS_OBJTYPE_RSS_PARAMS 0x89u
#define VSPN_NDIS_OBJTYPE_OFFLOAD 0xA7u
#define VSPN_NDIS_OFFLOAD_SIZE_REV1 112u
#define VSPN_NDIS_OFFLOAD_SIZE_REV2 144u
#define VSPN_NDIS_OFFLOAD_SIZE_REV3 156u
#define VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV2 22u
#define VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV3 28u
#define VSPN_NDIS_RSS_CAPS_SIZE_REV1 16u
#define VSPN_NDIS_RSS_CAPS_SIZE_REV2 18u
#define VSPN_NDIS_RSS_PARAMS_SIZE_REV1 28u
#define VSPN_NDIS_RSS_PARAMS_SIZE_REV2 40u
#define VSPN_NDIS_RSS_FLAG_DISABLE 0x10u
#define VSPN_NDIS_RSS_FLAG_TABLE_UNCHANGED 0x04u
#define VSPN_NDIS_RSS_FLAG_KEY_UNCHANGED 0x08u
#define VSPN_NDIS_RSS_TABLE_MAX 128u /* entries */
#define VSPN_NDIS_RSS_KEY_MAX 40u
#define VSPN_RNDIS_CONFIG_PARAM_HDR 20u /* §10.6 block */

/* ---- Per-packet info (§11) ---------------------------------------------- */
#define VSPN_PPI_CHECKSUM 0u
#define VSPN_PPI_IPSEC 1u
#define VSPN_PPI_LSO 2u
#define VSPN_PPI_CLASSIFICATION 3u
#define VSPN_PPI_SG_LIST 5u
#define VSPN_PPI_IEEE8021Q 6u
#define VSPN_PPI_ORIGINAL_PKT 7u
#define VSPN_PPI_HASH_VALUE 8u
#define VSPN_PPI_HASH_INFO 9u
#define VSPN_PPI_CACHED_NBL 10u
#define VSPN_PPI_SHORT_PAD 11u
#define VSPN_PPI_PACKET_ID 0x80000001u

/* TX checksum info bits (§11). */
#define VSPN_PPI_TXCSUM_IPV4 0x01u
#define VSPN_PPI_TXCSUM_IPV6 0x02u
#define VSPN_PPI_TXCSUM_TCP 0x04u
#define VSPN_PPI_TXCSUM_UDP 0x08u
#define VSPN_PPI_TXCSUM_IP 0x10u
#define VSPN_PPI_TXCSUM_HDR_OFFSET(v) (((v) >> 16) & 0x3FFu)

/* Parsed PPI block.  vlan_tci = PCP << 13 | CFI(DEI) << 12 | VID, the
 * 802.1Q TCI layout; the wire u32 has priority in bits 0-2, CFI in bit 3
 * and the VLAN id in bits 4-15. */
struct vspn_rndis_ppi {
    bool has_vlan;
    bool has_csum;
    bool has_lso;
    bool has_hash_value;
    bool has_hash_info;
    bool has_pkt_id;
    uint16_t vlan_tci;
    uint32_t csum;
    uint32_t lso;
    uint32_t hash_value;
    uint32_t hash_info;
    uint32_t pkt_id;
    uint32_t nrecords;
    uint32_t err_offset; /* on -EBADMSG: offset in the PPI block */
};

/* ---- Decoded message ------------------------------------------------------ */
struct vspn_rndis_msg {
    uint32_t type;
    uint32_t len;        /* MessageLength, validated ≤ buffer */
    uint32_t err_offset; /* on -EBADMSG: offending field's offset */
    union {
        struct {
            uint32_t request_id;
            uint32_t major;
            uint32_t minor;
            uint32_t max_xfer;
        } init;
        struct {
            uint32_t request_id;
            uint32_t status;
            uint32_t major;
            uint32_t minor;
            uint32_t device_flags;
            uint32_t medium;
            uint32_t max_pkts;
            uint32_t max_xfer;
            uint32_t align_factor;
            uint32_t af_list_offset;
            uint32_t af_list_size;
        } init_cmplt;
        struct { /* HALT, KEEPALIVE */
            uint32_t request_id;
        } req;
        struct { /* QUERY, SET */
            uint32_t request_id;
            uint32_t oid;
            const uint8_t *info; /* NULL when info_len == 0 */
            uint32_t info_len;
        } oid;
        struct { /* QUERY_CMPLT */
            uint32_t request_id;
            uint32_t status;
            const uint8_t *info;
            uint32_t info_len;
        } query_cmplt;
        struct { /* SET_CMPLT, KEEPALIVE_CMPLT */
            uint32_t request_id;
            uint32_t status;
        } cmplt;
        struct {
            uint32_t status;
            uint32_t addressing_reset;
        } reset_cmplt;
        struct {
            uint32_t status;
            const uint8_t *buf;
            uint32_t buf_len;
        } indicate;
        struct {
            const uint8_t *data;
            uint32_t data_len;
            const uint8_t *ppi; /* NULL when ppi_len == 0 */
            uint32_t ppi_len;
        } packet;
    } u;
};

/* ---- Codec ---------------------------------------------------------------- */
/* Fixed size of message `type` (0 if unknown). */
uint32_t vspn_rndis_min_size(uint32_t type);
const char *vspn_rndis_type_name(uint32_t type);

/* Decodes one message at the start of `buf` (caller-owned copy, `len`
 * bytes available).  Returns 0 or -EBADMSG (m->err_offset set); -EINVAL on
 * NULL arguments. */
int vspn_rndis_decode(const void *buf, size_t len, struct vspn_rndis_msg *m);

/* Walks a PPI block.  0 or -EBADMSG (out->err_offset set). */
int vspn_rndis_ppi_parse(const uint8_t *ppi, uint32_t len,
                         struct vspn_rndis_ppi *out);

/* Bytes of PPI vspn_rndis_packet_hdr() emits for `ppi` (16 per u32 PPI). */
uint32_t vspn_rndis_ppi_size(const struct vspn_rndis_ppi *ppi);

/* Writes a PACKET header (44 bytes) plus the PPIs of `ppi` (VLAN, checksum,
 * LSO, hash value, hash info; NULL = none) for a frame of `frame_len`
 * bytes that the caller appends right after.  Returns the header length
 * (= absolute data offset) or -EMSGSIZE. */
int vspn_rndis_packet_hdr(void *buf, size_t cap,
                          const struct vspn_rndis_ppi *ppi,
                          uint32_t frame_len);

/* Guest-side request encoders.  Return the length or -EMSGSIZE. */
int vspn_rndis_encode_init(void *buf, size_t cap, uint32_t request_id,
                           uint32_t max_xfer);
int vspn_rndis_encode_halt(void *buf, size_t cap, uint32_t request_id);
int vspn_rndis_encode_reset(void *buf, size_t cap);
int vspn_rndis_encode_keepalive(void *buf, size_t cap, uint32_t request_id);
/* QUERY (type VSPN_RNDIS_MSG_QUERY) or SET: header + `in` at offset 28. */
int vspn_rndis_encode_oid(void *buf, size_t cap, uint32_t type,
                          uint32_t request_id, uint32_t oid, const void *in,
                          uint32_t in_len);

/* Device-side encoders. */
int vspn_rndis_encode_init_cmplt(void *buf, size_t cap, uint32_t request_id,
                                 uint32_t status, uint32_t max_pkts,
                                 uint32_t max_xfer, uint32_t align_factor);
int vspn_rndis_encode_query_cmplt(void *buf, size_t cap, uint32_t request_id,
                                  uint32_t status, const void *info,
                                  uint32_t info_len);
/* SET_CMPLT, KEEPALIVE_CMPLT. */
int vspn_rndis_encode_cmplt(void *buf, size_t cap, uint32_t type,
                            uint32_t request_id, uint32_t status);
int vspn_rndis_encode_reset_cmplt(void *buf, size_t cap, uint32_t status,
                                  uint32_t addressing_reset);
int vspn_rndis_encode_indicate(void *buf, size_t cap, uint32_t status,
                               const void *sbuf, uint32_t sbuf_len);
/* INDICATE_STATUS(INVALID_DATA) with the diagnostic block {diag_status,
 * error_offset} followed by at most `max_copy` bytes of the offending
 * message (§13.2). */
int vspn_rndis_encode_invalid(void *buf, size_t cap, uint32_t diag_status,
                              uint32_t error_offset, const void *orig,
                              uint32_t orig_len, uint32_t max_copy);

/* ---- The device ----------------------------------------------------------- */
enum vspn_rndis_state {
    VSPN_RNDIS_UNINITIALIZED,
    VSPN_RNDIS_INITIALIZED,
    VSPN_RNDIS_HALTED,
};

#define VSPN_RNDIS_MCAST_MAX 32u
#define VSPN_RNDIS_NAME_MAX 64u
/* Largest completion vspn_rndis_ctrl() produces (QUERY_CMPLT with the
 * offload object or the supported list, or the diagnostic indication). */
#define VSPN_RNDIS_CTRL_MAX 512u
#define VSPN_RNDIS_DIAG_COPY_MAX 64u

struct vspn_rndis_dev {
    enum vspn_rndis_state state;
    struct vsa_mac perm_mac;
    struct vsa_mac cur_mac;
    uint32_t mtu;          /* max payload after the Ethernet header */
    uint32_t link_speed;   /* units of 100 bit/s */
    bool link_up;
    bool allow_mac_change; /* honour RNDIS_CONFIG_PARAMETER NetworkAddress */
    uint32_t ndis_version; /* major << 16 | minor; picks object revisions */
    uint32_t filter;
    uint32_t nmcast;
    struct vsa_mac mcast[VSPN_RNDIS_MCAST_MAX];
    uint32_t vlan_id;      /* OID_GEN_VLAN_ID, recorded only */
    uint32_t max_pkts;     /* INIT_CMPLT max_packets_per_message */
    uint32_t max_xfer;     /* INIT_CMPLT max_transfer_size */
    uint32_t align_factor; /* INIT_CMPLT packet_alignment_factor */
    uint32_t guest_max_xfer; /* the guest's INIT max_transfer_size */
    char friendly_name[VSPN_RNDIS_NAME_MAX]; /* ASCII, sent as UTF-16LE */
    bool mac_changed;      /* set when a SET changed cur_mac */
};

/* Fills defaults: UNINITIALIZED, MACs = mac, mtu, 10 Gbit/s, link up,
 * NDIS 6.30, filter 0, max_pkts 8, max_xfer 65536, alignment 2^3. */
void vspn_rndis_dev_init(struct vspn_rndis_dev *d, const struct vsa_mac *mac,
                         uint32_t mtu);

/* True if `oid` is in the allow-list for QUERY (set == false) or SET. */
bool vspn_rndis_oid_allowed(uint32_t oid, bool set);
/* The allow-listed OIDs (the SUPPORTED_LIST answer).  Returns the count and
 * sets *oids to a static array. */
unsigned vspn_rndis_oid_list(const uint32_t **oids);

/* QUERY: writes the information buffer into out (≤ cap) and its size into
 * *out_len; returns the RNDIS status (NOT_SUPPORTED for any OID outside
 * the allow-list, with *out_len = 0 and `in` untouched). */
uint32_t vspn_rndis_query(const struct vspn_rndis_dev *d, uint32_t oid,
                          const uint8_t *in, uint32_t in_len, uint8_t *out,
                          uint32_t cap, uint32_t *out_len);
/* SET: returns the RNDIS status; the device changes only on SUCCESS. */
uint32_t vspn_rndis_set(struct vspn_rndis_dev *d, uint32_t oid,
                        const uint8_t *in, uint32_t in_len);

/* Handles one decoded control message (INIT, HALT, QUERY, SET, RESET,
 * KEEPALIVE) and writes its completion into `out`.  Returns the completion
 * length, 0 when the message has none (HALT), -EPROTO for a type the
 * device does not accept from the guest (PACKET, INDICATE_STATUS,
 * completions) or a request outside the RNDIS state that allows it (QUERY/
 * SET/RESET/KEEPALIVE before INIT or after HALT are answered with status
 * FAILURE and return the length; -EPROTO is returned only when no
 * completion exists), -EMSGSIZE if cap < VSPN_RNDIS_CTRL_MAX. */
int vspn_rndis_ctrl(struct vspn_rndis_dev *d, const struct vspn_rndis_msg *m,
                    uint8_t *out, size_t cap);

/* Packet-filter decision for a frame whose destination MAC is `dst`. */
bool vspn_rndis_filter_pass(const struct vspn_rndis_dev *d,
                            const uint8_t dst[6]);

#endif /* VSPN_RNDIS_H */
