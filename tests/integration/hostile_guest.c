/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostile_guest — a deliberately misbehaving guest for the integration
 * test t_hostile_guest.sh (issue 3, §4 (e)).  It connects to its own
 * partition socket and, depending on --mode, attacks the host:
 *
 *   ring     opens the channel, then (one fresh connection per variant)
 *            corrupts the ring control page and data area: write_index out
 *            of range or unaligned, read_index of the host->guest ring out
 *            of range, descriptors with oversized len8 / bad offset8,
 *            random bytes in the data area; signals the host each time.
 *   gpadl    GPADL_HEADERs with PFNs outside guest memory, total counts
 *            larger than what is ever sent, bodies for unknown GPADLs,
 *            duplicate ids, unknown channels, malformed sizes.  The host's
 *            GPADL_CREATED answers for the duplicated id are read off the
 *            socket: the result line counts the valid GPADLs created
 *            (created=, of 20) and the duplicate headers refused
 *            (duplicates_refused=, of duplicates=).
 *   init     opens the channel and sends NVSP INIT 100,000 times as fast
 *            as the ring allows (draining the host's answers).  The host
 *            answers the first and closes the channel at the second (INIT
 *            after a negotiated version), so the attack ends when the
 *            host has not read the ring for 2 s; the result line counts
 *            the INIT_COMPLETE answers that arrived.
 *   oid      proper NVSP/RNDIS handshake (the vesper-guest NIC code), then
 *            RNDIS QUERY for 10,000 random OIDs.
 *   garbage  random bytes as partition-socket frames.
 *   signal   proper handshake, then guest->host signals in a tight loop
 *            for --duration ms (default 5000) with nothing in the ring
 *            (TESTS.md #27); prints "storm started" and "storm done".
 *   nodrain  proper handshake (receive buffer, RNDIS up, packet filter
 *            set) and one broadcast frame from its MAC (so the switch
 *            learns it), then for --duration ms (default 20000) never
 *            reads the host->guest ring nor completes a receive range
 *            (TESTS.md #26); prints "nic ready" when the host may start
 *            sending.
 *
 * init, oid and signal print "attack done" / "storm done" and, with
 * --hold MS, stay connected that long so the caller can read the
 * channel's datapath counters (they go away with the connection); with
 * --release FILE too, only until FILE exists (the caller creates it once
 * it has read them: a fixed hold can end before a slow reader is done).  Prints
 * one "result: ..." line; exits 0 when the attack could be carried out
 * (the host's reaction is checked by the script), 1 on setup failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_part.h"
#include "hv/hv_part_wire.h"
#include "hv/hv_ring.h"
#include "hv/hv_vmbus.h"
#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/nic.h"
#include "tools/vesper-guest/part.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsc.h"

#define TMO 5000
#define GPA_BASE 0x100000000ull
#define MEM_SIZE (8ull << 20)
#define RING_PAGES 4u /* per direction, control page included */

static const char *g_path;
static int g_hold_ms; /* stay connected after the attack (--hold) */
static const char *g_release; /* ... or until this file exists (--release) */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put32(void *p, uint32_t off, uint32_t v)
{
    __atomic_store_n((uint32_t *)((uint8_t *)p + off), v, __ATOMIC_SEQ_CST);
}

/* Whether a --hold that ends at `end` (now_ms) is over. */
static bool hold_over(uint64_t end)
{
    return now_ms() >= end || (g_release && access(g_release, F_OK) == 0);
}

/* Connects (retrying while the host still holds the previous connection),
 * shares memory and runs the VMBus handshake. */
static struct hv_part_guest *connect_ready(bool handshake)
{
    struct hv_part_guest *pg = NULL;
    uint64_t end = now_ms() + 10000;
    int rc;

    for (;;) {
        rc = hv_part_guest_connect(g_path, TMO, &pg);
        if (rc == 0)
            break;
        if (now_ms() > end) {
            fprintf(stderr, "connect %s: %s\n", g_path, strerror(-rc));
            return NULL;
        }
        usleep(50000);
    }
    if (!handshake)
        return pg;
    rc = hv_part_guest_add_memory(pg, GPA_BASE, MEM_SIZE);
    if (rc == 0)
        rc = hv_part_guest_handshake(pg, TMO);
    if (rc) {
        fprintf(stderr, "memory/handshake: %s\n", strerror(-rc));
        hv_part_guest_close(pg);
        return NULL;
    }
    return pg;
}

static uint32_t netvsc_relid(struct hv_part_guest *pg)
{
    return hv_vmbus_guest_find_offer(hv_part_guest_vmbus(pg), &hv_guid_netvsc,
                                     0);
}

/* Opens `relid` by hand so that we keep pointers to both rings' pages. */
struct raw_chan {
    uint8_t *out_ctl, *out_data; /* guest->host */
    uint8_t *in_ctl, *in_data;   /* host->guest */
    uint32_t dsize;
    int to_host, from_host;
    struct hv_ring *out, *in;
};

static int open_raw(struct hv_part_guest *pg, uint32_t relid,
                    struct raw_chan *c)
{
    struct hv_vmbus_guest *g = hv_part_guest_vmbus(pg);
    uint64_t gpa;
    uint32_t id;
    uint8_t *base = hv_part_guest_alloc_pages(pg, 2 * RING_PAGES, &gpa);
    struct hv_ring_cfg cfg = { 0 };
    uint64_t end;
    int rc;

    if (!base)
        return -ENOMEM;
    memset(c, 0, sizeof(*c));
    c->out_ctl = base;
    c->out_data = base + 4096;
    c->in_ctl = base + RING_PAGES * 4096;
    c->in_data = c->in_ctl + 4096;
    c->dsize = (RING_PAGES - 1) * 4096;
    hv_ring_ctl_init(c->out_ctl);
    hv_ring_ctl_init(c->in_ctl);
    rc = hv_part_guest_gpadl_sync(pg, relid, gpa, 2 * RING_PAGES, &id, TMO);
    if (rc)
        return rc;
    rc = hv_part_guest_setup_signals(pg, relid, &c->to_host, &c->from_host);
    if (rc)
        return rc;
    rc = hv_vmbus_guest_open(g, relid, relid, id, RING_PAGES);
    if (rc)
        return rc;
    end = now_ms() + TMO;
    while ((rc = hv_vmbus_guest_open_status(g, relid)) == -EINPROGRESS) {
        if (now_ms() > end)
            return -ETIMEDOUT;
        int prc = hv_part_guest_poll(pg, 100);
        if (prc && prc != -ETIMEDOUT)
            return prc;
    }
    if (rc)
        return rc;
    cfg.role = HV_RING_WRITER;
    cfg.dsize = c->dsize;
    rc = hv_ring_create_buf(&cfg, c->out_ctl, &c->out);
    if (rc)
        return rc;
    cfg.role = HV_RING_READER;
    return hv_ring_create_buf(&cfg, c->in_ctl, &c->in);
}

static void close_raw(struct raw_chan *c)
{
    if (c->out)
        hv_ring_destroy(c->out);
    if (c->in)
        hv_ring_destroy(c->in);
    c->out = c->in = NULL;
}

static void sig_host(const struct raw_chan *c)
{
    uint64_t one = 1;

    if (write(c->to_host, &one, sizeof(one)) < 0) {
        /* the host may have closed its end; nothing to do */
    }
}

static int nvsp_init_msg(uint8_t *buf, size_t size)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };

    m.u.init.min_ver = VSPN_NVSP_VERSION_2;
    m.u.init.max_ver = VSPN_NVSP_VERSION_61;
    return vspn_nvsp_encode(&m, buf, size);
}

/* Pumps partition frames for `ms` (the host's channel messages). */
static void pump(struct hv_part_guest *pg, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;

    while (now_ms() < end) {
        int rc = hv_part_guest_poll(pg, 20);
        if (rc && rc != -ETIMEDOUT)
            break;
    }
}

/* ---- ring ------------------------------------------------------------------ */
static int mode_ring(void)
{
    unsigned done = 0;

    for (unsigned v = 0; v < 7; v++) {
        struct hv_part_guest *pg = connect_ready(true);
        struct raw_chan c;
        uint32_t relid;
        uint8_t desc[16];
        int rc;

        if (!pg)
            return 1;
        relid = netvsc_relid(pg);
        if (!relid || (rc = open_raw(pg, relid, &c)) != 0) {
            fprintf(stderr, "ring v%u: cannot open channel\n", v);
            hv_part_guest_close(pg);
            return 1;
        }
        switch (v) {
        case 0: /* write_index beyond the data area */
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, c.dsize + 4096);
            break;
        case 1: /* write_index not 8-byte aligned */
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, 13);
            break;
        case 2: /* write_index 0xFFFFFFF8 */
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, 0xFFFFFFF8u);
            break;
        case 3: /* descriptor whose len8 claims 512 KiB */
            memset(desc, 0, sizeof(desc));
            desc[0] = HV_PKT_INBAND;
            desc[2] = 2;                   /* offset8 */
            desc[4] = 0xff, desc[5] = 0xff; /* len8 = 65535 */
            memcpy(c.out_data, desc, sizeof(desc));
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, 64);
            break;
        case 4: /* offset8 > len8, and offset8 < 2 variants */
            memset(desc, 0, sizeof(desc));
            desc[0] = HV_PKT_INBAND;
            desc[2] = 9;  /* offset8 */
            desc[4] = 3;  /* len8 */
            memcpy(c.out_data, desc, sizeof(desc));
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, 32);
            break;
        case 5: /* random bytes in the data area, plausible write_index */
            for (uint32_t i = 0; i < c.dsize; i += 8) {
                uint64_t r = rnd();
                memcpy(c.out_data + i, &r, 8);
            }
            put32(c.out_ctl, HV_RING_OFF_WRITE_INDEX, 2048);
            break;
        case 6: { /* read_index of the host->guest ring out of range, then a
                   * valid INIT so that the host writes an answer */
            uint8_t m[64];
            bool sig = false;
            int n = nvsp_init_msg(m, sizeof(m));

            put32(c.in_ctl, HV_RING_OFF_READ_INDEX, c.dsize + 12);
            if (n > 0)
                (void)hv_ring_write_inband(c.out, HV_PKT_FLAG_COMPLETION_REQUESTED,
                                           1, m, (size_t)n, &sig);
            break;
        }
        }
        sig_host(&c);
        pump(pg, 150);
        done++;
        close_raw(&c);
        hv_part_guest_close(pg);
    }
    printf("result: ring variants=%u\n", done);
    return 0;
}

