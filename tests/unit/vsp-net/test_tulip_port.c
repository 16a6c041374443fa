/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tulip_port.c — objective: the legacy NIC switch port
 * (vsp-net/tulip_port.c) joins the emulated 21140A to the switch
 * correctly, with real DPDK and the real device model, no mocks.
 *  * trapped accesses reach the device: configuration space and both BARs;
 *    offsets beyond configuration space or the BAR read all-ones and are
 *    counted, and a 64-bit offset is never truncated onto a register;
 *  * the PCI command register: a BAR answers only while its space is
 *    decoded (I/O for BAR0, memory for BAR1; all-ones and lost writes
 *    otherwise, counted); with bus mastering off nothing reaches guest
 *    memory, frames for the guest are dropped and counted, a transmit
 *    demand waits and goes once the bit is back;
 *  * without guest memory every DMA is refused, which the device turns
 *    into a fatal bus error (CSR5 FBE); attach takes the memory (twice is
 *    -EBUSY, none is -EINVAL); detach puts a power-on device in place and
 *    keeps the counters;
 *  * two guests on one switch: a frame guest A transmits (CSR1 poll
 *    demand) leaves through the lcore and lands in guest B's receive
 *    descriptor, byte for byte, with B's interrupt line raised and both
 *    ports' switch counters right; the port link follows the receiver;
 *  * work bounds, checked before work is taken (the bug class fixed in
 *    netvsp_port_service): 300 frames in one poll demand are sent 256 by
 *    the demand and the rest by the self-woken service call; 300 frames
 *    queued for B are handled exactly 256 by one service call (which
 *    wakes itself) and 44 by the next, none lost: delivered while B has
 *    descriptors, counted missed after;
 *  * connect / disconnect (tulip_port_set_connected): a disconnected NIC's
 *    PHY (BMSR over MII), general-purpose link pin (CSR12) and CSR5
 *    LNF/LNP show the link going down and up, on an attached device and
 *    across a guest reconnect (the device is replaced); its switch port
 *    is down (the switch drops frames to it, link_down); frames the guest
 *    transmits and frames queued for it are dropped and counted;
 *  * attach / detach log lines per port (bug: logged at INFO without any
 *    limit, so a guest looping connect/disconnect wrote two lines per
 *    cycle forever): guest A's 20 cycles give TULIP_PORT_LOG_ATTACH_BURST
 *    lines, guest B's attach is still logged, and A's next window starts
 *    with a report naming A's port;
 *  * every mbuf goes back to the pool;
 *  * the queue toward the guest takes two transmitting lcores at once
 *    (vm_port_queue_create_to_guest is multi-producer): 2 x 250,000
 *    entries from threads on both CPUs all come out once, in order per
 *    producer (the single-producer ring it was loses entries);
 *  * no wake-up toward the guest is lost: a producer sending one entry at
 *    a time against a consumer that sleeps on the eventfd and drains as
 *    tulip_port_service does, 300,000 entries, never a 500 ms wait with
 *    entries queued (bug: the producer woke the consumer only if the queue
 *    was empty before its enqueue, and the consumer could empty it in
 *    between and sleep; the frames then waited for vesperd's 100 ms tick.
 *    The old check fails here within the first turns).
 * How: the EAL runs in this process (no hugepages, lcore 1 is the one
 * datapath lcore); guest memory is a plain buffer registered in an hv_mem;
 * the test plays the guest driver through tulip_port_io, as vesperd's
 * trap dispatch does.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "hv/hv_mem.h"
#include "hv/hv_part.h"
#include "vsp-net/tulip.h"
#include "vsp-net/tulip_port.h"
#include "vsp-net/vm_port_queue.h"
#include "vswitch/port_class.h"
#include "vswitch/vswitch.h"

#include "tests/unit/vsp-net/port_test_eal.h"
#include "tests/unit/common/logcap.h"

#define GBASE 0x00100000u
#define GSIZE (1024u * 1024u)
#define RXRING (GBASE + 0x1000u)  /* up to 64 descriptors */
#define TXRING (GBASE + 0x10000u) /* up to 512 descriptors */
#define TXBUF (GBASE + 0x20000u)  /* 128-byte slots */
#define RXBUF (GBASE + 0x40000u)  /* 2048-byte slots */
#define FLEN 100u
#define NBURST 300u
#define WAIT_MS 5000

/* CSR5 / CSR6 / descriptor bits (spec dec21140.md §3, §4) */
#define S_RI (1u << 6)
#define S_GTE (1u << 11)
#define S_FBE (1u << 13)
#define S_AIS (1u << 15)
#define S_RS(v) (((v) >> 17) & 7u)
#define M_SR (1u << 1)
#define M_PR (1u << 6)
#define M_ST (1u << 13)
#define M_MII (7u << 17)    /* CA | PS | HBD: Linux's 0x020E0000 */
#define M_MBO (1u << 25)
#define LINUX_INTRS 0x0001ebefu /* what Linux enables on a 21140 (§3.5) */
#define OWN (1u << 31)
#define T_LS (1u << 30)
#define T_FS (1u << 29)
#define T_TER (1u << 25)
#define R_RER (1u << 25)
#define R_FL(v) (((v) >> 16) & 0x3fffu)
#define S_LNP (1u << 4)
#define S_LNF (1u << 12)
#define BMSR_LINK 0x0004u
#define GP_LINK (1u << 7)

static struct {
    struct vsw *sw;
    struct rte_mempool *pool;
    unsigned pool_baseline;
} g;

struct guest {
    struct tulip_port *tp;
    struct vsw_port *port;
    uint8_t *ram;
    struct hv_mem *mem;
    unsigned irqs;
    struct vsa_mac mac;
};

/* ---- the guest side ------------------------------------------------------ */

static void on_irq(void *arg)
{
    ((struct guest *)arg)->irqs++;
}

static uint8_t *gp(struct guest *gs, uint32_t gpa)
{
    assert_true(gpa >= GBASE && gpa - GBASE < GSIZE);
    return gs->ram + (gpa - GBASE);
}

