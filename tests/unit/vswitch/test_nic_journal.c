/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nic_journal.c — objective: the crash journal of kernel NIC states
 * (vswitch/nic_journal.c) gives back exactly the NICs it recorded, and
 * nothing else, whatever it finds in its directory.
 *  * open creates the directory and locks it: a second open of the same
 *    directory is -EBUSY until the first lock is closed;
 *  * a NIC recorded down and not promiscuous, then set up and promiscuous
 *    (what binding does), is given back by recover, and its entry is gone;
 *  * entries recover must not act on, all removed without touching
 *    anything: a file that is not ours, a half-written one (.tmp, never
 *    renamed), out-of-range values, a name that no longer exists, and an
 *    ifindex that now carries another name (the index reused or the NIC
 *    renamed), and records whose IPv6 address lines are not what add
 *    writes;
 *  * a recorded NIC that another vesperd claims now (nic_claim.c) is left
 *    alone and its record kept, until the claim is gone;
 *  * IPv6 addresses set by hand (permanent, global) are recorded, dropped
 *    by the binding (disable_ipv6) and added back by a port's close and by
 *    recover; link-local and addresses with a lifetime are not recorded;
 *  * receive offloads that merge frames: GRO on before is recorded
 *    (rx-gro=1 in the record), turned off by the binding
 *    (vsw__hostif_offloads_off) and turned on again by a port's close and
 *    by recover; GRO off before stays off; a record written before the
 *    offloads were recorded (no rx-gro line) is still given back and
 *    leaves GRO alone; offload lines that are not what add writes refuse
 *    the record; such an old record that recover kept and a new binding
 *    takes over gives GRO back all the same (its offloads are the NIC's
 *    at that binding), after a close and after a second crash;
 *  * net.ipv4.conf arp_ignore and rp_filter, which the binding raises
 *    (vsw__hostif_isolate): recorded ("arp_ignore=0", "rp_filter=0"), put
 *    back by a close and by recover; an older vesperd's record without
 *    them leaves them alone, a kept one takes them from the new binding;
 *    any value the kernel takes (9, 3) round-trips; a sign, trailing
 *    text, a value over INT_MAX or a line twice refuse the record;
 *  * the devices under a NIC (a macvlan's link here): save records them
 *    with their offloads, the record has a line each ("lower=IFINDEX NAME
 *    rx-gro=1 rx-lro=0 rx-gro-hw=0"), and their GRO, turned off by
 *    vsw__hostif_lowers_off, comes back from a port's close, from recover,
 *    and from recover when the NIC itself is gone; a kept record (recover
 *    could not look its NIC up) without a line for a device under it (an
 *    older vesperd's) takes that device from the new binding's save, one
 *    with a line keeps it; a lower device whose
 *    index now carries another name is left alone; lower lines that are
 *    not what add writes (or too many, or one device twice) refuse the
 *    record; a bridge with 17 ports has 16 recorded (VSW_HOSTIF_LOWER_MAX)
 *    and that record is given back.
 * How: in a network namespace of its own (unshare; root), on a veth made
 * with ip(8), read back with ip -j and ethtool -k.  No DPDK.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "vswitch/vsw_private.h"

static char dir[PATH_MAX];

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* "up promisc" / "down nopromisc" ... of the veth */
static void link_state(char *buf, size_t size)
{
    FILE *p = popen("ip -j link show dev vtj0 | "
                    "jq -r '.[0] | (if any(.flags[]; . == \"UP\") then "
                    "\"up\" else \"down\" end) + \" \" + (if any(.flags[]; "
                    ". == \"PROMISC\") then \"promisc\" else \"nopromisc\" "
                    "end)'", "r");
    assert_non_null(p);
    assert_non_null(fgets(buf, (int)size, p));
    buf[strcspn(buf, "\n")] = '\0';
    pclose(p);
}

static unsigned entries(void)
{
    char cmd[PATH_MAX + 64];
    unsigned n = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c '^nic-'", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fscanf(p, "%u", &n) != 1)
        n = 0;
    pclose(p);
    return n;
}

static void put_file(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A record of vtj0 as an older vesperd wrote it ("down, not
 * promiscuous", st's ifindex and disable_ipv6), then the lines `extra`,
 * in `file` (NULL: nic-IFINDEX, where recover finds vtj0's). */
static void put_vtj0_record(const char *file,
                            const struct vsw_hostif_state *st,
                            const char *extra)
{
    char text[256], name[32];

    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtj0\nup=0\npromisc=0\ndisable_ipv6=%d\n%s",
             st->ifindex, st->disable_ipv6, extra);
    if (!file) {
        snprintf(name, sizeof(name), "nic-%d", st->ifindex);
        file = name;
    }
    put_file(file, text);
}

/* The process holding the journal `lock` "dies" (the lock goes with it);
 * the next one opens the journal and gives back the one NIC recorded.
 * Returns the new lock. */
static int next_process_recovers(int lock)
{
    struct vsa_errmsg em;

    close(lock);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 1);
    return lock;
}

/* What a port's binding does first: takes the journal's lock, records
 * vtj0's state (st) and journals it.  Returns the lock. */
static int record_vtj0(struct vsw_hostif_state *st)
{
    struct vsa_errmsg em;
    int lock = vsw__nic_journal_open(dir, &em);

    assert_true(lock >= 0);
    assert_int_equal(vsw__hostif_save("vtj0", st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, st, &em), 0);
    return lock;
}

static void test_lock(void **state)
{
    struct vsa_errmsg em;
    int a, b;
    (void)state;

    a = vsw__nic_journal_open(dir, &em);
    assert_true(a >= 0);
    b = vsw__nic_journal_open(dir, &em);
    assert_int_equal(b, -EBUSY);
    assert_non_null(strstr(em.msg, "another vesperd"));
    close(a);
    b = vsw__nic_journal_open(dir, &em);
    assert_true(b >= 0);
    close(b);
}

static void test_give_back(void **state)
{
    struct vsw_hostif_state st;
    char s[64];
    int lock;
    (void)state;

    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    lock = record_vtj0(&st);
    assert_int_equal(entries(), 1);
    /* what a binding does; then the process "dies" */
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc");
    lock = next_process_recovers(lock);
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    assert_int_equal(entries(), 0);
    /* del of an entry that is not there is quiet */
    vsw__nic_journal_del(dir, st.ifindex);
    close(lock);
}

/* The pid of the process claiming `ifindex` in `dir` (the pid the
 * refusal names), or 0 if it is free (taken and given up again). */
static long claim_holder(const char *cdir, int ifindex)
{
    struct vsa_errmsg em;
    const char *pid;
    int fd = vsw__nic_claim_take(cdir, ifindex, "x", &em);

    if (fd >= 0) {
        vsw__nic_claim_release(cdir, ifindex, fd);
        return 0;
    }
    assert_int_equal(fd, -EBUSY);
    pid = strstr(em.msg, "(pid ");
    assert_non_null(pid);
    return strtol(pid + 5, NULL, 10);
}

/* A NIC that a crashed vesperd recorded and that another vesperd has
 * bound since (its claim, nic_claim.c) is not given back: that would pull
 * it from under the other one.  The record stays, and once the claim is
 * gone the next start gives the NIC back. */
static void test_claimed_nic_kept(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char s[64], claims[PATH_MAX + 16];
    int lock, claim;
    (void)state;

    snprintf(claims, sizeof(claims), "%s.claims", dir);
    lock = record_vtj0(&st);
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    close(lock); /* the process "dies" */
    /* another vesperd binds vtj0 meanwhile */
    assert_int_equal(claim_holder(claims, st.ifindex), 0);
    claim = vsw__nic_claim_take(claims, st.ifindex, "vtj0", &em);
    assert_true(claim >= 0);
    assert_int_equal(claim_holder(claims, st.ifindex), getpid());
    assert_int_equal(vsw__nic_claim_take(claims, st.ifindex, "vtj0", &em),
                     -EBUSY);
    assert_non_null(strstr(em.msg, "bound by another vesperd (pid "));

    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__nic_journal_recover(dir, claims), 0);
    assert_int_equal(entries(), 1);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc");
    close(lock);

    /* the other one gave it back: the next start does its part */
    vsw__nic_claim_release(claims, st.ifindex, claim);
    assert_int_equal(claim_holder(claims, st.ifindex), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__nic_journal_recover(dir, claims), 1);
    assert_int_equal(entries(), 0);
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    close(lock);
}

/* The claims directory is shared by every vesperd and written as root: a
 * directory others may write is refused, and so is a claim file that is
 * not a regular file of this user with one link (a hard link planted to
 * another file), which is left as it was, never truncated. */
static void test_claim_dir_checked(void **state)
{
    char open_dir[PATH_MAX + 16], claims[PATH_MAX + 16], victim[PATH_MAX + 16];
    char path[PATH_MAX + 64], buf[16] = "";
    struct vsa_errmsg em;
    struct stat ns;
    FILE *f;
    (void)state;

    snprintf(open_dir, sizeof(open_dir), "%s.open", dir);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    assert_int_equal(vsw__nic_claim_take(open_dir, 7, "vtj0", &em), -EPERM);
    assert_non_null(strstr(em.msg, "is not a directory of this user that "
                                   "only it may write (mode 0777"));
    assert_int_equal(rmdir(open_dir), 0);

    snprintf(claims, sizeof(claims), "%s.claims2", dir);
    snprintf(victim, sizeof(victim), "%s.victim", dir);
    assert_int_equal(mkdir(claims, 0700), 0);
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    fclose(f);
    assert_int_equal(stat("/proc/thread-self/ns/net", &ns), 0);
    snprintf(path, sizeof(path), "%s/%llu-7", claims,
             (unsigned long long)ns.st_ino);
    assert_int_equal(link(victim, path), 0);
    assert_int_equal(vsw__nic_claim_take(claims, 7, "vtj0", &em), -EPERM);
    assert_non_null(strstr(em.msg, "is not a claim file"));
    f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "keep me\n");
    unlink(path);
    unlink(victim);
    rmdir(claims);
}

static bool fail_netlink(void *arg, const char *what)
{
    (void)arg;
    return strcmp(what, "nl_socket_alloc") == 0;
}

/* Bug (found by review): a record whose NIC could not be looked up for a
 * passing reason (netlink out of memory) was taken for a NIC gone and
 * deleted, and the NIC stayed up and promiscuous for good.  Now it stays;
 * and a port that binds the NIC again gives back the state it holds
 * (add used to write the NIC's current, crashed-into state over it). */
static void test_lookup_failure_keeps_record(void **state)
{
    static const struct vsa_alloc_hook hook = { .inject = fail_netlink };
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char s[64];
    int lock;
    (void)state;

    lock = record_vtj0(&st);
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    close(lock);

    vsa_alloc_set_hook(&hook);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    vsa_alloc_set_hook(NULL);
    assert_int_equal(entries(), 1);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc");

    /* The same start binds the NIC again: what it must give back is the
     * kept record's state (down, not promiscuous), not the state the
     * crashed vesperd left (up, promiscuous), and the record stays. */
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_true(st.up && st.promisc);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_false(st.up);
    assert_false(st.promisc);
    assert_int_equal(entries(), 1);
    vsw__hostif_restore(&st);
    vsw__nic_journal_del(dir, st.ifindex);
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    assert_int_equal(entries(), 0);
    close(lock);
}

static void test_leftovers_left_alone(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char s[64], text[256];
    (void)state;

    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    put_file("nic-7", "something else\nifindex=7\n");
    put_file("nic-8", "vesper-nic-state 1\nifindex=8\nifname=vtj0\n"); /* short */
    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtj0\nup=0\npromisc=0\ndisable_ipv6=0\n", st.ifindex);
    {
        char name[32];
        snprintf(name, sizeof(name), "nic-%d.tmp", st.ifindex);
        put_file(name, text); /* never renamed: not a record */
    }
    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtj0\nup=7\npromisc=0\ndisable_ipv6=0\n", st.ifindex);
    put_file("nic-9", text);  /* up=7 */
    put_file("nic-10", "vesper-nic-state 1\nifindex=10\nifname=nosuch0\n"
                       "up=0\npromisc=0\ndisable_ipv6=0\n");
    /* vtj0's name on lo's index: restoring by index would take lo down */
    put_file("nic-11", "vesper-nic-state 1\nifindex=1\nifname=vtj0\n"
                       "up=0\npromisc=0\ndisable_ipv6=0\n");
    put_file("lock", "");
    /* IPv6 address lines that are not what add writes, on vtj0's real
     * index: the whole record is refused, so vtj0 is not touched */
    static const char *const bad_v6[] = {
        "disable_ipv6=0\nipv6=zzzz::1/64\n",
        "disable_ipv6=0\nipv6=2001:db8::1/129\n",
        "disable_ipv6=0\nipv6=2001:db8::1/64 junk\n",
        "disable_ipv6=0\nipv6=2001:db8::1\n",
        "disable_ipv6=1\nipv6=2001:db8::1/64\n", /* IPv6 was off */
    };
    for (unsigned i = 0; i < sizeof(bad_v6) / sizeof(bad_v6[0]); i++) {
        char name[32];

        snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
                 "ifname=vtj0\nup=0\npromisc=0\n%s", st.ifindex, bad_v6[i]);
        snprintf(name, sizeof(name), "nic-%u", 20 + i);
        put_file(name, text);
    }

    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc"); /* untouched */
    assert_int_equal(sh("ip -j link show dev lo | "
                        "jq -e 'any(.[0].flags[]; . == \"UP\")' >/dev/null"),
                     0);
    assert_int_equal(entries(), 0);
    assert_int_equal(sh("ip link set vtj0 down promisc off"), 0);
}

/* vtj0's global IPv6 addresses, "ADDR/LEN ..." sorted; "" if none */
static void v6_addrs(char *buf, size_t size)
{
    FILE *p = popen("ip -j -6 addr show dev vtj0 scope global | jq -r "
                    "'[.[0].addr_info[]? | \"\\(.local)/\\(.prefixlen)\"] "
                    "| sort | join(\" \")'", "r");
    assert_non_null(p);
    if (!fgets(buf, (int)size, p))
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    pclose(p);
}

/* IPv6 addresses set by hand, which disable_ipv6 drops while the NIC is
 * bound, come back: from a port's close (vsw__hostif_restore) and from
 * the journal after a crash; autoconfigured and link-local ones are not
 * recorded (the kernel makes them again). */
static void test_v6_addresses_back(void **state)
{
    static const char want[] = "2001:db8:1::5/64 fd00:7::7/48";
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char s[256], path[PATH_MAX + 96];
    int lock;
    (void)state;

    if (access("/proc/sys/net/ipv6/conf/vtj0/disable_ipv6", F_OK) != 0)
        skip(); /* no IPv6 in this kernel */
    assert_int_equal(sh("sysctl -qw net.ipv6.conf.vtj0.disable_ipv6=0 && "
                        "ip -6 addr add 2001:db8:1::5/64 dev vtj0 nodad && "
                        "ip -6 addr add fd00:7::7/48 dev vtj0 nodad && "
                        "ip -6 addr add fe80::1234/64 dev vtj0 nodad && "
                        "ip -6 addr add 2001:db8:2::9/64 dev vtj0 nodad "
                        "valid_lft 600 preferred_lft 600"), 0);
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(st.n_v6, 2); /* not fe80::1234, not the one with a lifetime */

    /* bound, then closed */
    vsw__hostif_isolate("vtj0");
    v6_addrs(s, sizeof(s));
    assert_string_equal(s, "");
    vsw__hostif_restore(&st);
    v6_addrs(s, sizeof(s));
    assert_string_equal(s, want);

    /* bound, then the process dies: the journal gives them back */
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    snprintf(path, sizeof(path), "grep -qx 'ipv6=2001:db8:1::5/64' '%s/nic-%d'",
             dir, st.ifindex);
    assert_int_equal(sh(path), 0);
    vsw__hostif_isolate("vtj0");
    v6_addrs(s, sizeof(s));
    assert_string_equal(s, "");
    lock = next_process_recovers(lock);
    v6_addrs(s, sizeof(s));
    assert_string_equal(s, want);
    close(lock);
    assert_int_equal(sh("ip -6 addr flush dev vtj0"), 0);
}

/* vtj0's generic-receive-offload as ethtool -k shows it: "on", "off" */
static void gro_state(char *buf, size_t size)
{
    FILE *p = popen("ethtool -k vtj0 | sed -n 's/^generic-receive-offload: "
                    "\\([a-z]*\\).*/\\1/p'", "r");
    assert_non_null(p);
    if (!fgets(buf, (int)size, p))
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    pclose(p);
}

static void gro_expect(const char *want, const char *when)
{
    char s[16];

    gro_state(s, sizeof(s));
    if (strcmp(s, want) != 0)
        fail_msg("vtj0 %s: generic-receive-offload '%s', expected '%s'",
                 when, s, want);
}

/* GRO on before a binding comes back, from a port's close and from the
 * journal after a crash; only what the binding turned off comes back. */
static void test_offloads_back(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char cmd[PATH_MAX + 96], s[64];
    int lock;
    (void)state;

    assert_int_equal(sh("ethtool -K vtj0 gro on"), 0);
    gro_expect("on", "made");
    assert_int_equal(vsw__hostif_offloads_get("vtj0"), (int)VSW_HOSTIF_GRO);

    /* bound, then closed */
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(st.offloads, VSW_HOSTIF_GRO); /* LRO, HW GRO fixed off */
    vsw__hostif_offloads_off("vtj0");
    gro_expect("off", "bound");
    assert_int_equal(vsw__hostif_offloads_get("vtj0"), 0);
    vsw__hostif_restore(&st);
    gro_expect("on", "given back");

    /* bound, then the process dies: the journal gives it back */
    lock = record_vtj0(&st);
    snprintf(cmd, sizeof(cmd), "test \"$(grep -cx -e rx-gro=1 -e rx-lro=0 "
             "-e rx-gro-hw=0 '%s/nic-%d')\" = 3", dir, st.ifindex);
    assert_int_equal(sh(cmd), 0);
    vsw__hostif_offloads_off("vtj0");
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    gro_expect("off", "bound");
    lock = next_process_recovers(lock);
    gro_expect("on", "recovered");
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    assert_int_equal(entries(), 0);

    /* off before: the binding changes nothing, nothing comes back */
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(st.offloads, 0);
    vsw__hostif_offloads_off("vtj0");
    assert_int_equal(sh("ethtool -K vtj0 gro on"), 0); /* someone else */
    vsw__hostif_restore(&st);
    gro_expect("on", "turned on by someone else while bound");
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
    close(lock);
}

/* A record from before the offloads were recorded (no offload lines) is
 * given back all the same and turns no offload on; offload lines that are
 * not what add writes refuse the record. */
static void test_offloads_old_and_bad_records(void **state)
{
    static const char *const bad[] = {
        "rx-gro=2\n",
        "rx-gro=1\nrx-gro=1\n",
        "rx-gro=1 \n",
        "rx-gro-hw=\n",
    };
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char name[32], s[64];
    int lock;
    (void)state;

    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);

    /* old */
    put_vtj0_record(NULL, &st, "");
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 1);
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    gro_expect("off", "given back from an old record");
    assert_int_equal(entries(), 0);

    /* bad offload lines */
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(name, sizeof(name), "nic-%u", 30 + i);
        put_vtj0_record(name, &st, bad[i]);
    }
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc"); /* untouched */
    gro_expect("off", "after refused records");
    assert_int_equal(entries(), 0);
    assert_int_equal(sh("ip link set vtj0 down promisc off"), 0);
    close(lock);
}

