/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_private.h — the state of the emulated DEC 21140A shared by the
 * files of the model (vsp-net internal, not for the glue):
 *   tulip.c         PCI configuration space, CSRs, reset, process states,
 *                   interrupt line, entry/exit guard (no re-entry);
 *   tulip_desc.c    transmit and receive descriptor walking and DMA;
 *   tulip_filter.c  setup frame, perfect/hash/inverse/hash-only filter, CRC;
 *   tulip_srom.c    93C46 serial ROM and MII PHY behind CSR9.
 * Section numbers refer to ../shared/spec/dec21140.md.
 */
#ifndef VSPN_TULIP_PRIVATE_H
#define VSPN_TULIP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsp-net/tulip.h"

/* ---- CSR0 bus mode (§3.1) ------------------------------------------------- */
#define VSPN_TULIP_CSR0_SWR (1u << 0)
#define VSPN_TULIP_CSR0_DSL_SHIFT 2
#define VSPN_TULIP_CSR0_DSL_MASK 0x1fu
#define VSPN_TULIP_CSR0_TAP_SHIFT 17
#define VSPN_TULIP_CSR0_TAP_MASK 0x7u
#define VSPN_TULIP_CSR0_DBO (1u << 20)

/* ---- CSR5 status (§3.3) --------------------------------------------------- */
#define VSPN_TULIP_CSR5_TI (1u << 0)
#define VSPN_TULIP_CSR5_TPS (1u << 1)
#define VSPN_TULIP_CSR5_TU (1u << 2)
#define VSPN_TULIP_CSR5_TJT (1u << 3)
#define VSPN_TULIP_CSR5_LNP (1u << 4)
#define VSPN_TULIP_CSR5_UNF (1u << 5)
#define VSPN_TULIP_CSR5_RI (1u << 6)
#define VSPN_TULIP_CSR5_RU (1u << 7)
#define VSPN_TULIP_CSR5_RPS (1u << 8)
#define VSPN_TULIP_CSR5_RWT (1u << 9)
#define VSPN_TULIP_CSR5_ETI (1u << 10)
#define VSPN_TULIP_CSR5_GTE (1u << 11)
#define VSPN_TULIP_CSR5_LNF (1u << 12)
#define VSPN_TULIP_CSR5_FBE (1u << 13)
#define VSPN_TULIP_CSR5_ERI (1u << 14)
#define VSPN_TULIP_CSR5_AIS (1u << 15)
#define VSPN_TULIP_CSR5_NIS (1u << 16)
#define VSPN_TULIP_CSR5_W1C 0x0001ffffu
/* Summary membership: NIS ORs the enabled normal sources, AIS the enabled
 * abnormal ones (§3.3; GTE and the link bits counted abnormal). */
#define VSPN_TULIP_CSR5_NORMAL                                                \
    (VSPN_TULIP_CSR5_TI | VSPN_TULIP_CSR5_TU | VSPN_TULIP_CSR5_RI |          \
     VSPN_TULIP_CSR5_ERI)
#define VSPN_TULIP_CSR5_ABNORMAL                                              \
    (VSPN_TULIP_CSR5_TPS | VSPN_TULIP_CSR5_TJT | VSPN_TULIP_CSR5_LNP |       \
     VSPN_TULIP_CSR5_UNF | VSPN_TULIP_CSR5_RU | VSPN_TULIP_CSR5_RPS |        \
     VSPN_TULIP_CSR5_RWT | VSPN_TULIP_CSR5_ETI | VSPN_TULIP_CSR5_GTE |       \
     VSPN_TULIP_CSR5_LNF | VSPN_TULIP_CSR5_FBE)
#define VSPN_TULIP_CSR5_RS_SHIFT 17
#define VSPN_TULIP_CSR5_TS_SHIFT 20
#define VSPN_TULIP_CSR5_EB_SHIFT 23
#define VSPN_TULIP_CSR5_STATE_MASK 7u

/* Receive process states (CSR5 RS) and transmit process states (TS). */
#define VSPN_TULIP_RS_STOPPED 0u
#define VSPN_TULIP_RS_WAITING 3u   /* running, waiting for a packet */
#define VSPN_TULIP_RS_SUSPENDED 4u
#define VSPN_TULIP_RS_QUEUING 7u   /* running, moving a frame to memory */
#define VSPN_TULIP_TS_STOPPED 0u
#define VSPN_TULIP_TS_FETCHING 1u
#define VSPN_TULIP_TS_SETUP 5u
#define VSPN_TULIP_TS_SUSPENDED 6u
#define VSPN_TULIP_EB_MASTER_ABORT 1u

