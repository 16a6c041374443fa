/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/part.h"

#include <errno.h>
#include <stddef.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"

VSA_LOG_MODULE(vg_part);

#define VG_PART_PUMP_BUDGET 64u

static struct vsa_ratelimit part_rl = VSA_RATELIMIT_INIT(5, 60);
/* One line per connection: a host that drops every one makes them come
 * every retry (the agent backs off, but the lines add up). */
static struct vsa_ratelimit conn_rl = VSA_RATELIMIT_INIT(10, 60);

int vg_part_connect(struct vg_part *p, uint64_t mem_size, int timeout_ms)
{
    struct hv_part_guest *pg;
    int rc;

    if (p->pg)
        return -EISCONN;
    rc = hv_part_guest_connect(p->path, timeout_ms, &pg);
    if (rc)
        return rc;
    /* Low region first: hv_part_guest_alloc_pages serves the first region
     * with room, and the legacy NICs carve it right away (legacy.h). */
    rc = 0;
    if (p->low_size > VG_PART_LOW_MAX)
        rc = -EINVAL;
    else if (p->low_size)
        rc = hv_part_guest_add_memory(pg, VG_PART_LOW_GPA, p->low_size);
    if (rc == 0 && (mem_size || !p->low_size))
        rc = hv_part_guest_add_memory(pg, VG_PART_GPA_BASE, mem_size);
    if (rc == 0)
        rc = hv_part_guest_handshake(pg, timeout_ms);
    if (rc) {
        hv_part_guest_close(pg);
        return rc;
    }
    VSA_LOG_RL(&conn_rl, INFO, "%s: connected, VMBus version %#x, %u offers",
               p->path, hv_vmbus_guest_version(hv_part_guest_vmbus(pg)),
               hv_vmbus_guest_offer_count(hv_part_guest_vmbus(pg)));
    p->pg = pg;
    return 0;
}

void vg_part_close(struct vg_part *p, bool unload, int timeout_ms)
{
    struct hv_vmbus_guest *vb;
    uint64_t deadline;

    if (!p->pg)
        return;
    vb = hv_part_guest_vmbus(p->pg);
    if (unload && hv_vmbus_guest_unload(vb) == 0) {
        deadline = vsa_time_now_ms() + (uint64_t)timeout_ms;
        while (hv_vmbus_guest_state(vb) == HV_GUEST_UNLOADING) {
            uint64_t now = vsa_time_now_ms();
            int rc;

            if (now >= deadline)
                break;
            rc = hv_part_guest_poll(p->pg, (int)(deadline - now));
            if (rc && rc != -ETIMEDOUT && rc != -EPROTO)
                break;
        }
    }
    hv_part_guest_close(p->pg);
    p->pg = NULL;
}

bool vg_part_connected(const struct vg_part *p)
{
    return p->pg != NULL;
}

int vg_part_fd(const struct vg_part *p)
{
    return p->pg ? hv_part_guest_fd(p->pg) : -1;
}

int vg_part_pump(struct vg_part *p)
{
    /* Bounded: a chatty host cannot starve the data path. */
    for (unsigned i = 0; i < VG_PART_PUMP_BUDGET; i++) {
        int rc = hv_part_guest_poll(p->pg, 0);

        switch (rc) {
        case 0:
            continue;
        case -ETIMEDOUT:
            return 0;
        case -EPROTO:
        case -EPROTONOSUPPORT:
            /* A frame we cannot use; the connection itself is fine. */
            VSA_LOG_RL(&part_rl, WARN, "%s: unexpected frame from the host",
                       p->path);
            continue;
        default:
            return -ECONNRESET;
        }
    }
    return 0;
}