/* A record of vtj0 "down, not promiscuous" plus `offl` (offload lines)
 * left by a vesperd killed while it held vtj0 (up and promiscuous now),
 * which the next start's recover keeps: it cannot look vtj0 up (netlink
 * out of memory).  Returns that start's lock. */
static int kept_record(const char *offl)
{
    static const struct vsa_alloc_hook hook = { .inject = fail_netlink };
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    int lock;

    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    put_vtj0_record(NULL, &st, offl);
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    vsa_alloc_set_hook(&hook);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    vsa_alloc_set_hook(NULL);
    assert_int_equal(entries(), 1);
    return lock;
}

/* Bug (found by review): a record an older vesperd wrote (no offload
 * lines) that recover kept was taken over whole by the next binding of
 * its NIC, offloads included: none on, so GRO, on before and turned off
 * by that binding, stayed off once the port was closed.  Now the offloads
 * such a record lacks are the NIC's as the binding found it (the older
 * vesperd never changed them), and the record is written again with
 * them, so a second crash gives GRO back too; offload lines a kept record
 * has still win over the NIC's state (the crashed vesperd turned it off). */
static void test_kept_old_record_offloads(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char cmd[PATH_MAX + 96], s[64];
    int lock;
    (void)state;

    assert_int_equal(sh("ethtool -K vtj0 gro on"), 0);

    /* kept, bound again, closed */
    lock = kept_record("");
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(st.offloads, VSW_HOSTIF_GRO);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_false(st.up || st.promisc); /* the record's */
    assert_int_equal(st.offloads, VSW_HOSTIF_GRO); /* the NIC's */
    vsw__hostif_offloads_off("vtj0");
    gro_expect("off", "bound again");
    vsw__hostif_restore(&st);
    vsw__nic_journal_del(dir, st.ifindex);
    gro_expect("on", "given back after a kept old record");
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    close(lock);

    /* kept, bound again, killed again: the record now says GRO was on */
    lock = kept_record("");
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    snprintf(cmd, sizeof(cmd), "grep -qx rx-gro=1 '%s/nic-%d'", dir,
             st.ifindex);
    assert_int_equal(sh(cmd), 0);
    vsw__hostif_offloads_off("vtj0");
    lock = next_process_recovers(lock);
    gro_expect("on", "recovered after a second crash");
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    assert_int_equal(entries(), 0);
    close(lock);

    /* a kept record of this format: GRO was on before the crashed vesperd
     * turned it off, and that is what comes back */
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
    lock = kept_record("rx-gro=1\nrx-lro=0\nrx-gro-hw=0\n");
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(st.offloads, 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_int_equal(st.offloads, VSW_HOSTIF_GRO);
    vsw__hostif_restore(&st);
    vsw__nic_journal_del(dir, st.ifindex);
    gro_expect("on", "given back after a kept record");
    assert_int_equal(entries(), 0);
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
    close(lock);
}

/* ---- net.ipv4.conf arp_ignore and rp_filter ------------------------------ */

/* vtj0's net.ipv4.conf.vtj0.<key>, -1 if there is none */
static int v4conf(const char *key)
{
    char path[128], buf[16] = "";
    FILE *f;

    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/vtj0/%s", key);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    return buf[0] ? atoi(buf) : -1;
}

static void v4conf_set(int arp_ignore, int rp_filter)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "sysctl -qw net.ipv4.conf.vtj0.arp_ignore=%d "
             "net.ipv4.conf.vtj0.rp_filter=%d", arp_ignore, rp_filter);
    assert_int_equal(sh(cmd), 0);
}