static void put32(struct guest *gs, uint32_t gpa, uint32_t v)
{
    uint8_t *p = gp(gs, gpa);

    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(struct guest *gs, uint32_t gpa)
{
    const uint8_t *p = gp(gs, gpa);

    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void desc(struct guest *gs, uint32_t at, uint32_t w0, uint32_t w1,
                 uint32_t w2)
{
    put32(gs, at + 4, w1);
    put32(gs, at + 8, w2);
    put32(gs, at + 12, 0);
    put32(gs, at, w0); /* OWN last, as a driver does */
}

/* One trapped access as hv/ hands it over: a read preset to all-ones. */
static uint64_t tio(struct guest *gs, uint32_t flags, uint64_t addr,
                    uint32_t size, uint32_t val)
{
    struct hv_part_io io = {
        .dev = 0, .flags = flags, .addr = addr, .size = size,
        .value = (flags & HV_PART_IO_WRITE) ? val
                 : size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu,
    };

    tulip_port_io(gs->tp, &io);
    return io.value;
}

static void wr(struct guest *gs, unsigned csr, uint32_t v)
{
    tio(gs, HV_PART_IO_WRITE, csr * 8u, 4, v);
}

static uint32_t rd(struct guest *gs, unsigned csr)
{
    return (uint32_t)tio(gs, 0, csr * 8u, 4, 0);
}

static void guest_open(struct guest *gs, const char *name, uint8_t id)
{
    struct vsa_errmsg em;

    memset(gs, 0, sizeof(*gs));
    gs->mac = (struct vsa_mac){ { 0x02, 0, 0, 0, 0x21, id } };
    assert_int_equal(tulip_port_create(g.sw, name, &gs->mac, &gs->tp,
                                       &gs->port, &em), 0);
    gs->ram = calloc(1, GSIZE);
    assert_non_null(gs->ram);
    assert_int_equal(hv_mem_create(&gs->mem), 0);
    assert_int_equal(hv_mem_add_buffer(gs->mem, gs->ram, GBASE, GSIZE), 0);
}

static void guest_close(struct guest *gs)
{
    vsw_port_close(g.sw, gs->port); /* detaches, frees the port */
    hv_mem_put(gs->mem);
    free(gs->ram);
}

/* The PCI command register, as firmware and driver set it. */
#define CMD_ALL (VSPN_TULIP_PCI_CMD_IO | VSPN_TULIP_PCI_CMD_MEM |             \
                 VSPN_TULIP_PCI_CMD_BM)

static void pci_command(struct guest *gs, uint32_t cmd)
{
    tio(gs, HV_PART_IO_CONFIG | HV_PART_IO_WRITE, 4, 2, cmd);
}

/* Driver bring-up: I/O and memory decode and bus mastering on, rings (nrx
 * receive descriptors of 1536 bytes, ntx host-owned transmit
 * descriptors), interrupts enabled, promiscuous (no setup frame needed),
 * receiver and transmitter started. */
static void guest_up(struct guest *gs, unsigned nrx, unsigned ntx)
{
    pci_command(gs, CMD_ALL);
    for (unsigned i = 0; i < nrx; i++)
        desc(gs, RXRING + 16 * i, OWN, (i == nrx - 1 ? R_RER : 0) | 1536u,
             RXBUF + 2048u * i);
    for (unsigned i = 0; i < ntx; i++)
        desc(gs, TXRING + 16 * i, 0, i == ntx - 1 ? T_TER : 0, 0);
    wr(gs, 0, 0);
    wr(gs, 3, RXRING);
    wr(gs, 4, TXRING);
    wr(gs, 7, 0x0001ebefu);
    wr(gs, 6, M_MBO | M_PR | M_ST | M_SR);
    wr(gs, 2, 0);
    wr(gs, 5, 0x0001ffffu); /* acknowledge the start-up status (TU...) */
}

/* Queues frame `seed` to `dst` in transmit descriptor i (no poll demand). */
static void guest_queue(struct guest *gs, unsigned i, unsigned ntx,
                        const struct vsa_mac *dst, uint16_t seed)
{
    uint32_t buf = TXBUF + 128u * i;
    uint8_t *f = gp(gs, buf);

    memcpy(f, dst->b, 6);
    memcpy(f + 6, gs->mac.b, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    f[14] = (uint8_t)(seed >> 8);
    f[15] = (uint8_t)seed;
    for (uint32_t k = 16; k < FLEN; k++)
        f[k] = (uint8_t)(seed + k);
    desc(gs, TXRING + 16 * i, OWN,
         T_FS | T_LS | (i == ntx - 1 ? T_TER : 0) | FLEN, buf);
}

/* MII management frames over CSR9 (§8), as Linux's tulip driver sends
 * them. */
static void mdio_bit(struct guest *gs, uint32_t v)
{
    wr(gs, 9, v);
    rd(gs, 9);
    wr(gs, 9, v | 0x10000u);
    rd(gs, 9);
}

static unsigned mdio_read(struct guest *gs, unsigned phy, unsigned reg)
{
    uint32_t cmd = (0xf6u << 10) | (phy << 5) | reg, retval = 0;

    for (int i = 0; i < 32; i++)
        mdio_bit(gs, 0x20000u);
    for (int i = 15; i >= 0; i--)
        mdio_bit(gs, (cmd & (1u << i)) ? 0x20000u : 0);
    for (int i = 19; i > 0; i--) {
        wr(gs, 9, 0x40000u);
        rd(gs, 9);
        retval = (retval << 1) | ((rd(gs, 9) & 0x80000u) ? 1u : 0u);
        wr(gs, 9, 0x50000u);
        rd(gs, 9);
    }
    return (retval >> 1) & 0xffffu;
}

/* The link as the guest sees it: BMSR link status and the GP link pin
 * must agree. */
static bool guest_link(struct guest *gs)
{
    bool phy = (mdio_read(gs, 1, 1) & BMSR_LINK) != 0;
    bool pin = (rd(gs, 12) & GP_LINK) != 0;

    assert_int_equal(phy, pin);
    return phy;
}

/* ---- helpers --------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool fd_readable(int fd)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };

    return poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
}

/* A counter of tulip_port_stats_json (top level, or in "device"). */
static uint64_t pstat(struct guest *gs, const char *name)
{
    json_t *o = tulip_port_stats_json(gs->tp);
    json_t *v;
    uint64_t r;

    assert_non_null(o);
    v = json_object_get(o, name);
    if (!v)
        v = json_object_get(json_object_get(o, "device"), name);
    if (!v)
        fail_msg("no counter %s", name);
    r = json_is_true(v) ? 1 : (uint64_t)json_integer_value(v);
    json_decref(o);
    return r;
}

static const char *pstr(struct guest *gs, const char *name, char *buf,
                        size_t size)
{
    json_t *o = tulip_port_stats_json(gs->tp);

    snprintf(buf, size, "%s",
             json_string_value(json_object_get(o, name)) ?: "(none)");
    json_decref(o);
    return buf;
}

/* Ports a and b on access VLAN 1 (none if a is NULL), with a static entry
 * for `st`'s MAC if given. */
static void commit_static(struct guest *a, struct guest *b, struct guest *st)
{
    static const struct vsw_cfg_switch sw = { .name = "sw0", .fdb_max = 1024,
                                              .aging_s = 300 };
    struct vsw_cfg_port cp[2];
    struct vsw_cfg cfg = { .switches = &sw, .n_switches = 1, .ports = cp };
    struct vsw_cfg_static entry;
    struct vsa_errmsg em;

    memset(cp, 0, sizeof(cp));
    if (a) {
        cp[cfg.n_ports++] = (struct vsw_cfg_port){
            .port = a->port, .vlan = { .mode = VLAN_MODE_ACCESS,
                                       .access_vid = 1 } };
        cp[cfg.n_ports++] = (struct vsw_cfg_port){
            .port = b->port, .vlan = { .mode = VLAN_MODE_ACCESS,
                                       .access_vid = 1 } };
    }
    if (st) {
        entry = (struct vsw_cfg_static){ .vid = 1, .mac = st->mac,
                                         .port = st->port };
        cfg.statics = &entry;
        cfg.n_statics = 1;
    }
    if (vsw_commit(g.sw, &cfg, &em) != 0)
        fail_msg("vsw_commit: %s", em.msg);
}

static void commit(struct guest *a, struct guest *b)
{
    commit_static(a, b, NULL);
}

static uint64_t tx_packets(struct guest *gs)
{
    struct vsw_port_stats st;

    vsw_get_port_stats(g.sw, gs->port, &st);
    return st.tx_packets;
}

static uint64_t rx_packets(struct guest *gs)
{
    struct vsw_port_stats st;

    vsw_get_port_stats(g.sw, gs->port, &st);
    return st.rx_packets;
}

#define WAIT_FOR(cond)                                                        \
    do {                                                                      \
        uint64_t dl_ = now_ms() + WAIT_MS;                                    \
        while (!(cond) && now_ms() < dl_)                                     \
            usleep(200);                                                      \
        if (!(cond))                                                          \
            fail_msg("timed out waiting for: %s", #cond);                     \
    } while (0)

/* ---- tests ----------------------------------------------------------------- */

static void test_io_and_attach(void **state)
{
    struct guest a;
    char buf[32];
    uint32_t csr5;
    (void)state;

    guest_open(&a, "vm.leg0", 1);
    /* configuration space reaches the device; a BAR only while the PCI
     * command register decodes its space (off at power-on): all-ones,
     * writes dropped, counted */
    assert_int_equal(tio(&a, HV_PART_IO_CONFIG, 0, 4, 0), 0x00091011);
    assert_int_equal(tio(&a, HV_PART_IO_CONFIG, 2, 2, 0), 0x0009);
    assert_int_equal(tio(&a, 0, 5 * 8, 4, 0), 0xffffffffu);
    assert_int_equal(tio(&a, HV_PART_IO_MEM, 5 * 8, 4, 0), 0xffffffffu);
    wr(&a, 7, 0x0001ebefu);
    pci_command(&a, VSPN_TULIP_PCI_CMD_IO);
    assert_int_equal(tio(&a, HV_PART_IO_MEM, 5 * 8, 4, 0), 0xffffffffu);
    assert_int_equal(pstat(&a, "io_not_decoded"), 4);
    assert_int_equal(pstat(&a, "csr_reads") + pstat(&a, "csr_writes"), 0);
    assert_int_equal(rd(&a, 7), 0xf3fe0000u); /* the write was lost */
    pci_command(&a, VSPN_TULIP_PCI_CMD_MEM);
    assert_int_equal(rd(&a, 5), 0xffffffffu);
    assert_int_equal(pstat(&a, "io_not_decoded"), 5);
    /* both spaces on: both BARs reach the same registers */
    pci_command(&a, CMD_ALL);
    assert_int_equal(tio(&a, 0, 5 * 8, 4, 0),
                     tio(&a, HV_PART_IO_MEM, 5 * 8, 4, 0));
    assert_int_equal(tio(&a, 0, 5 * 8, 4, 0), 0xf0000000u);
    assert_int_equal(pstat(&a, "cfg_reads"), 2);
    assert_int_equal(pstat(&a, "csr_reads"), 4);
    /* beyond configuration space / the BAR: all-ones, counted, and a
     * 64-bit offset is not truncated onto CSR5 */
    assert_int_equal(tio(&a, HV_PART_IO_CONFIG, 256, 4, 0), 0xffffffffu);
    assert_int_equal(tio(&a, 0, 128, 4, 0), 0xffffffffu);
    assert_int_equal(tio(&a, 0, 0x100000028ull, 4, 0), 0xffffffffu);
    tio(&a, HV_PART_IO_WRITE, 0x100000030ull, 4, M_ST); /* not CSR6 */
    assert_int_equal(pstat(&a, "io_out_of_range"), 4);
    assert_int_equal(pstat(&a, "csr_reads"), 4);
    assert_int_equal(pstat(&a, "csr_writes"), 0);
    assert_int_equal(pstat(&a, "io_traps"), 18);

    /* no guest memory: a transmit demand is a fatal bus error */
    assert_false(tulip_port_attached(a.tp));
    assert_int_equal(pstat(&a, "attached"), 0);
    wr(&a, 4, TXRING);
    wr(&a, 6, M_MBO | M_ST);
    wr(&a, 1, 0);
    csr5 = rd(&a, 5);
    assert_true(csr5 & S_FBE);
    assert_true(pstat(&a, "dma_errors") >= 1);
    assert_int_equal(pstat(&a, "link"), 0);

    /* attach: refused without memory or twice; detach resets the device
     * and keeps the counters */
    assert_int_equal(tulip_port_attach(a.tp, NULL, on_irq, &a), -EINVAL);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, NULL, &a), -EINVAL);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), -EBUSY);
    assert_true(tulip_port_attached(a.tp));
    guest_up(&a, 4, 4);
    assert_int_equal(pstat(&a, "link"), 1);
    assert_string_equal(pstr(&a, "rx_state", buf, sizeof(buf)), "running");
    tulip_port_detach(a.tp);
    assert_false(tulip_port_attached(a.tp));
    assert_int_equal(pstat(&a, "link"), 0);
    assert_int_equal(pstat(&a, "device_resets"), 1);
    /* power-on: no decode until the next guest's firmware turns it on */
    assert_int_equal(rd(&a, 5), 0xffffffffu);
    pci_command(&a, VSPN_TULIP_PCI_CMD_IO);
    assert_int_equal(rd(&a, 5), 0xf0000000u);
    assert_string_equal(pstr(&a, "rx_state", buf, sizeof(buf)), "stopped");
    assert_true(pstat(&a, "csr_writes") >= 9); /* the old device's, too */
    tulip_port_detach(a.tp); /* no-op */
    assert_int_equal(pstat(&a, "device_resets"), 1);
    guest_close(&a);
}

