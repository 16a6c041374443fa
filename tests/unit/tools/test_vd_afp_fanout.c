/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vd_afp_fanout.c — objective: vesperd's setsockopt wrapper
 * (tools/vesperd/afp_fanout.c) keeps the queue sockets of DPDK's
 * af_packet PMD out of every fanout group (the PMD's own, with its DEFRAG
 * flag, and any other process's), and passes every other call through.
 *
 * The test makes the PMD's calls itself, on real packet sockets bound to
 * the loopback device of a network namespace of its own (root): socket,
 * bind, then setsockopt(PACKET_FANOUT, (id) | (HASH | DEFRAG | ROLLOVER)
 * << 16) per queue, as rte_eth_af_packet.c does, through the wrapper
 * (linked with -Wl,--wrap=setsockopt).  "Another process" holding a group
 * is a socket that joins one with __real_setsockopt, past the wrapper:
 * fanout groups are per namespace, not per process.  The kernel tells a
 * socket's group with getsockopt(PACKET_FANOUT): id | type << 16 |
 * flags << 24.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cmocka.h>

int __real_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);

/* What DPDK 22.11's af_packet PMD asks for (rte_pmd_init_internals). */
#define PMD_MODE \
    ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG | \
                PACKET_FANOUT_FLAG_ROLLOVER) << 16)

/* A packet socket bound to lo, as the PMD makes one per queue. */
static int queue_socket(void)
{
    struct sockaddr_ll sll;
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

    assert_true(fd >= 0);
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)if_nametoindex("lo");
    assert_true(sll.sll_ifindex > 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
    return fd;
}

/* The PMD's PACKET_FANOUT call, through the wrapper. */
static int pmd_join(int fd, uint16_t id)
{
    int arg = (int)(id | PMD_MODE);
    return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
}

/* Another process's group: joined past the wrapper. */
static int other_join(int fd, uint16_t id, uint32_t mode)
{
    int arg = (int)(id | mode);
    return __real_setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg,
                             sizeof(arg));
}

/* getsockopt(PACKET_FANOUT): id | type << 16 | flags << 24, 0 if none. */
static uint32_t group_of(int fd)
{
    uint32_t v = 0;
    socklen_t len = sizeof(v);

    assert_int_equal(getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &v, &len), 0);
    return v;
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_error("needs root (a network namespace of its own)\n");
        return -1;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        print_error("unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return -1;
    }
    /* lo is down in a new namespace; packet sockets bind to it all the
     * same, but keep it like a NIC vesperd binds: up */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return -1;
    close(s);
    return 0;
}

/* Frames of `fd` waiting now (read and counted; waits up to 200 ms for
 * the first). */
static unsigned frames_waiting(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint8_t buf[256];
    unsigned n = 0;

    if (poll(&p, 1, 200) != 1)
        return 0;
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        n++;
    return n;
}

/* One frame on lo (EtherType 0x88b5, local experimental). */
static void send_frame(void)
{
    struct sockaddr_ll sll;
    uint8_t f[60];
    int s = socket(AF_PACKET, SOCK_RAW, 0);

    assert_true(s >= 0);
    memset(f, 0, sizeof(f));
    memset(f, 0xff, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)if_nametoindex("lo");
    sll.sll_halen = 6;
    assert_int_equal(sendto(s, f, sizeof(f), 0, (struct sockaddr *)&sll,
                            sizeof(sll)), (ssize_t)sizeof(f));
    close(s);
}

/* The PMD's requests join no group: each queue socket of a device, and a
 * second device opened on a NIC whose first one left its sockets open,
 * keeps every frame of the NIC (a socket in no group is handed all of
 * them: in one hash group, a frame went to one of the two), and DEFRAG is
 * asked of no one. */