/* ---- gpadl ----------------------------------------------------------------- */
static int send_raw_msg(struct hv_part_guest *pg, const void *m, size_t len)
{
    return hv_part_guest_send(pg, HV_PART_CHAN_MSG, m, len);
}

/* A raw GPADL_HEADER: total PFNs announced, `n` carried. */
static size_t gpadl_header(uint8_t *b, uint32_t relid, uint32_t id,
                           uint32_t byte_count, uint32_t total,
                           const uint64_t *pfns, uint32_t n)
{
    memset(b, 0, 240);
    put32(b, 0, HV_MSG_GPADL_HEADER);
    put32(b, 8, relid);
    put32(b, 12, id);
    uint16_t buflen = (uint16_t)(8u + 8u * total), cnt = 1;
    memcpy(b + 16, &buflen, 2);
    memcpy(b + 18, &cnt, 2);
    put32(b, 20, byte_count);
    put32(b, 24, 0);
    memcpy(b + 28, pfns, 8u * n);
    return 28u + 8u * n;
}

/* The host's GPADL_CREATED answers for one id, in arrival order. */
static struct {
    uint32_t id;
    unsigned n;
    uint32_t status[4];
} g_watch;

/* Like pump(), but reads the partition frames itself so that it sees the
 * answers hv_vmbus_guest drops (GPADLs it did not create: the headers
 * sent raw); records those for g_watch.id, hands every channel message on
 * to hv_vmbus_guest.  Until `want` answers arrived or `ms` passed. */
