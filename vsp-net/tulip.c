/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip.c — the emulated DEC 21140A: PCI configuration space (§1), the
 * sixteen CSRs (§2, §3), software reset, the transmit/receive process
 * states (§6), the interrupt line, and the entry guard that keeps the
 * model from being re-entered from one of its own callbacks.
 *
 * Reset values and read-only bits: the 21140 manual is not at hand (§14),
 * so reserved bits read as in the QEMU table of §2 where the register has
 * the same role on the 21140 (CSR0 0xFE000000, CSR5 0xF0000000, CSR6
 * 0x32000040, CSR7 0xF3FE0000, CSR8 0xE0000000, CSR11 0xFFFE0000) and as
 * zero otherwise; only the fields §3 defines for the 21140 are writable.
 *
 * Processes: SR/ST start and stop at once (RS/TS read 0 right after the
 * CSR6 write that clears them, as Linux's stop loop expects); transmit runs
 * synchronously inside the CSR1/CSR6 write (bounded, see tulip_desc.c);
 * receive runs inside vspn_tulip_receive(); a suspended receiver retries on
 * each new frame and on CSR2.  Interrupt summaries are recomputed, not
 * sticky: NIS/AIS = OR of the CSR7-enabled normal/abnormal sources.
 *
 * Transmit automatic polling (CSR0 TAP) and the CSR11 general-purpose
 * timer run on the caller's clock: vspn_tulip_tap_period_ns and
 * vspn_tulip_gp_timer_ns say when, vspn_tulip_tap polls and
 * vspn_tulip_gp_timer_expire sets GTE.  Drivers do use the timer: Linux's
 * tulip driver unmasks its interrupts only on GTE after an interrupt with
 * too much work (tulip.h).
 *
 * PCI command register: bus mastering gates every DMA (tulip.h; the
 * checks are in tulip_desc.c); I/O and memory decode are the glue's, which
 * knows the BAR of an access (vspn_tulip_pci_command).
 *
 * XXX: the CSR15 watchdogs (RWT, TJT by time) are stored but never fire
 * (an emulated wire neither jabbers nor streams endless frames); CSR0 BLE
 * (big-endian data buffers) and TDES1 AC (guest-supplied CRC) are ignored.
 */
#include "vsp-net/tulip.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "vsp-net/tulip_private.h"

/* ---- CSR reset values and writable masks ---------------------------------- */

#define CSR0_RESET 0xfe000000u
/* BAR, DSL, BLE, PBL, CAL, TAP, DBO, RME, RLE, WIE (DAS is 21040-only) */
#define CSR0_WMASK 0x01befffeu
#define CSR35_ADDR_MASK 0xfffffffcu /* list bases are longword aligned */
#define CSR5_RESET 0xf0000000u
#define CSR6_RESET 0x32000040u
/* SR PB SB PR PM FD OM FC ST TR BP CA PS HBD SF TTM PCS SCR RA SC;
 * HP/HO/IF come from the setup frame, MBO (25) reads one. */
#define CSR6_WMASK 0xc1effeeau
#define CSR7_RESET 0xf3fe0000u
#define CSR7_WMASK 0x0001ffffu
#define CSR8_RESET 0xe0000000u
#define CSR8_COUNT 0x0000ffffu
#define CSR8_OVERFLOW 0x00010000u
#define CSR11_RESET 0xfffe0000u
#define CSR11_WMASK 0x0001ffffu
#define CSR15_WMASK 0x00000037u /* JBD HUJ JCK RWD RWR */

/* ---- PCI configuration space (§1) ----------------------------------------- */

#define CFG_CMD_WMASK 0x0157u   /* IO MEM BM MWI PERR SERR */
#define CFG_STATUS 0x0280u      /* medium DEVSEL, fast back-to-back */
#define CFG_CLASS_REV (0x02000000u | VSPN_TULIP_REVISION)
#define CFG_BAR_WMASK (~(VSPN_TULIP_BAR_SIZE - 1u))
#define CFG_BAR0_IO 0x1u
#define CFG_SUBSYS ((VSPN_TULIP_DEVICE_ID << 16) | VSPN_TULIP_VENDOR_ID)
#define CFG_INT_PIN 1u          /* INTA */
#define CFG_MIN_GNT 0x14u
#define CFG_MAX_LAT 0x28u
#define CFG_CFDA_WMASK 0xc000ff00u /* sleep, snooze, driver area */

static uint32_t cfg_wmask(unsigned idx)
{
    switch (idx) {
    case 0x04 / 4: return CFG_CMD_WMASK;
    case 0x0c / 4: return 0x0000ffffu;  /* cache line size, latency */
    case 0x10 / 4: return CFG_BAR_WMASK; /* BAR0 I/O */
    case 0x14 / 4: return CFG_BAR_WMASK; /* BAR1 memory */
    case 0x3c / 4: return 0x000000ffu;  /* interrupt line */
    case 0x40 / 4: return CFG_CFDA_WMASK;
    default: return 0;
    }
}

static void cfg_init(struct vspn_tulip *t)
{
    memset(t->cfg, 0, sizeof(t->cfg));
    t->cfg[0] = (VSPN_TULIP_DEVICE_ID << 16) | VSPN_TULIP_VENDOR_ID;
    t->cfg[1] = CFG_STATUS << 16;
    t->cfg[2] = CFG_CLASS_REV;
    t->cfg[4] = CFG_BAR0_IO;
    t->cfg[0x2c / 4] = CFG_SUBSYS;
    t->cfg[0x3c / 4] = (CFG_MAX_LAT << 24) | (CFG_MIN_GNT << 16) |
                       (CFG_INT_PIN << 8);
}

static bool cfg_ok(uint32_t off, uint32_t size)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    if (off >= VSPN_TULIP_CFG_SIZE || (off & (size - 1u)) != 0)
        return false;
    return true;
}

