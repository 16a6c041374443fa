/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/tulip_drv.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/vsa_compiler.h"
#include "common/vsa_log.h"

VSA_LOG_MODULE(vg_tulip);

/* ---- registers (spec §1-§3, §7, §8) ---------------------------------------- */

#define CFG_ID 0x00u
#define CFG_CMD 0x04u
#define CFG_CLASSREV 0x08u
#define CFG_BAR0 0x10u
#define CMD_IO 0x1u
#define CMD_MASTER 0x4u

#define CSR(n) ((n) * 8u)

#define CSR0_SWR 0x00000001u
#define CSR0_VALUE 0x01A08000u /* MWI | MRL | MRM | CAL 16 LW, PBL 0 (§3.1) */
#define CSR0_TAP_SHIFT 17       /* transmit automatic polling (§3.1) */
#define CSR0_TAP_MAX 7u

#define CSR5_TI (1u << 0)
#define CSR5_TPS (1u << 1)
#define CSR5_TU (1u << 2)
#define CSR5_LNP (1u << 4)
#define CSR5_UNF (1u << 5)
#define CSR5_RI (1u << 6)
#define CSR5_RU (1u << 7)
#define CSR5_RPS (1u << 8)
#define CSR5_GTE (1u << 11)
#define CSR5_LNF (1u << 12)
#define CSR5_FBE (1u << 13)
#define CSR5_AIS (1u << 15)
#define CSR5_NIS (1u << 16)
#define CSR5_W1C 0x0001FFFFu
#define CSR5_STATES 0x007E0000u /* RS 19:17, TS 22:20 */
#define CSR5_RS(v) (((v) >> 17) & 7u)
#define CSR5_TS(v) (((v) >> 20) & 7u)
#define IRQ_MASK 0x0001EBEFu /* §3.5: what Linux enables on a 21140 */
/* Poll mode: the abnormal sources of IRQ_MASK only (no TI, TU, RI, ERI,
 * NIS): RU, FBE, TPS, RPS, UNF, TJT, RWT, GTE with AIS. */
#define IRQ_MASK_POLL                                                         \
    (IRQ_MASK & ~(CSR5_TI | CSR5_TU | CSR5_RI | (1u << 14) | CSR5_NIS))

#define CSR6_SR (1u << 1)
#define CSR6_PR (1u << 6)
#define CSR6_PM (1u << 7)
#define CSR6_FD (1u << 9)
#define CSR6_ST (1u << 13)
#define CSR6_PS (1u << 18)
#define CSR6_MBO 0x02000000u
#define CSR6_MII 0x020E0000u /* MBO | HBD | PS | bit 17 (§3.4) */

#define CSR9_SCS 0x00000001u
#define CSR9_SCLK 0x00000002u
#define CSR9_SDI 0x00000004u
#define CSR9_SDO 0x00000008u
#define CSR9_SR_RD 0x00004800u /* serial ROM select | read */
#define CSR9_MDC 0x00010000u
#define CSR9_MDO 0x00020000u
#define CSR9_MII_RD 0x00040000u
#define CSR9_MDI 0x00080000u

#define CSR12_GPC 0x100u

/* ---- descriptors (§4) --------------------------------------------------------- */

#define DES_OWN 0x80000000u
#define RDES0_FL(v) (((v) >> 16) & 0x3FFFu)
#define RDES0_ES (1u << 15)
#define RDES0_FS (1u << 9)
#define RDES0_LS (1u << 8)
#define RDES1_RER (1u << 25)
#define TDES0_ES (1u << 15)
#define TDES1_IC (1u << 31)
#define TDES1_LS (1u << 30)
#define TDES1_FS (1u << 29)
#define TDES1_SET (1u << 27)
#define TDES1_TER (1u << 25)
#define TDES1_FT0 (1u << 22)

#define DESC_SIZE 16u
#define RX_DESC_OFF 0u
#define TX_DESC_OFF (VG_TULIP_RX_RING * DESC_SIZE)
#define RX_BUF_OFF 4096u
#define TX_BUF_OFF (RX_BUF_OFF + VG_TULIP_RX_RING * VG_TULIP_SLOT)
#define TX_RESERVE 2u /* kept for a setup frame and its dummy */
#define FCS_LEN 4u
#define ETH_HLEN 14u

#define STOP_POLLS 130     /* × 10 µs: Linux's 1.3 ms (§6) */
#define SERVICE_ROUNDS 8   /* CSR5 re-reads per interrupt (work limit) */

/* ---- MII (§8) and SROM layout (§7.2, §7.3) ---------------------------------- */

#define MII_BMSR 1u
#define MII_PHYID1 2u
#define MII_PHYID2 3u
#define MII_ANAR 4u
#define MII_ANLPAR 5u
#define BMSR_LINK 0x0004u
#define SROM_MAC_OFF 20u
#define SROM_LEAF_OFF 27u
#define SROM_CRC_OFF 126u


enum tx_kind { TX_FREE, TX_DATA, TX_SETUP, TX_DUMMY };

struct vg_tulip {
    struct vg_tulip_cfg cfg;
    char name[32];
    int io_err;                 /* sticky: first failed access */
    bool probed;
    bool open;
    struct vg_tulip_info info;
    uint8_t srom[VG_TULIP_SROM_BYTES];

    /* Media (from the SROM info leaf, §7.3). */
    bool gpr_valid;             /* a 21140 GPR (compact) block was found */
    uint8_t gpr_media, gpr_data;
    uint16_t gpr_cmd;
    uint8_t mii_reset[16], mii_gp[16];
    unsigned mii_reset_len, mii_gp_len;
    uint32_t csr6;              /* operation mode without SR/ST */
    bool link, link_known;

    /* Rings: everything lives in cfg.mem. */
    uint8_t *mem;
    unsigned rx_cur;            /* next RX descriptor to look at */
    uint32_t tx_head, tx_tail;  /* free running: queued / reclaimed */
    uint8_t tx_kind[VG_TULIP_TX_RING];
    unsigned unkicked;          /* descriptors queued since the last CSR1 */
    bool poll_mode;             /* CSR7 = IRQ_MASK_POLL (vg_tulip_poll) */
    unsigned tx_autopoll;       /* CSR0 TAP code from open on, 0 = CSR1 */

