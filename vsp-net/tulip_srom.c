/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_srom.c — what hangs off CSR9 of the emulated 21140A: a 93C46
 * serial ROM (64 x 16-bit words, 6-bit addresses, read-only) driven by
 * bit-banging (§7.1), holding the "new" DEC layout Linux tulip reads
 * (§7.2: MAC at byte 20, CRC-16 at 126), and an MII PHY at address 1
 * driven through the management frames of §8, reporting link,
 * autonegotiation complete and 100 Mb/s full duplex.
 *
 * ROM protocol (rising SCLK edges with SCS high, SR selected): leading
 * zeros are ignored, a 1 starts a command, two opcode bits and six address
 * bits follow.  For READ (10) SDO goes to the dummy 0 as the last address
 * bit is clocked in, and each further rising edge puts the next data bit
 * (D15 first) on SDO; reading continues into the next word.  Other
 * opcodes (write, erase, enable) are ignored: the ROM is read-only.  While
 * no data is driven SDO reads 1 — which is what lets Linux's size probe
 * (read of location 0xFF with 8 address bits, §7.1) see the dummy 0 at
 * the sixth address bit and pick 6-bit addressing.
 *
 * MII protocol (rising MDC edges; the line is MDO while CSR9 MII = 0,
 * else what the PHY drives, 1 when released): at least 32 ones, start
 * "01", opcode (10 read, 01 write), PHY and register addresses; a read
 * answers turnaround "z0" then 16 data bits then releases the line; a
 * write takes turnaround and 16 data bits.  Other PHY addresses never
 * drive the line, so they read 0xFFFF.
 */
#include "vsp-net/tulip_private.h"

#include <string.h>

#include "vsp-net/vspn_wire.h"

enum { SROM_IDLE, SROM_CMD, SROM_DATA, SROM_IGNORE };
enum { MII_IDLE, MII_START, MII_CMD, MII_READ, MII_WRITE };

#define SROM_OP_READ 2u
#define SROM_CMD_BITS 8u /* 2 opcode + 6 address */
#define SROM_SUBSYS_VENDOR VSPN_TULIP_VENDOR_ID
#define SROM_SUBSYS_ID VSPN_TULIP_DEVICE_ID
#define SROM_VERSION 4u
#define SROM_MAC_OFF 20u
#define SROM_LEAF_OFF 30u
#define SROM_CRC_OFF 126u

#define MII_PREAMBLE 32u
#define MII_CMD_BITS 12u   /* opcode 2, PHY 5, register 5 */
#define MII_WRITE_BITS 18u /* turnaround 2, data 16 */
#define MII_OP_WRITE 1u
#define MII_OP_READ 2u
#define MII_BMCR_RESET 0x8000u
#define MII_BMCR_RESTART_AN 0x0200u

/* ---- serial ROM ----------------------------------------------------------- */

void vspn__tulip_srom_build(struct vspn_tulip *t)
{
    uint8_t b[2 * VSPN_TULIP_SROM_WORDS];
    uint8_t *leaf = b + SROM_LEAF_OFF;

    memset(b, 0, sizeof(b));
    vspn__put16(b + 0, SROM_SUBSYS_VENDOR);
    vspn__put16(b + 2, SROM_SUBSYS_ID);
    /* XXX: byte 16, the ID-block CRC-8, is left 0: its algorithm is not
     * in the spec (§14) and neither Linux nor the BSDs check it. */
    b[18] = SROM_VERSION;
    b[19] = 1; /* one controller */
    memcpy(b + SROM_MAC_OFF, t->mac.b, 6);
    b[26] = 0; /* controller 0 device number */
    vspn__put16(b + 27, SROM_LEAF_OFF);
    /* 21140 info leaf (§7.3): autosense, no GP outputs, one extended
     * type-1 (21140 MII PHY) block. */
    vspn__put16(leaf + 0, 0x0800);
    leaf[2] = 0x00;            /* GP port direction */
    leaf[3] = 1;               /* media blocks */
    leaf[4] = 0x80 | 12;       /* extended, 12 bytes follow */
    leaf[5] = 1;               /* type 1: 21140 MII PHY */
    leaf[6] = 0;               /* PHY number (first PHY found) */
    leaf[7] = 0;               /* GP sequence length */
    leaf[8] = 0;               /* reset sequence length */
    vspn__put16(leaf + 9, 0x7800);  /* media: 100FD 100HD 10FD 10HD */
    vspn__put16(leaf + 11, 0x01e0); /* NWay advertisement */
    vspn__put16(leaf + 13, 0x5000); /* full-duplex media */
    vspn__put16(leaf + 15, 0x1800); /* media using 10 Mb thresholds */
    vspn__put16(b + SROM_CRC_OFF,
                (uint16_t)vspn__tulip_crc32(b, SROM_CRC_OFF));
    for (unsigned i = 0; i < VSPN_TULIP_SROM_WORDS; i++)
        t->srom.words[i] = vspn__le16(b + 2 * i);
}