/* ---- CSR6 operation mode (§3.4) ------------------------------------------- */
#define VSPN_TULIP_CSR6_HP (1u << 0)
#define VSPN_TULIP_CSR6_SR (1u << 1)
#define VSPN_TULIP_CSR6_HO (1u << 2)
#define VSPN_TULIP_CSR6_IF (1u << 4)
#define VSPN_TULIP_CSR6_PR (1u << 6)
#define VSPN_TULIP_CSR6_PM (1u << 7)
#define VSPN_TULIP_CSR6_OM_SHIFT 10
#define VSPN_TULIP_CSR6_ST (1u << 13)
#define VSPN_TULIP_CSR6_PS (1u << 18)
#define VSPN_TULIP_CSR6_TTM (1u << 22)
#define VSPN_TULIP_CSR6_RA (1u << 30)

/* ---- CSR11 general-purpose timer (§3.8) ----------------------------------- */
#define VSPN_TULIP_CSR11_COUNT 0x0000ffffu
#define VSPN_TULIP_CSR11_CON (1u << 16)
/* One count (tulip.h, vspn_tulip_gp_timer_ns): 100 Mb/s MII, 10 Mb/s
 * MII, 10 Mb/s serial port. */
#define VSPN_TULIP_GPT_TICK_100_NS 81920u
#define VSPN_TULIP_GPT_TICK_MII10_NS 819200u
#define VSPN_TULIP_GPT_TICK_SRL_NS 204800u

/* ---- CSR9 serial ROM / MII (§3.7) ----------------------------------------- */
#define VSPN_TULIP_CSR9_SCS (1u << 0)
#define VSPN_TULIP_CSR9_SCLK (1u << 1)
#define VSPN_TULIP_CSR9_SDI (1u << 2)
#define VSPN_TULIP_CSR9_SDO (1u << 3)
#define VSPN_TULIP_CSR9_SR (1u << 11)
#define VSPN_TULIP_CSR9_MDC (1u << 16)
#define VSPN_TULIP_CSR9_MDO (1u << 17)
#define VSPN_TULIP_CSR9_MII (1u << 18)
#define VSPN_TULIP_CSR9_MDI (1u << 19)
/* bits that read back as written: 2:0 and 18:10 */
#define VSPN_TULIP_CSR9_KEEP 0x0007fc07u

/* ---- CSR12 general-purpose port (§3.9) ------------------------------------ */
#define VSPN_TULIP_CSR12_GPC (1u << 8)
#define VSPN_TULIP_GP_LINK_PIN (1u << 7) /* input: reads 1 while link is up */

/* ---- descriptors (§4) ----------------------------------------------------- */
#define VSPN_TULIP_DESC_SIZE 16u
#define VSPN_TULIP_OWN (1u << 31)
/* RDES0 */
#define VSPN_TULIP_RDES0_FF (1u << 30)
#define VSPN_TULIP_RDES0_FL_SHIFT 16
#define VSPN_TULIP_RDES0_ES (1u << 15)
#define VSPN_TULIP_RDES0_DE (1u << 14)
#define VSPN_TULIP_RDES0_DT_SHIFT 12
#define VSPN_TULIP_RDES0_MF (1u << 10)
#define VSPN_TULIP_RDES0_FS (1u << 9)
#define VSPN_TULIP_RDES0_LS (1u << 8)
#define VSPN_TULIP_RDES0_FT (1u << 5)
/* RDES1 */
#define VSPN_TULIP_RDES1_RER (1u << 25)
#define VSPN_TULIP_RDES1_RCH (1u << 24)
/* TDES0 */
#define VSPN_TULIP_TDES0_ES (1u << 15)
#define VSPN_TULIP_TDES0_TO (1u << 14)
/* TDES1 */
#define VSPN_TULIP_TDES1_IC (1u << 31)
#define VSPN_TULIP_TDES1_LS (1u << 30)
#define VSPN_TULIP_TDES1_FS (1u << 29)
#define VSPN_TULIP_TDES1_FT1 (1u << 28)
#define VSPN_TULIP_TDES1_SET (1u << 27)
#define VSPN_TULIP_TDES1_TER (1u << 25)
#define VSPN_TULIP_TDES1_TCH (1u << 24)
#define VSPN_TULIP_TDES1_DPD (1u << 23)
#define VSPN_TULIP_TDES1_FT0 (1u << 22)
#define VSPN_TULIP_BS_MASK 0x7ffu /* TBS1/TBS2/RBS1/RBS2: 11 bits */
#define VSPN_TULIP_BS2_SHIFT 11