static void pump_watch(struct hv_part_guest *pg, int ms, unsigned want)
{
    static struct hv__part_frame f;
    uint64_t end = now_ms() + (uint64_t)ms;
    int fd = hv_part_guest_fd(pg);

    while (g_watch.n < want && now_ms() < end) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        struct hv_chan_msg m;
        int rc;

        if (poll(&pfd, 1, 20) <= 0)
            continue;
        rc = hv__part_recv(fd, &f);
        if (rc == -EAGAIN)
            continue;
        if (rc)
            break;
        if (f.fd >= 0)
            close(f.fd);
        if (f.kind != HV_PART_CHAN_MSG)
            continue;
        if (hv_chan_msg_decode(f.payload, f.len, &m) == 0 &&
            m.type == HV_MSG_GPADL_CREATED &&
            m.u.gpadl_created.gpadl == g_watch.id && g_watch.n < 4)
            g_watch.status[g_watch.n++] = m.u.gpadl_created.status;
        (void)hv_vmbus_guest_handle_msg(hv_part_guest_vmbus(pg), f.payload,
                                        f.len);
    }
}

static int mode_gpadl(void)
{
    struct hv_part_guest *pg = connect_ready(true);
    uint8_t b[256];
    uint64_t pfns[26];
    uint64_t base_pfn = GPA_BASE >> 12, gpa;
    uint32_t relid;
    unsigned sent = 0, created = 0, dups = 0, dups_refused = 0;
    size_t n;

    if (!pg)
        return 1;
    relid = netvsc_relid(pg);
    if (!relid) {
        hv_part_guest_close(pg);
        return 1;
    }
    (void)hv_part_guest_alloc_pages(pg, 4, &gpa);

    for (unsigned round = 0; round < 20; round++) {
        uint32_t id = 0x7000 + round * 16;

        /* 1. PFNs outside guest memory */
        pfns[0] = 0xdeadbeefull;
        pfns[1] = base_pfn + (MEM_SIZE >> 12) + 5;
        n = gpadl_header(b, relid, id + 0, 2 * 4096, 2, pfns, 2);
        sent += send_raw_msg(pg, b, n) == 0;
        /* 2. PFN 2^52 - 1 (beyond any region), and PFN 0 */
        pfns[0] = (1ull << 40) - 1;
        pfns[1] = 0;
        n = gpadl_header(b, relid, id + 1, 2 * 4096, 2, pfns, 2);
        sent += send_raw_msg(pg, b, n) == 0;
        /* 3. announces 4000 PFNs (range_buflen saturates at 16-bit: 2000),
         *    carries 2, the rest never comes; then a body that overflows */
        pfns[0] = base_pfn;
        pfns[1] = base_pfn + 1;
        n = gpadl_header(b, relid, id + 2, 2000u * 4096u, 2000, pfns, 2);
        sent += send_raw_msg(pg, b, n) == 0;
        memset(b, 0, sizeof(b));
        put32(b, 0, HV_MSG_GPADL_BODY);
        put32(b, 8, 1);
        put32(b, 12, id + 2);
        for (unsigned i = 0; i < 28; i++)
            memcpy(b + 16 + 8 * i, &(uint64_t){ base_pfn + (rnd() % 4096) }, 8);
        sent += send_raw_msg(pg, b, 16 + 8 * 28) == 0;
        /* 4. byte_count inconsistent with the PFN count */
        n = gpadl_header(b, relid, id + 3, 100u * 4096u, 2, pfns, 2);
        sent += send_raw_msg(pg, b, n) == 0;
        /* 5. body for a GPADL that does not exist */
        memset(b, 0, sizeof(b));
        put32(b, 0, HV_MSG_GPADL_BODY);
        put32(b, 12, 0xBADBAD + round);
        put32(b, 16, (uint32_t)base_pfn);
        sent += send_raw_msg(pg, b, 16 + 8) == 0;
        /* 6. unknown channel */
        n = gpadl_header(b, 0xFFFF00 + round, id + 4, 4096, 1, pfns, 1);
        sent += send_raw_msg(pg, b, n) == 0;
        /* 7. count larger than the message body (length lies) */
        n = gpadl_header(b, relid, id + 5, 20u * 4096u, 20, pfns, 2);
        memcpy(b + 18, &(uint16_t){ 7 }, 2); /* rangecount 7 */
        sent += send_raw_msg(pg, b, n) == 0;
        n = gpadl_header(b, relid, id + 6, 4096, 1, pfns, 1);
        sent += send_raw_msg(pg, b, n + 40) == 0; /* trailing junk */
        sent += send_raw_msg(pg, b, 20) == 0;     /* truncated */
        /* 8. duplicate ids: one valid GPADL, then the same id again: the
         *    host creates the first (status 0) and refuses the others */
        uint32_t gid = id + 7;
        pfns[0] = gpa >> 12;
        pfns[1] = (gpa >> 12) + 1;
        n = gpadl_header(b, relid, gid, 2 * 4096, 2, pfns, 2);
        memset(&g_watch, 0, sizeof(g_watch));
        g_watch.id = gid;
        sent += send_raw_msg(pg, b, n) == 0;
        pump_watch(pg, TMO, 1);
        created += g_watch.n == 1 && g_watch.status[0] == 0;
        for (unsigned k = 0; k < 2; k++) {
            sent += send_raw_msg(pg, b, n) == 0; /* same id */
            dups++;
        }
        pump_watch(pg, TMO, 3);
        for (unsigned k = 1; k < g_watch.n; k++)
            dups_refused += g_watch.status[k] != 0;
        /* and a teardown of an id that never existed */
        memset(b, 0, sizeof(b));
        put32(b, 0, HV_MSG_GPADL_TEARDOWN);
        put32(b, 8, relid);
        put32(b, 12, 0x5EADBEEF);
        sent += send_raw_msg(pg, b, HV_MSG_SIZE_GPADL_TEARDOWN) == 0;
        pump(pg, 10);
    }
    pump(pg, 200);
    hv_part_guest_close(pg);
    printf("result: gpadl bad messages sent=%u created=%u duplicates=%u "
           "duplicates_refused=%u\n", sent, created, dups, dups_refused);
    return sent ? 0 : 1;
}