/* ---- entry guard and interrupt line --------------------------------------- */

/* Every entry point that can change state or call back runs inside
 * enter()/leave().  A callback (DMA accessor, tx_frame, irq) that calls a
 * mutating function again trips the assertion; without assertions the
 * call is refused and counted as a bad access. */
static bool enter(struct vspn_tulip *t)
{
    assert(t->depth == 0 && "vspn_tulip re-entered from its own callback");
    if (t->depth != 0) {
        t->stats.bad_access++;
        return false;
    }
    t->depth = 1;
    return true;
}

static void sync_summary(struct vspn_tulip *t)
{
    uint32_t s = t->csr[5] & ~(VSPN_TULIP_CSR5_NIS | VSPN_TULIP_CSR5_AIS);
    uint32_t en = t->csr[7];

    if (s & en & VSPN_TULIP_CSR5_NORMAL)
        s |= VSPN_TULIP_CSR5_NIS;
    if (s & en & VSPN_TULIP_CSR5_ABNORMAL)
        s |= VSPN_TULIP_CSR5_AIS;
    t->csr[5] = s;
}

static bool irq_level(const struct vspn_tulip *t)
{
    return (t->csr[5] & t->csr[7] &
            (VSPN_TULIP_CSR5_NIS | VSPN_TULIP_CSR5_AIS)) != 0;
}

/* Recomputes the summaries and the line; reports a change, and with
 * `poke` re-reports a line that stays asserted. */
static void leave(struct vspn_tulip *t, bool poke)
{
    bool level;

    sync_summary(t);
    level = irq_level(t);
    if (level != t->irq_level || (poke && level)) {
        t->irq_level = level;
        if (level)
            t->stats.irqs++;
        t->ops.irq(t->ctx, level);
    }
    t->depth = 0;
}

/* ---- process states ------------------------------------------------------- */

void vspn__tulip_set_rs(struct vspn_tulip *t, unsigned rs)
{
    t->csr[5] = (t->csr[5] & ~(VSPN_TULIP_CSR5_STATE_MASK
                               << VSPN_TULIP_CSR5_RS_SHIFT)) |
                ((uint32_t)rs << VSPN_TULIP_CSR5_RS_SHIFT);
}

void vspn__tulip_set_ts(struct vspn_tulip *t, unsigned ts)
{
    t->csr[5] = (t->csr[5] & ~(VSPN_TULIP_CSR5_STATE_MASK
                               << VSPN_TULIP_CSR5_TS_SHIFT)) |
                ((uint32_t)ts << VSPN_TULIP_CSR5_TS_SHIFT);
}