#define VSPN_TULIP_ETH_HDR 14u
#define VSPN_TULIP_ETH_MIN 60u  /* without CRC: shorter frames are padded */
#define VSPN_TULIP_FCS 4u

/* ---- address filter (§5) -------------------------------------------------- */
enum vspn__tulip_filter_mode {
    VSPN_TULIP_FILTER_PERFECT = 0,   /* FT1:FT0 = 00 */
    VSPN_TULIP_FILTER_HASH = 1,      /* 01: multicast hashed, 1 perfect */
    VSPN_TULIP_FILTER_INVERSE = 2,   /* 10 */
    VSPN_TULIP_FILTER_HASH_ONLY = 3, /* 11 */
};
#define VSPN_TULIP_PERFECT_LEN 16u
#define VSPN_TULIP_HASH_BITS 512u

/* ---- MII PHY (§8) --------------------------------------------------------- */
#define VSPN_TULIP_PHY_ADDR 1u
#define VSPN_TULIP_PHY_ID1 0x7810u
#define VSPN_TULIP_PHY_ID2 0x0003u
#define VSPN_TULIP_BMCR_DEFAULT 0x3100u  /* AN enable, 100 Mb/s, full duplex */
#define VSPN_TULIP_BMSR_BASE 0x7809u     /* 100/10 FD/HD, AN able, ext */
#define VSPN_TULIP_BMSR_LINK 0x0004u
#define VSPN_TULIP_BMSR_ANC 0x0020u
#define VSPN_TULIP_ANAR_DEFAULT 0x01e1u  /* 100FD 100HD 10FD 10HD, 802.3 */
#define VSPN_TULIP_ANLPAR_UP 0x45e1u     /* ack + the same abilities */

#define VSPN_TULIP_SROM_WORDS 64u /* 93C46, 6-bit addresses */

struct vspn__tulip_srom {
    uint16_t words[VSPN_TULIP_SROM_WORDS];
    uint8_t state;  /* enum in tulip_srom.c */
    uint8_t nbits;  /* command bits collected */
    uint8_t bitpos; /* next data bit (0 = D15) */
    uint8_t addr;
    uint16_t cmd;
    bool dout;      /* level on SDO (1 = released) */
};

struct vspn__tulip_mii {
    uint8_t state;   /* enum in tulip_srom.c */
    uint8_t nbits;
    uint8_t rd_edge; /* clock edges since a read command */
    uint8_t phy, reg;
    uint32_t ones;   /* preamble ones seen (saturates) */
    uint32_t shift;
    uint16_t rd_val;
    bool out;        /* level the PHY drives on MDIO (1 = released) */
    uint16_t bmcr, anar;
};

struct vspn_tulip {
    struct vspn_tulip_ops ops;
    void *ctx;
    struct vspn_tulip_stats stats;
    struct vsa_mac mac;
    bool link_up;

    /* Stored CSR values.  CSR1/2 (poll demand), CSR8 (missed), CSR9
     * (ROM/MII lines) and CSR12 (pins) are composed on read. */
    uint32_t csr[VSPN_TULIP_NCSR];
    uint32_t missed;   /* CSR8 16:0 */
    uint32_t csr9;     /* last value written to CSR9 */
    uint8_t gp_dir, gp_data;

    uint32_t rx_cur, tx_cur; /* current descriptor addresses */
    bool tx_pending;         /* budget exhausted with the process running,
                              * or a fetch stalled without bus mastering */

    /* CSR11 timer: its period while it runs (0: stopped), and the count
     * of (re)starts the caller compares (vspn_tulip_gp_timer_ns). */
    uint64_t gpt_ns;
    uint32_t gpt_starts;

    /* Transmit frame being assembled (FS seen, LS not yet). */
    bool tx_in_frame;
    bool tx_bad;             /* over VSPN_TULIP_MAX_FRAME or MAX_CHAIN */
    uint32_t tx_len, tx_ndesc;
    uint8_t tx_buf[VSPN_TULIP_MAX_FRAME];
    /* A received (or looped-back) frame, padded, with its FCS. */
    uint8_t rx_buf[VSPN_TULIP_MAX_FRAME + VSPN_TULIP_FCS];