/* ---- init ------------------------------------------------------------------ */
static unsigned drain_in(const struct raw_chan *c)
{
    static uint8_t buf[HV_RING_MAX_PKT_DEFAULT];
    struct hv_ring_pkt p;
    unsigned n = 0;

    while (hv_ring_read_pkt(c->in, buf, sizeof(buf), &p) == 0)
        n++;
    if (hv_ring_read_end(c->in))
        sig_host(c);
    return n;
}

static int mode_init(unsigned count)
{
    struct hv_part_guest *pg = connect_ready(true);
    struct raw_chan c;
    uint8_t m[64];
    unsigned sent = 0, answers = 0;
    uint64_t last_progress, t0 = now_ms();
    uint32_t relid;
    int n, rc;

    if (!pg)
        return 1;
    relid = netvsc_relid(pg);
    if (!relid || open_raw(pg, relid, &c) != 0) {
        hv_part_guest_close(pg);
        return 1;
    }
    n = nvsp_init_msg(m, sizeof(m));
    last_progress = now_ms();
    while (sent < count) {
        bool sig = false;

        rc = hv_ring_write_inband(c.out, HV_PKT_FLAG_COMPLETION_REQUESTED,
                                  sent + 1, m, (size_t)n, &sig);
        if (rc == 0) {
            sent++;
            last_progress = now_ms();
            if (sig)
                sig_host(&c);
            if ((sent & 63) == 0)
                answers += drain_in(&c);
            continue;
        }
        if (rc != -EAGAIN)
            break;
        sig_host(&c);
        answers += drain_in(&c);
        struct pollfd pf = { .fd = c.from_host, .events = POLLIN };
        (void)poll(&pf, 1, 5);
        if (pf.revents & POLLIN) {
            uint64_t v;
            (void)!read(c.from_host, &v, sizeof(v));
        }
        (void)hv_part_guest_poll(pg, 0);
        if (now_ms() - last_progress > 2000)
            break; /* the host stopped reading: channel closed */
    }
    answers += drain_in(&c);
    pump(pg, 100);
    printf("attack done\n");
    for (uint64_t e = now_ms() + (uint64_t)g_hold_ms; !hold_over(e);) {
        answers += drain_in(&c);
        pump(pg, 20);
    }
    printf("result: init sent=%u answers=%u in %llu ms\n", sent, answers,
           (unsigned long long)(now_ms() - t0));
    close_raw(&c);
    hv_part_guest_close(pg);
    return sent > 0 ? 0 : 1;
}