static void v4conf_expect(int arp_ignore, int rp_filter, const char *when)
{
    int a = v4conf("arp_ignore"), r = v4conf("rp_filter");

    if (a != arp_ignore || r != rp_filter)
        fail_msg("vtj0 %s: arp_ignore %d rp_filter %d, expected %d %d", when,
                 a, r, arp_ignore, rp_filter);
}

/* The binding raises arp_ignore and rp_filter (vsw__hostif_isolate): the
 * record has their values before, and a close and recover put them back;
 * a record without them (an older vesperd's) leaves them alone, a kept
 * one takes them from the new binding's save, and lines that are not
 * what add writes refuse the record. */
static void record_has(int ifindex, const char *want);

static void test_ipv4_conf_back(void **state)
{
    static const char *const bad[] = {
        "arp_ignore=-1\n", "rp_filter=+1\n", "arp_ignore=2147483648\n",
        "arp_ignore=1\narp_ignore=1\n", "rp_filter=x\n", "rp_filter=1 \n",
    };
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char name[32], s[64];
    int lock;
    (void)state;

    /* recorded, raised, back by a close and by recover */
    v4conf_set(0, 0);
    lock = record_vtj0(&st);
    record_has(st.ifindex, "arp_ignore=0");
    record_has(st.ifindex, "rp_filter=0");
    vsw__hostif_isolate("vtj0");
    v4conf_expect(1, 1, "bound");
    vsw__hostif_restore(&st);
    v4conf_expect(0, 0, "given back by a close");
    vsw__hostif_isolate("vtj0");
    lock = next_process_recovers(lock);
    v4conf_expect(0, 0, "recovered");
    assert_int_equal(entries(), 0);

    /* the kernel takes any int: one outside the documented values is
     * recorded and comes back like any other */
    v4conf_set(9, 3);
    close(lock);
    lock = record_vtj0(&st);
    record_has(st.ifindex, "arp_ignore=9");
    record_has(st.ifindex, "rp_filter=3");
    vsw__hostif_isolate("vtj0");
    v4conf_expect(1, 1, "bound from 9 and 3");
    lock = next_process_recovers(lock);
    v4conf_expect(9, 3, "recovered to 9 and 3");
    assert_int_equal(entries(), 0);

    /* an older vesperd's record: left as they are */
    v4conf_set(1, 1);
    put_vtj0_record(NULL, &st, "");
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 1);
    link_state(s, sizeof(s));
    assert_string_equal(s, "down nopromisc");
    v4conf_expect(1, 1, "after an old record");
    close(lock);

    /* such a record kept, taken over by a new binding: the values are
     * the NIC's then, and a second crash gives them back */
    v4conf_set(0, 2);
    lock = kept_record("");
    assert_int_equal(vsw__hostif_save("vtj0", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_int_equal(st.arp_ignore, 0);
    assert_int_equal(st.rp_filter, 2);
    record_has(st.ifindex, "arp_ignore=0");
    record_has(st.ifindex, "rp_filter=2");
    vsw__hostif_isolate("vtj0");
    v4conf_expect(1, 1, "bound again");
    v4conf_set(1, 1);
    lock = next_process_recovers(lock);
    v4conf_expect(0, 2, "recovered after a kept old record");
    assert_int_equal(entries(), 0);

    /* bad lines */
    v4conf_set(1, 1);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(name, sizeof(name), "nic-%u", 40 + i);
        put_vtj0_record(name, &st, bad[i]);
    }
    assert_int_equal(sh("ip link set vtj0 up promisc on"), 0);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    link_state(s, sizeof(s));
    assert_string_equal(s, "up promisc"); /* untouched */
    v4conf_expect(1, 1, "after refused records");
    assert_int_equal(entries(), 0);
    assert_int_equal(sh("ip link set vtj0 down promisc off"), 0);
    v4conf_set(0, 0);
    close(lock);
}