    /* Address filter. */
    struct vg_tulip_rx_mode mode;
    uint8_t setup_loaded[VG_TULIP_SETUP_LEN];
    uint32_t setup_loaded_ft;
    bool setup_valid;           /* setup_loaded was queued on this open */
    bool setup_pending;

    struct vg_tulip_stats st;
};

static struct vsa_ratelimit tulip_rl = VSA_RATELIMIT_INIT(5, 60);

/* ---- small helpers ----------------------------------------------------------- */

static void sleep_us(unsigned us)
{
    struct timespec ts = { 0, (long)us * 1000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t *rx_desc(const struct vg_tulip *t, unsigned i)
{
    return (uint32_t *)(void *)(t->mem + RX_DESC_OFF + i * DESC_SIZE);
}

static uint32_t *tx_desc(const struct vg_tulip *t, unsigned i)
{
    return (uint32_t *)(void *)(t->mem + TX_DESC_OFF + i * DESC_SIZE);
}

static uint8_t *rx_buf(const struct vg_tulip *t, unsigned i)
{
    return t->mem + RX_BUF_OFF + (size_t)i * VG_TULIP_SLOT;
}

static uint8_t *tx_buf(const struct vg_tulip *t, unsigned i)
{
    return t->mem + TX_BUF_OFF + (size_t)i * VG_TULIP_SLOT;
}

static uint32_t gpa_of(const struct vg_tulip *t, size_t off)
{
    /* The 21140 is a 32-bit bus master: create() checked that the whole
     * area lies below 4 GiB. */
    return (uint32_t)(t->cfg.mem_gpa + off);
}

/* Descriptor words are shared with the device (another process): the
 * status word is read with acquire (buffer contents after it) and written
 * with release (buffer and control words before it). */
static uint32_t des_get(const uint32_t *w)
{
    return le32toh(__atomic_load_n(w, __ATOMIC_ACQUIRE));
}

static void des_set(uint32_t *w, uint32_t v)
{
    __atomic_store_n(w, htole32(v), __ATOMIC_RELEASE);
}

/* ---- register access (sticky errors) ---------------------------------------- */

static void count_trap(struct vg_tulip *t)
{
    t->st.traps++;
    if (t->open)
        t->st.traps_data++;
}

static uint32_t rd(struct vg_tulip *t, unsigned csr)
{
    uint32_t v = ~0u;
    int rc;

    if (t->io_err)
        return ~0u;
    count_trap(t);
    rc = t->cfg.ops->csr_read(t->cfg.ops_ctx, CSR(csr), &v);
    if (rc) {
        t->io_err = rc;
        return ~0u;
    }
    return v;
}

static void wr(struct vg_tulip *t, unsigned csr, uint32_t v)
{
    int rc;

    if (t->io_err)
        return;
    count_trap(t);
    rc = t->cfg.ops->csr_write(t->cfg.ops_ctx, CSR(csr), v);
    if (rc)
        t->io_err = rc;
}

static uint32_t cfg_rd(struct vg_tulip *t, uint32_t off, uint32_t size)
{
    uint32_t v = ~0u;
    int rc;

    if (t->io_err)
        return ~0u;
    count_trap(t);
    rc = t->cfg.ops->cfg_read(t->cfg.ops_ctx, off, size, &v);
    if (rc) {
        t->io_err = rc;
        return ~0u;
    }
    return v;
}

static void cfg_wr(struct vg_tulip *t, uint32_t off, uint32_t size, uint32_t v)
{
    int rc;

    if (t->io_err)
        return;
    count_trap(t);
    rc = t->cfg.ops->cfg_write(t->cfg.ops_ctx, off, size, v);
    if (rc)
        t->io_err = rc;
}

/* §6: clear SR/ST and wait (≤ 1.3 ms) until RS = TS = 0.  Like Linux, only
 * logs when the device does not stop. */
static void stop_rxtx(struct vg_tulip *t)
{
    uint32_t csr6 = rd(t, 6);

    if (t->io_err || !(csr6 & (CSR6_SR | CSR6_ST)))
        return;
    wr(t, 6, csr6 & ~(CSR6_SR | CSR6_ST));
    for (int i = 0; i < STOP_POLLS; i++) {
        uint32_t csr5 = rd(t, 5);

        if (t->io_err || !(csr5 & CSR5_STATES))
            return;
        sleep_us(10);
    }
    VSA_LOG(WARN, "%s: receive/transmit did not stop (CSR5 %#x)", t->name,
            rd(t, 5));
}

/* ---- serial ROM (§7.1) --------------------------------------------------------- */

/* One Microwire READ of `loc` with an `abits`-bit address.  With
 * sample_cmd the DO line is also sampled after every command bit (only
 * the size detection needs that); the result is every sampled bit, MSB
 * first, the data word in the low 16 bits. */
static uint32_t srom_read(struct vg_tulip *t, unsigned loc, unsigned abits,
                          bool sample_cmd)
{
    const uint32_t enb = CSR9_SR_RD | CSR9_SCS;
    uint32_t cmd = loc | (6u << abits); /* 0, start 1, READ 10, address */
    uint32_t acc = 0;

    wr(t, 9, CSR9_SR_RD);
    wr(t, 9, enb);
    for (int i = (int)abits + 3; i >= 0; i--) {
        uint32_t d = (cmd >> i) & 1u ? CSR9_SDI : 0;

        wr(t, 9, enb | d);
        wr(t, 9, enb | d | CSR9_SCLK);
        if (sample_cmd)
            acc = acc << 1 | ((rd(t, 9) & CSR9_SDO) ? 1u : 0u);
    }
    wr(t, 9, enb);
    for (int i = 0; i < 16; i++) {
        wr(t, 9, enb | CSR9_SCLK);
        acc = acc << 1 | ((rd(t, 9) & CSR9_SDO) ? 1u : 0u);
        wr(t, 9, enb);
    }
    wr(t, 9, CSR9_SR_RD);
    return acc;
}

static void srom_read_all(struct vg_tulip *t)
{
    /* Size detection (§7.1): an 8-bit-address part is still taking
     * address bits (DO floats high) where a 6-bit part already drives its
     * dummy 0: bit 18 of the accumulated samples. */
    uint32_t probe = srom_read(t, 0xFF, 8, true);

    t->info.srom_addr_bits = (probe & (1u << 18)) ? 8 : 6;
    for (unsigned w = 0; w < VG_TULIP_SROM_BYTES / 2 && !t->io_err; w++) {
        uint32_t v = srom_read(t, w, t->info.srom_addr_bits, false);

        t->srom[2 * w] = (uint8_t)v;
        t->srom[2 * w + 1] = (uint8_t)(v >> 8);
    }
}

/* ---- MII management (§8) ------------------------------------------------------- */

static uint16_t mii_read(struct vg_tulip *t, unsigned phy, unsigned reg)
{
    uint32_t cmd = (0xF6u << 10) | (phy & 31u) << 5 | (reg & 31u);
    uint32_t acc = 0;

    for (int i = 0; i < 32; i++) { /* preamble: 32 ones */
        wr(t, 9, CSR9_MDO);
        wr(t, 9, CSR9_MDO | CSR9_MDC);
    }
    for (int i = 15; i >= 0; i--) {
        uint32_t d = (cmd >> i) & 1u ? CSR9_MDO : 0;

        wr(t, 9, d);
        wr(t, 9, d | CSR9_MDC);
    }
    /* Turnaround (2), 16 data bits, idle (1): sample with MDC low. */
    for (int i = 0; i < 19; i++) {
        wr(t, 9, CSR9_MII_RD);
        acc = acc << 1 | ((rd(t, 9) & CSR9_MDI) ? 1u : 0u);
        wr(t, 9, CSR9_MII_RD | CSR9_MDC);
    }
    return (uint16_t)(acc >> 1);
}

static bool phy_answers(uint16_t bmsr)
{
    return bmsr != 0x0000 && bmsr != 0xFFFF;
}

/* §9.1 step 7: scan addresses 1..31, then 0, reading BMSR; a PHY answers
 * with anything but 0x0000/0xFFFF.  The SROM's MII block numbers PHYs in
 * the order found (0 = the first), so the scan stops at that one. */
static void find_phy(struct vg_tulip *t)
{
    unsigned found = 0;

    t->info.phy = -1;
    for (unsigned k = 1; k <= 32 && !t->io_err; k++) {
        unsigned a = k & 31u;

        if (!phy_answers(mii_read(t, a, MII_BMSR)))
            continue;
        if (found++ == t->info.phy_index || t->info.phy < 0)
            t->info.phy = (int)a;
        if (found > t->info.phy_index)
            break;
    }
    if (t->info.phy < 0)
        return;
    t->info.phy_id1 = mii_read(t, (unsigned)t->info.phy, MII_PHYID1);
    t->info.phy_id2 = mii_read(t, (unsigned)t->info.phy, MII_PHYID2);
}

/* ---- SROM contents (§7.2, §7.3) ------------------------------------------------ */

static uint32_t crc32_raw(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ ((crc & 1u) ? 0xEDB88320u : 0u);
    }
    return crc;
}

uint32_t vg_tulip_crc32(const uint8_t *p, size_t len)
{
    return ~crc32_raw(p, len);
}

unsigned vg_tulip_hash_bit(const struct vsa_mac *m)
{
    return crc32_raw(m->b, 6) & 0x1FFu;
}

static int srom_fail(char *err, size_t errsz, const char *fmt, ...)
    VSA_PRINTF(3, 4);

static int srom_fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

/* §7.2 legacy checksum: the three little-endian MAC words folded into
 * 16 bits with end-around subtraction of 65535. */
static uint32_t legacy_cksum(const uint8_t *mac)
{
    uint32_t c = le16(mac);

    c *= 2;
    if (c > 65535u)
        c -= 65535u;
    c += le16(mac + 2);
    if (c > 65535u)
        c -= 65535u;
    c *= 2;
    if (c > 65535u)
        c -= 65535u;
    c += le16(mac + 4);
    if (c >= 65535u)
        c -= 65535u;
    return c;
}

int vg_tulip_srom_check(const uint8_t rom[VG_TULIP_SROM_BYTES],
                        struct vsa_mac *mac, bool *legacy, char *err,
                        size_t errsz)
{
    static const uint8_t ones[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    struct vsa_mac m;
    char buf[VSA_MAC_STRLEN];

    if (memcmp(rom, rom + 16, 8) == 0) {
        uint32_t want = legacy_cksum(rom), got = le16(rom + 6);

        if (want != got)
            return srom_fail(err, errsz, "legacy-format SROM checksum "
                             "mismatch: stored %#06x, computed %#06x", got,
                             want);
        memcpy(m.b, rom, 6);
        *legacy = true;
    } else {
        uint32_t want = vg_tulip_crc32(rom, SROM_CRC_OFF) & 0xFFFFu;
        uint32_t got = le16(rom + SROM_CRC_OFF);

        if (want != got)
            return srom_fail(err, errsz, "SROM CRC mismatch: stored %#06x, "
                             "computed %#06x over bytes 0-125", got, want);
        memcpy(m.b, rom + SROM_MAC_OFF, 6);
        *legacy = false;
    }
    if (vsa_mac_is_zero(&m) || vsa_mac_is_multicast(&m) ||
        memcmp(m.b, ones, 6) == 0)
        return srom_fail(err, errsz, "SROM MAC %s is not a unicast address",
                         vsa_mac_format(&m, buf));
    *mac = m;
    return 0;
}

/* One compact (21140 GPR) block: media code, GP data, command word. */
static void leaf_gpr(struct vg_tulip *t, const uint8_t *b)
{
    uint16_t cmd = le16(b + 2);

    /* The first block, unless a later one is flagged default (bit 14). */
    if (t->gpr_valid && !(cmd & 0x4000u))
        return;
    t->gpr_valid = true;
    t->gpr_media = b[0] & 0x3Fu;
    t->gpr_data = b[1];
    t->gpr_cmd = cmd;
}

/* Type-1 (21140 MII PHY) extended block body of `len` bytes. */
static void leaf_mii(struct vg_tulip *t, const uint8_t *b, unsigned len,
                     bool with_seqs)
{
    unsigned gl, rl;

    if (len < 1)
        return;
    t->info.mii = true;
    t->info.phy_index = b[0];
    if (!with_seqs || len < 2)
        return;
    gl = b[1];
    if (2u + gl + 1u > len)
        return;
    rl = b[2 + gl];
    if (3u + gl + rl > len || gl > sizeof(t->mii_gp) ||
        rl > sizeof(t->mii_reset))
        return;
    memcpy(t->mii_gp, b + 2, gl);
    t->mii_gp_len = gl;
    memcpy(t->mii_reset, b + 3 + gl, rl);
    t->mii_reset_len = rl;
}

/* §7.3: controller 0's info leaf.  Every length is checked against the
 * 128 bytes read; anything malformed ends the walk (what was found so far
 * stays). */
static void parse_leaf(struct vg_tulip *t)
{
    const uint8_t *r = t->srom;
    unsigned leaf = le16(r + SROM_LEAF_OFF), p, count;

    if (t->info.srom_legacy || leaf < 30u || leaf + 4u > VG_TULIP_SROM_BYTES)
        return;
    t->info.gp_dir = r[leaf + 2];
    count = r[leaf + 3];
    p = leaf + 4;
    for (unsigned k = 0; k < count && p < VG_TULIP_SROM_BYTES; k++) {
        if (!(r[p] & 0x80u)) { /* compact block: 4 bytes */
            if (p + 4u > VG_TULIP_SROM_BYTES)
                break;
            leaf_gpr(t, r + p);
            p += 4;
            continue;
        }
        unsigned len = r[p] & 0x7Fu; /* bytes after this one */

        if (len < 1u || p + 1u + len > VG_TULIP_SROM_BYTES)
            break;
        switch (r[p + 1]) {
        case 0: /* 21140 GPR, compact content */
            if (len - 1u >= 4u)
                leaf_gpr(t, r + p + 2);
            break;
        case 1: /* 21140 MII PHY */
            leaf_mii(t, r + p + 2, len - 1u, true);
            break;
        case 3: /* 21142 MII: PHY number only (its sequences are CSR15's) */
            leaf_mii(t, r + p + 2, len - 1u, false);
            break;
        default:
            break;
        }
        p += 1u + len;
    }
}

/* ---- lifecycle --------------------------------------------------------------- */

int vg_tulip_create(const struct vg_tulip_cfg *cfg, struct vg_tulip **out)
{
    struct vg_tulip *t;
    const struct vg_tulip_ops *o = cfg ? cfg->ops : NULL;

    *out = NULL;
    if (!o || !o->cfg_read || !o->cfg_write || !o->csr_read ||
        !o->csr_write || !cfg->sink || !cfg->sink->rx || !cfg->mem ||
        cfg->mem_size < VG_TULIP_MEM_SIZE || ((uintptr_t)cfg->mem & 15u) ||
        (cfg->mem_gpa & 15u) ||
        cfg->mem_gpa + VG_TULIP_MEM_SIZE > 0x100000000ull)
        return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cfg = *cfg;
    t->mem = cfg->mem;
    t->info.phy = -1;
    snprintf(t->name, sizeof(t->name), "%s", cfg->name ? cfg->name : "tulip");
    *out = t;
    return 0;
}

void vg_tulip_destroy(struct vg_tulip *t)
{
    free(t);
}

int vg_tulip_probe(struct vg_tulip *t)
{
    char mac[VSA_MAC_STRLEN], why[128];
    uint32_t id, cr, cmd, bar0;
    int rc;

    if (t->open)
        return -EBUSY;
    t->io_err = 0;
    t->probed = false;
    memset(&t->info, 0, sizeof(t->info));
    t->info.phy = -1;
    t->gpr_valid = false;
    t->mii_gp_len = t->mii_reset_len = 0;

    /* 1. The device: identity, I/O decoding on. */
    id = cfg_rd(t, CFG_ID, 4);
    if (t->io_err)
        return t->io_err;
    if (id == 0xFFFFFFFFu)
        return -ENOENT;
    if ((id & 0xFFFFu) != VG_TULIP_VENDOR_ID ||
        (id >> 16) != VG_TULIP_DEVICE_ID) {
        VSA_LOG(ERR, "%s: PCI id %04x:%04x is not a DEC 21140 (%04x:%04x)",
                t->name, id & 0xFFFFu, id >> 16, VG_TULIP_VENDOR_ID,
                VG_TULIP_DEVICE_ID);
        return -ENODEV;
    }
    cr = cfg_rd(t, CFG_CLASSREV, 4);
    t->info.revision = (uint8_t)cr;
    cmd = cfg_rd(t, CFG_CMD, 2) & 0xFFFFu;
    cfg_wr(t, CFG_CMD, 2, cmd | CMD_IO);
    bar0 = cfg_rd(t, CFG_BAR0, 4);
    if (!t->io_err && !(bar0 & 1u))
        VSA_LOG(WARN, "%s: BAR0 %#x is not an I/O BAR", t->name, bar0);

    /* 3. Stop both processes.  4. Bus mastering; clear CSR8. */
    stop_rxtx(t);
    cfg_wr(t, CFG_CMD, 2, cmd | CMD_IO | CMD_MASTER);
    (void)rd(t, 8);

    /* 5-6. Serial ROM and the MAC. */
    srom_read_all(t);
    if (t->io_err)
        return t->io_err;
    rc = vg_tulip_srom_check(t->srom, &t->info.mac, &t->info.srom_legacy, why,
                             sizeof(why));
    if (rc) {
        VSA_LOG(ERR, "%s: refusing the NIC: %s", t->name, why);
        return rc;
    }

    /* 7. Media: the info leaf, then the PHY on the MII. */
    parse_leaf(t);
    if (t->info.mii || !t->gpr_valid)
        find_phy(t);
    if (!t->info.mii && !t->gpr_valid && t->info.phy >= 0)
        t->info.mii = true; /* no usable leaf, but a PHY answers */

    /* 8. General-purpose port direction. */
    wr(t, 12, t->info.gp_dir | CSR12_GPC);
    if (t->io_err)
        return t->io_err;
    t->probed = true;
    VSA_LOG(INFO, "%s: DEC 21140%s rev %#04x, MAC %s (%s SROM, %u-bit), %s, "
            "PHY %d id %04x:%04x", t->name,
            t->info.revision >= 0x20 ? "A" : "", t->info.revision,
            vsa_mac_format(&t->info.mac, mac),
            t->info.srom_legacy ? "legacy" : "new-format",
            t->info.srom_addr_bits, t->info.mii ? "MII" : "GPR media",
            t->info.phy, t->info.phy_id1, t->info.phy_id2);
    return 0;
}

/* ---- address filter (§5) ------------------------------------------------------- */

static const struct vsa_mac bcast = { { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF } };

/* A perfect entry: two address bytes in the low half of each of three
 * consecutive longwords (little-endian descriptors). */
static void put_perfect(uint8_t *e, const struct vsa_mac *m)
{
    for (unsigned k = 0; k < 3; k++) {
        e[4 * k] = m->b[2 * k];
        e[4 * k + 1] = m->b[2 * k + 1];
    }
}

static void hash_set(uint8_t *buf, unsigned bit)
{
    /* bit i: longword i >> 4, bit i & 15 of its low half */
    buf[4 * (bit >> 4) + ((bit & 15u) >> 3)] |= (uint8_t)(1u << (bit & 7u));
}

/* Whether the multicast list itself is what the filter must hold (not
 * promiscuous / all-multicast). */
static bool mode_uses_list(const struct vg_tulip_rx_mode *m)
{
    return !m->promisc && !m->allmulti && m->nmc <= VG_TULIP_MC_MAX;
}

static uint32_t mode_csr6(const struct vg_tulip_rx_mode *m)
{
    if (m->promisc)
        return CSR6_PR | CSR6_PM;
    if (m->allmulti || m->nmc > VG_TULIP_MC_MAX)
        return CSR6_PM;
    return 0;
}

/* Builds the setup frame for the current list; returns TDES1's filter
 * type bits (0 perfect, FT0 hash). */
static uint32_t build_setup(const struct vg_tulip *t, uint8_t *buf)
{
    const struct vg_tulip_rx_mode *m = &t->mode;
    uint32_t n = mode_uses_list(m) ? m->nmc : 0;

    memset(buf, 0, VG_TULIP_SETUP_LEN);
    if (n <= VG_TULIP_PERFECT_MC) {
        /* groups, then broadcast in every unused entry (the 21140 must
         * have it in the table), our MAC in entry 15 */
        for (unsigned e = 0; e < 16; e++)
            put_perfect(buf + 12 * e, e == 15 ? &t->info.mac
                                      : e < n ? &m->mc[e] : &bcast);
        return 0;
    }
    hash_set(buf, vg_tulip_hash_bit(&bcast)); /* 255 */
    for (uint32_t i = 0; i < n; i++)
        hash_set(buf, vg_tulip_hash_bit(&m->mc[i]));
    put_perfect(buf + 156, &t->info.mac); /* longwords 39-41 */
    return TDES1_FT0;
}

/* ---- transmit ------------------------------------------------------------------ */

static uint32_t tx_in_flight(const struct vg_tulip *t)
{
    return t->tx_head - t->tx_tail;
}

static void tx_reclaim(struct vg_tulip *t)
{
    while (t->tx_tail != t->tx_head) {
        unsigned i = t->tx_tail % VG_TULIP_TX_RING;
        uint32_t s = des_get(&tx_desc(t, i)[0]);

        if (s & DES_OWN)
            break;
        /* setup and dummy descriptors complete with odd status words */
        if (t->tx_kind[i] == TX_DATA && (s & TDES0_ES))
            t->st.tx_errors++;
        t->tx_kind[i] = TX_FREE;
        t->tx_tail++;
    }
}

/* CSR7: poll mode keeps only the abnormal sources; with TAP the device
 * finds the list empty at every period, so TU would interrupt each time. */
static uint32_t irq_mask(const struct vg_tulip *t)
{
    uint32_t m = t->poll_mode ? IRQ_MASK_POLL : IRQ_MASK;

    return t->tx_autopoll ? m & ~CSR5_TU : m;
}

static void tx_kick(struct vg_tulip *t)
{
    if (t->tx_autopoll)
        t->unkicked = 0; /* the device polls the list itself (CSR0 TAP) */
    if (!t->unkicked)
        return;
    wr(t, 1, 0); /* §9.3: transmit poll demand */
    t->st.tx_polls++;
    t->unkicked = 0;
}

/* Fills TX descriptor `head` (control, buffer) and hands it over. */
static void tx_post(struct vg_tulip *t, uint32_t tdes1, uint32_t buf_gpa,
                    enum tx_kind kind)
{
    unsigned i = t->tx_head % VG_TULIP_TX_RING;
    uint32_t *d = tx_desc(t, i);

    if (i == VG_TULIP_TX_RING - 1)
        tdes1 |= TDES1_TER;
    d[1] = htole32(tdes1);
    d[2] = htole32(buf_gpa);
    t->tx_kind[i] = (uint8_t)kind;
    des_set(&d[0], DES_OWN);
    t->tx_head++;
    t->unkicked++;
}

/* Queues the wanted setup frame when it differs from the loaded one and
 * there is room (kicking the ring once to make room). */
static void setup_try(struct vg_tulip *t)
{
    uint8_t want[VG_TULIP_SETUP_LEN];
    uint32_t ft, need;
    unsigned i;

    if (!t->open || !t->setup_pending || t->io_err)
        return;
    if (!mode_uses_list(&t->mode)) { /* like Linux: filter stays loaded */
        t->setup_pending = false;
        return;
    }
    ft = build_setup(t, want);
    if (t->setup_valid && ft == t->setup_loaded_ft &&
        memcmp(want, t->setup_loaded, sizeof(want)) == 0) {
        t->setup_pending = false;
        return;
    }
    need = (t->tx_head % VG_TULIP_TX_RING) ? 2u : 1u;
    tx_reclaim(t);
    if (VG_TULIP_TX_RING - tx_in_flight(t) < need) {
        tx_kick(t);
        tx_reclaim(t);
        if (VG_TULIP_TX_RING - tx_in_flight(t) < need)
            return; /* still pending: retried after reclaims */
    }
    /* §4.4/§5: the 21140 wants a setup frame at entry 0, or a dummy
     * descriptor (OWN, no buffers, no FS/LS) in front of it. */
    if (t->tx_head % VG_TULIP_TX_RING)
        tx_post(t, 0, 0, TX_DUMMY);
    i = t->tx_head % VG_TULIP_TX_RING;
    memcpy(tx_buf(t, i), want, sizeof(want));
    tx_post(t, TDES1_SET | ft | VG_TULIP_SETUP_LEN,
            gpa_of(t, TX_BUF_OFF + (size_t)i * VG_TULIP_SLOT), TX_SETUP);
    memcpy(t->setup_loaded, want, sizeof(want));
    t->setup_loaded_ft = ft;
    t->setup_valid = true;
    t->setup_pending = false;
    t->st.setup_frames++;
    tx_kick(t);
}

int vg_tulip_send(struct vg_tulip *t, const void *frame, size_t len)
{
    uint32_t n, tdes1;
    unsigned i;

    if (!t->open)
        return -ENOTCONN;
    if (t->io_err)
        return t->io_err;
    if (len < ETH_HLEN || len > VG_TULIP_MAX_FRAME) {
        t->st.drop_tx_size++;
        return -EMSGSIZE;
    }
    tx_reclaim(t);
    if (tx_in_flight(t) >= VG_TULIP_TX_RING - TX_RESERVE) {
        tx_kick(t); /* let the device drain what we queued */
        tx_reclaim(t);
        if (t->io_err)
            return t->io_err;
        if (tx_in_flight(t) >= VG_TULIP_TX_RING - TX_RESERVE) {
            t->st.tx_ring_full++;
            return -EAGAIN;
        }
    }
    i = t->tx_head % VG_TULIP_TX_RING;
    memcpy(tx_buf(t, i), frame, len);
    n = tx_in_flight(t) + 1;
    tdes1 = (uint32_t)len | TDES1_FS | TDES1_LS;
    /* §9.3: interrupt when the ring turns half full and when it fills */
    if (n == VG_TULIP_TX_RING / 2 || n >= VG_TULIP_TX_RING - TX_RESERVE)
        tdes1 |= TDES1_IC;
    tx_post(t, tdes1, gpa_of(t, TX_BUF_OFF + (size_t)i * VG_TULIP_SLOT),
            TX_DATA);
    t->st.tx_frames++;
    t->st.tx_bytes += len;
    return 0;
}

int vg_tulip_flush(struct vg_tulip *t)
{
    if (!t->open)
        return 0;
    tx_kick(t);
    if (t->setup_pending) {
        tx_reclaim(t);
        setup_try(t);
    }
    return t->io_err;
}

/* ---- receive ------------------------------------------------------------------- */

static void rx_desc_init(struct vg_tulip *t, unsigned i)
{
    uint32_t *d = rx_desc(t, i);

    d[1] = htole32(VG_TULIP_RX_BUF |
                   (i == VG_TULIP_RX_RING - 1 ? RDES1_RER : 0));
    d[2] = htole32(gpa_of(t, RX_BUF_OFF + (size_t)i * VG_TULIP_SLOT));
    d[3] = htole32(gpa_of(t, RX_DESC_OFF +
                              ((i + 1) % VG_TULIP_RX_RING) * DESC_SIZE));
}

/* Every completed descriptor: deliver (or count) and give back.  Returns
 * the frames delivered. */
static unsigned rx_poll(struct vg_tulip *t)
{
    unsigned got = 0;

    for (unsigned n = 0; n < VG_TULIP_RX_RING; n++) {
        unsigned i = t->rx_cur;
        uint32_t *d = rx_desc(t, i);
        uint32_t s = des_get(&d[0]);
        uint32_t fl = RDES0_FL(s);

        if (s & DES_OWN)
            break;
        /* Untrusted: lengths are checked against our buffer. */
        if ((s & (RDES0_FS | RDES0_LS | RDES0_ES)) !=
                (RDES0_FS | RDES0_LS) ||
            fl < ETH_HLEN + FCS_LEN || fl - FCS_LEN > VG_TULIP_MAX_FRAME) {
            t->st.rx_errors++;
        } else {
            t->st.rx_frames++;
            t->st.rx_bytes += fl - FCS_LEN;
            got++;
            t->cfg.sink->rx(t->cfg.sink_ctx, rx_buf(t, i), fl - FCS_LEN);
        }
        rx_desc_init(t, i); /* the control words too: the device is untrusted */
        des_set(&d[0], DES_OWN);
        t->rx_cur = (i + 1) % VG_TULIP_RX_RING;
    }
    return got;
}

/* ---- open / close -------------------------------------------------------------- */

static void rings_init(struct vg_tulip *t)
{
    memset(t->mem, 0, RX_BUF_OFF);
    for (unsigned i = 0; i < VG_TULIP_RX_RING; i++)
        rx_desc_init(t, i);
    for (unsigned i = 0; i < VG_TULIP_RX_RING; i++)
        des_set(&rx_desc(t, i)[0], DES_OWN);
    for (unsigned i = 0; i < VG_TULIP_TX_RING; i++) {
        tx_desc(t, i)[3] = htole32(gpa_of(t, TX_DESC_OFF +
                                   ((i + 1) % VG_TULIP_TX_RING) * DESC_SIZE));
        t->tx_kind[i] = TX_FREE;
    }
    t->rx_cur = 0;
    t->tx_head = t->tx_tail = 0;
    t->unkicked = 0;
}

/* Duplex from the autonegotiation result (advertised ∩ partner, best
 * common mode); half duplex when the PHY says nothing useful. */
static bool mii_full_duplex(struct vg_tulip *t)
{
    uint16_t anar, lpa, common;

    if (t->info.phy < 0)
        return false;
    anar = mii_read(t, (unsigned)t->info.phy, MII_ANAR);
    lpa = mii_read(t, (unsigned)t->info.phy, MII_ANLPAR);
    if (anar == 0xFFFF || lpa == 0xFFFF)
        return false;
    common = anar & lpa;
    if (common & 0x0100u)          /* 100BASE-TX FD */
        return true;
    if (common & 0x0080u)          /* 100BASE-TX HD */
        return false;
    return (common & 0x0040u) != 0; /* 10BASE-T FD */
}

/* §9.2 step 7: the medium and the CSR6 value that goes with it. */
static void select_media(struct vg_tulip *t)
{
    wr(t, 12, t->info.gp_dir | CSR12_GPC);
    if (t->info.mii) {
        for (unsigned i = 0; i < t->mii_reset_len; i++)
            wr(t, 12, t->mii_reset[i]);
        for (unsigned i = 0; i < t->mii_gp_len; i++)
            wr(t, 12, t->mii_gp[i]);
        t->csr6 = CSR6_MII | (mii_full_duplex(t) ? CSR6_FD : 0);
        return;
    }
    wr(t, 12, t->gpr_data);
    t->csr6 = CSR6_MBO | ((uint32_t)(t->gpr_cmd & 0x71u) << 18);
    if (t->gpr_media == 4 || t->gpr_media == 5 || t->gpr_media == 8)
        t->csr6 |= CSR6_FD;
}

int vg_tulip_open(struct vg_tulip *t)
{
    uint32_t ft;

    if (!t->probed || t->io_err)
        return t->io_err ? t->io_err : -EINVAL;
    if (t->open)
        return 0;
    /* 1. Rings. */
    rings_init(t);
    /* 2-4. Port select before the reset, reset, bus mode. */
    if (t->info.mii)
        wr(t, 6, CSR6_PS);
    wr(t, 0, CSR0_SWR);
    (void)cfg_rd(t, CFG_ID, 4); /* flush */
    sleep_us(100);
    wr(t, 0, CSR0_VALUE | t->tx_autopoll << CSR0_TAP_SHIFT);
    (void)cfg_rd(t, CFG_ID, 4);
    sleep_us(100);
    /* 5. List bases. */
    wr(t, 3, gpa_of(t, RX_DESC_OFF));
    wr(t, 4, gpa_of(t, TX_DESC_OFF));
    /* 6. The setup frame at TX entry 0 (processed once ST is set). */
    ft = build_setup(t, tx_buf(t, 0));
    memcpy(t->setup_loaded, tx_buf(t, 0), VG_TULIP_SETUP_LEN);
    t->setup_loaded_ft = ft;
    t->setup_valid = true;
    t->setup_pending = false;
    tx_post(t, TDES1_SET | ft | VG_TULIP_SETUP_LEN, gpa_of(t, TX_BUF_OFF),
            TX_SETUP);
    t->unkicked = 0; /* ST below starts the transmit process */
    t->st.setup_frames++;
    /* 7. Media and the receive mode bits. */
    select_media(t);
    t->csr6 |= mode_csr6(&t->mode);
    /* 8. Stop, then start transmit alone: the setup frame goes first. */
    stop_rxtx(t);
    sleep_us(5);
    wr(t, 6, t->csr6 | CSR6_ST);
    /* 9. Clear and enable interrupts (poll mode: the abnormal ones). */
    wr(t, 5, IRQ_MASK);
    wr(t, 7, irq_mask(t));
    /* 10. Both processes; receive poll demand. */
    wr(t, 6, t->csr6 | CSR6_SR | CSR6_ST);
    (void)rd(t, 6);
    wr(t, 2, 0);
    if (t->io_err)
        return t->io_err;
    t->open = true;
    t->link_known = false;
    /* 11. The link (the caller re-checks it every VG_TULIP_LINK_POLL_MS). */
    (void)vg_tulip_check_link(t);
    /* A filter changed between probe and open is in the frame above; one
     * asked for while the setup frame was queued goes out now. */
    setup_try(t);
    return t->io_err;
}

void vg_tulip_close(struct vg_tulip *t, bool io)
{
    if (!t->open)
        return;
    if (io && !t->io_err) {
        wr(t, 7, 0);        /* §9.5: interrupts off, */
        stop_rxtx(t);       /* processes stopped, */
        t->st.rx_missed += rd(t, 8) & 0xFFFFu; /* missed frames cleared */
    }
    t->open = false;
    t->unkicked = 0;
    t->setup_pending = false;
    t->setup_valid = false;
    t->link_known = false;
}

bool vg_tulip_is_open(const struct vg_tulip *t)
{
    return t->open;
}

/* ---- interrupt (§9.4) ---------------------------------------------------------- */

int vg_tulip_service(struct vg_tulip *t)
{
    uint64_t v;

    /* Drain the wakeups (the line's socket carries one message per
     * interrupt, an eventfd empties in one read), at most 16: more left
     * keep the fd readable.  Nothing pending: look at CSR5 anyway. */
    for (int i = 0; i < 16 && t->cfg.irq_fd >= 0; i++)
        if (read(t->cfg.irq_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
            break;
    if (!t->open || t->io_err)
        return t->io_err;
    t->st.irqs++;
    for (int round = 0; round < SERVICE_ROUNDS; round++) {
        uint32_t csr5 = rd(t, 5);

        if (t->io_err)
            return t->io_err;
        if (csr5 == 0xFFFFFFFFu)
            return -ENXIO; /* no device: every register reads all-ones */
        if (!(csr5 & (CSR5_NIS | CSR5_AIS))) {
            if (round == 0)
                t->st.irqs_spurious++;
            break;
        }
        /* Acknowledge first: what happens while we work raises it anew. */
        wr(t, 5, csr5 & CSR5_W1C);
        if (csr5 & CSR5_FBE) {
            /* Both processes stopped: nothing below applies. */
            t->st.bus_errors++;
            VSA_LOG_RL(&tulip_rl, WARN, "%s: fatal bus error (CSR5 %#x, "
                       "EB %u); resetting", t->name, csr5, (csr5 >> 23) & 7u);
            return t->io_err ? t->io_err : -EIO;
        }
        if (csr5 & (CSR5_RI | CSR5_RU))
            rx_poll(t);
        if (csr5 & CSR5_RU) {
            t->st.rx_unavailable++;
            t->st.rx_missed += rd(t, 8) & 0xFFFFu;
        }
        if (csr5 & (CSR5_RU | CSR5_RPS)) { /* refilled: resume receive */
            wr(t, 2, 0);
            t->st.rx_polls++;
        }
        tx_reclaim(t);
        if (csr5 & (CSR5_TPS | CSR5_RPS | CSR5_UNF)) {
            /* Not expected while running: count, restart what stopped. */
            t->st.process_stops++;
            VSA_LOG_RL(&tulip_rl, WARN, "%s: process stopped (CSR5 %#x); "
                       "restarting", t->name, csr5);
            wr(t, 6, t->csr6 | CSR6_SR | CSR6_ST);
        }
        if (csr5 & (CSR5_LNP | CSR5_LNF | CSR5_GTE))
            (void)vg_tulip_check_link(t);
    }
    if (t->setup_pending)
        setup_try(t);
    return t->io_err;
}

int vg_tulip_irq_fd(const struct vg_tulip *t)
{
    return t->cfg.irq_fd;
}

/* ---- poll mode ------------------------------------------------------------------ */

int vg_tulip_set_poll_mode(struct vg_tulip *t, bool on)
{
    if (t->poll_mode == on)
        return t->io_err;
    t->poll_mode = on;
    if (t->open && !t->io_err)
        wr(t, 7, irq_mask(t));
    return t->io_err;
}

bool vg_tulip_poll_mode(const struct vg_tulip *t)
{
    return t->poll_mode;
}

/* ---- transmit automatic polling ------------------------------------------------ */

int vg_tulip_set_tx_autopoll(struct vg_tulip *t, unsigned tap)
{
    if (tap > CSR0_TAP_MAX)
        return -EINVAL;
    if (t->open)
        return -EBUSY;
    t->tx_autopoll = tap;
    return 0;
}

int vg_tulip_poll(struct vg_tulip *t)
{
    struct pollfd p = { .fd = t->cfg.irq_fd, .events = POLLIN };
    uint64_t rx0 = t->st.rx_frames;
    int rc;

    if (!t->open || t->io_err)
        return t->io_err;
    /* Descriptors are memory: looking at them costs no trap. */
    tx_reclaim(t);
    (void)rx_poll(t);
    if (t->setup_pending)
        setup_try(t);
    /* Something to say (poll mode: an abnormal event such as RU): the
     * interrupt path, which reads CSR5 and resumes receive with CSR2. */
    if (p.fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
        rc = vg_tulip_service(t);
        if (rc)
            return rc;
    }
    if (t->io_err)
        return t->io_err;
    return (int)(t->st.rx_frames - rx0);
}

/* ---- control ------------------------------------------------------------------- */

int vg_tulip_set_rx_mode(struct vg_tulip *t, const struct vg_tulip_rx_mode *m)
{
    uint32_t n = m->nmc > VG_TULIP_MC_MAX ? VG_TULIP_MC_MAX : m->nmc;
    uint32_t bits;

    t->mode.promisc = m->promisc;
    t->mode.allmulti = m->allmulti;
    t->mode.nmc = m->nmc;
    memcpy(t->mode.mc, m->mc, n * sizeof(m->mc[0]));
    if (!t->open)
        return 0;
    if (t->io_err)
        return t->io_err;
    bits = mode_csr6(&t->mode);
    if ((t->csr6 & (CSR6_PR | CSR6_PM)) != bits) {
        t->csr6 = (t->csr6 & ~(CSR6_PR | CSR6_PM)) | bits;
        wr(t, 6, t->csr6 | CSR6_SR | CSR6_ST);
    }
    t->setup_pending = true;
    setup_try(t);
    return t->io_err;
}

bool vg_tulip_setup_pending(const struct vg_tulip *t)
{
    return t->setup_pending;
}

int vg_tulip_check_link(struct vg_tulip *t)
{
    bool up;

    if (!t->probed || t->io_err)
        return t->io_err;
    if (t->info.mii && t->info.phy >= 0) {
        uint16_t bmsr = mii_read(t, (unsigned)t->info.phy, MII_BMSR);

        /* Link status latches low: a down reading is re-read once to
         * get the current state. */
        if (!(bmsr & BMSR_LINK))
            bmsr = mii_read(t, (unsigned)t->info.phy, MII_BMSR);
        up = bmsr != 0xFFFF && (bmsr & BMSR_LINK);
    } else if (t->info.mii || !t->gpr_valid || (t->gpr_cmd & 0x8000u)) {
        up = true; /* nothing senses the link: assume it is there */
    } else {
        /* GP pin (cmd bits 3:1) at the level bit 7 gives */
        uint32_t pins = rd(t, 12);
        unsigned pin = (t->gpr_cmd >> 1) & 7u;

        up = ((pins >> pin) & 1u) == ((t->gpr_cmd >> 7) & 1u);
    }
    if (t->io_err)
        return t->io_err;
    if (t->link_known && up == t->link)
        return 0;
    if (t->link_known)
        t->st.link_changes++;
    t->link = up;
    t->link_known = true;
    if (t->cfg.sink->link)
        t->cfg.sink->link(t->cfg.sink_ctx, up);
    return 0;
}

int vg_tulip_check_present(struct vg_tulip *t)
{
    uint32_t id, cmd, rx_list;

    if (!t->probed)
        return -EINVAL;
    if (t->io_err)
        return t->io_err;
    id = cfg_rd(t, CFG_ID, 4);
    cmd = cfg_rd(t, CFG_CMD, 2);
    /* open wrote our receive list's address; another device moved to
     * this index (the NICs before it were removed) has its own driver's */
    rx_list = t->open ? rd(t, 3) : 0;
    if (t->io_err)
        return t->io_err;
    if (id != ((VG_TULIP_DEVICE_ID << 16) | VG_TULIP_VENDOR_ID) ||
        (cmd & (CMD_IO | CMD_MASTER)) != (CMD_IO | CMD_MASTER) ||
        (t->open && rx_list != gpa_of(t, RX_DESC_OFF)))
        return -ENXIO;
    return 0;
}

bool vg_tulip_link_up(const struct vg_tulip *t)
{
    return t->open && t->link_known && t->link;
}

struct vsa_mac vg_tulip_mac(const struct vg_tulip *t)
{
    return t->info.mac;
}

const struct vg_tulip_info *vg_tulip_info(const struct vg_tulip *t)
{
    return &t->info;
}

/* ---- introspection -------------------------------------------------------------- */

static const char *const stat_names[] = {
#define N_(n, h) #n,
    VG_TULIP_STATS_FOREACH(N_)
#undef N_
};

static const char *const stat_helps[] = {
#define H_(n, h) h,
    VG_TULIP_STATS_FOREACH(H_)
#undef H_
};

const struct vg_tulip_stats *vg_tulip_stats(const struct vg_tulip *t)
{
    return &t->st;
}

const char *vg_tulip_stats_name(unsigned id)
{
    return id < VG_TULIP_STATS_N ? stat_names[id] : NULL;
}

const char *vg_tulip_stats_help(unsigned id)
{
    return id < VG_TULIP_STATS_N ? stat_helps[id] : NULL;
}

uint64_t vg_tulip_stat(const struct vg_tulip_stats *s, unsigned id)
{
    const uint64_t *f = (const uint64_t *)(const void *)s;

    return s && id < VG_TULIP_STATS_N ? f[id] : 0;
}