/* ---- a proper NIC (oid, signal, nodrain) ---------------------------------- */
static void sink_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                    bool has_vlan)
{
    (void)ctx, (void)f, (void)len, (void)tci, (void)has_vlan;
}

static const struct vg_nic_sink null_sink = { .rx = sink_rx };
static struct vg_nic g_nic;
static struct vg_counters g_cnt;
static struct vg_part g_part;

/* Connects and brings the synthetic NIC up the way vesper-guest does
 * (NVSP/RNDIS handshake, packet filter directed + multicast + broadcast).
 * 0, or 1 after printing why. */
static int nic_up(const char *mode)
{
    uint64_t end = now_ms() + 10000;
    int rc;

    memset(&g_cnt, 0, sizeof(g_cnt));
    g_part.path = g_path;
    for (;;) {
        rc = vg_part_connect(&g_part, vg_nic_mem_size(VSPN_VSC_LINUX, 1500),
                             TMO);
        if (rc == 0 || now_ms() > end)
            break;
        usleep(50000);
    }
    if (rc) {
        fprintf(stderr, "%s: connect: %s\n", mode, strerror(-rc));
        return 1;
    }
    g_nic.part = &g_part;
    g_nic.mode = VSPN_VSC_LINUX;
    g_nic.mtu = 1500;
    g_nic.sink = &null_sink;
    g_nic.cnt = &g_cnt;
    g_nic.name = "hostile";
    rc = vg_nic_open(&g_nic, TMO);
    if (rc || !vg_nic_ready(&g_nic)) {
        fprintf(stderr, "%s: handshake: %s\n", mode, strerror(-rc));
        vg_part_close(&g_part, false, 0);
        return 1;
    }
    return 0;
}

