/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic_journal.c — the kernel NICs a vesperd holds, written down so that
 * the next one gives them back after a crash (prefix vsw__nic_journal_).
 *
 * Binding a kernel NIC changes it (up, promiscuous, IPv6 off, which drops
 * the IPv6 addresses set by hand, and GRO, LRO and hardware GRO off:
 * hostif.c);
 * closing the port puts back what was there before (vsw__hostif_restore).
 * A vesperd killed with SIGKILL, or one that crashed, restores nothing,
 * and the next one would record the changed state as "before".  So the
 * state before the binding is also kept in a directory, one file per NIC
 * (`nic-<ifindex>`, written to a temporary name and renamed into place),
 * from the moment the first port binds the NIC until the last one gave it
 * back.  vsw_create() recovers what a previous process left there:
 * restores each NIC (only if the index still carries the recorded name:
 * an index reused by another NIC is left alone) and removes the file,
 * before any port of the new configuration binds anything.  A lock file
 * (flock) keeps a second process off a directory in use.  vesperd keeps
 * the directory under /run (a tmpfs: after a reboot the NICs are fresh and
 * there is nothing to give back).
 *
 * A record is "vesper-nic-state 1" and key=value lines.  The offloads were
 * added later as lines of their own (rx-gro=, rx-lro=, rx-gro-hw=, 0 or 1)
 * without a new version: a record without them (written by an older
 * vesperd, which did not turn them off) reads as none on, so none is
 * turned on again, and an older vesperd skips lines it does not know, so
 * it still gives back the rest of a newer record.  Such a record that
 * recover kept and a new binding takes over has no say on the offloads
 * either: their state before is the NIC's now (add).  So were the
 * devices under the NIC whose offloads the binding turned off too (a
 * VLAN's link, a bond's slaves: hostif.c), a line each:
 * "lower=IFINDEX NAME rx-gro=0|1 rx-lro=0|1 rx-gro-hw=0|1"; a record
 * without them has none (and a kept one takes those the new binding found
 * from it: add), and an older vesperd gives back the NIC alone.  Recover
 * turns a lower device's offloads back on only if its index still carries
 * the recorded name, and also when the NIC itself is gone (a VLAN deleted
 * while no vesperd ran leaves its link's GRO off).  The NIC's
 * net.ipv4.conf arp_ignore and rp_filter, which the binding raises too
 * (hostif.c: vsw__hostif_isolate), came later the same way
 * ("arp_ignore=N", "rp_filter=N"): a record without them leaves them as
 * they are, and a kept one takes them from the new binding's save.  (An
 * older vesperd that takes over a kept record of this one writes it again
 * without them: those two then stay raised after its release.)
 *
 * Control thread only, like the rest of the port lifecycle.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vsa_lockfile.h"
#include "common/vsa_log.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch_nic_journal);

#define ENTRY_PREFIX "nic-"
#define ENTRY_MAGIC "vesper-nic-state 1" /* not bumped for the offloads */

static void entry_path(char *buf, size_t size, const char *dir, int ifindex,
                       const char *suffix)
{
    snprintf(buf, size, "%s/" ENTRY_PREFIX "%d%s", dir, ifindex, suffix);
}

static int busy_error(const char *dir, struct vsa_errmsg *em)
{
    return vsa_errmsg_set(em, -EBUSY, "another vesperd is running with the "
                          "NIC state directory %s (the same --socket)", dir);
}

int vsw_nic_journal_check(const char *dir, struct vsa_errmsg *em)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/lock", dir);
    return vsa_lockfile_busy(path) ? busy_error(dir, em) : 0;
}

int vsw__nic_journal_open(const char *dir, struct vsa_errmsg *em)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return vsa_errmsg_set(em, -errno, "cannot create the NIC state "
                              "directory %s: %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return vsa_errmsg_set(em, -ENOTDIR, "the NIC state directory %s is "
                              "not a directory", dir);
    /* One process per directory: another one's entries are not left over
     * from a crash.  The kernel drops the lock when the holder dies, even
     * by SIGKILL. */
    snprintf(path, sizeof(path), "%s/lock", dir);
    fd = vsa_lockfile_take(path, em);
    if (fd == -EBUSY)
        return busy_error(dir, em);
    return fd;
}

static bool entry_read(const char *path, struct vsw_hostif_state *s,
                       unsigned *offl_seen);