static void test_pmd_sockets_join_no_group(void **state)
{
    int q0 = queue_socket(), q1 = queue_socket();
    int again0 = queue_socket();

    (void)state;
    assert_int_equal(pmd_join(q0, 0x1234), 0);
    assert_int_equal(pmd_join(q1, 0x1234), 0);
    assert_int_equal(group_of(q0), 0);
    assert_int_equal(group_of(q1), 0);
    (void)frames_waiting(q0); /* whatever lo carried before */
    (void)frames_waiting(q1);
    send_frame();
    assert_true(frames_waiting(q0) >= 1);
    assert_true(frames_waiting(q1) >= 1);
    /* q0 and q1 stay open, as a device's that failed before its start */
    assert_int_equal(pmd_join(again0, 0x1234), 0);
    assert_int_equal(group_of(again0), 0);
    close(q0);
    close(q1);
    close(again0);
}

/* The PMD's id is another process's group, of another kind (the PMD's
 * own call fails) or of the PMD's kind (the PMD's own call joins it):
 * either way the device's socket stays out of it, and the other process's
 * group keeps its one member. */
static void test_other_process_holds_the_id(void **state)
{
    static const uint32_t kinds[] = {
        (uint32_t)PACKET_FANOUT_LB << 16,
        PMD_MODE,
    };

    (void)state;
    for (unsigned k = 0; k < 2; k++) {
        int other = queue_socket(), q0 = queue_socket(),
            probe = queue_socket();
        uint16_t id = (uint16_t)(0x2000 + k);

        assert_int_equal(other_join(other, id, kinds[k]), 0);
        /* what the PMD met without the wrapper */
        int arg = (int)(id | PMD_MODE);
        int rc = __real_setsockopt(probe, SOL_PACKET, PACKET_FANOUT, &arg,
                                   sizeof(arg));
        if (k == 0)
            assert_int_equal(rc, -1); /* EINVAL: another kind */
        else
            assert_int_equal(group_of(probe) & 0xffff, id); /* joined */
        close(probe);

        assert_int_equal(pmd_join(q0, id), 0);
        assert_int_equal(group_of(q0), 0);
        assert_int_equal(group_of(other), id | kinds[k]);
        close(q0);
        close(other);
    }
}

/* Calls that are not the PMD's fanout request go to the C library as they
 * came: a caller asking for a unique id itself, or for another kind of
 * group, the PMD's request on a packet socket bound to no device, other
 * options, a PACKET_FANOUT of another size. */
static void test_calls_not_the_pmds_pass_through(void **state)
{
    int s = queue_socket(), t = queue_socket(), r = queue_socket();
    int all = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    int arg = (int)((uint32_t)(PACKET_FANOUT_HASH |
                               PACKET_FANOUT_FLAG_UNIQUEID) << 16);
    int roll = (int)(0x5000 | (uint32_t)(PACKET_FANOUT_HASH |
                                         PACKET_FANOUT_FLAG_ROLLOVER) << 16);
    int pmd = (int)(0x4000 | PMD_MODE);
    int one = 1;

    (void)state;
    assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_FANOUT, &arg,
                                sizeof(arg)), 0);
    assert_int_equal((group_of(s) >> 16) & 0xff, PACKET_FANOUT_HASH);
    assert_int_equal(setsockopt(r, SOL_PACKET, PACKET_FANOUT, &roll,
                                sizeof(roll)), 0);
    assert_int_equal(group_of(r), (uint32_t)roll);
    /* not bound to one device: the kernel makes the group as asked */
    assert_true(all >= 0);
    assert_int_equal(setsockopt(all, SOL_PACKET, PACKET_FANOUT, &pmd,
                                sizeof(pmd)), 0);
    assert_int_equal(group_of(all), (uint32_t)pmd);
    /* other options go to the C library unchanged */
    assert_int_equal(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one,
                                sizeof(one)), 0);
    assert_int_equal(setsockopt(t, SOL_PACKET, PACKET_FANOUT, &arg, 2), -1);
    close(s);
    close(t);
    close(r);
    close(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pmd_sockets_join_no_group),
        cmocka_unit_test(test_other_process_holds_the_id),
        cmocka_unit_test(test_calls_not_the_pmds_pass_through),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