void vspn__tulip_bus_error(struct vspn_tulip *t)
{
    t->stats.dma_errors++;
    t->csr[5] &= ~(VSPN_TULIP_CSR5_STATE_MASK << VSPN_TULIP_CSR5_EB_SHIFT);
    t->csr[5] |= VSPN_TULIP_CSR5_FBE |
                 (VSPN_TULIP_EB_MASTER_ABORT << VSPN_TULIP_CSR5_EB_SHIFT);
    if (vspn__tulip_ts(t) != VSPN_TULIP_TS_STOPPED)
        t->csr[5] |= VSPN_TULIP_CSR5_TPS;
    if (vspn__tulip_rs(t) != VSPN_TULIP_RS_STOPPED)
        t->csr[5] |= VSPN_TULIP_CSR5_RPS;
    vspn__tulip_set_ts(t, VSPN_TULIP_TS_STOPPED);
    vspn__tulip_set_rs(t, VSPN_TULIP_RS_STOPPED);
    /* The guest restarts with a CSR6 write (or a reset). */
    t->csr[6] &= ~(VSPN_TULIP_CSR6_SR | VSPN_TULIP_CSR6_ST);
    t->tx_pending = false;
    vspn__tulip_tx_abort(t);
}

/* CSR11 (re)started or stopped (§3.8): the period from now, counted in
 * ticks of the port CSR6 selects (tulip.h). */
static void gpt_start(struct vspn_tulip *t)
{
    uint64_t count = t->csr[11] & VSPN_TULIP_CSR11_COUNT, tick;

    if (!(t->csr[6] & VSPN_TULIP_CSR6_PS))
        tick = VSPN_TULIP_GPT_TICK_SRL_NS;
    else if (t->csr[6] & VSPN_TULIP_CSR6_TTM)
        tick = VSPN_TULIP_GPT_TICK_MII10_NS;
    else
        tick = VSPN_TULIP_GPT_TICK_100_NS;
    t->gpt_ns = count * tick;
    t->gpt_starts++;
}

/* CSR0 SWR: every CSR to its reset value, both processes stopped, filter
 * and partial frame dropped.  PCI configuration and the PHY's registers
 * (an external chip) are kept. */
static void soft_reset(struct vspn_tulip *t)
{
    t->tx_in_frame = false;
    t->tx_bad = false;
    t->tx_len = t->tx_ndesc = 0;
    memset(t->csr, 0, sizeof(t->csr));
    t->csr[0] = CSR0_RESET;
    t->csr[5] = CSR5_RESET;
    t->csr[6] = CSR6_RESET;
    t->csr[7] = CSR7_RESET;
    t->csr[11] = CSR11_RESET;
    gpt_start(t); /* count 0: stopped */
    t->missed = 0;
    t->csr9 = 0;
    t->gp_dir = t->gp_data = 0;
    t->rx_cur = t->tx_cur = 0;
    t->tx_pending = false;
    vspn__tulip_filter_reset(t);
    vspn__tulip_srom_reset(t);
    vspn__tulip_mii_reset(t, false);
}

static void csr6_write(struct vspn_tulip *t, uint32_t val)
{
    uint32_t ro = t->csr[6] & ~CSR6_WMASK;

    t->csr[6] = ro | (val & CSR6_WMASK);
    /* Receive: SR starts (waiting for a frame) or stops (RPS). */
    if (val & VSPN_TULIP_CSR6_SR) {
        if (vspn__tulip_rs(t) == VSPN_TULIP_RS_STOPPED)
            vspn__tulip_set_rs(t, VSPN_TULIP_RS_WAITING);
    } else if (vspn__tulip_rs(t) != VSPN_TULIP_RS_STOPPED) {
        vspn__tulip_set_rs(t, VSPN_TULIP_RS_STOPPED);
        t->csr[5] |= VSPN_TULIP_CSR5_RPS;
    }
    /* Transmit: ST fetches the current descriptor at once (§6). */
    if (val & VSPN_TULIP_CSR6_ST) {
        if (vspn__tulip_ts(t) == VSPN_TULIP_TS_STOPPED) {
            vspn__tulip_set_ts(t, VSPN_TULIP_TS_FETCHING);
            vspn__tulip_tx_run(t);
        }
    } else if (vspn__tulip_ts(t) != VSPN_TULIP_TS_STOPPED) {
        vspn__tulip_set_ts(t, VSPN_TULIP_TS_STOPPED);
        t->csr[5] |= VSPN_TULIP_CSR5_TPS;
        t->tx_pending = false;
        vspn__tulip_tx_abort(t);
    }
}

