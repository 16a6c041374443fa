/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/legacy.h"

#include <errno.h>
#include <string.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "tools/vesper-guest/mcast.h"

VSA_LOG_MODULE(vg_legacy);

static struct vsa_ratelimit legacy_rl = VSA_RATELIMIT_INIT(5, 60);

/* ---- registers: one IO_TRAP per access ----------------------------------------- */

static int trap(struct vg_legacy *l, uint32_t flags, uint32_t addr,
                uint32_t size, uint32_t *val)
{
    struct hv_part_io io = { .dev = l->index, .flags = flags, .addr = addr,
                             .size = size, .value = val ? *val : 0 };
    int rc;

    if (!l->part->pg)
        return -ENOTCONN;
    rc = hv_part_guest_io(l->part->pg, &io, l->timeout_ms);
    if (rc)
        return rc;
    if (val && !(flags & HV_PART_IO_WRITE))
        *val = (uint32_t)io.value;
    return 0;
}

static int op_cfg_read(void *ctx, uint32_t off, uint32_t size, uint32_t *val)
{
    return trap(ctx, HV_PART_IO_CONFIG, off, size, val);
}

static int op_cfg_write(void *ctx, uint32_t off, uint32_t size, uint32_t val)
{
    return trap(ctx, HV_PART_IO_CONFIG | HV_PART_IO_WRITE, off, size, &val);
}

static int op_csr_read(void *ctx, uint32_t off, uint32_t *val)
{
    return trap(ctx, 0, off, 4, val); /* BAR0, the I/O BAR, as Linux */
}

static int op_csr_write(void *ctx, uint32_t off, uint32_t val)
{
    return trap(ctx, HV_PART_IO_WRITE, off, 4, &val);
}

static const struct vg_tulip_ops legacy_ops = {
    .cfg_read = op_cfg_read,
    .cfg_write = op_cfg_write,
    .csr_read = op_csr_read,
    .csr_write = op_csr_write,
};

/* ---- driver → agent ---------------------------------------------------------------- */

static void drv_rx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct vg_legacy *l = ctx;

    VG_CNT_INC(l->cnt, rx_frames);
    l->sink->rx(l->sink_ctx, frame, len, 0, false);
}

static void drv_link(void *ctx, bool up)
{
    struct vg_legacy *l = ctx;

    VG_CNT_INC(l->cnt, link_changes);
    if (l->sink->link)
        l->sink->link(l->sink_ctx, up);
}

static const struct vg_tulip_sink legacy_sink = {
    .rx = drv_rx,
    .link = drv_link,
};

