/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_desc.c — transmit and receive descriptor processing of the
 * emulated 21140A (§4): ring and chained lists, both buffers, FS/LS,
 * setup frames (SET), IC/TER/RER/TCH/RCH, the frame length and error bits,
 * loopback (CSR6 OM) and the DMA to guest memory.
 *
 * Safety (hostile guest, §13):
 *  - each descriptor is read once into a local copy, then validated and
 *    used (the guest rewriting it meanwhile changes nothing);
 *  - all DMA goes through the caller's accessor; a refusal is a bus error
 *    (CSR5 FBE, processes stopped) and nothing else is touched;
 *  - none at all while PCI bus mastering is off: the transmit process
 *    stalls before its fetch (tx_pending, resumed by vspn_tulip_poll once
 *    the bit is back), an accepted frame is dropped before any descriptor
 *    is read (rx_no_bus_master);
 *  - a transmit run handles at most VSPN_TULIP_TX_BUDGET descriptors; a
 *    frame is assembled in tx_buf only while it fits VSPN_TULIP_MAX_FRAME
 *    bytes and VSPN_TULIP_MAX_CHAIN descriptors, otherwise it is dropped at
 *    LS with TDES0 ES|TO (jabber) and CSR5 TJT;
 *  - a receive walks at most VSPN_TULIP_MAX_CHAIN descriptors and stops at
 *    a descriptor it already used for this frame (a loop), so every path
 *    is bounded;
 *  - loopback feeds the receive path directly; receiving never transmits.
 */
#include "vsp-net/tulip_private.h"

#include <errno.h>
#include <string.h>

#include "vsp-net/vspn_wire.h"

/* A descriptor as read (once) from guest memory. */
struct desc {
    uint32_t addr;
    uint32_t w[4];
};

static uint32_t swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) |
           (v << 24);
}

static int desc_read(struct vspn_tulip *t, uint32_t addr, struct desc *d)
{
    uint8_t raw[VSPN_TULIP_DESC_SIZE];
    bool be = (t->csr[0] & VSPN_TULIP_CSR0_DBO) != 0;

    t->stats.desc_reads++; /* the work budgets count these */
    if (t->ops.dma.read(t->ctx, addr, raw, sizeof(raw)) != 0) {
        vspn__tulip_bus_error(t);
        return -EFAULT;
    }
    d->addr = addr;
    for (unsigned i = 0; i < 4; i++) {
        uint32_t v = vspn__le32(raw + 4 * i);
        d->w[i] = be ? swap32(v) : v;
    }
    return 0;
}

/* Writes word 0 (status, OWN clear) back. */
static int desc_close(struct vspn_tulip *t, uint32_t addr, uint32_t status)
{
    uint8_t raw[4];

    if (t->csr[0] & VSPN_TULIP_CSR0_DBO)
        status = swap32(status);
    vspn__put32(raw, status);
    if (t->ops.dma.write(t->ctx, addr, raw, sizeof(raw)) != 0) {
        vspn__tulip_bus_error(t);
        return -EFAULT;
    }
    return 0;
}

/* Next descriptor (§4.3): end of ring → list base; chained → word 3;
 * otherwise the following one after the skip length. */
static uint32_t desc_next(const struct vspn_tulip *t, const struct desc *d,
                          uint32_t base, uint32_t end_bit, uint32_t chain_bit)
{
    uint32_t dsl = (t->csr[0] >> VSPN_TULIP_CSR0_DSL_SHIFT) &
                   VSPN_TULIP_CSR0_DSL_MASK;

    if (d->w[1] & end_bit)
        return base;
    if (d->w[1] & chain_bit)
        return d->w[3] & ~3u;
    return d->addr + VSPN_TULIP_DESC_SIZE + 4u * dsl;
}

static uint32_t bs1(uint32_t ctl)
{
    return ctl & VSPN_TULIP_BS_MASK;
}

static uint32_t bs2(uint32_t ctl)
{
    return (ctl >> VSPN_TULIP_BS2_SHIFT) & VSPN_TULIP_BS_MASK;
}

/* ---- transmit ------------------------------------------------------------- */

void vspn__tulip_tx_abort(struct vspn_tulip *t)
{
    if (t->tx_in_frame)
        t->stats.tx_dropped++;
    t->tx_in_frame = false;
    t->tx_bad = false;
    t->tx_len = 0;
    t->tx_ndesc = 0;
}

/* Appends one buffer of the frame in progress.  Once the frame is too
 * long nothing more is read (and nothing is ever written past tx_buf). */