static uint8_t gp_pins(const struct vspn_tulip *t)
{
    uint8_t in = t->link_up ? (uint8_t)VSPN_TULIP_GP_LINK_PIN : 0;

    return (uint8_t)((t->gp_data & t->gp_dir) | (in & (uint8_t)~t->gp_dir));
}

/* CSR index of a well-formed access, or -1 (counted). */
static int csr_index(struct vspn_tulip *t, uint32_t off, uint32_t size)
{
    if (size != 4 || (off & 7u) != 0 || off >= VSPN_TULIP_BAR_SIZE) {
        t->stats.bad_access++;
        return -1;
    }
    switch (off >> 3) {
    case 10: case 13: case 14: /* reserved on the 21140 (§3.8, §3.10) */
        t->stats.bad_access++;
        return -1;
    default:
        return (int)(off >> 3);
    }
}

/* ---- lifecycle ------------------------------------------------------------ */

int vspn_tulip_create(const struct vspn_tulip_config *cfg,
                      const struct vspn_tulip_ops *ops, void *ctx,
                      struct vspn_tulip **out)
{
    struct vspn_tulip *t;

    if (!cfg || !ops || !out || !ops->dma.read || !ops->dma.write ||
        !ops->tx_frame || !ops->irq)
        return -EINVAL;
    t = vsa_calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ops = *ops;
    t->ctx = ctx;
    t->mac = cfg->mac;
    t->link_up = cfg->link_up;
    cfg_init(t);
    vspn__tulip_srom_build(t);
    vspn__tulip_mii_reset(t, true);
    soft_reset(t);
    *out = t;
    return 0;
}

void vspn_tulip_destroy(struct vspn_tulip *t)
{
    if (!t)
        return;
    assert(t->depth == 0);
    vsa_free(t);
}

/* ---- PCI configuration space ---------------------------------------------- */

uint32_t vspn_tulip_cfg_read(struct vspn_tulip *t, uint32_t off,
                             uint32_t size)
{
    uint32_t v;

    t->stats.cfg_reads++;
    if (!cfg_ok(off, size)) {
        t->stats.bad_access++;
        return 0xffffffffu;
    }
    v = t->cfg[off / 4] >> (8u * (off & 3u));
    if (size < 4)
        v &= (1u << (8u * size)) - 1u;
    return v;
}

void vspn_tulip_cfg_write(struct vspn_tulip *t, uint32_t off, uint32_t size,
                          uint32_t val)
{
    unsigned idx = off / 4, sh = 8u * (off & 3u);
    uint32_t bytes, merged, wm;

    t->stats.cfg_writes++;
    if (!cfg_ok(off, size)) {
        t->stats.bad_access++;
        return;
    }
    bytes = size == 4 ? 0xffffffffu : ((1u << (8u * size)) - 1u) << sh;
    merged = (t->cfg[idx] & ~bytes) | ((val << sh) & bytes);
    wm = cfg_wmask(idx);
    t->cfg[idx] = (t->cfg[idx] & ~wm) | (merged & wm);
}

uint16_t vspn_tulip_pci_command(const struct vspn_tulip *t)
{
    return (uint16_t)t->cfg[0x04 / 4];
}

/* ---- CSR access ----------------------------------------------------------- */

uint32_t vspn_tulip_csr_read(struct vspn_tulip *t, uint32_t off,
                             uint32_t size)
{
    uint32_t v;
    int n;

    if (!enter(t))
        return 0xffffffffu;
    t->stats.csr_reads++;
    n = csr_index(t, off, size);
    switch (n) {
    case -1:
        v = 0xffffffffu;
        break;
    case 8: /* missed frames: cleared by reading (§3.6) */
        v = CSR8_RESET | t->missed;
        t->missed = 0;
        break;
    default:
        v = vspn_tulip_csr(t, (unsigned)n);
        break;
    }
    leave(t, false);
    return v;
}