/* Stays connected for --hold ms, serving the NIC normally. */
static void nic_hold(void)
{
    for (uint64_t e = now_ms() + (uint64_t)g_hold_ms; !hold_over(e);) {
        bool more;
        (void)vg_nic_drain(&g_nic, 64, &more);
        (void)vg_part_pump(&g_part);
        usleep(10000);
    }
}

/* ---- oid ------------------------------------------------------------------- */
static int mode_oid(unsigned count)
{
    unsigned done = 0, unsupported = 0, ok = 0;
    int rc;

    if (nic_up("oid"))
        return 1;
    while (done < count) {
        uint32_t oid = (uint32_t)rnd(), status = 0, len = 0;
        uint8_t out[VSPN_VSC_OID_RESULT_MAX];
        uint64_t t_end = now_ms() + 2000;

        rc = vspn_vsc_oid_request(g_nic.vsc, VSPN_RNDIS_MSG_QUERY, oid, NULL,
                                  0);
        if (rc) {
            fprintf(stderr, "oid: request %u: %s\n", done, strerror(-rc));
            break;
        }
        vg_nic_flush(&g_nic);
        while ((rc = vspn_vsc_oid_result(g_nic.vsc, &status, out, sizeof(out),
                                         &len)) == -EINPROGRESS) {
            bool more;
            struct pollfd pf[2] = {
                { .fd = vg_nic_wait_fd(&g_nic), .events = POLLIN },
                { .fd = vg_part_fd(&g_part), .events = POLLIN },
            };

            if (vg_nic_drain(&g_nic, 64, &more) > 0 || more)
                continue;
            if (now_ms() > t_end)
                break;
            (void)poll(pf, 2, 50);
            if (pf[0].revents & POLLIN)
                vg_nic_ack(&g_nic);
            if (pf[1].revents & POLLIN)
                (void)vg_part_pump(&g_part);
        }
        if (rc)
            break;
        done++;
        if (status == VSPN_RNDIS_STATUS_NOT_SUPPORTED)
            unsupported++;
        else
            ok++;
    }
    printf("result: oid queried=%u not_supported=%u other=%u\n", done,
           unsupported, ok);
    printf("attack done\n");
    nic_hold();
    vg_nic_close(&g_nic, true, 1000);
    vg_part_close(&g_part, true, 1000);
    /* Every query must be answered: a lost answer was the VSP dropping the
     * packet it had read when its service budget ran out (fixed). */
    if (done < count)
        printf("stopped after %u of %u queries (no answer in 2 s)\n", done,
               count);
    return done == count && ok == 0 ? 0 : 1;
}