static int tx_append(struct vspn_tulip *t, uint32_t gpa, uint32_t size)
{
    if (size == 0 || t->tx_bad)
        return 0;
    /* tx_len <= VSPN_TULIP_MAX_FRAME always holds: no underflow */
    if (size > VSPN_TULIP_MAX_FRAME - t->tx_len) {
        t->tx_bad = true;
        return 0;
    }
    if (t->ops.dma.read(t->ctx, gpa, t->tx_buf + t->tx_len, size) != 0) {
        vspn__tulip_bus_error(t);
        return -EFAULT;
    }
    t->tx_len += size;
    return 0;
}

/* The LS descriptor: the assembled frame leaves (or loops back). */
static int tx_finish(struct vspn_tulip *t, uint32_t ctl, uint32_t *status)
{
    unsigned om = (t->csr[6] >> VSPN_TULIP_CSR6_OM_SHIFT) & 3u;
    uint32_t len = t->tx_len;
    int rc = 0;

    *status = 0;
    if (t->tx_bad) {
        /* Over the maximum: a 21140 keeps sending until its jabber timer
         * cuts the frame off, so report that and send nothing. */
        t->stats.tx_dropped++;
        *status = VSPN_TULIP_TDES0_ES | VSPN_TULIP_TDES0_TO;
        t->csr[5] |= VSPN_TULIP_CSR5_TJT;
    } else if (len < VSPN_TULIP_ETH_HDR) {
        t->stats.tx_dropped++; /* no Ethernet header: nothing to switch */
    } else {
        if (len < VSPN_TULIP_ETH_MIN && !(ctl & VSPN_TULIP_TDES1_DPD)) {
            memset(t->tx_buf + len, 0, VSPN_TULIP_ETH_MIN - len);
            len = VSPN_TULIP_ETH_MIN;
        }
        if (om != 0) {
            /* Loopback: into our own receive path, never out.  The
             * receive path does not transmit, so this cannot recurse. */
            rc = vspn__tulip_rx_frame(t, t->tx_buf, len, om == 2 ? 2u : 1u);
            rc = rc == -EFAULT ? -EFAULT : 0;
        } else {
            t->ops.tx_frame(t->ctx, t->tx_buf, len);
        }
        /* not a frame sent if its loopback met a bus error: that one
         * aborted the frame, counted tx_dropped */
        if (rc == 0) {
            t->stats.tx_frames++;
            t->stats.tx_bytes += len;
        }
    }
    t->tx_in_frame = false;
    t->tx_bad = false;
    t->tx_len = 0;
    t->tx_ndesc = 0;
    return rc;
}

static int tx_setup(struct vspn_tulip *t, const struct desc *d,
                    uint32_t *status)
{
    uint8_t buf[VSPN_TULIP_SETUP_LEN];
    uint32_t ctl = d->w[1];
    unsigned mode = ((ctl & VSPN_TULIP_TDES1_FT1) ? 2u : 0u) |
                    ((ctl & VSPN_TULIP_TDES1_FT0) ? 1u : 0u);

    if (bs1(ctl) != VSPN_TULIP_SETUP_LEN) {
        t->stats.tx_dropped++; /* wrong length: filter unchanged */
        *status = VSPN_TULIP_TDES0_ES;
        return 0;
    }
    if (t->ops.dma.read(t->ctx, d->w[2], buf, sizeof(buf)) != 0) {
        vspn__tulip_bus_error(t);
        return -EFAULT;
    }
    vspn__tulip_setup_frame(t, buf, mode);
    t->stats.tx_setup_frames++;
    return 0;
}