/* ---- the devices under a NIC: vtjm, a macvlan on vtj0 -------------------- */

/* vtjm (passthru: it takes every frame vtj0 receives) on vtj0, GRO on
 * vtj0. */
static void vtjm_make(void)
{
    sh("ip link del vtjm 2>/dev/null"); /* what a failed test left */
    assert_int_equal(sh("ip link add link vtj0 name vtjm type macvlan "
                        "mode passthru && ethtool -K vtj0 gro on"), 0);
}

/* vtjm goes (vtj0 is no longer promiscuous for it); vtj0's GRO off. */
static void vtjm_del(void)
{
    sh("ip link del vtjm 2>/dev/null");
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
}

/* The record of ifindex has the line `want` (without its newline). */
static void record_has(int ifindex, const char *want)
{
    char cmd[PATH_MAX + 160];

    snprintf(cmd, sizeof(cmd), "grep -qx '%s' '%s/nic-%d'", want, dir,
             ifindex);
    if (sh(cmd) != 0)
        fail_msg("the record nic-%d has no line '%s'", ifindex, want);
}

/* vtj0's lower= line as add writes it, GRO on before. */
static void vtj0_lower_line(char *buf, size_t size)
{
    snprintf(buf, size, "lower=%u vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0",
             if_nametoindex("vtj0"));
}