/* ---- signal ---------------------------------------------------------------- */
/* TESTS.md #27: a proper NIC, then guest->host signals in a tight loop
 * for `ms` with nothing written to the ring.  The host->guest ring is still
 * drained every ~10 ms (ARP broadcasts of the other VMs land there), so
 * this guest storms and does nothing else wrong. */
static int mode_signal(unsigned ms)
{
    uint64_t writes = 0, failed = 0, t0, t_end, now;
    const uint64_t one = 1;
    uint64_t next_drain;
    int fd;

    if (nic_up("signal"))
        return 1;
    fd = g_nic.ch.to_host_fd;
    printf("storm started: %u ms\n", ms);
    t0 = now = now_ms();
    t_end = t0 + ms;
    next_drain = t0 + 10;
    while (now < t_end) {
        for (unsigned i = 0; i < 1024; i++) {
            if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
                writes++;
            else
                failed++;
        }
        now = now_ms();
        if (now >= next_drain) {
            bool more;

            (void)vg_nic_drain(&g_nic, 64, &more);
            if (vg_part_pump(&g_part) < 0)
                break; /* the host dropped us */
            next_drain = now + 10;
        }
    }
    now = now_ms();
    printf("storm done\n");
    printf("result: signal writes=%llu failed=%llu in %llu ms (%.0f/s)\n",
           (unsigned long long)writes, (unsigned long long)failed,
           (unsigned long long)(now - t0),
           (double)writes * 1000.0 / (double)(now - t0 ? now - t0 : 1));
    nic_hold();
    vg_nic_close(&g_nic, true, 1000);
    vg_part_close(&g_part, true, 1000);
    return writes > 0 && now >= t_end ? 0 : 1;
}

/* ---- nodrain --------------------------------------------------------------- */
/* TESTS.md #26: a proper NIC (receive buffer given, RNDIS initialised,
 * filter directed + multicast + broadcast, so the host sends it frames),
 * then for `ms` it never reads its host->guest ring, never completes a
 * receive range and never reads the host's signals; it only answers the
 * partition socket so that the connection stays up. */
static int mode_nodrain(unsigned ms)
{
    uint64_t t0, t_end;
    struct vsa_mac mac;

    if (nic_up("nodrain"))
        return 1;
    mac = vg_nic_mac(&g_nic);
    {
        /* one broadcast from our MAC, as a guest's gratuitous ARP would,
         * so that the switch learns where we are */
        uint8_t f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

        memcpy(f + 6, mac.b, 6);
        f[12] = 0x88, f[13] = 0xb5;
        if (vg_nic_send(&g_nic, f, sizeof(f), 0, false) != 0)
            fprintf(stderr, "nodrain: the announce frame was not sent\n");
        vg_nic_flush(&g_nic);
    }
    printf("nic ready: mac %02x:%02x:%02x:%02x:%02x:%02x, not draining for "
           "%u ms\n", mac.b[0], mac.b[1], mac.b[2], mac.b[3], mac.b[4],
           mac.b[5], ms);
    t0 = now_ms();
    t_end = t0 + ms;
    while (now_ms() < t_end) {
        if (vg_part_pump(&g_part) < 0) {
            printf("result: nodrain: the host dropped the connection after "
                   "%llu ms\n", (unsigned long long)(now_ms() - t0));
            return 1;
        }
        usleep(20000);
    }
    printf("result: nodrain held %llu ms\n",
           (unsigned long long)(now_ms() - t0));
    /* Not graceful: the host reclaims the slots when the guest goes. */
    vg_nic_close(&g_nic, false, 0);
    vg_part_close(&g_part, false, 0);
    return 0;
}