void vspn_tulip_csr_write(struct vspn_tulip *t, uint32_t off, uint32_t size,
                          uint32_t val)
{
    int n;

    if (!enter(t))
        return;
    t->stats.csr_writes++;
    n = csr_index(t, off, size);
    switch (n) {
    case 0:
        if (val & VSPN_TULIP_CSR0_SWR) {
            t->stats.resets++;
            soft_reset(t);
        } else {
            t->csr[0] = (CSR0_RESET & ~CSR0_WMASK) | (val & CSR0_WMASK);
        }
        break;
    case 1: /* transmit poll demand: leaves "suspended" */
        if (vspn__tulip_ts(t) != VSPN_TULIP_TS_STOPPED)
            vspn__tulip_tx_run(t);
        break;
    case 2: /* receive poll demand: the next frame re-checks the ring */
        if (vspn__tulip_rs(t) == VSPN_TULIP_RS_SUSPENDED)
            vspn__tulip_set_rs(t, VSPN_TULIP_RS_WAITING);
        break;
    case 3:
        t->csr[3] = val & CSR35_ADDR_MASK;
        t->rx_cur = t->csr[3];
        break;
    case 4:
        t->csr[4] = val & CSR35_ADDR_MASK;
        t->tx_cur = t->csr[4];
        t->tx_pending = false;
        vspn__tulip_tx_abort(t);
        /* Written while running (the guide says: only while stopped), the
         * work left is dropped with the old list: the process waits at
         * the new head, as suspended, for a poll demand or a TAP period
         * (left running, nothing would ever go on). */
        if (vspn__tulip_ts(t) != VSPN_TULIP_TS_STOPPED)
            vspn__tulip_set_ts(t, VSPN_TULIP_TS_SUSPENDED);
        break;
    case 5:
        t->csr[5] &= ~(val & VSPN_TULIP_CSR5_W1C);
        break;
    case 6:
        csr6_write(t, val);
        break;
    case 7:
        t->csr[7] = (CSR7_RESET & ~CSR7_WMASK) | (val & CSR7_WMASK);
        break;
    case 8: /* read-only */
        break;
    case 9:
        vspn__tulip_csr9_write(t, val);
        break;
    case 11: /* every write restarts the timer (§3.8) */
        t->csr[11] = (CSR11_RESET & ~CSR11_WMASK) | (val & CSR11_WMASK);
        gpt_start(t);
        break;
    case 12:
        if (val & VSPN_TULIP_CSR12_GPC)
            t->gp_dir = (uint8_t)val;
        else
            t->gp_data = (uint8_t)val;
        break;
    case 15:
        t->csr[15] = val & CSR15_WMASK;
        break;
    default: /* -1: counted */
        break;
    }
    leave(t, true);
}

/* ---- deferred transmit work ----------------------------------------------- */

bool vspn_tulip_poll(struct vspn_tulip *t)
{
    if (!enter(t))
        return false;
    if (t->tx_pending && vspn__tulip_ts(t) != VSPN_TULIP_TS_STOPPED)
        vspn__tulip_tx_run(t);
    else
        t->tx_pending = false;
    leave(t, false);
    return vspn_tulip_pending(t);
}

bool vspn_tulip_pending(const struct vspn_tulip *t)
{
    /* a fetch stalled without the bus waits for the guest to enable it */
    return t->tx_pending && vspn__tulip_bus_master(t);
}

bool vspn_tulip_loopback(const struct vspn_tulip *t)
{
    return ((t->csr[6] >> VSPN_TULIP_CSR6_OM_SHIFT) & 3u) != 0;
}

/* ---- transmit automatic polling (CSR0 TAP) -------------------------------- */

static unsigned tap_code(const struct vspn_tulip *t)
{
    return (t->csr[0] >> VSPN_TULIP_CSR0_TAP_SHIFT) & VSPN_TULIP_CSR0_TAP_MASK;
}

uint64_t vspn_tulip_tap_period_ns(const struct vspn_tulip *t)
{
    /* §3.1: codes 1-3 on every 21140; 4-7 as later chips define them */
    static const uint32_t period_ns[8] = {
        0, 200000, 800000, 1600000, 12800, 25600, 51200, 102400,
    };

    if (vspn__tulip_ts(t) != VSPN_TULIP_TS_SUSPENDED ||
        !vspn__tulip_bus_master(t))
        return 0;
    return period_ns[tap_code(t)];
}

void vspn_tulip_tap(struct vspn_tulip *t)
{
    if (!enter(t))
        return;
    if (tap_code(t) != 0 && vspn__tulip_ts(t) == VSPN_TULIP_TS_SUSPENDED &&
        vspn__tulip_bus_master(t)) {
        t->stats.tap_polls++;
        vspn__tulip_tx_run(t);
    }
    leave(t, false);
}

/* ---- general-purpose timer (CSR11) ---------------------------------------- */