/* Adds to kept the devices under the NIC that the fresh save s found and
 * kept has no line for, with s's record of them: the vesperd that wrote
 * kept did not turn their offloads off (an older one, which recorded no
 * device under the NIC, or they came under it later), so their state now
 * is the one before.  Those kept has a line for keep it (the crashed
 * vesperd turned them off). */
static void take_unrecorded_lowers(struct vsw_hostif_state *kept,
                                   const struct vsw_hostif_state *s)
{
    for (unsigned i = 0; i < s->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++) {
        bool recorded = false;

        for (unsigned j = 0; j < kept->n_lower; j++)
            recorded |= kept->lower[j].ifindex == s->lower[i].ifindex;
        if (!recorded && kept->n_lower < VSW_HOSTIF_LOWER_MAX)
            kept->lower[kept->n_lower++] = s->lower[i];
    }
}

/* If path is a record of s's NIC that recover kept (it could not give
 * the NIC back), reads it into s: it holds the state before the crashed
 * vesperd bound it, which is what this binding must give back too.
 * An offload the record has no line for was not recorded by the vesperd
 * that wrote it (one from before the offloads were), which did not turn
 * it off either: its state before is the one s just read from the NIC. */
static void take_kept(const char *path, struct vsw_hostif_state *s)
{
    struct vsw_hostif_state kept;
    unsigned seen;

    if (!entry_read(path, &kept, &seen) || kept.ifindex != s->ifindex ||
        strcmp(kept.ifname, s->ifname) != 0)
        return;
    VSA_LOG(INFO, "NIC %s: using the state recorded before a vesperd "
            "that did not stop cleanly bound it", s->ifname);
    kept.offloads |= s->offloads & ~seen;
    take_unrecorded_lowers(&kept, s);
    /* not recorded: the vesperd that wrote kept did not change them */
    if (kept.arp_ignore < 0)
        kept.arp_ignore = s->arp_ignore;
    if (kept.rp_filter < 0)
        kept.rp_filter = s->rp_filter;
    *s = kept;
}

/* "lower=IFINDEX NAME rx-gro=1 rx-lro=0 rx-gro-hw=0\n" */
static bool lower_write(FILE *f, const struct vsw_hostif_lower *lw)
{
    bool ok = fprintf(f, "lower=%d %s", lw->ifindex, lw->ifname) > 0;

    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
        ok = fprintf(f, " %s=%d", vsw__hostif_offload_name(i),
                     (lw->offloads >> i) & 1u ? 1 : 0) > 0 && ok;
    return fputc('\n', f) != EOF && ok;
}

int vsw__nic_journal_add(const char *dir, struct vsw_hostif_state *s,
                         struct vsa_errmsg *em)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    FILE *f;
    int ok;

    entry_path(tmp, sizeof(tmp), dir, s->ifindex, ".tmp");
    entry_path(path, sizeof(path), dir, s->ifindex, "");
    /* A kept record is written again as s then is, with its offloads
     * taken from the NIC included: this vesperd turns them off, so the
     * next one must know to turn them back on should this one crash too. */
    take_kept(path, s);
    f = fopen(tmp, "we");
    if (!f)
        return vsa_errmsg_set(em, -errno, "cannot record the state of %s in "
                              "%s: %s", s->ifname, dir, strerror(errno));
    ok = fprintf(f, ENTRY_MAGIC "\nifindex=%d\nifname=%s\nup=%d\npromisc=%d\n"
                 "disable_ipv6=%d\n", s->ifindex, s->ifname, s->up ? 1 : 0,
                 s->promisc ? 1 : 0, s->disable_ipv6) > 0;
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
        ok = fprintf(f, "%s=%d\n", vsw__hostif_offload_name(i),
                     (s->offloads >> i) & 1u ? 1 : 0) > 0 && ok;
    if (s->arp_ignore >= 0)
        ok = fprintf(f, "arp_ignore=%d\n", s->arp_ignore) > 0 && ok;
    if (s->rp_filter >= 0)
        ok = fprintf(f, "rp_filter=%d\n", s->rp_filter) > 0 && ok;
    for (unsigned i = 0; i < s->n_v6 && i < VSW_HOSTIF_V6_MAX; i++) {
        char a[INET6_ADDRSTRLEN];

        ok = inet_ntop(AF_INET6, s->v6[i].addr, a, sizeof(a)) &&
             fprintf(f, "ipv6=%s/%u\n", a, s->v6[i].prefixlen) > 0 && ok;
    }
    for (unsigned i = 0; i < s->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++)
        ok = lower_write(f, &s->lower[i]) && ok;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return vsa_errmsg_set(em, -e, "cannot record the state of %s in "
                              "%s: %s", s->ifname, dir, strerror(e));
    }
    return 0;
}