/* Two guests, each attached and up (A with `a_tx` transmit descriptors,
 * B with `b_rx` receive ones), named vm.legN / vm.legN+1. */
static void pair_up(struct guest *a, struct guest *b, unsigned n,
                    unsigned a_tx, unsigned b_rx)
{
    char na[16], nb[16];

    snprintf(na, sizeof(na), "vm.leg%u", n);
    snprintf(nb, sizeof(nb), "vm.leg%u", n + 1);
    g.pool_baseline = rte_mempool_avail_count(g.pool);
    guest_open(a, na, (uint8_t)(n + 1));
    guest_open(b, nb, (uint8_t)(n + 2));
    assert_int_equal(tulip_port_attach(a->tp, a->mem, on_irq, a), 0);
    assert_int_equal(tulip_port_attach(b->tp, b->mem, on_irq, b), 0);
    guest_up(a, 4, a_tx);
    guest_up(b, b_rx, 4);
}

static void test_traffic_and_budgets(void **state)
{
    struct guest a, b;
    unsigned before;
    uint32_t rdes0;
    (void)state;

    pair_up(&a, &b, 1, NBURST, 8);
    commit(&a, &b);
    /* the switch polls link state on its timer: both receivers run */
    vsw_tick(g.sw);
    assert_true(vsw_port_link_up(a.port));
    assert_true(vsw_port_link_up(b.port));

    /* one frame A → B; B's line is deasserted until it arrives */
    assert_int_equal(pstat(&b, "irq_asserted"), 0);
    guest_queue(&a, 0, NBURST, &b.mac, 7);
    wr(&a, 1, 0);
    assert_int_equal(pstat(&a, "guest_frames"), 1);
    WAIT_FOR(tx_packets(&b) == 1);
    WAIT_FOR(fd_readable(tulip_port_fd(b.tp)));
    before = b.irqs;
    tulip_port_service(b.tp);
    assert_int_equal(pstat(&b, "rx_delivered"), 1);
    rdes0 = get32(&b, RXRING);
    assert_false(rdes0 & OWN);
    assert_int_equal(R_FL(rdes0), FLEN + 4); /* with the CRC */
    assert_memory_equal(gp(&b, RXBUF), gp(&a, TXBUF), FLEN);
    assert_true(b.irqs > before);
    assert_int_equal(pstat(&b, "irq_asserted"), 1);
    assert_int_equal(pstat(&b, "irqs_raised"), b.irqs);
    assert_int_equal(rx_packets(&a), 1);
    assert_int_equal(pstat(&b, "link"), 1);

    /* 300 frames in one poll demand: 256 by the demand, the rest by the
     * self-woken service call */
    for (unsigned i = 1; i <= NBURST; i++)
        guest_queue(&a, i % NBURST, NBURST, &b.mac, (uint16_t)(1000 + i));
    /* descriptor 0 was queued last (i == NBURST): the ring wrapped */
    wr(&a, 1, 0);
    assert_int_equal(pstat(&a, "guest_frames"), 1 + VSPN_TULIP_TX_BUDGET);
    assert_true(pstat(&a, "budget_exhausted") >= 1);
    assert_true(fd_readable(tulip_port_fd(a.tp)));
    tulip_port_service(a.tp);
    assert_int_equal(pstat(&a, "guest_frames"), 1 + NBURST);

    /* B: all 300 queued before B's control thread looks */
    WAIT_FOR(tx_packets(&b) == 1 + NBURST);
    assert_int_equal(pstat(&b, "to_guest_full"), 0);
    tulip_port_service(b.tp);
    assert_int_equal(pstat(&b, "rx_delivered") + pstat(&b, "rx_missed"),
                     1 + TULIP_PORT_RX_BUDGET);
    assert_int_equal(pstat(&b, "rx_yields"), 1);
    assert_true(fd_readable(tulip_port_fd(b.tp))); /* woke itself */
    tulip_port_service(b.tp);
    assert_int_equal(pstat(&b, "rx_delivered"), 8); /* its 8 descriptors */
    assert_int_equal(pstat(&b, "rx_missed"), 1 + NBURST - 8);
    assert_false(fd_readable(tulip_port_fd(b.tp)));
    assert_int_equal(pstat(&b, "rx_invalid") + pstat(&b, "rx_filtered") +
                     pstat(&b, "rx_stopped") + pstat(&b, "rx_dma_error"), 0);
    /* the second frame B got is the first of the burst */
    assert_int_equal(gp(&b, RXBUF + 2048)[15], (uint8_t)1001);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* MAC spoofing (Hyper-V's MacAddressSpoofing): off by default, a frame
 * the guest transmits with another source MAC than the NIC's is dropped
 * (guest_spoofed) and never reaches the switch; on, it passes.  Before,
 * every source MAC passed. */
static void test_mac_spoofing(void **state)
{
    struct guest a, b;
    struct vsa_mac own;
    (void)state;

    pair_up(&a, &b, 20, 4, 8);
    commit(&a, &b);
    vsw_tick(g.sw);
    own = a.mac;
    a.mac.b[5] ^= 0x80;              /* another station's address */
    guest_queue(&a, 0, 4, &b.mac, 1);
    wr(&a, 1, 0);
    assert_int_equal(pstat(&a, "guest_spoofed"), 1);
    assert_int_equal(pstat(&a, "mac_spoofing"), 0);
    a.mac = own;
    guest_queue(&a, 1, 4, &b.mac, 2);
    wr(&a, 1, 0);
    WAIT_FOR(tx_packets(&b) == 1);   /* only its own frame */

    tulip_port_set_mac_spoofing(a.tp, true);
    assert_int_equal(pstat(&a, "mac_spoofing"), 1);
    a.mac.b[5] ^= 0x80;
    guest_queue(&a, 2, 4, &b.mac, 3);
    a.mac = own;
    wr(&a, 1, 0);
    WAIT_FOR(tx_packets(&b) == 2);
    assert_int_equal(pstat(&a, "guest_spoofed"), 1);
    assert_int_equal(pstat(&a, "guest_frames"), 2); /* into the switch */

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* Services the port whenever its fd is readable, for `ms`; returns how
 * many times it was. */
static unsigned service_for(struct guest *gs, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    unsigned n = 0;

    while (now_ms() < end) {
        struct pollfd pf = { .fd = tulip_port_fd(gs->tp), .events = POLLIN };

        if (poll(&pf, 1, 1) == 1) {
            tulip_port_service(gs->tp);
            n++;
        }
    }
    return n;
}

/* CSR0 TAP: the port's timer polls the guest's transmit list, so a frame
 * the guest owned to the device leaves without a CSR1 write; never more
 * than every TULIP_PORT_TAP_MIN_NS, and only while the device has a
 * period (TAP on, transmitter suspended, a guest attached). */
static void test_tap_timer(void **state)
{
    struct guest a, b;
    uint64_t t0, polls;
    (void)state;

    pair_up(&a, &b, 7, 4, 4);
    commit(&a, &b);
    vsw_tick(g.sw);

    /* TAP off: nothing wakes the port, the owned frame waits */
    service_for(&a, 2);
    guest_queue(&a, 0, 4, &b.mac, 1);
    assert_int_equal(service_for(&a, 20), 0);
    assert_int_equal(pstat(&a, "guest_frames"), 0);
    assert_int_equal(pstat(&a, "tap_polls"), 0);

    /* TAP 1 (200 µs): the next period sends it */
    t0 = now_ms();
    wr(&a, 0, 1u << 17);
    WAIT_FOR((service_for(&a, 1), pstat(&a, "guest_frames") == 1));
    assert_true(now_ms() - t0 < 1000);
    assert_true(pstat(&a, "tap_polls") >= 1);
    assert_false(get32(&a, TXRING) & OWN);
    WAIT_FOR(tx_packets(&b) == 1);
    /* and keeps polling while suspended: a second frame, no CSR1 */
    guest_queue(&a, 1, 4, &b.mac, 2);
    WAIT_FOR((service_for(&a, 1), pstat(&a, "guest_frames") == 2));

    /* TAP 4 asks for 12.8 µs: served every 200 µs at most */
    wr(&a, 0, 4u << 17);
    service_for(&a, 2);
    polls = pstat(&a, "tap_polls");
    t0 = now_ms();
    assert_true(service_for(&a, 40) >= 1);
    assert_true(pstat(&a, "tap_polls") - polls <=
                (now_ms() - t0 + 1) * 1000000u / TULIP_PORT_TAP_MIN_NS + 4);

    /* TAP off again, or the guest gone: the timer stops */
    wr(&a, 0, 0);
    service_for(&a, 2);
    assert_int_equal(service_for(&a, 20), 0);
    wr(&a, 0, 1u << 17);
    assert_true(service_for(&a, 20) > 0);
    tulip_port_detach(a.tp);
    service_for(&a, 2);
    assert_int_equal(service_for(&a, 20), 0);
    assert_int_equal(pstat(&a, "tap_timer_errors"), 0);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Services both ports whenever their fds are readable, for `ms`. */
static void service2_for(struct guest *a, struct guest *b, unsigned ms)
{
    uint64_t end = now_ms() + ms;

    while (now_ms() < end) {
        struct pollfd pf[2] = {
            { .fd = tulip_port_fd(a->tp), .events = POLLIN },
            { .fd = tulip_port_fd(b->tp), .events = POLLIN },
        };

        if (poll(pf, 2, 1) > 0) {
            if (pf[0].revents)
                tulip_port_service(a->tp);
            if (pf[1].revents)
                tulip_port_service(b->tp);
        }
    }
}

/* The CSR11 general-purpose timer (§3.8) as Linux's tulip driver uses it
 * on a 21140 (bug: CSR11 was stored and never expired).  After an
 * interrupt with too much work the driver acknowledges everything, masks
 * CSR7 down to ((~csr5) & 0x0001EBEF) | AIS | GTE and writes CSR11 =
 * 0x12; only the GTE interrupt restores CSR7.  Without the timer, B's
 * receive interrupts stayed masked for good while A kept sending (a flood
 * from another VM starved the guest).  Now B's interrupt comes 0x12 ticks
 * of 81.92 µs (100 Mb/s MII) = 1.47 ms later, never sooner, once; a
 * continuous timer of one tick fires no more often than every
 * TULIP_PORT_GPT_MIN_NS; a stopped timer, or none, never wakes the
 * port. */
static void test_gp_timer(void **state)
{
    struct guest a, b;
    uint64_t t0, exp0, ms;
    unsigned irqs;
    uint32_t csr5;
    (void)state;

    pair_up(&a, &b, 11, 8, 8);
    commit(&a, &b);
    vsw_tick(g.sw);
    wr(&b, 6, M_MBO | M_MII | M_PR | M_ST | M_SR);

    /* no timer: nothing wakes B's port */
    service2_for(&a, &b, 2);
    assert_int_equal(service_for(&b, 20), 0);

    /* B takes a frame: RI|NIS, the interrupt; "too much work" */
    guest_queue(&a, 0, 8, &b.mac, 1);
    wr(&a, 1, 0);
    WAIT_FOR((service2_for(&a, &b, 1), pstat(&b, "rx_delivered") == 1));
    csr5 = rd(&b, 5);
    assert_true(csr5 & S_RI);
    wr(&b, 5, 0x8001ffffu);
    wr(&b, 7, ((~csr5) & LINUX_INTRS) | S_AIS | S_GTE);
    /* A keeps sending: received, but B's receive interrupt is masked */
    irqs = b.irqs;
    guest_queue(&a, 1, 8, &b.mac, 2);
    wr(&a, 1, 0);
    WAIT_FOR((service2_for(&a, &b, 1), pstat(&b, "rx_delivered") == 2));
    service2_for(&a, &b, 5);
    assert_int_equal(b.irqs, irqs);
    assert_true(rd(&b, 5) & S_RI);

    /* the timer: one GTE interrupt, 18 x 81.92 µs after the write */
    t0 = now_ns();
    wr(&b, 11, 0x12);
    while (b.irqs == irqs && now_ns() - t0 < WAIT_MS * 1000000ull)
        service2_for(&a, &b, 1);
    if (b.irqs == irqs)
        fail_msg("no GTE interrupt %u ms after CSR11 = 0x12", WAIT_MS);
    assert_true(now_ns() - t0 >= 18u * 81920u);
    assert_true(now_ns() - t0 < 1000000000u);
    csr5 = rd(&b, 5);
    assert_true(csr5 & S_GTE);
    assert_true(csr5 & S_AIS);
    assert_int_equal(pstat(&b, "gp_timer_expiries"), 1);
    /* Linux's GTE branch: all interrupts back on; RI is pending */
    wr(&b, 5, csr5 & 0x0001ffffu);
    irqs = b.irqs;
    wr(&b, 7, LINUX_INTRS);
    wr(&b, 5, rd(&b, 5) & 0x0001ffffu);
    guest_queue(&a, 2, 8, &b.mac, 3);
    wr(&a, 1, 0);
    WAIT_FOR((service2_for(&a, &b, 1), b.irqs > irqs));
    assert_int_equal(pstat(&b, "rx_delivered"), 3);
    /* one-shot: it does not come again */
    assert_int_equal(rd(&b, 11) & 0x1ffffu, 0);
    service2_for(&a, &b, 2);
    assert_int_equal(service_for(&b, 20), 0);
    assert_int_equal(pstat(&b, "gp_timer_expiries"), 1);

    /* continuous, one tick (81.92 µs): served every 200 µs at most */
    wr(&b, 5, rd(&b, 5) & 0x0001ffffu);
    exp0 = pstat(&b, "gp_timer_expiries");
    t0 = now_ms();
    wr(&b, 11, 0x10001);
    assert_true(service_for(&b, 40) >= 1);
    ms = now_ms() - t0;
    assert_true(pstat(&b, "gp_timer_expiries") - exp0 >= 1);
    assert_true(pstat(&b, "gp_timer_expiries") - exp0 <=
                (ms + 1) * 1000000u / TULIP_PORT_GPT_MIN_NS + 4);
    assert_int_equal(rd(&b, 11) & 0x1ffffu, 0x10001);
    /* stopped (count 0), or the guest gone: the timer never fires */
    wr(&b, 11, 0x10000);
    service_for(&b, 2);
    assert_int_equal(service_for(&b, 20), 0);
    wr(&b, 11, 0x10001);
    assert_true(service_for(&b, 20) > 0);
    tulip_port_detach(b.tp);
    service_for(&b, 2);
    assert_int_equal(service_for(&b, 20), 0);
    assert_int_equal(pstat(&b, "gp_timer_errors"), 0);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* PCI bus mastering off (Linux clears it before kexec): the device must
 * not touch guest memory (bug: the port's DMA accessor only checked that
 * memory was attached, so B's receive descriptors were filled and A's
 * transmit list read with the bit clear).  B's frames are dropped and
 * counted (rx_no_bus_master) with its descriptors and CSR5 untouched; A's
 * poll demand reads nothing and sends nothing, no bus error either, and
 * the frame leaves by itself once A turns bus mastering back on. */
static void test_bus_master(void **state)
{
    struct guest a, b;
    char buf[32];
    unsigned irqs;
    (void)state;

    pair_up(&a, &b, 13, 4, 4);
    commit(&a, &b);
    vsw_tick(g.sw);

    /* B stops mastering: A's frame to B reaches B's port, not B's memory */
    pci_command(&b, VSPN_TULIP_PCI_CMD_IO);
    irqs = b.irqs;
    guest_queue(&a, 0, 4, &b.mac, 1);
    wr(&a, 1, 0);
    WAIT_FOR(tx_packets(&b) == 1);
    service2_for(&a, &b, 5);
    assert_true(get32(&b, RXRING) & OWN);
    assert_int_equal(pstat(&b, "rx_delivered"), 0);
    assert_int_equal(pstat(&b, "rx_no_bus_master"), 1);
    assert_int_equal(pstat(&b, "dma_errors"), 0);
    assert_int_equal(rd(&b, 5) & 0x1ffffu, 0); /* no RI, no FBE, no RU */
    assert_int_equal(b.irqs, irqs);
    assert_int_equal(pstat(&b, "link"), 1);
    /* and takes frames again with the bit back */
    pci_command(&b, CMD_ALL);
    guest_queue(&a, 1, 4, &b.mac, 2);
    wr(&a, 1, 0);
    WAIT_FOR((service2_for(&a, &b, 1), pstat(&b, "rx_delivered") == 1));
    assert_false(get32(&b, RXRING) & OWN);
    assert_int_equal(gp(&b, RXBUF)[15], 2);

    /* A stops mastering: its poll demand stalls, reads nothing */
    pci_command(&a, VSPN_TULIP_PCI_CMD_IO);
    guest_queue(&a, 2, 4, &b.mac, 3);
    wr(&a, 1, 0);
    service2_for(&a, &b, 10);
    assert_true(get32(&a, TXRING + 32) & OWN);
    assert_int_equal(pstat(&a, "guest_frames"), 2);
    assert_int_equal(pstat(&a, "dma_errors"), 0);
    assert_false(rd(&a, 5) & S_FBE);
    assert_string_equal(pstr(&a, "tx_state", buf, sizeof(buf)), "running");
    assert_int_equal(service_for(&a, 20), 0);
    /* bus mastering back: the stalled fetch goes on by itself */
    pci_command(&a, CMD_ALL);
    WAIT_FOR((service2_for(&a, &b, 1), pstat(&b, "rx_delivered") == 2));
    assert_false(get32(&a, TXRING + 32) & OWN);
    assert_int_equal(pstat(&a, "guest_frames"), 3);
    assert_int_equal(gp(&b, RXBUF + 2048)[15], 3);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* A guest whose receive list gives every frame 64 one-byte buffers: each
 * frame from the switch costs the device 64 descriptor fetches.  A service
 * call stops at TULIP_PORT_RX_DESC_BUDGET fetches (+ one frame's 64) and
 * wakes itself for the rest; it took 256 frames x 64 fetches before. */
static void test_rx_descriptor_budget(void **state)
{
    const unsigned nrx = 40 * VSPN_TULIP_MAX_CHAIN, nframes = 30;
    struct guest a, b;
    uint64_t reads, max_call = 0;
    unsigned calls = 0;
    (void)state;

    pair_up(&a, &b, 9, NBURST, 4);
    for (unsigned i = 0; i < nrx; i++) /* rings at RXRING: 40 KiB */
        desc(&b, RXRING + 16 * i, OWN, (i == nrx - 1 ? R_RER : 0) | 1u,
             RXBUF + i);
    wr(&b, 6, M_MBO | M_PR | M_ST);
    wr(&b, 3, RXRING);
    wr(&b, 6, M_MBO | M_PR | M_ST | M_SR);
    commit(&a, &b);
    vsw_tick(g.sw);

    for (unsigned i = 0; i < nframes; i++)
        guest_queue(&a, i, NBURST, &b.mac, (uint16_t)i);
    wr(&a, 1, 0);
    WAIT_FOR(tx_packets(&b) == nframes);
    while (fd_readable(tulip_port_fd(b.tp))) {
        reads = pstat(&b, "desc_reads");
        tulip_port_service(b.tp);
        reads = pstat(&b, "desc_reads") - reads;
        if (reads > max_call)
            max_call = reads;
        assert_true(++calls < 100);
    }
    print_message("%u service calls, at most %llu descriptor fetches each\n",
                  calls, (unsigned long long)max_call);
    assert_true(max_call <= TULIP_PORT_RX_DESC_BUDGET + VSPN_TULIP_MAX_CHAIN);
    assert_true(calls >= nframes * VSPN_TULIP_MAX_CHAIN /
                             (TULIP_PORT_RX_DESC_BUDGET + VSPN_TULIP_MAX_CHAIN));
    assert_true(pstat(&b, "rx_yields") >= calls - 1);
    /* every frame was handed to the device (too big for 64 bytes: each
     * dropped with a descriptor error, as the silicon would) */
    assert_int_equal(pstat(&b, "rx_delivered") + pstat(&b, "rx_missed"),
                     nframes);
    assert_int_equal(pstat(&b, "to_guest_full"), 0);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* Loopback descriptors that re-arm each other: two cells of 64 bytes,
 * each a transmit descriptor, a receive descriptor and padding.  Cell i's
 * transmit descriptor sends, in internal loopback, a 60-byte image of the
 * other cell as it was set up; it arrives (with its FCS: 64 bytes) in cell
 * i's receive buffer, which is the other cell, so both of that cell's
 * descriptors are the device's again before cell i's are closed.  One
 * poll demand, and the device has work for ever with no guest exit: the
 * port goes on for TULIP_PORT_TX_STREAK_MAX service calls in a row, then
 * parks the work (poll_parked) and stops waking itself; the guest's next
 * access takes it up again, for as long.  Bug: the port woke itself
 * without end, and the control thread spent its time on this guest's
 * loop. */
#define CELLS (GBASE + 0xf0000u)
#define IMGS (GBASE + 0xf1000u)
#define OM_INTERNAL (1u << 10)

static void cell(struct guest *gs, unsigned i)
{
    uint32_t c = CELLS + 64u * i, other = CELLS + 64u * (1u - i);

    put32(gs, c + 4, T_FS | T_LS | (1u << 24) | 60u); /* TCH */
    put32(gs, c + 8, IMGS + 64u * (1u - i)); /* the other cell's image */
    put32(gs, c + 12, other);                /* next: the other one */
    put32(gs, c + 16, OWN);
    put32(gs, c + 20, (1u << 24) | 64u);     /* RCH, 64 bytes */
    put32(gs, c + 24, other);                /* the buffer: the other cell */
    put32(gs, c + 28, other + 16);
    put32(gs, c, OWN);
}

static void test_loopback_rearm_parks(void **state)
{
    struct guest a, b;
    uint64_t frames, reads;
    unsigned calls;
    (void)state;

    pair_up(&a, &b, 13, 4, 4);
    commit(&a, &b);
    vsw_tick(g.sw);
    service_for(&a, 2);
    for (unsigned i = 0; i < 2; i++)
        cell(&a, i);
    memcpy(gp(&a, IMGS), gp(&a, CELLS), 128);
    wr(&a, 6, M_MBO | M_PR);
    wr(&a, 7, 0);
    wr(&a, 3, CELLS + 16);
    wr(&a, 4, CELLS);
    wr(&a, 6, M_MBO | M_PR | M_SR | M_ST | OM_INTERNAL);
    wr(&a, 1, 0);

    calls = service_for(&a, 300);
    frames = pstat(&a, "tx_frames");
    print_message("%u service calls, %" PRIu64 " frames looped, then "
                  "parked %" PRIu64 " time(s)\n", calls, frames,
                  pstat(&a, "poll_parked"));
    assert_true(frames > 1000); /* the loop is real */
    assert_true(calls <= TULIP_PORT_TX_STREAK_MAX + 2);
    assert_int_equal(pstat(&a, "poll_parked"), 1);
    reads = pstat(&a, "desc_reads");
    assert_int_equal(service_for(&a, 50), 0);
    assert_int_equal(pstat(&a, "desc_reads"), reads);
    assert_true(get32(&a, CELLS) & OWN || get32(&a, CELLS + 64) & OWN);

    /* the guest's next access: going on, as long again */
    rd(&a, 5);
    calls = service_for(&a, 300);
    assert_true(calls >= TULIP_PORT_TX_STREAK_MAX - 1);
    assert_true(calls <= TULIP_PORT_TX_STREAK_MAX + 2);
    assert_true(pstat(&a, "tx_frames") > 2 * frames - frames / 4);
    assert_int_equal(pstat(&a, "poll_parked"), 2);

    /* a reset ends it; nothing is left to park */
    wr(&a, 0, 1);
    wr(&a, 0, 0);
    service_for(&a, 20);
    assert_int_equal(service_for(&a, 20), 0);
    assert_int_equal(pstat(&a, "poll_parked"), 2);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* Off loopback nothing is parked: 20,000 owned descriptors and one poll
 * demand take about 20 service calls, more than TULIP_PORT_TX_STREAK_MAX,
 * and every frame is sent (a guest that keeps its ring full without
 * touching the device, a polled driver, is served as long as it sends).
 * The frames carry a source MAC not the NIC's, so the port drops them
 * (guest_spoofed) before taking an mbuf: 20,000 mbufs through the lcore
 * would pass between the mempool's per-lcore caches, which TSan cannot
 * follow. */
#define BIGRING (GBASE + 0xa0000u)
#define BIGN 20000u

static void test_no_park_without_loopback(void **state)
{
    struct guest a, b;
    unsigned calls = 0;
    (void)state;

    pair_up(&a, &b, 15, 4, 4);
    commit(&a, &b);
    vsw_tick(g.sw);
    service_for(&a, 2);
    guest_queue(&a, 0, 4, &b.mac, 1); /* the frame, in TXBUF */
    gp(&a, TXBUF)[11] ^= 0xff;        /* ... from another source MAC */
    for (unsigned i = 0; i < BIGN; i++)
        desc(&a, BIGRING + 16 * i, OWN,
             T_FS | T_LS | (i == BIGN - 1 ? T_TER : 0) | FLEN, TXBUF);
    wr(&a, 6, M_MBO | M_PR | M_SR);
    wr(&a, 4, BIGRING);
    wr(&a, 6, M_MBO | M_PR | M_SR | M_ST);
    wr(&a, 1, 0);
    while (fd_readable(tulip_port_fd(a.tp))) {
        tulip_port_service(a.tp);
        assert_true(++calls < 100);
    }
    print_message("%u service calls, %" PRIu64 " frames\n", calls,
                  pstat(&a, "tx_frames"));
    assert_true(calls > TULIP_PORT_TX_STREAK_MAX);
    assert_int_equal(pstat(&a, "tx_frames"), BIGN);
    assert_int_equal(pstat(&a, "guest_spoofed"), BIGN);
    assert_int_equal(pstat(&a, "poll_parked"), 0);
    assert_false(get32(&a, BIGRING + 16 * (BIGN - 1)) & OWN);

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

static uint64_t link_down_drops(struct guest *gs)
{
    struct vsw_port_stats st;

    vsw_get_port_stats(g.sw, gs->port, &st);
    return st.drops[VSW_DROP_LINK_DOWN];
}

static void test_connect(void **state)
{
    struct guest a, b;
    uint32_t csr5;
    (void)state;

    g.pool_baseline = rte_mempool_avail_count(g.pool);
    guest_open(&a, "vm.leg3", 4);
    guest_open(&b, "vm.leg4", 5);
    assert_true(tulip_port_connected(a.tp));

    /* disconnected before the guest comes: it attaches to a dead link */
    tulip_port_set_connected(a.tp, false);
    assert_false(tulip_port_connected(a.tp));
    assert_int_equal(pstat(&a, "connected"), 0);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
    assert_int_equal(tulip_port_attach(b.tp, b.mem, on_irq, &b), 0);
    guest_up(&a, 4, 4);
    guest_up(&b, 4, 4);
    commit_static(&a, &b, &a); /* A's MAC is known: no flood */
    vsw_tick(g.sw);
    assert_false(guest_link(&a));
    assert_true(guest_link(&b));
    assert_int_equal(pstat(&a, "link"), 0);
    assert_false(vsw_port_link_up(a.port));
    assert_true(vsw_port_link_up(b.port));

    /* A transmits: the descriptor completes, the frame goes nowhere */
    guest_queue(&a, 0, 4, &b.mac, 1);
    wr(&a, 1, 0);
    assert_false(get32(&a, TXRING) & OWN);
    assert_int_equal(pstat(&a, "guest_disconnected"), 1);
    assert_int_equal(pstat(&a, "guest_frames"), 0);
    /* B transmits to A: the switch drops it at A's port (link down) */
    guest_queue(&b, 0, 4, &a.mac, 2);
    wr(&b, 1, 0);
    WAIT_FOR(link_down_drops(&a) == 1);
    assert_int_equal(tx_packets(&a), 0);
    assert_int_equal(rx_packets(&a), 0);

    /* connect: the PHY and the pin follow at once, CSR5 says LNP */
    wr(&a, 5, 0x0001ffffu);
    tulip_port_set_connected(a.tp, true);
    assert_true(guest_link(&a));
    csr5 = rd(&a, 5);
    assert_true(csr5 & S_LNP);
    assert_false(csr5 & S_LNF);
    assert_int_equal(pstat(&a, "link"), 1);
    vsw_tick(g.sw);
    assert_true(vsw_port_link_up(a.port));
    /* and traffic flows: A → B */
    guest_queue(&a, 1, 4, &b.mac, 3);
    wr(&a, 1, 0);
    assert_int_equal(pstat(&a, "guest_frames"), 1);
    WAIT_FOR(tx_packets(&b) == 1);
    tulip_port_service(b.tp);
    assert_int_equal(pstat(&b, "rx_delivered"), 1);
    assert_int_equal(gp(&b, RXBUF)[15], 3);

    /* B → A, queued for A; A is disconnected before it services it:
     * dropped and counted, never in A's descriptors */
    guest_queue(&b, 1, 4, &a.mac, 4);
    wr(&b, 1, 0);
    WAIT_FOR(tx_packets(&a) == 1);
    wr(&a, 5, 0x0001ffffu);
    tulip_port_set_connected(a.tp, false);
    tulip_port_service(a.tp);
    assert_int_equal(pstat(&a, "rx_disconnected"), 1);
    assert_int_equal(pstat(&a, "rx_delivered"), 0);
    assert_true(get32(&a, RXRING) & OWN);
    assert_false(guest_link(&a));
    csr5 = rd(&a, 5);
    assert_true(csr5 & S_LNF);
    assert_false(csr5 & S_LNP);
    assert_int_equal(pstat(&a, "link"), 0);
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(a.port));

    /* the guest reconnects: a new device, still disconnected */
    tulip_port_detach(a.tp);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
    guest_up(&a, 4, 4);
    assert_int_equal(pstat(&a, "device_resets"), 1);
    assert_false(guest_link(&a));
    assert_int_equal(pstat(&a, "link"), 0);
    /* connected while no guest is attached: the next device comes up */
    tulip_port_detach(a.tp);
    tulip_port_set_connected(a.tp, true);
    tulip_port_set_connected(a.tp, true); /* no-op */
    assert_int_equal(pstat(&a, "link"), 0);
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
    guest_up(&a, 4, 4);
    assert_true(guest_link(&a));
    assert_int_equal(pstat(&a, "link"), 1);
    vsw_tick(g.sw);
    assert_true(vsw_port_link_up(a.port));

    commit(NULL, NULL);
    guest_close(&a);
    guest_close(&b);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
}

/* ---- group setup: EAL and the switch -------------------------------------- */

/* ---- attach / detach log lines per port ------------------------------------ */


static void test_attach_log_per_port(void **state)
{
    struct guest a, b;
    uint64_t t0;
    (void)state;

    guest_open(&a, "vm.lgA", 0x41);
    guest_open(&b, "vm.lgB", 0x42);
    /* a manual clock past every window the earlier tests opened (nothing
     * on the lcore reads the clock) */
    t0 = vsa_time_now_ms() + 3600u * 1000u;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(t0);
    n_logcap = 0;
    vsa_log_set_hook(logcap_hook);
    vsa_log_set_level(VSA_LOG_INFO); /* port_test_eal_up: WARN */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
        tulip_port_detach(a.tp);
    }
    assert_int_equal(tulip_port_attach(b.tp, b.mem, on_irq, &b), 0);
    assert_int_equal(logcap_count("port vm.lgA: guest "),
                     TULIP_PORT_LOG_ATTACH_BURST);
    assert_int_equal(logcap_count("port vm.lgA: guest attached"),
                     (TULIP_PORT_LOG_ATTACH_BURST + 1) / 2);
    assert_int_equal(logcap_count("port vm.lgB: guest attached"), 1);
    /* (the earlier tests may leave an "all ...: N ... suppressed") */
    assert_int_equal(logcap_count("port "), TULIP_PORT_LOG_ATTACH_BURST + 1);

    /* the next window: A's report names A's port */
    vsa_time_manual_set(t0 + TULIP_PORT_LOG_ATTACH_PERIOD_S * 1000u);
    n_logcap = 0;
    assert_int_equal(tulip_port_attach(a.tp, a.mem, on_irq, &a), 0);
    assert_int_equal(n_logcap, 2);
    assert_string_equal(logcap[0].module, "tulip_port");
    assert_int_equal(logcap_count("port vm.lgA: 34 similar messages "
                               "suppressed"), 1);
    assert_int_equal(logcap_count("port vm.lgA: guest attached"), 1);
    vsa_log_set_hook(NULL);
    vsa_log_set_level(VSA_LOG_WARN);
    vsa_time_set_source(NULL);
    tulip_port_detach(a.tp);
    tulip_port_detach(b.tp);
    guest_close(&a);
    guest_close(&b);
}

static int group_setup(void **state)
{
    (void)state;
    if (port_test_eal_up("tulip_port", &g.sw) != 0)
        return -1;
    g.pool = vsw_pktmbuf_pool(g.sw);
    return g.pool ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    port_test_eal_down(&g.sw);
    return 0;
}

/* ---- the queue toward the guest with two transmitting lcores ---------------- */

#define QPROD_N 250000u /* entries per producer */

struct qprod {
    struct rte_ring *r;
    int efd;
    _Atomic bool *wake;
    uintptr_t tag;  /* producer index in the top bits of each entry */
    _Atomic uint64_t full;
};

/* A datapath lcore forwarding to the port: bursts of 8 fake mbuf pointers
 * (never dereferenced) carrying (tag, sequence); what does not fit is
 * retried, as the test wants every entry through. */
static void *qprod_run(void *arg)
{
    struct qprod *q = arg;
    uintptr_t seq = 0;

    while (seq < QPROD_N) {
        struct rte_mbuf *b[8];
        unsigned k = 0, done;

        while (k < 8 && seq + k < QPROD_N) {
            b[k] = (struct rte_mbuf *)((q->tag << 32) | (seq + k + 1));
            k++;
        }
        done = vm_port_queue_to_guest(q->r, q->efd, q->wake, b, (uint16_t)k,
                                      &q->full);
        seq += done;
    }
    return NULL;
}

/* The switch calls a port's tx_burst from whichever lcore forwards to it:
 * with two lcores both enqueue at once.  Every entry must come out exactly
 * once and each producer's in order (a single-producer ring, which the
 * queue was before, loses and duplicates entries here: both producers
 * claim the same slots). */
static void test_to_guest_two_producers(void **state)
{
    struct qprod q[2];
    pthread_t t[2];
    uintptr_t next[2] = { 1, 1 };
    uint64_t got = 0;
    struct rte_ring *r;
    _Atomic bool wake = false;
    int efd;
    (void)state;

    /* room for everything: the producers never wait for the consumer,
     * so their enqueues overlap as often as possible */
    r = vm_port_queue_create_to_guest("test_q2p", 1u << 19);
    assert_non_null(r);
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    for (unsigned i = 0; i < 2; i++) {
        q[i] = (struct qprod){ .r = r, .efd = efd, .wake = &wake,
                               .tag = i + 1 };
        atomic_init(&q[i].full, 0);
        /* one per CPU (the EAL pinned this thread, and so its children,
         * to CPU 0): the enqueues really run at the same time */
        pthread_attr_t at;
        cpu_set_t cs;
        CPU_ZERO(&cs);
        CPU_SET(i % 2, &cs);
        assert_int_equal(pthread_attr_init(&at), 0);
        assert_int_equal(pthread_attr_setaffinity_np(&at, sizeof(cs), &cs), 0);
        assert_int_equal(pthread_create(&t[i], &at, qprod_run, &q[i]), 0);
        pthread_attr_destroy(&at);
    }
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (;;) {
        void *e[32];
        unsigned n = rte_ring_sc_dequeue_burst(r, e, 32, NULL);

        if (n == 0)
            break;
        VSA_TSAN_ACQUIRE(r);
        for (unsigned i = 0; i < n; i++) {
            uintptr_t v = (uintptr_t)e[i];
            uintptr_t tag = v >> 32, seq = v & 0xffffffffu;

            assert_true(tag == 1 || tag == 2);
            assert_true(seq == next[tag - 1]);
            next[tag - 1]++;
        }
        got += n;
    }
    assert_true(got == 2ull * QPROD_N);
    assert_true(next[0] == QPROD_N + 1 && next[1] == QPROD_N + 1);
    assert_true(rte_ring_empty(r));
    rte_ring_free(r);
    close(efd);
}

/* ---- no wake-up lost toward the guest ---------------------------------- */

#define WAKE_N 300000u      /* entries the producer sends */
#define WAKE_STALL_MS 500   /* a wait this long with entries queued: lost */

struct wake_prod {
    struct rte_ring *r;
    int efd;
    _Atomic bool *wake;
    unsigned n;
    unsigned seed;
    _Atomic uint64_t full;
    _Atomic bool stop;  /* the test failed: end now */
};

/* A datapath lcore sending one entry at a time, with short irregular
 * pauses, so that its enqueues fall in every phase of the consumer's turn
 * (the old "was the queue empty" check lost the wake-up when the consumer
 * emptied the queue between that check and the enqueue).  One producer:
 * the race is between a producer and the consumer, and two on one CPU
 * (the other runs the test's datapath lcore) stall each other in the
 * multi-producer ring whenever one is preempted mid-enqueue. */
static void *wake_prod_run(void *arg)
{
    struct wake_prod *q = arg;

    for (unsigned i = 0; i < q->n && !atomic_load(&q->stop);) {
        struct rte_mbuf *b = (struct rte_mbuf *)(uintptr_t)(i + 1);
        unsigned spin = (unsigned)rand_r(&q->seed) % 64;

        for (volatile unsigned k = 0; k < spin; k++)
            ;
        i += vm_port_queue_to_guest(q->r, q->efd, q->wake, &b, 1, &q->full);
    }
    return NULL;
}

/* The consumer as tulip_port_service is: sleeps on the eventfd, reads it,
 * vm_port_queue_woken, drains the queue.  Every entry must come out
 * without a wait of WAKE_STALL_MS while the queue holds some (vesperd's
 * 100 ms tick would have hidden a lost wake-up as a latency spike). */
static void test_to_guest_no_lost_wakeup(void **state)
{
    struct wake_prod q;
    pthread_attr_t at;
    cpu_set_t cs;
    pthread_t t;
    _Atomic bool wake = false;
    uint64_t got = 0, turns = 0;
    struct rte_ring *r;
    int efd;
    (void)state;

    r = vm_port_queue_create_to_guest("test_qwake", 1024);
    assert_non_null(r);
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    q = (struct wake_prod){ .r = r, .efd = efd, .wake = &wake,
                            .n = WAKE_N, .seed = 7 };
    atomic_init(&q.full, 0);
    atomic_init(&q.stop, false);
    /* the producer on CPU 1, the consumer (this thread) on CPU 0 */
    CPU_ZERO(&cs);
    CPU_SET(1, &cs);
    assert_int_equal(pthread_attr_init(&at), 0);
    assert_int_equal(pthread_attr_setaffinity_np(&at, sizeof(cs), &cs), 0);
    assert_int_equal(pthread_create(&t, &at, wake_prod_run, &q), 0);
    pthread_attr_destroy(&at);
    while (got < WAKE_N) {
        struct pollfd pf = { .fd = efd, .events = POLLIN };
        uint64_t junk;
        void *e[32];
        unsigned n;

        if (poll(&pf, 1, WAKE_STALL_MS) == 0 && !rte_ring_empty(r)) {
            atomic_store(&q.stop, true);
            pthread_join(t, NULL);
            fail_msg("a wake-up was lost: %u entries queued, no wake-up "
                     "for %d ms (%" PRIu64 " of %u out, %" PRIu64 " turns)",
                     rte_ring_count(r), WAKE_STALL_MS, got, WAKE_N, turns);
        }
        (void)!read(efd, &junk, sizeof(junk));
        vm_port_queue_woken(&wake);
        while ((n = rte_ring_sc_dequeue_burst(r, e, 32, NULL)) > 0)
            got += n;
        turns++;
    }
    pthread_join(t, NULL);
    print_message("%" PRIu64 " entries in %" PRIu64 " consumer turns\n", got,
                  turns);
    assert_true(got == WAKE_N);
    rte_ring_free(r);
    close(efd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_and_attach),
        cmocka_unit_test(test_traffic_and_budgets),
        cmocka_unit_test(test_mac_spoofing),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_tap_timer),
        cmocka_unit_test(test_gp_timer),
        cmocka_unit_test(test_bus_master),
        cmocka_unit_test(test_rx_descriptor_budget),
        cmocka_unit_test(test_loopback_rearm_parks),
        cmocka_unit_test(test_no_park_without_loopback),
        cmocka_unit_test(test_attach_log_per_port),
        cmocka_unit_test(test_to_guest_two_producers),
        cmocka_unit_test(test_to_guest_no_lost_wakeup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