void vspn__tulip_srom_reset(struct vspn_tulip *t)
{
    t->srom.state = SROM_IDLE;
    t->srom.nbits = 0;
    t->srom.bitpos = 0;
    t->srom.addr = 0;
    t->srom.cmd = 0;
    t->srom.dout = true;
}

static void srom_clock(struct vspn_tulip *t, bool di)
{
    struct vspn__tulip_srom *s = &t->srom;

    switch (s->state) {
    case SROM_IDLE:
        if (di) { /* start bit */
            s->state = SROM_CMD;
            s->nbits = 0;
            s->cmd = 0;
        }
        break;
    case SROM_CMD:
        s->cmd = (uint16_t)(((unsigned)s->cmd << 1) | (di ? 1u : 0u));
        if (++s->nbits < SROM_CMD_BITS)
            break;
        if ((s->cmd >> 6) == SROM_OP_READ) {
            s->addr = (uint8_t)(s->cmd & (VSPN_TULIP_SROM_WORDS - 1u));
            s->bitpos = 0;
            s->dout = false; /* the dummy 0 */
            s->state = SROM_DATA;
        } else {
            s->state = SROM_IGNORE;
        }
        break;
    case SROM_DATA:
        s->dout = (((unsigned)s->words[s->addr] >> (15u - s->bitpos)) & 1u) != 0;
        if (++s->bitpos == 16) {
            s->bitpos = 0;
            s->addr = (uint8_t)((s->addr + 1u) & (VSPN_TULIP_SROM_WORDS - 1u));
        }
        break;
    default: /* SROM_IGNORE until chip select drops */
        break;
    }
}

/* ---- MII PHY -------------------------------------------------------------- */

void vspn__tulip_mii_reset(struct vspn_tulip *t, bool regs)
{
    struct vspn__tulip_mii *m = &t->mii;

    m->state = MII_IDLE;
    m->nbits = 0;
    m->rd_edge = 0;
    m->ones = 0;
    m->shift = 0;
    m->out = true;
    if (regs) {
        m->bmcr = VSPN_TULIP_BMCR_DEFAULT;
        m->anar = VSPN_TULIP_ANAR_DEFAULT;
    }
}

uint16_t vspn__tulip_mii_read_reg(const struct vspn_tulip *t, unsigned reg)
{
    switch (reg) {
    case 0: return t->mii.bmcr;
    case 1:
        return (uint16_t)(VSPN_TULIP_BMSR_BASE |
                          (t->link_up ? VSPN_TULIP_BMSR_LINK |
                                        VSPN_TULIP_BMSR_ANC : 0u));
    case 2: return VSPN_TULIP_PHY_ID1;
    case 3: return VSPN_TULIP_PHY_ID2;
    case 4: return t->mii.anar;
    case 5: return t->link_up ? VSPN_TULIP_ANLPAR_UP : 0;
    case 6: return t->link_up ? 1 : 0; /* ANER: partner can autonegotiate */
    default: return 0;
    }
}

static void mii_write_reg(struct vspn_tulip *t, unsigned reg, uint16_t v)
{
    switch (reg) {
    case 0:
        if (v & MII_BMCR_RESET) {
            t->mii.bmcr = VSPN_TULIP_BMCR_DEFAULT;
            t->mii.anar = VSPN_TULIP_ANAR_DEFAULT;
        } else {
            /* reset and restart-autonegotiation are self-clearing */
            t->mii.bmcr = (uint16_t)(v & ~(MII_BMCR_RESET |
                                           MII_BMCR_RESTART_AN));
        }
        break;
    case 4:
        t->mii.anar = v;
        break;
    default: /* read-only registers */
        break;
    }
}

