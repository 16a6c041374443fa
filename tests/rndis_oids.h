/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rndis_oids.h — the RNDIS OID allow-list as documented, written out for
 * the tests and fuzz targets that judge it (test_rndis, fuzz_rndis): the
 * table "OID allow-list" of docs/synthetic-nic.md, that is the OIDs of spec
 * nvsp-rndis.md §10 the device takes (all but OFFLOAD_ENCAPSULATION) plus
 * the four NDIS vendor/driver OIDs.  The values are NDIS numbers, not the
 * product's macros, so that the oracle of which OIDs must be answered
 * NOT_SUPPORTED is not the product's own list: an OID added to or dropped
 * from vsp-net/rndis.c without a change here fails the tests.
 */
#ifndef TESTS_RNDIS_OIDS_H
#define TESTS_RNDIS_OIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QUERY */
static const uint32_t rndis_doc_query_oids[] = {
    0x00010101, /* GEN_SUPPORTED_LIST */
    0x00010106, /* GEN_MAXIMUM_FRAME_SIZE */
    0x00010107, /* GEN_LINK_SPEED */
    0x0001010C, /* GEN_VENDOR_ID */
    0x0001010D, /* GEN_VENDOR_DESCRIPTION */
    0x0001010E, /* GEN_CURRENT_PACKET_FILTER */
    0x00010110, /* GEN_DRIVER_VERSION */
    0x00010111, /* GEN_MAXIMUM_TOTAL_SIZE */
    0x00010114, /* GEN_MEDIA_CONNECT_STATUS */
    0x00010116, /* GEN_VENDOR_DRIVER_VERSION */
    0x00010203, /* GEN_RECEIVE_SCALE_CAPABILITIES */
    0x00020216, /* GEN_FRIENDLY_NAME */
    0x01010101, /* 802_3_PERMANENT_ADDRESS */
    0x01010102, /* 802_3_CURRENT_ADDRESS */
    0x01010103, /* 802_3_MULTICAST_LIST */
    0x01010104, /* 802_3_MAXIMUM_LIST_SIZE */
    0xFC01020B, /* TCP_OFFLOAD_CURRENT_CONFIG */
    0xFC01020D, /* TCP_OFFLOAD_HARDWARE_CAPABILITIES */
};

/* SET */
static const uint32_t rndis_doc_set_oids[] = {
    0x0001010E, /* GEN_CURRENT_PACKET_FILTER */
    0x00010204, /* GEN_RECEIVE_SCALE_PARAMETERS */
    0x0001021A, /* GEN_MACHINE_NAME */
    0x0001021B, /* GEN_RNDIS_CONFIG_PARAMETER */
    0x0001021C, /* GEN_VLAN_ID */
    0x01010103, /* 802_3_MULTICAST_LIST */
    0xFC01020C, /* TCP_OFFLOAD_PARAMETERS */
};

/* QUERY ∪ SET: the GEN_SUPPORTED_LIST answer ("the 23 OIDs"). */
#define RNDIS_DOC_N_OIDS 23u

#define RNDIS_DOC_N(a) (sizeof(a) / sizeof((a)[0]))

static inline bool rndis_doc_oid_allowed(uint32_t oid, bool set)
{
    const uint32_t *l = set ? rndis_doc_set_oids : rndis_doc_query_oids;
    size_t n = set ? RNDIS_DOC_N(rndis_doc_set_oids)
                   : RNDIS_DOC_N(rndis_doc_query_oids);

    for (size_t i = 0; i < n; i++)
        if (l[i] == oid)
            return true;
    return false;
}

#endif /* TESTS_RNDIS_OIDS_H */