/* The devices under a NIC: recorded, in the journal, given back by a
 * close, by recover, and by recover when the NIC itself is gone. */
static void test_lowers_round_trip(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char line[96];
    int lock;
    (void)state;

    vtjm_make();
    vtj0_lower_line(line, sizeof(line));
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    assert_int_equal(st.n_lower, 1);
    assert_int_equal(st.lower[0].ifindex, (int)if_nametoindex("vtj0"));
    assert_string_equal(st.lower[0].ifname, "vtj0");
    assert_int_equal(st.lower[0].offloads, VSW_HOSTIF_GRO);

    /* bound, then closed */
    vsw__hostif_lowers_off(&st);
    gro_expect("off", "under a bound macvlan");
    vsw__hostif_restore(&st);
    gro_expect("on", "given back by the close");

    /* bound, then the process dies: the journal gives it back */
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    record_has(st.ifindex, line);
    vsw__hostif_lowers_off(&st);
    gro_expect("off", "under a bound macvlan");
    lock = next_process_recovers(lock);
    gro_expect("on", "recovered");
    assert_int_equal(entries(), 0);

    /* the same, and the macvlan is deleted while no vesperd runs: the
     * device under it gets its GRO back all the same */
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    vsw__hostif_lowers_off(&st);
    close(lock);
    assert_int_equal(sh("ip link del vtjm"), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0); /* the NIC: gone */
    gro_expect("on", "recovered, the macvlan gone");
    assert_int_equal(entries(), 0);
    close(lock);
    vtjm_del();
}

