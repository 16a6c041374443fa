/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsw_oom.h — the allocation-failure sweep harness shared by
 * tests/unit/vswitch/test_vsw_oom.c (the switch's control operations) and
 * tests/unit/tools/test_vd_apply.c (vesperd's configuration apply), TESTS.md
 * #29.
 *
 * The harness installs a counting hook as the allocation hook of
 * common/vsa_alloc.h (and, for the apply test, as the ctl_alloc and
 * jansson allocators: oom_malloc/oom_free): every injection point a
 * control operation reaches increments one counter, and the point whose
 * number equals `fail_at` fails.  oom_sweep() runs an operation with
 * fail_at = 1, 2, ... until the operation reaches fewer than fail_at points
 * (it then ran without a failure: that is the final, successful call), and
 * after every failed attempt asserts that
 *   - it returned -ENOMEM,
 *   - the state dump (oom_dump_vsw plus the caller's part) is byte for byte
 *     the one taken before the sweep,
 *   - the live count of tracked allocations is back where it was;
 * after the sweep, in ASan builds, LSan's leak check must come back clean
 * (DPDK's memory is registered as a root region so that heap blocks
 * referenced only from rte_malloc memory, like the FDBs, are not reported).
 *
 * The dump covers what the control thread and the lcores see: the
 * published snapshot (its address too: a failed operation must not publish),
 * every switch with its FDB (every entry with its age, counters, per-port
 * limits and counts), every open port (device, lcore, link, MAC, counters),
 * the capture slots and id counter, and the process-wide DPDK state a leak
 * would show in: ethdevs, memzones (rings, pools), the rte_malloc heap's
 * allocation count and size, the packet pools' free mbufs, and the network
 * interfaces of the test's own network namespace (up, promiscuous, MTU,
 * disable_ipv6, addresses).
 */
#ifndef VSW_OOM_H
#define VSW_OOM_H

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_mempool.h>

#include "common/vsa_alloc.h"
#include "vswitch/fdb.h"
#include "vswitch/fdb_private.h"
#include "vswitch/vsw_private.h"
#include "vswitch/vswitch.h"

#if defined(__SANITIZE_ADDRESS__)
#define OOM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OOM_LSAN 1
#endif
#endif
#ifdef OOM_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the counting hook -------------------------------------------------- */

#define OOM_MAX_POINTS 4096

static struct {
    long fail_at;          /* 0: never fail */
    long calls;            /* injection points reached since arming */
    long live;             /* tracked allocations not yet released */
    const char *what[OOM_MAX_POINTS]; /* names of the points of this run */
} oom;

static inline bool oom_point(const char *what)
{
    if (oom.calls < OOM_MAX_POINTS)
        oom.what[oom.calls] = what;
    oom.calls++;
    return oom.fail_at && oom.calls == oom.fail_at;
}

static inline bool oom_fail_cb(void *arg, const char *what)
{
    (void)arg;
    return oom_point(what);
}

static inline void oom_track_cb(void *arg, const void *p, int delta)
{
    (void)arg;
    (void)p;
    oom.live += delta;
}

/* A malloc/free pair for ctl_alloc_set_funcs() and json_set_alloc_funcs():
 * each call is an injection point too, counted with the others. */
static inline void *oom_malloc(size_t size)
{
    void *p;

    if (oom_point("ctl/jansson malloc"))
        return NULL;
    p = malloc(size);
    if (p)
        oom.live++;
    return p;
}

static inline void oom_free(void *p)
{
    if (p) {
        oom.live--;
        free(p);
    }
}

static inline void oom_install(void)
{
    static const struct vsa_alloc_hook hook = {
        .inject = oom_fail_cb,
        .track = oom_track_cb,
    };

    vsa_alloc_set_hook(&hook);
}

#ifdef OOM_LSAN
static int oom_lsan_root(const struct rte_memseg_list *msl, void *arg)
{
    (void)arg;
    __lsan_register_root_region(msl->base_va, msl->len);
    return 0;
}
#endif

/* After rte_eal_init(): heap blocks referenced only from DPDK memory are
 * reachable for LSan. */
static inline void oom_lsan_setup(void)
{
#ifdef OOM_LSAN
    rte_memseg_list_walk(oom_lsan_root, NULL);
#endif
}

/* LSan's verdict now (0 = no leak; always 0 without ASan). */
static inline int oom_lsan_check(void)
{
#ifdef OOM_LSAN
    return __lsan_do_recoverable_leak_check();
#else
    return 0;
#endif
}

/* ---- the state dump ----------------------------------------------------- */

struct oom_buf {
    char *s;
    size_t len, cap;
};

static inline void VSA_PRINTF(2, 3) oom_printf(struct oom_buf *b,
                                               const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL,
                      b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap ? b->cap * 2 + (size_t)n : 65536 + (size_t)n;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
}

static inline uint64_t oom_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int oom_dump_fdb_entry(const struct vsw_fdb_entry *e, void *arg)
{
    oom_printf(arg, "    vid %u mac %012llx port %u%s seen %u\n", e->vid,
               (unsigned long long)e->mac, e->port,
               e->is_static ? " static" : "", e->last_seen_s);
    return 0;
}

static inline void oom_dump_fdb(struct oom_buf *b, const struct vsw_fdb *fdb)
{
    struct vsw_fdb_stats st;

    vsw_fdb_get_stats(fdb, &st);
    oom_printf(b, "   fdb %p count %u slots %u aging %u max %u\n",
               (const void *)fdb, vsw_fdb_count(fdb),
               vsw_fdb_capacity_slots(fdb), atomic_load(&fdb->aging_s),
               fdb->max_entries);
    oom_printf(b, "   stats %llu %llu %llu %llu %llu %llu %llu %llu %llu "
               "%llu\n", (unsigned long long)st.learned,
               (unsigned long long)st.moved,
               (unsigned long long)st.refreshed,
               (unsigned long long)st.aged,
               (unsigned long long)st.learn_limit,
               (unsigned long long)st.table_full,
               (unsigned long long)st.bucket_full,
               (unsigned long long)st.displaced,
               (unsigned long long)st.learn_busy,
               (unsigned long long)st.static_conflict);
    for (unsigned p = 0; p < VSW_MAX_PORTS; p++) {
        uint32_t lim = atomic_load(&fdb->port_limits[p]);
        uint32_t cnt = atomic_load(&fdb->port_counts[p]);
        if (lim || cnt)
            oom_printf(b, "   port %u limit %u count %u\n", p, lim, cnt);
    }
    vsw_fdb_walk(fdb, oom_dump_fdb_entry, b);
}

static void oom_dump_memzone(const struct rte_memzone *mz, void *arg)
{
    oom_printf(arg, "  memzone %s %zu\n", mz->name, mz->len);
}

/* ifname's net.<proto>.conf.<ifname>.<key>, -1 if there is none. */
static inline int oom_conf_int(const char *proto, const char *ifname,
                               const char *key)
{
    char path[128];
    int v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto,
             ifname, key);
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static inline int oom_disable_ipv6(const char *ifname)
{
    return oom_conf_int("ipv6", ifname, "disable_ipv6");
}

/* The network interfaces (of the test's namespace) with their flags (up,
 * promiscuous), MTU, IPv6 switch, IPv4 arp_ignore and rp_filter and
 * IPv4/IPv6 addresses. */
static inline void oom_dump_netdevs(struct oom_buf *b)
{
    struct if_nameindex *ifs = if_nameindex();
    struct ifaddrs *ifa = NULL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (getifaddrs(&ifa) != 0)
        ifa = NULL;
    for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
        struct ifreq ifr;
        int mtu = -1, flags = -1;

        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
        if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
            mtu = ifr.ifr_mtu;
        if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
            flags = ifr.ifr_flags & (IFF_UP | IFF_PROMISC);
        oom_printf(b, "  netdev %u %s mtu %d flags %x\n", i->if_index,
                   i->if_name, mtu, flags);
        for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
            char text[INET6_ADDRSTRLEN] = "?";
            const void *src;
            int fam;

            if (!a->ifa_addr || strcmp(a->ifa_name, i->if_name) != 0)
                continue;
            fam = a->ifa_addr->sa_family;
            if (fam == AF_INET)
                src = &((const struct sockaddr_in *)a->ifa_addr)->sin_addr;
            else if (fam == AF_INET6)
                src = &((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
            else
                continue;
            inet_ntop(fam, src, text, sizeof(text));
            oom_printf(b, "   addr %s\n", text);
        }
        oom_printf(b, "   disable_ipv6 %d\n", oom_disable_ipv6(i->if_name));
        oom_printf(b, "   arp_ignore %d rp_filter %d\n",
                   oom_conf_int("ipv4", i->if_name, "arp_ignore"),
                   oom_conf_int("ipv4", i->if_name, "rp_filter"));
    }
    if (ifa)
        freeifaddrs(ifa);
    if (fd >= 0)
        close(fd);
    if_freenameindex(ifs);
}

/* Everything a control operation of the switch could change or leak. */
static inline void oom_dump_vsw(struct oom_buf *b, const struct vsw *sw)
{
    struct rte_malloc_socket_stats ms;
    uint16_t eth;

    if (sw) {
        const struct vsw_snapshot *s = atomic_load(&sw->snap);

        oom_printf(b, "snapshot %p switches %u\n", (const void *)s,
                   s->n_switches);
        for (uint32_t i = 0; i < s->n_switches; i++) {
            const struct vsw_dp_switch *d = &s->switch_mem[i];
            oom_printf(b, "  dp switch %u fdb %p ports", i,
                       (const void *)d->fdb);
            for (uint16_t j = 0; j < d->n_ports; j++)
                oom_printf(b, " %u", d->ports[j]);
            oom_printf(b, "\n");
        }
        for (unsigned id = 0; id < VSW_MAX_PORTS; id++) {
            const struct vsw_dp_port *d = s->ports[id];
            if (!d)
                continue;
            oom_printf(b, "  dp port %u %p id %u switch %ld vlan %016llx\n",
                       id, (const void *)d->port, d->id,
                       (long)(d->sw - s->switch_mem),
                       (unsigned long long)oom_hash(&d->vlan,
                                                    sizeof(d->vlan)));
        }
        for (unsigned l = 0; l < sw->n_dp_lcores; l++) {
            oom_printf(b, "  rx lcore %u:", l);
            for (uint16_t j = 0; j < s->n_rx[l]; j++)
                oom_printf(b, " %u", s->rx[l][j]);
            oom_printf(b, "\n");
        }
        oom_printf(b, "switches %u\n", sw->n_switches);
        for (uint32_t i = 0; i < sw->n_switches; i++) {
            const struct vsw_switch_state *st = &sw->switches[i];
            oom_printf(b, "  switch %s max %u aging %u\n", st->name,
                       st->fdb_max, st->aging_s);
            oom_dump_fdb(b, st->fdb);
        }
        for (unsigned id = 0; id < VSW_MAX_PORTS; id++) {
            const struct vsw_port *p = sw->ports[id];
            struct vsw_port_stats ps;
            if (!p)
                continue;
            vsw_get_port_stats(sw, p, &ps);
            oom_printf(b, "  port %u %p %s cls %d ops %s dev %s if %s "
                       "eth %u lcore %u link %d mac %012llx cap %p vdev %d "
                       "txq %u\n", id, (const void *)p, p->name, (int)p->cls,
                       p->ops ? p->ops->name : "-", p->devname, p->ifname,
                       p->eth_port, p->rx_lcore, (int)atomic_load(&p->link_up),
                       (unsigned long long)vsa_mac_to_u64(&p->mac),
                       (void *)atomic_load(&p->capture), (int)p->vdev,
                       p->n_txq);
            oom_printf(b, "   rx %llu/%llu tx %llu/%llu drops",
                       (unsigned long long)ps.rx_packets,
                       (unsigned long long)ps.rx_bytes,
                       (unsigned long long)ps.tx_packets,
                       (unsigned long long)ps.tx_bytes);
            for (int d = 0; d < VSW_DROP_MAX; d++)
                oom_printf(b, " %llu", (unsigned long long)ps.drops[d]);
            oom_printf(b, "\n");
        }
        oom_printf(b, "next capture id %d\n", sw->next_capture_id);
        for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
            const struct vsw_capture *c = sw->captures[i];
            if (c)
                oom_printf(b, "  capture %d: %p id %d port %p file %s done "
                           "%d ended %d written %llu\n", i, (const void *)c,
                           c->id, (const void *)c->port, c->file,
                           (int)c->done, (int)c->ended,
                           (unsigned long long)c->written);
        }
        oom_printf(b, "pool %u capture pool %u\n",
                   rte_mempool_avail_count(sw->pool),
                   rte_mempool_avail_count(sw->capture_pool));
    }
    RTE_ETH_FOREACH_DEV(eth) {
        char name[RTE_ETH_NAME_MAX_LEN];
        if (rte_eth_dev_get_name_by_port(eth, name) == 0)
            oom_printf(b, "  ethdev %u %s\n", eth, name);
    }
    rte_memzone_walk(oom_dump_memzone, b);
    memset(&ms, 0, sizeof(ms));
    rte_malloc_get_socket_stats((int)rte_socket_id(), &ms);
    oom_printf(b, "heap allocs %u bytes %zu\n", ms.alloc_count,
               ms.heap_allocsz_bytes);
    oom_dump_netdevs(b);
}

/* ---- the sweep ---------------------------------------------------------- */

struct oom_op {
    const char *name;
    /* Optional, not armed, before every attempt. */
    void (*prepare)(struct oom_op *o);
    /* The operation, armed; returns 0 or -errno. */
    int (*run)(struct oom_op *o);
    /* Not armed, after the successful (final) attempt: checks the effect
     * (and undoes it where the next sweep needs that).  Optional. */
    void (*done)(struct oom_op *o);
    /* The state dump (malloc'd text). */
    char *(*dump)(struct oom_op *o);
    /* Every attempt, failed or not, must leave the state as before (the
     * operation cannot fail: vsw_destroy, publish).  Then `after` (not
     * armed) runs after each attempt before the dump. */
    bool must_recover;
    void (*after)(struct oom_op *o);
    void *ctx;
    /* results */
    long n_points;
    char points[2048];   /* "rte_zmalloc x3, rte_dev_probe, ..." */
};

/* "a, b x2, c" from the recorded point names of the last run. */
static inline void oom_describe(struct oom_op *o, long n)
{
    size_t len = 0;

    o->points[0] = '\0';
    for (long i = 0; i < n && i < OOM_MAX_POINTS;) {
        long j = i;
        while (j + 1 < n && j + 1 < OOM_MAX_POINTS &&
               strcmp(oom.what[j + 1], oom.what[i]) == 0)
            j++;
        if (len < sizeof(o->points))
            len += (size_t)snprintf(o->points + len, sizeof(o->points) - len,
                                    "%s%s", i ? ", " : "", oom.what[i]);
        if (j > i && len < sizeof(o->points))
            len += (size_t)snprintf(o->points + len, sizeof(o->points) - len,
                                    " x%ld", j - i + 1);
        i = j + 1;
    }
}

/* Does `text` hold the line `line` (length len)? */
static inline bool oom_has_line(const char *text, const char *line, size_t len)
{
    for (const char *p = text; *p;) {
        size_t l = strcspn(p, "\n");
        if (l == len && strncmp(p, line, len) == 0)
            return true;
        p += l + (p[l] ? 1 : 0);
    }
    return false;
}

/* The lines only one of the dumps has (the first few). */
static inline void oom_print_diff(const char *before, const char *after)
{
    const char *texts[2] = { before, after };
    int shown = 0;

    for (int t = 0; t < 2; t++) {
        for (const char *p = texts[t]; *p;) {
            size_t l = strcspn(p, "\n");
            if (!oom_has_line(texts[1 - t], p, l) && shown++ < 24)
                print_error("  %s %.*s\n", t ? "after: " : "before:", (int)l,
                            p);
            p += l + (p[l] ? 1 : 0);
        }
    }
}

/* Fails allocation k for k = 1..N (N: the points the operation reaches) and
 * checks every failure; the call after the last failure must succeed. */
static inline void oom_sweep(struct oom_op *o)
{
    char *before = o->dump(o);
    long n_fail = 0, n_recovered = 0;
    long base = oom.live;

    for (long k = 1;; k++) {
        char *now;
        int rc;

        if (o->prepare)
            o->prepare(o);
        oom.calls = 0;
        oom.fail_at = k;
        rc = o->run(o);
        oom.fail_at = 0;
        if (oom.calls < k) {
            /* The operation made fewer than k allocations: no failure. */
            if (rc != 0)
                fail_msg("%s: rc %d without a failed allocation", o->name,
                         rc);
            o->n_points = oom.calls;
            oom_describe(o, oom.calls);
            if (o->after)
                o->after(o);
            if (o->must_recover) {
                now = o->dump(o);
                if (strcmp(now, before) != 0) {
                    oom_print_diff(before, now);
                    fail_msg("%s: state changed", o->name);
                }
                free(now);
                assert_int_equal(oom.live, base);
            }
            if (o->done)
                o->done(o);
            break;
        }
        if (rc == 0 && o->must_recover)
            n_recovered++;
        else if (rc != -ENOMEM)
            fail_msg("%s: allocation %ld (%s) failed: rc %d, not -ENOMEM",
                     o->name, k,
                     k <= OOM_MAX_POINTS ? oom.what[k - 1] : "?", rc);
        if (o->after)
            o->after(o);
        now = o->dump(o);
        if (strcmp(now, before) != 0) {
            oom_print_diff(before, now);
            fail_msg("%s: allocation %ld (%s) failed: the state changed",
                     o->name, k, k <= OOM_MAX_POINTS ? oom.what[k - 1] : "?");
        }
        free(now);
        if (oom.live != base)
            fail_msg("%s: allocation %ld (%s) failed: %ld allocations "
                     "leaked", o->name, k,
                     k <= OOM_MAX_POINTS ? oom.what[k - 1] : "?",
                     oom.live - base);
        n_fail++;
    }
    free(before);
    if (oom_lsan_check() != 0)
        fail_msg("%s: LeakSanitizer found leaks (above)", o->name);
    print_message("%-44s %3ld points, each failed once: %ld -ENOMEM, %ld "
                  "absorbed; then success\n    %s\n", o->name, o->n_points,
                  n_fail - n_recovered, n_recovered, o->points);
    assert_int_equal(n_fail, o->n_points);
    assert_true(n_fail > 0);
}

#endif /* VSW_OOM_H */