void vsw__nic_journal_del(const char *dir, int ifindex)
{
    char path[PATH_MAX];

    entry_path(path, sizeof(path), dir, ifindex, "");
    if (unlink(path) < 0 && errno != ENOENT)
        VSA_LOG(WARN, "cannot remove %s: %s", path, strerror(errno));
}

/* Whether line is "<offload name>=0|1\n" of one of the offloads (it is
 * then counted into *seen and *on); *bad if it is one of them with
 * another value or a second time. */
static bool offload_line(const char *line, unsigned *seen, unsigned *on,
                         bool *bad)
{
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++) {
        const char *name = vsw__hostif_offload_name(i);
        size_t len = strlen(name);

        if (strncmp(line, name, len) != 0 || line[len] != '=')
            continue;
        if ((line[len + 1] != '0' && line[len + 1] != '1') ||
            line[len + 2] != '\n' || (*seen & (1u << i)))
            *bad = true;
        *seen |= 1u << i;
        if (line[len + 1] == '1')
            *on |= 1u << i;
        return true;
    }
    return false;
}

/* Reads "IFINDEX NAME" and the offloads of a lower= line (after the "=")
 * into s->lower[]: false if it is not what lower_write writes, or one too
 * many, or a device recorded twice. */
static bool lower_read(const char *text, struct vsw_hostif_state *s)
{
    struct vsw_hostif_lower lw;
    int n = 0;

    memset(&lw, 0, sizeof(lw));
    if (sscanf(text, "%d %15[^ \n]%n", &lw.ifindex, lw.ifname, &n) != 2 ||
        lw.ifindex <= 0 || !isdigit((unsigned char)text[0]))
        return false;
    text += n;
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++) {
        const char *name = vsw__hostif_offload_name(i);
        size_t len = strlen(name);

        if (text[0] != ' ' || strncmp(text + 1, name, len) != 0 ||
            text[len + 1] != '=' ||
            (text[len + 2] != '0' && text[len + 2] != '1'))
            return false;
        if (text[len + 2] == '1')
            lw.offloads |= 1u << i;
        text += len + 3;
    }
    if (strcmp(text, "\n") != 0 || s->n_lower == VSW_HOSTIF_LOWER_MAX)
        return false;
    for (unsigned i = 0; i < s->n_lower; i++)
        if (s->lower[i].ifindex == lw.ifindex)
            return false;
    s->lower[s->n_lower++] = lw;
    return true;
}

/* If line is "<key>N\n", counts it in *seen and reads N into *val: true.
 * N is what save read from the kernel, which takes any int: 0..INT_MAX
 * (a negative one is recorded as unknown and never written).  Anything
 * else after the key (no number, a sign, trailing text, too large) reads
 * as -2, which the record's check refuses. */
static bool int_line(const char *line, const char *key, int *val,
                     int *seen)
{
    size_t len = strlen(key);
    unsigned long v;
    char *end = NULL;

    if (strncmp(line, key, len) != 0)
        return false;
    (*seen)++;
    errno = 0;
    v = isdigit((unsigned char)line[len]) ? strtoul(line + len, &end, 10)
                                          : ULONG_MAX;
    *val = v <= INT_MAX && errno == 0 && strcmp(end, "\n") == 0 ? (int)v
                                                                : -2;
    return true;
}

/* Reads one entry; false if it is not one we wrote.  An entry written
 * before the offloads were recorded has no lines for them: none was
 * turned off, none is turned on again.  *offl_seen: the offloads it has a
 * line for (VSW_HOSTIF_GRO...). */