static int default_rx_mode(void *ctx, const char *ifname,
                           struct vg_tulip_rx_mode *out)
{
    (void)ctx;
    return vg_mcast_read(ifname, out);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

void vg_legacy_init(struct vg_legacy *l)
{
    l->irq_fd = -1;
    if (!l->read_rx_mode)
        l->read_rx_mode = default_rx_mode;
    if (!l->timeout_ms)
        l->timeout_ms = VG_PART_TIMEOUT_MS;
}

int vg_legacy_carve(struct vg_legacy *l)
{
    struct hv_part_guest *pg = l->part->pg;
    uint64_t gpa = 0;
    void *p;

    if (l->owner == pg && l->mem)
        return 0;
    vg_legacy_reset_connection(l);
    p = hv_part_guest_alloc_pages(pg, (uint32_t)(VG_LEGACY_MEM_SIZE /
                                                 HV_PAGE_SIZE), &gpa);
    if (!p || gpa + VG_LEGACY_MEM_SIZE > 0x100000000ull) {
        VSA_LOG(ERR, "%s: no guest memory below 4 GiB for the descriptor "
                "rings (got %#llx)", l->name, (unsigned long long)gpa);
        return -ENOMEM;
    }
    l->owner = pg;
    l->mem = p;
    l->gpa = gpa;
    return 0;
}

void vg_legacy_reset_connection(struct vg_legacy *l)
{
    if (l->drv)
        vg_legacy_close(l, false);
    l->owner = NULL;
    l->mem = NULL;
    l->gpa = 0;
    l->irq_fd = -1; /* owned (and closed) by the partition connection */
    l->refused = false;
    l->next_probe_ms = 0;
}

static void fold_totals(struct vg_legacy *l)
{
    const struct vg_tulip_stats *s = vg_tulip_stats(l->drv);

    for (unsigned i = 0; i < VG_TULIP_STATS_N; i++)
        l->totals[i] += vg_tulip_stat(s, i);
}

int vg_legacy_open(struct vg_legacy *l)
{
    struct vg_tulip_cfg cfg;
    uint64_t now = vsa_time_now_ms();
    int rc;

    if (l->drv)
        return 0;
    if (l->refused || now < l->next_probe_ms)
        return -EAGAIN;
    if (!l->mem || l->owner != l->part->pg)
        return -ENOMEM; /* vg_legacy_carve first */
    if (l->irq_fd < 0) {
        rc = hv_part_guest_setup_irq(l->part->pg, l->index, &l->irq_fd);
        if (rc)
            return rc;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &legacy_ops;
    cfg.ops_ctx = l;
    cfg.irq_fd = l->irq_fd;
    cfg.mem = l->mem;
    cfg.mem_gpa = l->gpa;
    cfg.mem_size = VG_LEGACY_MEM_SIZE;
    cfg.sink = &legacy_sink;
    cfg.sink_ctx = l;
    cfg.name = l->name;
    rc = vg_tulip_create(&cfg, &l->drv);
    if (rc)
        return rc;
    if (l->poll_mode) /* before open: no I/O, CSR7 is written by open */
        (void)vg_tulip_set_poll_mode(l->drv, true);
    (void)vg_tulip_set_tx_autopoll(l->drv, l->tx_autopoll); /* checked 0-7 */
    /* The filter the interface wants is in the first setup frame. */
    l->mode_read_failed = l->read_rx_mode(l->rx_mode_ctx, l->ifname,
                                          &l->mode) != 0;
    if (!l->mode_read_failed)
        (void)vg_tulip_set_rx_mode(l->drv, &l->mode);
    rc = vg_tulip_probe(l->drv);
    if (rc == 0) {
        l->mac = vg_tulip_mac(l->drv);
        rc = vg_tulip_open(l->drv);
    }
    if (rc) {
        fold_totals(l);
        vg_tulip_destroy(l->drv);
        l->drv = NULL;
        switch (rc) {
        case -ENOENT:
            if (!l->absent_logged)
                VSA_LOG(WARN, "%s: no PCI device %u yet; probing every %u "
                        "ms", l->name, l->index, VG_LEGACY_PROBE_RETRY_MS);
            l->absent_logged = true;
            l->next_probe_ms = now + VG_LEGACY_PROBE_RETRY_MS;
            break;
        case -EBADMSG: /* bad SROM (logged by the driver) */
        case -ENODEV:  /* not a 21140 */
        case -EINVAL:
            l->refused = true;
            VSA_LOG(ERR, "%s: not brought up on this connection", l->name);
            rc = -EAGAIN;
            break;
        default:
            break;
        }
        return rc;
    }
    l->absent_logged = false;
    l->next_link_ms = now + VG_TULIP_LINK_POLL_MS;
    l->next_mcast_ms = now + VG_MCAST_POLL_MS;
    return 0;
}

void vg_legacy_removed(struct vg_legacy *l, uint64_t now)
{
    VG_CNT_INC(l->cnt, removals);
    VSA_LOG(WARN, "%s: PCI device %u went away or was replaced; probing "
            "again every %u ms", l->name, l->index, VG_LEGACY_PROBE_RETRY_MS);
    vg_legacy_close(l, false);
    l->absent_logged = true; /* the line above said it */
    l->next_probe_ms = now + VG_LEGACY_PROBE_RETRY_MS;
}

void vg_legacy_close(struct vg_legacy *l, bool graceful)
{
    if (!l->drv)
        return;
    vg_tulip_close(l->drv, graceful && l->part->pg);
    fold_totals(l);
    vg_tulip_destroy(l->drv);
    l->drv = NULL;
}

bool vg_legacy_ready(const struct vg_legacy *l)
{
    return l->drv && vg_tulip_is_open(l->drv);
}

/* ---- data path ------------------------------------------------------------------------ */

int vg_legacy_wait_fd(const struct vg_legacy *l)
{
    return vg_legacy_ready(l) ? l->irq_fd : -1;
}

/* Fatal bus error: the device stopped both processes.  Reset it. */
static int bus_error_reset(struct vg_legacy *l)
{
    int rc;

    vg_tulip_close(l->drv, true);
    rc = vg_tulip_open(l->drv);
    if (rc == 0)
        VSA_LOG_RL(&legacy_rl, WARN, "%s: reset after a bus error", l->name);
    return rc;
}

int vg_legacy_service(struct vg_legacy *l)
{
    int rc;

    if (!vg_legacy_ready(l))
        return 0;
    VG_CNT_INC(l->cnt, host_wakeups);
    rc = vg_tulip_service(l->drv);
    return rc == -EIO ? bus_error_reset(l) : rc;
}

int vg_legacy_poll(struct vg_legacy *l)
{
    int rc;

    if (!vg_legacy_ready(l))
        return 0;
    rc = vg_tulip_poll(l->drv);
    return rc == -EIO ? bus_error_reset(l) : rc;
}

int vg_legacy_send(struct vg_legacy *l, const void *frame, size_t len)
{
    int rc;

    if (!vg_legacy_ready(l))
        return -ENOTCONN;
    rc = vg_tulip_send(l->drv, frame, len);
    if (rc == 0)
        VG_CNT_INC(l->cnt, tx_frames);
    return rc;
}

int vg_legacy_flush(struct vg_legacy *l)
{
    return vg_legacy_ready(l) ? vg_tulip_flush(l->drv) : 0;
}

static void lower_wait(int *wait_ms, uint64_t now, uint64_t due)
{
    int w = due > now ? (int)(due - now) : 0;

    if (*wait_ms < 0 || w < *wait_ms)
        *wait_ms = w;
}

int vg_legacy_tick(struct vg_legacy *l, uint64_t now, int *wait_ms)
{
    int rc = 0;

    if (!vg_legacy_ready(l)) {
        if (!l->refused && l->mem && l->next_probe_ms)
            lower_wait(wait_ms, now, l->next_probe_ms);
        return 0;
    }
    if (now >= l->next_mcast_ms) {
        int r = l->read_rx_mode(l->rx_mode_ctx, l->ifname, &l->mode);

        if (r && !l->mode_read_failed)
            VSA_LOG(WARN, "%s: cannot read the receive filter of %s: %s; "
                    "keeping the last one", l->name, l->ifname, strerror(-r));
        l->mode_read_failed = r != 0;
        if (r == 0)
            rc = vg_tulip_set_rx_mode(l->drv, &l->mode);
        l->next_mcast_ms = now + VG_MCAST_POLL_MS;
    }
    if (rc == 0 && now >= l->next_link_ms) {
        /* first whether the device is still the one probed: a removed
         * one reads all-ones, which would pass for a link change */
        rc = vg_tulip_check_present(l->drv);
        if (rc == 0)
            rc = vg_tulip_check_link(l->drv);
        l->next_link_ms = now + VG_TULIP_LINK_POLL_MS;
    }
    lower_wait(wait_ms, now, l->next_mcast_ms);
    lower_wait(wait_ms, now, l->next_link_ms);
    return rc;
}

/* ---- introspection ------------------------------------------------------------------ */

struct vsa_mac vg_legacy_mac(const struct vg_legacy *l)
{
    return l->mac;
}

bool vg_legacy_link_up(const struct vg_legacy *l)
{
    return l->drv && vg_tulip_link_up(l->drv);
}

uint64_t vg_legacy_stat(const struct vg_legacy *l, unsigned id)
{
    if (id >= VG_TULIP_STATS_N)
        return 0;
    return l->totals[id] +
           (l->drv ? vg_tulip_stat(vg_tulip_stats(l->drv), id) : 0);
}

void vg_legacy_print(const struct vg_legacy *l, FILE *f)
{
    char mac[VSA_MAC_STRLEN];
    const char *nm = l->name ? l->name : "legacy";
    uint64_t frames = vg_legacy_stat(l, VG_TULIP_STATS_ID_tx_frames) +
                      vg_legacy_stat(l, VG_TULIP_STATS_ID_rx_frames);
    uint64_t traps = vg_legacy_stat(l, VG_TULIP_STATS_ID_traps_data);

    fprintf(f, "  %s: legacy:%u (DEC 21140A) state %s mac %s link %s "
            "multicast %u%s%s\n", nm, l->index,
            vg_legacy_ready(l) ? "OPEN" : l->refused ? "REFUSED" : "CLOSED",
            vsa_mac_format(&l->mac, mac), vg_legacy_link_up(l) ? "up" : "down",
            l->mode.nmc, l->mode.promisc ? " promisc" : "",
            l->mode.allmulti ? " allmulti" : "");
    for (unsigned i = 0; i < VG_TULIP_STATS_N; i++) {
        uint64_t v = vg_legacy_stat(l, i);

        if (v)
            fprintf(f, "  %s.tulip.%s %llu\n", nm, vg_tulip_stats_name(i),
                    (unsigned long long)v);
    }
    if (frames)
        fprintf(f, "  %s.tulip.traps_per_frame %.2f\n", nm,
                (double)traps / (double)frames);
}