/* A record of vtjm that recover keeps (netlink fails it), `lowers` its
 * lower= lines ("" as an older vesperd wrote it).  Returns the lock. */
static int kept_vtjm_record(const char *lowers)
{
    static const struct vsa_alloc_hook hook = { .inject = fail_netlink };
    char text[512], name[32];
    struct vsa_errmsg em;
    int lock, idx = (int)if_nametoindex("vtjm");

    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtjm\nup=0\npromisc=0\ndisable_ipv6=-1\n%s", idx,
             lowers);
    snprintf(name, sizeof(name), "nic-%d", idx);
    put_file(name, text);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    vsa_alloc_set_hook(&hook);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    vsa_alloc_set_hook(NULL);
    assert_int_equal(entries(), 1);
    return lock;
}

/* A kept record and the devices under its NIC: one it has no line for
 * (an older vesperd's record) is taken from the new binding's save, so
 * its GRO comes back and the rewritten record says so; one it has a line
 * for keeps the record's state (the crashed vesperd turned GRO off). */
static void test_lowers_kept_record(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char line[96], lowers[128];
    int lock;
    (void)state;

    vtjm_make();
    vtj0_lower_line(line, sizeof(line));

    /* older record, no lower line: vtj0's GRO (on) from the save */
    lock = kept_vtjm_record("");
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_int_equal(st.n_lower, 1);
    assert_int_equal(st.lower[0].offloads, VSW_HOSTIF_GRO);
    record_has(st.ifindex, line);
    vsw__hostif_lowers_off(&st);
    gro_expect("off", "under vtjm bound again");
    vsw__hostif_restore(&st);
    vsw__nic_journal_del(dir, st.ifindex);
    gro_expect("on", "given back after a kept older record");
    close(lock);

    /* a record with vtj0's line (GRO on), vtj0 off now: the record's */
    assert_int_equal(sh("ethtool -K vtj0 gro off"), 0);
    snprintf(lowers, sizeof(lowers), "%s\n", line);
    lock = kept_vtjm_record(lowers);
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    assert_int_equal(st.lower[0].offloads, 0);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_int_equal(st.n_lower, 1);
    assert_int_equal(st.lower[0].offloads, VSW_HOSTIF_GRO);
    vsw__hostif_restore(&st);
    vsw__nic_journal_del(dir, st.ifindex);
    gro_expect("on", "given back after a kept record");
    assert_int_equal(entries(), 0);
    close(lock);
    vtjm_del();
}