static bool entry_read(const char *path, struct vsw_hostif_state *s,
                       unsigned *offl_seen)
{
    char line[128], name[sizeof(s->ifname)];
    int ifindex = 0, up = -1, promisc = -1, v6 = -2, fields = 0;
    int arp = -1, rpf = -1, v4_lines = 0;
    unsigned offl_on = 0;
    bool offl_bad = false;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    memset(s, 0, sizeof(*s));
    *offl_seen = 0;
    name[0] = '\0';
    if (!fgets(line, sizeof(line), f) ||
        strncmp(line, ENTRY_MAGIC "\n", sizeof(ENTRY_MAGIC)) != 0) {
        fclose(f);
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        char a[INET6_ADDRSTRLEN + 1];
        unsigned plen;
        char end;

        if (strncmp(line, "ipv6=", 5) == 0) {
            /* ADDR/LEN and nothing after it */
            if (sscanf(line, "ipv6=%46[0-9a-fA-F:.]/%u%c", a, &plen, &end) != 3 ||
                end != '\n' || plen > 128 || s->n_v6 == VSW_HOSTIF_V6_MAX ||
                inet_pton(AF_INET6, a, s->v6[s->n_v6].addr) != 1) {
                fclose(f);
                return false;
            }
            s->v6[s->n_v6++].prefixlen = (uint8_t)plen;
            continue;
        }
        if (offload_line(line, offl_seen, &offl_on, &offl_bad))
            continue;
        if (strncmp(line, "lower=", 6) == 0) {
            if (!lower_read(line + 6, s)) {
                fclose(f);
                return false;
            }
            continue;
        }
        fields += sscanf(line, "ifindex=%d", &ifindex) == 1;
        fields += sscanf(line, "ifname=%31[^\n]", name) == 1;
        fields += sscanf(line, "up=%d", &up) == 1;
        fields += sscanf(line, "promisc=%d", &promisc) == 1;
        fields += sscanf(line, "disable_ipv6=%d", &v6) == 1;
        if (int_line(line, "arp_ignore=", &arp, &v4_lines) ||
            int_line(line, "rp_filter=", &rpf, &v4_lines))
            continue;
    }
    fclose(f);
    if (fields != 5 || ifindex <= 0 || !name[0] || (up != 0 && up != 1) ||
        (promisc != 0 && promisc != 1) || v6 < -1 || v6 > 2 || offl_bad)
        return false;
    /* absent: an older vesperd's record (-1, left alone); each at most
     * once, a number */
    if (v4_lines != (arp >= 0) + (rpf >= 0))
        return false;
    if (s->n_v6 && v6 != 0)
        return false; /* addresses are only recorded while IPv6 was on */
    s->ifindex = ifindex;
    snprintf(s->ifname, sizeof(s->ifname), "%s", name);
    s->up = up;
    s->promisc = promisc;
    s->disable_ipv6 = v6;
    s->arp_ignore = arp;
    s->rp_filter = rpf;
    s->offloads = offl_on;
    return true;
}

/* "rx-gro, rx-lro" of the offloads in mask, "none" if none. */
static const char *offload_names(unsigned mask, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS && len < size; i++)
        if (mask & (1u << i))
            len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                    len ? ", " : "",
                                    vsw__hostif_offload_name(i));
    return buf[0] ? buf : "none";
}

/* "eth0 (rx-gro), eth1 (none)" of s's lower devices, "none" if none. */
static const char *lower_names(const struct vsw_hostif_state *s, char *buf,
                               size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < s->n_lower && len < size; i++) {
        char offl[64];

        len += (size_t)snprintf(buf + len, size - len, "%s%s (%s)",
                                len ? ", " : "", s->lower[i].ifname,
                                offload_names(s->lower[i].offloads, offl,
                                              sizeof(offl)));
    }
    return buf[0] ? buf : "none";
}

/* Drops from s the lower devices whose index no longer carries the
 * recorded name (gone, or the index reused): like the NIC itself, such a
 * device is not touched. */
void vsw__nic_journal_lowers_still_there(struct vsw_hostif_state *s)
{
    unsigned n = 0;

    for (unsigned i = 0; i < s->n_lower; i++) {
        char now[IF_NAMESIZE];
        const struct vsw_hostif_lower *lw = &s->lower[i];

        if (if_indextoname((unsigned)lw->ifindex, now) &&
            strcmp(now, lw->ifname) == 0)
            s->lower[n++] = *lw;
        else
            VSA_LOG(WARN, "%s (index %d), a device under NIC %s, is gone "
                    "or renamed: its offloads are left as they are",
                    lw->ifname, lw->ifindex, s->ifname);
    }
    s->n_lower = n;
}

/* Claims what recover is about to give back of `was` (its NIC unless
 * !with_nic, the devices under it) in claim_dir (NULL: no claims).  False
 * if another vesperd holds one of them: the record at `path` stays.  A
 * claim that fails otherwise (the directory unusable) is logged, and the
 * NIC given back unclaimed: a record kept for that would never go. */