static void mii_clock(struct vspn_tulip *t, bool bit)
{
    struct vspn__tulip_mii *m = &t->mii;

    switch (m->state) {
    case MII_IDLE:
        if (bit) {
            if (m->ones < MII_PREAMBLE)
                m->ones++;
        } else {
            m->state = m->ones >= MII_PREAMBLE ? MII_START : MII_IDLE;
            m->ones = 0;
        }
        break;
    case MII_START:
        if (bit) {
            m->state = MII_CMD;
            m->nbits = 0;
            m->shift = 0;
        } else {
            m->state = MII_IDLE;
        }
        break;
    case MII_CMD:
        m->shift = (m->shift << 1) | (bit ? 1u : 0u);
        if (++m->nbits < MII_CMD_BITS)
            break;
        m->phy = (uint8_t)((m->shift >> 5) & 31u);
        m->reg = (uint8_t)(m->shift & 31u);
        m->state = MII_IDLE;
        if ((m->shift >> 10) == MII_OP_READ) {
            if (m->phy == VSPN_TULIP_PHY_ADDR) {
                m->rd_val = vspn__tulip_mii_read_reg(t, m->reg);
                m->rd_edge = 0;
                m->out = true; /* first turnaround bit: released */
                m->state = MII_READ;
            }
        } else if ((m->shift >> 10) == MII_OP_WRITE) {
            m->nbits = 0;
            m->shift = 0;
            m->state = MII_WRITE;
        }
        break;
    case MII_READ:
        m->rd_edge++;
        if (m->rd_edge == 1) {
            m->out = false; /* second turnaround bit */
        } else if (m->rd_edge <= 17) {
            m->out = (((unsigned)m->rd_val >> (17u - m->rd_edge)) & 1u) != 0;
        } else {
            m->out = true;
            m->state = MII_IDLE;
            m->ones = 0;
        }
        break;
    case MII_WRITE:
        m->shift = (m->shift << 1) | (bit ? 1u : 0u);
        if (++m->nbits < MII_WRITE_BITS)
            break;
        if (m->phy == VSPN_TULIP_PHY_ADDR)
            mii_write_reg(t, m->reg, (uint16_t)m->shift);
        m->state = MII_IDLE;
        m->ones = 0;
        break;
    default:
        m->state = MII_IDLE;
        break;
    }
}

/* ---- CSR9 ----------------------------------------------------------------- */

void vspn__tulip_csr9_write(struct vspn_tulip *t, uint32_t val)
{
    uint32_t old = t->csr9;

    t->csr9 = val;
    if (!(val & VSPN_TULIP_CSR9_SR) || !(val & VSPN_TULIP_CSR9_SCS))
        vspn__tulip_srom_reset(t); /* deselected: back to idle */
    else if (!(old & VSPN_TULIP_CSR9_SCLK) && (val & VSPN_TULIP_CSR9_SCLK))
        srom_clock(t, (val & VSPN_TULIP_CSR9_SDI) != 0);
    if (!(old & VSPN_TULIP_CSR9_MDC) && (val & VSPN_TULIP_CSR9_MDC))
        mii_clock(t, (val & VSPN_TULIP_CSR9_MII) ? t->mii.out
                                                 : (val & VSPN_TULIP_CSR9_MDO) != 0);
}

uint32_t vspn__tulip_csr9_read(const struct vspn_tulip *t)
{
    uint32_t v = t->csr9 & VSPN_TULIP_CSR9_KEEP;
    bool mdi;

    if ((t->csr9 & VSPN_TULIP_CSR9_SR) && t->srom.dout)
        v |= VSPN_TULIP_CSR9_SDO;
    mdi = (t->csr9 & VSPN_TULIP_CSR9_MII) ? t->mii.out
                                          : (t->csr9 & VSPN_TULIP_CSR9_MDO) != 0;
    if (mdi)
        v |= VSPN_TULIP_CSR9_MDI;
    return v;
}