/* ---- garbage --------------------------------------------------------------- */
static int mode_garbage(unsigned count)
{
    struct hv_part_guest *pg = connect_ready(false);
    unsigned sent = 0, reconnects = 0;
    uint8_t b[512];

    if (!pg)
        return 1;
    for (unsigned i = 0; i < count; i++) {
        size_t len = rnd() % 300;

        for (size_t j = 0; j < len; j += 8) {
            uint64_t r = rnd();
            memcpy(b + j, &r, 8);
        }
        if (i % 3 == 1 && len >= 8) { /* plausible header, bad contents */
            put32(b, 0, 1u + (uint32_t)(rnd() % 8));
            put32(b, 4, (uint32_t)(rnd() % 2 ? len - 8 : rnd() % 400));
        }
        if (send(hv_part_guest_fd(pg), b, len, MSG_NOSIGNAL) >= 0) {
            sent++;
        } else {
            hv_part_guest_close(pg);
            reconnects++;
            pg = connect_ready(false);
            if (!pg)
                return 1;
        }
        if ((i & 255) == 0) {
            struct pollfd pf = { .fd = hv_part_guest_fd(pg), .events = POLLIN };
            if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) {
                hv_part_guest_close(pg);
                reconnects++;
                pg = connect_ready(false);
                if (!pg)
                    return 1;
            }
        }
    }
    usleep(200000);
    hv_part_guest_close(pg);
    printf("result: garbage frames sent=%u reconnects=%u\n", sent, reconnects);
    return sent ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "partition", required_argument, NULL, 'p' },
        { "mode", required_argument, NULL, 'm' },
        { "count", required_argument, NULL, 'c' },
        { "seed", required_argument, NULL, 's' },
        { "hold", required_argument, NULL, 'h' },
        { "release", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    const char *mode = NULL;
    long count = -1;
    long duration = -1;
    int o;

    while ((o = getopt_long(argc, argv, "p:m:c:s:h:r:d:", lo, NULL)) != -1) {
        switch (o) {
        case 'p': g_path = optarg; break;
        case 'm': mode = optarg; break;
        case 'c': count = strtol(optarg, NULL, 0); break;
        case 'h': g_hold_ms = atoi(optarg); break;
        case 'r': g_release = optarg; break;
        case 'd': duration = strtol(optarg, NULL, 0); break;
        case 's': g_rng = strtoull(optarg, NULL, 0) | 1; break;
        default:
            fprintf(stderr, "usage: %s --partition PATH --mode "
                    "ring|gpadl|init|oid|garbage|signal|nodrain [--count N] [--hold MS] "
                    "[--release FILE] [--duration MS]\n", argv[0]);
            return 2;
        }
    }
    if (!g_path || !mode) {
        fprintf(stderr, "--partition and --mode are required\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "ring"))
        return mode_ring();
    if (!strcmp(mode, "gpadl"))
        return mode_gpadl();
    if (!strcmp(mode, "init"))
        return mode_init(count > 0 ? (unsigned)count : 100000u);
    if (!strcmp(mode, "oid"))
        return mode_oid(count > 0 ? (unsigned)count : 10000u);
    if (!strcmp(mode, "garbage"))
        return mode_garbage(count > 0 ? (unsigned)count : 5000u);
    if (!strcmp(mode, "signal"))
        return mode_signal(duration > 0 ? (unsigned)duration : 5000u);
    if (!strcmp(mode, "nodrain"))
        return mode_nodrain(duration > 0 ? (unsigned)duration : 20000u);
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