/* One descriptor owned by the device: consume, close, advance. */
static int tx_desc(struct vspn_tulip *t, const struct desc *d)
{
    uint32_t ctl = d->w[1], status = 0;
    bool done = false; /* a frame (or setup frame) completed here */
    int rc = 0;

    if (ctl & VSPN_TULIP_TDES1_SET) {
        vspn__tulip_tx_abort(t); /* ends a frame left without LS */
        vspn__tulip_set_ts(t, VSPN_TULIP_TS_SETUP);
        rc = tx_setup(t, d, &status);
        done = true;
    } else {
        if (ctl & VSPN_TULIP_TDES1_FS) {
            vspn__tulip_tx_abort(t);
            t->tx_in_frame = true;
        }
        if (t->tx_in_frame) {
            if (t->tx_ndesc < UINT32_MAX && ++t->tx_ndesc > VSPN_TULIP_MAX_CHAIN)
                t->tx_bad = true;
            rc = tx_append(t, d->w[2], bs1(ctl));
            if (rc == 0 && !(ctl & VSPN_TULIP_TDES1_TCH))
                rc = tx_append(t, d->w[3], bs2(ctl));
            if (rc == 0 && (ctl & VSPN_TULIP_TDES1_LS)) {
                rc = tx_finish(t, ctl, &status);
                done = true;
            }
        } else if (ctl & VSPN_TULIP_TDES1_LS) {
            t->stats.tx_dropped++; /* LS without FS: no frame to send */
            done = true;
        }
        /* else: a descriptor outside any frame (e.g. the zero-size dummy
         * Linux puts before a setup frame) is just closed. */
    }
    if (rc != 0)
        return rc;
    rc = desc_close(t, d->addr, status);
    if (rc != 0)
        return rc;
    if (done && (ctl & VSPN_TULIP_TDES1_IC))
        t->csr[5] |= VSPN_TULIP_CSR5_TI;
    t->tx_cur = desc_next(t, d, t->csr[4], VSPN_TULIP_TDES1_TER,
                          VSPN_TULIP_TDES1_TCH);
    return 0;
}

bool vspn__tulip_tx_run(struct vspn_tulip *t)
{
    /* Descriptor fetches, not frames: a looped-back frame can fill up to
     * VSPN_TULIP_MAX_CHAIN receive descriptors of two buffers each. */
    uint64_t end = t->stats.desc_reads + VSPN_TULIP_TX_BUDGET;
    struct desc d;

    if (!vspn__tulip_bus_master(t)) {
        /* running, waiting for the bus: nothing read, nothing closed */
        vspn__tulip_set_ts(t, VSPN_TULIP_TS_FETCHING);
        t->tx_pending = true;
        return false;
    }
    t->tx_pending = false;
    while (t->stats.desc_reads < end) {
        if (vspn__tulip_ts(t) == VSPN_TULIP_TS_STOPPED)
            return false; /* bus error */
        vspn__tulip_set_ts(t, VSPN_TULIP_TS_FETCHING);
        if (desc_read(t, t->tx_cur, &d) != 0)
            return false;
        if (!(d.w[0] & VSPN_TULIP_OWN)) {
            vspn__tulip_set_ts(t, VSPN_TULIP_TS_SUSPENDED);
            t->csr[5] |= VSPN_TULIP_CSR5_TU;
            return false;
        }
        if (tx_desc(t, &d) != 0)
            return false;
    }
    /* Still running: vspn_tulip_poll() (or the next CSR1 write) goes on. */
    t->stats.budget_exhausted++;
    t->tx_pending = true;
    return true;
}

/* ---- receive -------------------------------------------------------------- */

static uint32_t rx_capacity(const struct desc *d)
{
    uint32_t ctl = d->w[1];

    return bs1(ctl) + ((ctl & VSPN_TULIP_RDES1_RCH) ? 0u : bs2(ctl));
}

static int rx_put(struct vspn_tulip *t, uint32_t gpa, uint32_t size,
                  uint32_t *off, uint32_t total)
{
    uint32_t chunk = total - *off;

    if (chunk > size)
        chunk = size;
    if (chunk == 0)
        return 0;
    if (t->ops.dma.write(t->ctx, gpa, t->rx_buf + *off, chunk) != 0) {
        vspn__tulip_bus_error(t);
        return -EFAULT;
    }
    *off += chunk;
    return 0;
}