uint64_t vspn_tulip_gp_timer_ns(const struct vspn_tulip *t, uint32_t *starts,
                                bool *continuous)
{
    if (starts)
        *starts = t->gpt_starts;
    if (continuous)
        *continuous = (t->csr[11] & VSPN_TULIP_CSR11_CON) != 0;
    return t->gpt_ns;
}

void vspn_tulip_gp_timer_expire(struct vspn_tulip *t)
{
    if (!enter(t))
        return;
    if (t->gpt_ns != 0) {
        t->stats.gp_timer_expiries++;
        /* abnormal (VSPN_TULIP_CSR5_ABNORMAL): Linux's CSR7 after too
         * much work enables AIS|GTE, not NIS */
        t->csr[5] |= VSPN_TULIP_CSR5_GTE;
        if (!(t->csr[11] & VSPN_TULIP_CSR11_CON)) {
            t->csr[11] &= ~VSPN_TULIP_CSR11_COUNT; /* ran down to 0 */
            t->gpt_ns = 0;
        }
    }
    leave(t, false);
}

/* ---- receive -------------------------------------------------------------- */

int vspn_tulip_receive(struct vspn_tulip *t, const uint8_t *frame,
                       uint32_t len)
{
    unsigned om = (t->csr[6] >> VSPN_TULIP_CSR6_OM_SHIFT) & 3u;
    int rc;

    if (!enter(t))
        return -EBUSY;
    if (!frame || len < VSPN_TULIP_ETH_HDR || len > VSPN_TULIP_MAX_FRAME) {
        t->stats.rx_dropped++;
        rc = -EINVAL;
    } else if (om != 0 && om != 2) {
        /* internal loopback: the wire is disconnected */
        t->stats.rx_dropped++;
        rc = -ENETDOWN;
    } else {
        rc = vspn__tulip_rx_frame(t, frame, len, 0);
    }
    leave(t, false);
    return rc;
}

/* ---- link ----------------------------------------------------------------- */

void vspn_tulip_set_link(struct vspn_tulip *t, bool up)
{
    if (!enter(t))
        return;
    if (up != t->link_up) {
        t->link_up = up;
        /* The 21140 itself has no link interrupt (the PHY and the GP pin
         * follow the link); LNP/LNF only interrupt when CSR7 enables them,
         * which Linux's 0x0001EBEF does not. */
        t->csr[5] |= up ? VSPN_TULIP_CSR5_LNP : VSPN_TULIP_CSR5_LNF;
    }
    leave(t, false);
}

/* ---- introspection -------------------------------------------------------- */

const struct vspn_tulip_stats *vspn_tulip_stats(const struct vspn_tulip *t)
{
    return &t->stats;
}

uint32_t vspn_tulip_csr(const struct vspn_tulip *t, unsigned n)
{
    switch (n) {
    case 1: case 2: /* poll demand: reads are meaningless (§3.2) */
        return 0xffffffffu;
    case 8:
        return CSR8_RESET | t->missed;
    case 9:
        return vspn__tulip_csr9_read(t);
    case 10: case 13: case 14:
        return 0xffffffffu;
    case 12:
        return gp_pins(t);
    default:
        return n < VSPN_TULIP_NCSR ? t->csr[n] : 0xffffffffu;
    }
}

bool vspn_tulip_irq_asserted(const struct vspn_tulip *t)
{
    return t->irq_level;
}

const char *vspn_tulip_rx_state(const struct vspn_tulip *t)
{
    switch (vspn__tulip_rs(t)) {
    case VSPN_TULIP_RS_STOPPED: return "stopped";
    case VSPN_TULIP_RS_SUSPENDED: return "suspended";
    default: return "running";
    }
}

const char *vspn_tulip_tx_state(const struct vspn_tulip *t)
{
    switch (vspn__tulip_ts(t)) {
    case VSPN_TULIP_TS_STOPPED: return "stopped";
    case VSPN_TULIP_TS_SUSPENDED: return "suspended";
    default: return "running";
    }
}

/* ---- counters kept by the other files ------------------------------------- */

/* CSR8: one more frame lost for lack of a descriptor (16-bit counter with
 * an overflow flag, both cleared by reading). */
void vspn__tulip_count_missed(struct vspn_tulip *t)
{
    t->stats.rx_missed++;
    if ((t->missed & CSR8_COUNT) == CSR8_COUNT)
        t->missed = CSR8_OVERFLOW; /* wraps to 0, overflow flagged */
    else
        t->missed++;
}