    /* Address filter, loaded by setup frames (§5). */
    bool filter_valid; /* false until the first setup frame */
    uint8_t filter_mode;
    uint8_t perfect[VSPN_TULIP_PERFECT_LEN][6];
    uint8_t hash[VSPN_TULIP_HASH_BITS / 8];

    struct vspn__tulip_srom srom;
    struct vspn__tulip_mii mii;

    uint32_t cfg[VSPN_TULIP_CFG_SIZE / 4]; /* PCI configuration dwords */

    unsigned depth; /* inside an entry point: 1; never more */
    bool irq_level;
};

/* ---- tulip.c -------------------------------------------------------------- */
static inline unsigned vspn__tulip_rs(const struct vspn_tulip *t)
{
    return (t->csr[5] >> VSPN_TULIP_CSR5_RS_SHIFT) & VSPN_TULIP_CSR5_STATE_MASK;
}

static inline unsigned vspn__tulip_ts(const struct vspn_tulip *t)
{
    return (t->csr[5] >> VSPN_TULIP_CSR5_TS_SHIFT) & VSPN_TULIP_CSR5_STATE_MASK;
}

/* PCI command bit 2: the device may master the bus (DMA). */
static inline bool vspn__tulip_bus_master(const struct vspn_tulip *t)
{
    return (t->cfg[0x04 / 4] & VSPN_TULIP_PCI_CMD_BM) != 0;
}

void vspn__tulip_set_rs(struct vspn_tulip *t, unsigned rs);
void vspn__tulip_set_ts(struct vspn_tulip *t, unsigned ts);
/* The DMA accessor refused: CSR5 FBE (EB = master abort), both processes
 * stopped, CSR6 SR/ST cleared, counted. */
void vspn__tulip_bus_error(struct vspn_tulip *t);
/* One frame lost for lack of a receive descriptor (CSR8, rx_missed). */
void vspn__tulip_count_missed(struct vspn_tulip *t);

/* ---- tulip_desc.c --------------------------------------------------------- */
/* Runs the transmit process for at most VSPN_TULIP_TX_BUDGET descriptors.
 * Returns true when it stopped at the budget with the process running. */
bool vspn__tulip_tx_run(struct vspn_tulip *t);
/* Drops a partly assembled transmit frame (counted). */
void vspn__tulip_tx_abort(struct vspn_tulip *t);
/* Stores a frame of len bytes (14..MAX_FRAME) into the receive ring;
 * dt = RDES0 data type (0 wire, 1/2 loopback).  Same returns as
 * vspn_tulip_receive() after its length checks. */
int vspn__tulip_rx_frame(struct vspn_tulip *t, const uint8_t *frame,
                         uint32_t len, unsigned dt);

/* ---- tulip_filter.c ------------------------------------------------------- */
/* zlib-compatible CRC-32 (reflected 0xEDB88320, init and final ~). */
uint32_t vspn__tulip_crc32(const uint8_t *p, size_t n);
/* Hash filter index of a destination: (~crc32(dst)) & 0x1ff (§5). */
unsigned vspn__tulip_hash_index(const uint8_t *dst);
void vspn__tulip_filter_reset(struct vspn_tulip *t);
/* Loads a 192-byte setup frame with FT1:FT0 = mode; sets CSR6 HP/HO/IF. */
void vspn__tulip_setup_frame(struct vspn_tulip *t, const uint8_t *buf,
                             unsigned mode);
/* The address filter alone (no PR/PM/RA). */
bool vspn__tulip_filter_match(const struct vspn_tulip *t, const uint8_t *dst);

/* ---- tulip_srom.c --------------------------------------------------------- */
/* Builds the SROM image (§7.2 new format, MAC at byte 20, CRC at 126). */
void vspn__tulip_srom_build(struct vspn_tulip *t);
void vspn__tulip_srom_reset(struct vspn_tulip *t); /* bit-level state */
void vspn__tulip_mii_reset(struct vspn_tulip *t, bool regs);
void vspn__tulip_csr9_write(struct vspn_tulip *t, uint32_t val);
uint32_t vspn__tulip_csr9_read(const struct vspn_tulip *t);
uint16_t vspn__tulip_mii_read_reg(const struct vspn_tulip *t, unsigned reg);

#endif /* VSPN_TULIP_PRIVATE_H */