int vspn__tulip_rx_frame(struct vspn_tulip *t, const uint8_t *frame,
                         uint32_t len, unsigned dt)
{
    struct desc list[VSPN_TULIP_MAX_CHAIN];
    uint32_t csr6 = t->csr[6], plen = len, total, cap = 0, off = 0, cur;
    unsigned n = 0, rs = vspn__tulip_rs(t);
    bool ff = false, loop = false, unowned = false, truncated;

    if (rs == VSPN_TULIP_RS_STOPPED) {
        t->stats.rx_dropped++;
        return -ENETDOWN;
    }
    if (len < VSPN_TULIP_ETH_HDR || len > VSPN_TULIP_MAX_FRAME) {
        t->stats.rx_dropped++;
        return -EINVAL;
    }
    if (!vspn__tulip_filter_match(t, frame)) {
        if ((csr6 & VSPN_TULIP_CSR6_PM) && (frame[0] & 1u)) {
            /* pass all multicast */
        } else if (csr6 & (VSPN_TULIP_CSR6_PR | VSPN_TULIP_CSR6_RA)) {
            ff = true;
        } else {
            t->stats.rx_filtered++;
            return -EPERM;
        }
    }

    /* Accepted into the FIFO, but the device cannot reach memory: lost,
     * before any descriptor is read. */
    if (!vspn__tulip_bus_master(t)) {
        t->stats.rx_no_bus_master++;
        return -EACCES;
    }

    /* The frame as it came off the wire: padded to the minimum, FCS. */
    memcpy(t->rx_buf, frame, len);
    if (plen < VSPN_TULIP_ETH_MIN) {
        memset(t->rx_buf + plen, 0, VSPN_TULIP_ETH_MIN - plen);
        plen = VSPN_TULIP_ETH_MIN;
    }
    vspn__put32(t->rx_buf + plen, vspn__tulip_crc32(t->rx_buf, plen));
    total = plen + VSPN_TULIP_FCS;

    /* Pass 1: gather owned descriptors until the frame fits. */
    cur = t->rx_cur;
    while (cap < total && n < VSPN_TULIP_MAX_CHAIN) {
        for (unsigned i = 0; i < n; i++)
            if (list[i].addr == cur)
                loop = true;
        if (loop)
            break;
        if (desc_read(t, cur, &list[n]) != 0)
            return -EFAULT;
        if (!(list[n].w[0] & VSPN_TULIP_OWN)) {
            unowned = true;
            break;
        }
        cap += rx_capacity(&list[n]);
        cur = desc_next(t, &list[n], t->csr[3], VSPN_TULIP_RDES1_RER,
                        VSPN_TULIP_RDES1_RCH);
        n++;
    }
    if (n == 0) {
        /* No descriptor: the frame is lost (CSR8), RX suspends (RU). */
        vspn__tulip_count_missed(t);
        if (rs != VSPN_TULIP_RS_SUSPENDED) {
            vspn__tulip_set_rs(t, VSPN_TULIP_RS_SUSPENDED);
            t->csr[5] |= VSPN_TULIP_CSR5_RU;
        }
        return -EAGAIN;
    }

    /* Pass 2: the data, buffer 1 then buffer 2 of each descriptor. */
    vspn__tulip_set_rs(t, VSPN_TULIP_RS_QUEUING);
    for (unsigned i = 0; i < n && off < total; i++) {
        uint32_t ctl = list[i].w[1];

        if (rx_put(t, list[i].w[2], bs1(ctl), &off, total) != 0)
            return -EFAULT;
        if (!(ctl & VSPN_TULIP_RDES1_RCH) &&
            rx_put(t, list[i].w[3], bs2(ctl), &off, total) != 0)
            return -EFAULT;
    }
    truncated = off < total;

    /* Close in order: FS on the first, LS + length + flags on the last. */
    for (unsigned i = 0; i < n; i++) {
        uint32_t status = 0;

        if (i == 0)
            status |= VSPN_TULIP_RDES0_FS;
        if (i == n - 1) {
            status |= VSPN_TULIP_RDES0_LS |
                      (total << VSPN_TULIP_RDES0_FL_SHIFT) |
                      ((uint32_t)dt << VSPN_TULIP_RDES0_DT_SHIFT);
            if (frame[0] & 1u)
                status |= VSPN_TULIP_RDES0_MF;
            if (ff)
                status |= VSPN_TULIP_RDES0_FF;
            if (((uint32_t)frame[12] << 8 | frame[13]) > 1500u)
                status |= VSPN_TULIP_RDES0_FT;
            if (truncated) /* did not fit: descriptor error (§4.1) */
                status |= VSPN_TULIP_RDES0_ES | VSPN_TULIP_RDES0_DE;
        }
        if (desc_close(t, list[i].addr, status) != 0)
            return -EFAULT;
    }
    t->rx_cur = cur;
    t->csr[5] |= VSPN_TULIP_CSR5_RI;
    if (truncated) {
        t->stats.rx_dropped++;
        if (unowned) {
            vspn__tulip_set_rs(t, VSPN_TULIP_RS_SUSPENDED);
            t->csr[5] |= VSPN_TULIP_CSR5_RU;
        } else {
            vspn__tulip_set_rs(t, VSPN_TULIP_RS_WAITING);
        }
        return -EAGAIN;
    }
    vspn__tulip_set_rs(t, VSPN_TULIP_RS_WAITING);
    t->stats.rx_frames++;
    t->stats.rx_bytes += len;
    return 0;
}