/* A lower device whose index now carries another name is not touched;
 * lower lines that are not what add writes refuse the whole record. */
static void test_lowers_bad_records(void **state)
{
    static const char *const bad[] = {
        "lower=x vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0\n",
        "lower=%u vtj0 rx-gro=2 rx-lro=0 rx-gro-hw=0\n",
        "lower=%u vtj0 rx-gro=1 rx-lro=0\n",
        "lower=%u vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0 junk\n",
        "lower=%u vtj0 rx-lro=0 rx-gro=1 rx-gro-hw=0\n",
        "lower=%u\n",
        "lower=0 vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0\n",
        /* one device twice: two lines in one element */
        ("lower=%u vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0\n"
         "lower=%u vtj0 rx-gro=1 rx-lro=0 rx-gro-hw=0\n"),
    };
    unsigned low = if_nametoindex("vtj0");
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    char text[1536], lines[1200], name[32];
    size_t len = 0;
    int lock;
    (void)state;

    vtjm_make();
    assert_int_equal(vsw__hostif_save("vtjm", &st, &em), 0);
    vsw__hostif_lowers_off(&st);
    assert_int_equal(sh("ip link set vtjm up promisc on"), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);

    /* vtj0's index under another name: vtjm is given back, vtj0 not */
    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtjm\nup=0\npromisc=0\ndisable_ipv6=%d\n"
             "lower=%u eth9 rx-gro=1 rx-lro=0 rx-gro-hw=0\n", st.ifindex,
             st.disable_ipv6, low);
    snprintf(name, sizeof(name), "nic-%d", st.ifindex);
    put_file(name, text);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 1);
    gro_expect("off", "its index recorded under another name");

    /* bad lower lines, and one too many */
    assert_int_equal(sh("ip link set vtjm up promisc on"), 0);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char lower[128];

        snprintf(lower, sizeof(lower), bad[i], low, low);
        snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
                 "ifname=vtjm\nup=0\npromisc=0\ndisable_ipv6=%d\n%s",
                 st.ifindex, st.disable_ipv6, lower);
        snprintf(name, sizeof(name), "nic-%u", 40 + i);
        put_file(name, text);
    }
    for (unsigned i = 0; i <= VSW_HOSTIF_LOWER_MAX; i++)
        len += (size_t)snprintf(lines + len, sizeof(lines) - len,
                                "lower=%u vtj%u rx-gro=1 rx-lro=0 "
                                "rx-gro-hw=0\n", 100 + i, i);
    snprintf(text, sizeof(text), "vesper-nic-state 1\nifindex=%d\n"
             "ifname=vtjm\nup=0\npromisc=0\ndisable_ipv6=%d\n%s",
             st.ifindex, st.disable_ipv6, lines);
    put_file("nic-60", text);
    assert_int_equal(vsw__nic_journal_recover(dir, NULL), 0);
    assert_int_equal(sh("ip -j link show dev vtjm | jq -e 'any(.[0].flags[]; "
                        ". == \"PROMISC\")' >/dev/null"), 0); /* untouched */
    gro_expect("off", "after refused records");
    assert_int_equal(entries(), 0);
    close(lock);
    vtjm_del();
}