static bool recover_claim(const char *claim_dir,
                          const struct vsw_hostif_state *was, bool with_nic,
                          struct vsw_nic_claims *claims, const char *path)
{
    struct vsa_errmsg em;
    int rc;

    claims->n = 0;
    if (!claim_dir)
        return true;
    rc = vsw__nic_claim_state(claim_dir, was, with_nic, claims, &em);
    if (rc == -EBUSY) {
        VSA_LOG(WARN, "NIC %s (index %d) held by a vesperd that did not "
                "stop cleanly is not given back now (%s); %s kept for the "
                "next start", was->ifname, was->ifindex, em.msg, path);
        return false;
    }
    if (rc < 0)
        VSA_LOG(WARN, "NIC %s (index %d) held by a vesperd that did not "
                "stop cleanly is given back unclaimed: %s", was->ifname,
                was->ifindex, em.msg);
    return true;
}

unsigned vsw__nic_journal_recover(const char *dir, const char *claim_dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct vsw_hostif_state was;
        struct vsw_hostif_info now;
        unsigned offl_seen;
        struct vsw_nic_claims claims;
        struct vsa_errmsg em;
        int rc;

        if (strncmp(e->d_name, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".tmp")) {
            unlink(path); /* never renamed: the binding did not happen */
            continue;
        }
        if (!entry_read(path, &was, &offl_seen)) {
            VSA_LOG(WARN, "%s is not a NIC state vesperd wrote: removed",
                    path);
        } else if ((rc = vsw__hostif_lookup(was.ifname, &now, &em)) < 0 &&
                   rc != -ENODEV) {
            /* netlink out of memory or unreachable: not a sign the NIC
             * is gone, so the record stays for the next start */
            VSA_LOG(WARN, "NIC %s (index %d) held by a vesperd that did not "
                    "stop cleanly: cannot look it up (%s); %s kept for the "
                    "next start", was.ifname, was.ifindex, em.msg, path);
            continue;
        } else if (rc < 0 || now.ifindex != was.ifindex) {
            vsw__nic_journal_lowers_still_there(&was);
            if (!recover_claim(claim_dir, &was, false, &claims, path))
                continue;
            vsw__hostif_restore_lowers(&was);
            if (claim_dir)
                vsw__nic_claim_release_all(claim_dir, &claims);
            VSA_LOG(WARN, "NIC %s (index %d) held by a vesperd that did not "
                    "stop cleanly is gone or renamed: nothing of it given "
                    "back%s", was.ifname, was.ifindex,
                    was.n_lower ? " (the offloads of the devices under it "
                                  "are)" : "");
        } else {
            char offl[64], lowers[320];

            vsw__nic_journal_lowers_still_there(&was);
            /* Claimed while it is given back.  Bound by another vesperd
             * since the crash (it or a device under it): giving it back
             * now would pull it from under that one.  Kept: once that one
             * has given it back (to the state this record says it found,
             * the crashed one's), the next start gives it back from here,
             * or a binding of this process takes the record over (add). */
            if (!recover_claim(claim_dir, &was, true, &claims, path))
                continue;
            rc = vsw__hostif_restore(&was);
            if (claim_dir)
                vsw__nic_claim_release_all(claim_dir, &claims);
            if (rc < 0) {
                VSA_LOG(WARN, "NIC %s (index %d) held by a vesperd that "
                        "did not stop cleanly: not given back; %s kept "
                        "for the next start", was.ifname, was.ifindex, path);
                continue;
            }
            VSA_LOG(WARN, "NIC %s given back as it was before a vesperd "
                    "that did not stop cleanly bound it (%s, %s, IPv6 %s, "
                    "%u IPv6 address%s set by hand, arp_ignore %d, "
                    "rp_filter %d, offloads on: %s; devices under it: %s)",
                    was.ifname, was.up ? "up" : "down",
                    was.promisc ? "promiscuous" : "not promiscuous",
                    was.disable_ipv6 == 0 ? "on" : "off or absent",
                    was.n_v6, was.n_v6 == 1 ? "" : "es", was.arp_ignore,
                    was.rp_filter, offload_names(was.offloads, offl, sizeof(offl)),
                    lower_names(&was, lowers, sizeof(lowers)));
            n++;
        }
        unlink(path);
    }
    closedir(d);
    return n;
}