/* A bridge with more ports than are recorded: at most
 * VSW_HOSTIF_LOWER_MAX, the rest logged; a full record reads back. */
static void test_lowers_bounded(void **state)
{
    struct vsw_hostif_state st;
    struct vsa_errmsg em;
    int lock;
    (void)state;

    assert_int_equal(sh("ip link add vtjb type bridge && for i in $(seq 0 "
                        "16); do ip link add vtjb$i type veth peer name "
                        "vtjb${i}p && ip link set vtjb$i master vtjb || "
                        "exit 1; done"), 0);
    lock = vsw__nic_journal_open(dir, &em);
    assert_true(lock >= 0);
    assert_int_equal(vsw__hostif_save("vtjb", &st, &em), 0);
    assert_int_equal(st.n_lower, VSW_HOSTIF_LOWER_MAX);
    assert_int_equal(vsw__nic_journal_add(dir, &st, &em), 0);
    assert_int_equal(sh("ip link set vtjb up promisc on"), 0);
    lock = next_process_recovers(lock);
    assert_int_equal(sh("ip -j link show dev vtjb | jq -e 'any(.[0].flags[]; "
                        ". == \"PROMISC\") | not' >/dev/null"), 0);
    close(lock);
    assert_int_equal(sh("for i in $(seq 0 16); do ip link del vtjb$i; done; "
                        "ip link del vtjb"), 0);
}

static int setup(void **state)
{
    (void)state;
    vsa_log_set_level(VSA_LOG_ERR);
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "unshare(CLONE_NEWNET): %s (needs root)\n",
                strerror(errno));
        return -1;
    }
    if (sh("ip link set lo up") != 0 ||
        sh("ip link add vtj0 type veth peer name vtj0p") != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/test_nic_journal.%d/nics", (int)getpid());
    *strrchr(dir, '/') = '\0';
    if (mkdir(dir, 0700) != 0)
        return -1;
    strcat(dir, "/nics");
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];
    char *slash = strrchr(dir, '/');
    (void)state;

    if (!slash)
        return 0; /* setup failed before the directory */
    *slash = '\0';
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return sh(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_give_back),
        cmocka_unit_test(test_claimed_nic_kept),
        cmocka_unit_test(test_claim_dir_checked),
        cmocka_unit_test(test_lookup_failure_keeps_record),
        cmocka_unit_test(test_leftovers_left_alone),
        cmocka_unit_test(test_v6_addresses_back),
        cmocka_unit_test(test_offloads_back),
        cmocka_unit_test(test_offloads_old_and_bad_records),
        cmocka_unit_test(test_kept_old_record_offloads),
        cmocka_unit_test(test_ipv4_conf_back),
        cmocka_unit_test(test_lowers_round_trip),
        cmocka_unit_test(test_lowers_kept_record),
        cmocka_unit_test(test_lowers_bad_records),
        cmocka_unit_test(test_lowers_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
