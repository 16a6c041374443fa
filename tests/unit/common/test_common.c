/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_common.c — unit tests for common/: vsa_mac, vsa_errmsg, vsa_time,
 * vsa_log and its rate limiter.
 *
 * Objective: the helpers every module relies on behave exactly as their
 * headers say, at the edges:
 *   - vsa_mac_parse accepts "xx:xx:xx:xx:xx:xx" and '-' separated forms in
 *     either case and rejects every wrong length, bad hex digit, wrong
 *     separator (also a mix of the two) and trailing character, leaving
 *     the output untouched;
 *     vsa_mac_format always gives the 17-character lower-case form, and
 *     format/parse and to_u64/from_u64 round-trip;
 *   - vsa_errmsg_set / _prefix return the error unchanged, accept NULL and
 *     truncate at VSA_ERRMSG_SIZE - 1 characters with a terminating NUL;
 *     _append adds to the end, cut the same way;
 *   - the manual time source can be set, advanced and removed;
 *   - a rate limiter allows `burst` messages per window, suppresses the
 *     rest, opens a new window exactly `period` later on the manual clock,
 *     and reports how many it suppressed, naming its label if it has one;
 *   - per-VM limits (vsa_ratelimit_allow_pair, VSA_LOG_RL2): VM A flooding
 *     does not suppress VM B's first message, a VM over its own budget
 *     draws nothing from the shared one, the shared bucket caps many VMs
 *     together (their suppression reports included), and each bucket
 *     reports its own suppressions under its own label;
 *   - log level filtering and the capture hook (also the stderr format when
 *     no hook is installed);
 *   - vsa_shm_read / vsa_shm_write copy exactly the n bytes asked for, for
 *     every alignment of either side and every length 0..40 (unaligned
 *     head, 8-byte words, tail), and touch nothing around them;
 *   - vsa_accept at EMFILE takes the waiting connection into the reserve
 *     descriptor (shed), so nothing stays queued and a level-triggered
 *     loop would not spin; the reserve is taken again and the next shed
 *     works too; plain accept4 would leave the connection queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/vsa_accept.h"
#include "common/vsa_errmsg.h"
#include "common/vsa_log.h"
#include "common/vsa_mac.h"
#include "common/vsa_shm.h"
#include "common/vsa_time.h"

VSA_LOG_MODULE(test_common);

/* ------------------------------------------------------------------ */
/* vsa_mac                                                              */
/* ------------------------------------------------------------------ */

struct mac_good {
    const char *in;
    uint8_t b[6];
    const char *formatted;
};

static const struct mac_good mac_goods[] = {
    { "00:11:22:33:44:55", { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 },
      "00:11:22:33:44:55" },
    { "aa-bb-cc-dd-ee-ff", { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
      "aa:bb:cc:dd:ee:ff" },
    { "AA:BB:CC:DD:EE:FF", { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
      "aa:bb:cc:dd:ee:ff" },
    { "Fe:dC:bA:98:76:54", { 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54 },
      "fe:dc:ba:98:76:54" },
    { "00:00:00:00:00:00", { 0, 0, 0, 0, 0, 0 }, "00:00:00:00:00:00" },
    { "ff:ff:ff:ff:ff:ff", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
      "ff:ff:ff:ff:ff:ff" },
    { "01:00:5e:00:00:fb", { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
      "01:00:5e:00:00:fb" },
    { "09:af:AF:90:0a:A0", { 0x09, 0xaf, 0xaf, 0x90, 0x0a, 0xa0 },
      "09:af:af:90:0a:a0" },
};

static const char *const mac_bads[] = {
    "",
    "0",
    "00",
    "00:",
    "00:11:22:33:44",            /* 5 octets */
    "00:11:22:33:44:",
    "00:11:22:33:44:5",          /* short last octet */
    "00:11:22:33:44:555",        /* long last octet */
    "00:11:22:33:44:55:",        /* trailing separator */
    "00:11:22:33:44:55:66",      /* 7 octets */
    "00:11:22:33:44:55 ",        /* trailing space */
    "00:11:22:33:44:55\n",
    " 00:11:22:33:44:55",        /* leading space */
    "0:11:22:33:44:55",          /* one-digit octet */
    "000:11:22:33:44:55",
    "001122334455",              /* no separators */
    "0011.2233.4455",            /* Cisco dotted form */
    "00.11.22.33.44.55",
    "00_11_22_33_44_55",
    "00 11 22 33 44 55",
    "00::11:22:33:44:55",
    "00:11:22:33:44:5g",         /* bad hex */
    "g0:11:22:33:44:55",
    "0g:11:22:33:44:55",
    "00:11:22:33:44:-5",
    "00:11:22:33:44:+5",
    "0x:11:22:33:44:55",
    "00:11:22:33:44:55x",
    ":00:11:22:33:44:55",
    "zz:zz:zz:zz:zz:zz",
};

static void test_mac_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mac_goods) / sizeof(mac_goods[0]); i++) {
        const struct mac_good *g = &mac_goods[i];
        struct vsa_mac m;
        char buf[VSA_MAC_STRLEN];

        memset(&m, 0x77, sizeof(m));
        if (vsa_mac_parse(g->in, &m) != 0)
            fail_msg("'%s' rejected", g->in);
        assert_memory_equal(m.b, g->b, 6);
        assert_ptr_equal(vsa_mac_format(&m, buf), buf);
        assert_string_equal(buf, g->formatted);
        assert_int_equal(strlen(buf), VSA_MAC_STRLEN - 1);
    }
}

static void test_mac_parse_bad(void **state)
{
    static const struct vsa_mac sentinel = { { 1, 2, 3, 4, 5, 6 } };

    (void)state;
    for (size_t i = 0; i < sizeof(mac_bads) / sizeof(mac_bads[0]); i++) {
        /* exact-size heap copy: ASan catches a read past the NUL */
        size_t n = strlen(mac_bads[i]) + 1;
        char *s = malloc(n);
        struct vsa_mac m = sentinel;
        int rc;

        assert_non_null(s);
        memcpy(s, mac_bads[i], n);
        rc = vsa_mac_parse(s, &m);
        if (rc != -EINVAL)
            fail_msg("'%s': rc %d, want -EINVAL", mac_bads[i], rc);
        assert_memory_equal(&m, &sentinel, sizeof(m));
        free(s);
    }
    assert_int_equal(vsa_mac_parse(NULL, &(struct vsa_mac){ { 0 } }),
                     -EINVAL);
}

/* Every prefix of a good address is rejected (and read in bounds). */
static void test_mac_parse_prefixes(void **state)
{
    static const char full[] = "0a:1B:2c:3D:4e:5F";

    (void)state;
    for (size_t n = 0; n < sizeof(full) - 1; n++) {
        char *s = malloc(n + 1);
        struct vsa_mac m;

        assert_non_null(s);
        memcpy(s, full, n);
        s[n] = '\0';
        if (vsa_mac_parse(s, &m) != -EINVAL)
            fail_msg("prefix '%s' accepted", s);
        free(s);
    }
}

/*
 * Every byte value as the separator: only ':' and '-' are accepted, and
 * only when all five separators are the same one; any one separator
 * changed to another byte is refused, so is a mixed form such as
 * "00:11-22:33-44:55".
 */
static void test_mac_separators(void **state)
{
    struct vsa_mac m;

    (void)state;
    for (int c = 1; c < 256; c++) {
        char s[] = "00:11:22:33:44:55";
        bool good = c == ':' || c == '-';
        int rc;

        for (int pos = 2; pos < 17; pos += 3)
            s[pos] = (char)c;
        rc = vsa_mac_parse(s, &m);
        if (good != (rc == 0))
            fail_msg("separator 0x%02x throughout: rc %d", c, rc);
        for (int pos = 2; pos < 17; pos += 3) {
            char t[sizeof(s)];

            memcpy(t, s, sizeof(s));
            t[pos] = c == ':' ? '-' : ':';
            rc = vsa_mac_parse(t, &m);
            if (rc != -EINVAL)
                fail_msg("'%s' (one separator differs): rc %d", t, rc);
        }
    }
    assert_int_equal(vsa_mac_parse("00:11-22:33-44:55", &m), -EINVAL);
    assert_int_equal(vsa_mac_parse("00-11-22-33-44-55", &m), 0);
}

/* Every byte value in a digit position: exactly the 22 hex digits parse. */
static void test_mac_hex_digits(void **state)
{
    char s[] = "00:11:22:33:44:55";
    struct vsa_mac m;
    int accepted = 0;

    (void)state;
    for (int c = 1; c < 256; c++) {
        s[16] = (char)c;
        if (vsa_mac_parse(s, &m) == 0) {
            accepted++;
            assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                        (c >= 'A' && c <= 'F'));
            assert_int_equal(m.b[5] & 0x0f,
                             c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
    }
    assert_int_equal(accepted, 22);
}

static uint64_t rng_state = 0x5851f42d4c957f2dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_mac_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rng() & 0xffffffffffffull;
        struct vsa_mac m = vsa_mac_from_u64(v), back;
        char buf[VSA_MAC_STRLEN];

        if (i == 0)
            v = 0, m = vsa_mac_from_u64(0);
        if (i == 1)
            v = 0xffffffffffffull, m = vsa_mac_from_u64(v);
        assert_true(vsa_mac_to_u64(&m) == v);
        vsa_mac_format(&m, buf);
        assert_int_equal(strlen(buf), 17);
        assert_int_equal(vsa_mac_parse(buf, &back), 0);
        assert_memory_equal(&back, &m, sizeof(m));
        assert_int_equal(vsa_mac_is_multicast(&m), (v >> 40) & 1);
        assert_int_equal(vsa_mac_is_zero(&m), v == 0);
    }
    /* from_u64 ignores bits above 48 */
    {
        struct vsa_mac m = vsa_mac_from_u64(0xabcd001122334455ull);
        assert_true(vsa_mac_to_u64(&m) == 0x001122334455ull);
    }
    {
        struct vsa_mac m = { { 0x01, 0, 0, 0, 0, 0 } };
        assert_true(vsa_mac_is_multicast(&m));
        m.b[0] = 0x02;
        assert_false(vsa_mac_is_multicast(&m));
        assert_false(vsa_mac_is_zero(&m));
    }
}

/* ------------------------------------------------------------------ */
/* vsa_errmsg                                                           */
/* ------------------------------------------------------------------ */

static void test_errmsg_set(void **state)
{
    struct vsa_errmsg em;

    (void)state;
    memset(&em, 'x', sizeof(em));
    assert_int_equal(vsa_errmsg_set(&em, -EINVAL, "port '%s': VLAN %u", "p1",
                                    4095u), -EINVAL);
    assert_string_equal(em.msg, "port 'p1': VLAN 4095");
    assert_int_equal(vsa_errmsg_set(&em, 0, "ok"), 0);
    assert_string_equal(em.msg, "ok");
    assert_int_equal(vsa_errmsg_set(&em, -ENOSPC, "%s", ""), -ENOSPC);
    assert_string_equal(em.msg, "");
    /* NULL is accepted and the error still comes back */
    assert_int_equal(vsa_errmsg_set(NULL, -ENOMEM, "lost %d", 1), -ENOMEM);
    vsa_errmsg_prefix(NULL, "x");
    vsa_errmsg_clear(NULL);

    vsa_errmsg_set(&em, -EINVAL, "abc");
    vsa_errmsg_clear(&em);
    assert_string_equal(em.msg, "");
}

static void test_errmsg_truncation(void **state)
{
    char big[2 * VSA_ERRMSG_SIZE];
    struct vsa_errmsg em;

    (void)state;
    for (size_t len = VSA_ERRMSG_SIZE - 3; len <= VSA_ERRMSG_SIZE + 2;
         len++) {
        memset(big, 'a', len);
        big[len] = '\0';
        memset(&em, 'x', sizeof(em));
        assert_int_equal(vsa_errmsg_set(&em, -E2BIG, "%s", big), -E2BIG);
        assert_int_equal(strnlen(em.msg, sizeof(em.msg)),
                         len < VSA_ERRMSG_SIZE ? len : VSA_ERRMSG_SIZE - 1);
        assert_memory_equal(em.msg, big,
                            len < VSA_ERRMSG_SIZE ? len : VSA_ERRMSG_SIZE - 1);
    }
}

static void test_errmsg_append(void **state)
{
    char big[2 * VSA_ERRMSG_SIZE];
    struct vsa_errmsg em;

    (void)state;
    vsa_errmsg_append(NULL, "x");
    vsa_errmsg_set(&em, -EIO, "cannot add 10.0.0.1/24");
    vsa_errmsg_append(&em, "; %s", "undoing failed");
    assert_string_equal(em.msg, "cannot add 10.0.0.1/24; undoing failed");
    vsa_errmsg_clear(&em);
    vsa_errmsg_append(&em, "alone");
    assert_string_equal(em.msg, "alone");

    /* cut at the size; a full message stays as it is */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vsa_errmsg_set(&em, -EIO, "head");
    vsa_errmsg_append(&em, "%s", big);
    assert_int_equal(strnlen(em.msg, sizeof(em.msg)), VSA_ERRMSG_SIZE - 1);
    assert_memory_equal(em.msg, "headaaa", 7);
    vsa_errmsg_append(&em, "more");
    assert_int_equal(strnlen(em.msg, sizeof(em.msg)), VSA_ERRMSG_SIZE - 1);
    assert_int_equal(em.msg[VSA_ERRMSG_SIZE - 2], 'a');
}

static void test_errmsg_prefix(void **state)
{
    char big[2 * VSA_ERRMSG_SIZE];
    struct vsa_errmsg em;

    (void)state;
    vsa_errmsg_set(&em, -EINVAL, "VLAN 4095 is reserved");
    vsa_errmsg_prefix(&em, "port '%s'", "p1");
    assert_string_equal(em.msg, "port 'p1': VLAN 4095 is reserved");
    vsa_errmsg_prefix(&em, "config");
    assert_string_equal(em.msg, "config: port 'p1': VLAN 4095 is reserved");

    /* empty message */
    vsa_errmsg_clear(&em);
    vsa_errmsg_prefix(&em, "p");
    assert_string_equal(em.msg, "p: ");

    /* an almost full message: the tail is cut, the prefix kept */
    memset(big, 'm', VSA_ERRMSG_SIZE - 1);
    big[VSA_ERRMSG_SIZE - 1] = '\0';
    vsa_errmsg_set(&em, -EINVAL, "%s", big);
    assert_int_equal(strlen(em.msg), VSA_ERRMSG_SIZE - 1);
    vsa_errmsg_prefix(&em, "pfx");
    assert_int_equal(strnlen(em.msg, sizeof(em.msg)), VSA_ERRMSG_SIZE - 1);
    assert_memory_equal(em.msg, "pfx: mmm", 8);
    assert_true(em.msg[VSA_ERRMSG_SIZE - 2] == 'm');

    /* a prefix longer than the whole buffer */
    memset(big, 'P', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vsa_errmsg_set(&em, -EINVAL, "tail");
    vsa_errmsg_prefix(&em, "%s", big);
    assert_int_equal(strnlen(em.msg, sizeof(em.msg)), VSA_ERRMSG_SIZE - 1);
    for (size_t i = 0; i < VSA_ERRMSG_SIZE - 1; i++)
        assert_int_equal(em.msg[i], 'P');

    /* prefix exactly filling the buffer minus ": " */
    memset(big, 'Q', VSA_ERRMSG_SIZE - 3);
    big[VSA_ERRMSG_SIZE - 3] = '\0';
    vsa_errmsg_set(&em, -EINVAL, "x");
    vsa_errmsg_prefix(&em, "%s", big);
    assert_int_equal(strlen(em.msg), VSA_ERRMSG_SIZE - 1);
    assert_memory_equal(em.msg + VSA_ERRMSG_SIZE - 3, ": ", 2);
}

/* ------------------------------------------------------------------ */
/* vsa_time                                                             */
/* ------------------------------------------------------------------ */

static uint64_t fixed_source(void)
{
    return 424242;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_time_sources(void **state)
{
    uint64_t a, b, m0;

    (void)state;
    vsa_time_set_source(NULL);
    m0 = mono_ms();
    a = vsa_time_now_ms();
    b = vsa_time_now_ms();
    assert_true(a >= m0 && b >= a && b <= mono_ms());

    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(1234);
    assert_true(vsa_time_now_ms() == 1234);
    assert_true(vsa_time_now_ms() == 1234);   /* frozen */
    vsa_time_manual_advance(10);
    assert_true(vsa_time_now_ms() == 1244);
    vsa_time_manual_advance(0);
    assert_true(vsa_time_now_ms() == 1244);
    vsa_time_manual_set(0);
    assert_true(vsa_time_now_ms() == 0);
    vsa_time_manual_set(UINT64_MAX - 5);
    vsa_time_manual_advance(5);
    assert_true(vsa_time_now_ms() == UINT64_MAX);
    assert_true(vsa_time_manual() == UINT64_MAX);

    vsa_time_set_source(fixed_source);
    assert_true(vsa_time_now_ms() == 424242);

    /* NULL restores the monotonic clock */
    vsa_time_set_source(NULL);
    m0 = mono_ms();
    a = vsa_time_now_ms();
    assert_true(a >= m0 && a <= mono_ms());
}

/* ------------------------------------------------------------------ */
/* vsa_log: hook, levels, rate limiting                                 */
/* ------------------------------------------------------------------ */

#define CAP_MAX 32

struct captured {
    enum vsa_log_level level;
    char module[64];
    char msg[1100];
};

static struct captured cap[CAP_MAX];
static int n_cap;

static void capture_hook(enum vsa_log_level level, const char *module,
                         const char *msg)
{
    if (n_cap < CAP_MAX) {
        cap[n_cap].level = level;
        snprintf(cap[n_cap].module, sizeof(cap[n_cap].module), "%s", module);
        snprintf(cap[n_cap].msg, sizeof(cap[n_cap].msg), "%s", msg);
    }
    n_cap++;
}

static int log_setup(void **state)
{
    (void)state;
    n_cap = 0;
    vsa_log_set_hook(capture_hook);
    vsa_log_set_level(VSA_LOG_INFO);
    return 0;
}

static int log_teardown(void **state)
{
    (void)state;
    vsa_log_set_hook(NULL);
    vsa_log_set_level(VSA_LOG_INFO);
    vsa_time_set_source(NULL);
    return 0;
}

static void test_log_hook_and_levels(void **state)
{
    char big[3000];

    (void)state;
    assert_int_equal(vsa_log_get_level(), VSA_LOG_INFO);
    VSA_LOG(INFO, "switch %s created", "sw0");
    VSA_LOG(WARN, "w %d", 1);
    VSA_LOG(ERR, "e");
    VSA_LOG(DEBUG, "filtered");
    assert_int_equal(n_cap, 3);
    assert_int_equal(cap[0].level, VSA_LOG_INFO);
    assert_string_equal(cap[0].module, "test_common");
    assert_string_equal(cap[0].msg, "switch sw0 created");
    assert_int_equal(cap[1].level, VSA_LOG_WARN);
    assert_string_equal(cap[1].msg, "w 1");
    assert_int_equal(cap[2].level, VSA_LOG_ERR);

    vsa_log_set_level(VSA_LOG_DEBUG);
    assert_int_equal(vsa_log_get_level(), VSA_LOG_DEBUG);
    VSA_LOG(DEBUG, "now %s", "shown");
    assert_int_equal(n_cap, 4);
    assert_int_equal(cap[3].level, VSA_LOG_DEBUG);
    assert_string_equal(cap[3].msg, "now shown");

    vsa_log_set_level(VSA_LOG_ERR);
    VSA_LOG(WARN, "hidden");
    VSA_LOG(INFO, "hidden");
    VSA_LOG(ERR, "shown");
    assert_int_equal(n_cap, 5);
    assert_string_equal(cap[4].msg, "shown");

    /* long messages are cut at the 1 KiB line buffer */
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    VSA_LOG(ERR, "%s", big);
    assert_int_equal(n_cap, 6);
    assert_int_equal(strlen(cap[5].msg), 1023);

    /* direct emit with a module name */
    vsa_log_emit(VSA_LOG_WARN, "other", "x=%d", 7);
    assert_int_equal(n_cap, 7);
    assert_string_equal(cap[6].module, "other");
    assert_string_equal(cap[6].msg, "x=7");

    /* removing the hook stops capture */
    vsa_log_set_hook(NULL);
    n_cap = 0;
    vsa_log_set_level(VSA_LOG_ERR);
    VSA_LOG(DEBUG, "not emitted at all");
    assert_int_equal(n_cap, 0);
}

/* Without a hook, one line per message goes to stderr:
 * "<ISO time>Z <LEVEL> <module>: <msg>\n". */
static void test_log_stderr_format(void **state)
{
    char path[] = "/tmp/vsa_test_log_XXXXXX";
    char out[4096];
    int fd, saved;
    ssize_t n;

    (void)state;
    vsa_log_set_hook(NULL);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    VSA_LOG(WARN, "ring %u: bad index %u", 3u, 77u);
    vsa_log_emit(VSA_LOG_DEBUG, "m2", "dbg");
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    n = pread(fd, out, sizeof(out) - 1, 0);
    close(fd);
    assert_true(n > 0);
    out[n] = '\0';
    /* 2024-01-02T03:04:05.678Z WARN  test_common: ring 3: bad index 77 */
    assert_true(strlen(out) > 25);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    assert_non_null(strstr(out, "Z WARN  test_common: ring 3: bad index 77\n"));
    assert_non_null(strstr(out, "Z DEBUG m2: dbg\n"));
}

static void test_ratelimit_burst_and_window(void **state)
{
    struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(3, 10);
    int allowed = 0;

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(50000);
    for (int i = 0; i < 3; i++)
        assert_true(vsa_ratelimit_allow(&rl));
    for (int i = 0; i < 5; i++)
        assert_false(vsa_ratelimit_allow(&rl));
    assert_true(atomic_load(&rl.suppressed) == 5);
    assert_int_equal(n_cap, 0);

    /* still inside the window one millisecond before its end */
    vsa_time_manual_advance(9999);
    assert_false(vsa_ratelimit_allow(&rl));
    assert_true(atomic_load(&rl.suppressed) == 6);

    /* exactly one period later: a new window, and a report of 6 lost */
    vsa_time_manual_advance(1);
    assert_true(vsa_ratelimit_allow(&rl));
    assert_int_equal(n_cap, 1);
    assert_int_equal(cap[0].level, VSA_LOG_WARN);
    assert_string_equal(cap[0].module, "ratelimit");
    assert_string_equal(cap[0].msg, "6 similar messages suppressed");
    assert_true(atomic_load(&rl.suppressed) == 0);
    assert_true(vsa_ratelimit_allow(&rl));
    assert_true(vsa_ratelimit_allow(&rl));
    assert_false(vsa_ratelimit_allow(&rl));

    /* a quiet window followed by a new one reports nothing more than the
     * single suppression */
    vsa_time_manual_advance(10000);
    n_cap = 0;
    for (int i = 0; i < 10; i++)
        allowed += vsa_ratelimit_allow(&rl);
    assert_int_equal(allowed, 3);
    assert_int_equal(n_cap, 1);
    assert_string_equal(cap[0].msg, "1 similar messages suppressed");
    /* a window with nothing suppressed reports nothing */
    vsa_time_manual_advance(10000);
    n_cap = 0;
    (void)vsa_ratelimit_allow(&rl);
    assert_int_equal(n_cap, 1);    /* the 7 lost in the previous window */
    vsa_time_manual_advance(10000);
    n_cap = 0;
    assert_true(vsa_ratelimit_allow(&rl));
    assert_int_equal(n_cap, 0);
}

/* VSA_LOG_RL: limited messages through the hook; a long idle gap. */
static void test_log_rl_macro(void **state)
{
    static struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(2, 1);

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(777);
    for (int i = 0; i < 20; i++)
        VSA_LOG_RL(&rl, WARN, "bad ring index %d", i);
    assert_int_equal(n_cap, 2);
    assert_string_equal(cap[0].msg, "bad ring index 0");
    assert_string_equal(cap[1].msg, "bad ring index 1");

    /* filtered by level: the limiter is not even consulted */
    vsa_log_set_level(VSA_LOG_ERR);
    VSA_LOG_RL(&rl, WARN, "never");
    assert_true(atomic_load(&rl.suppressed) == 18);
    vsa_log_set_level(VSA_LOG_INFO);

    vsa_time_manual_advance(3600u * 1000u);
    VSA_LOG_RL(&rl, WARN, "after an hour");
    assert_int_equal(n_cap, 4);
    assert_string_equal(cap[2].msg, "18 similar messages suppressed");
    assert_string_equal(cap[3].msg, "after an hour");
    /* the report is the caller's module's, so it says whose messages
     * were lost (it was "ratelimit": 42 call sites, none told apart) */
    assert_string_equal(cap[2].module, "test_common");
}

/*
 * Bug: with the clock at 0 ms (the manual source's initial value) the
 * window start was stored as 1 and `now - start` underflowed, so every
 * call opened a new window and nothing was ever suppressed.  The same
 * underflow let a thread holding an older `now` reset a window that
 * another thread had just opened.
 */
static void test_ratelimit_clock_at_zero(void **state)
{
    struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(2, 10);
    int allowed = 0;

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(0);
    for (int i = 0; i < 10; i++)
        allowed += vsa_ratelimit_allow(&rl);
    assert_int_equal(allowed, 2);
    assert_true(atomic_load(&rl.suppressed) == 8);
    assert_int_equal(n_cap, 0);

    /* a clock that reads earlier than the window start (another thread
     * opened it with a later timestamp) stays in that window */
    vsa_time_manual_set(100000);
    assert_true(vsa_ratelimit_allow(&rl));      /* new window at 100000 */
    n_cap = 0;
    vsa_time_manual_set(99999);
    assert_true(vsa_ratelimit_allow(&rl));
    assert_false(vsa_ratelimit_allow(&rl));
    assert_int_equal(n_cap, 0);
}

/* A zero burst never allows; a zero period opens a window every call. */
static void test_ratelimit_degenerate(void **state)
{
    struct vsa_ratelimit none = VSA_RATELIMIT_INIT(0, 10);
    struct vsa_ratelimit every = VSA_RATELIMIT_INIT(1, 0);

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(5000);
    for (int i = 0; i < 5; i++)
        assert_false(vsa_ratelimit_allow(&none));
    for (int i = 0; i < 5; i++)
        assert_true(vsa_ratelimit_allow(&every));
}

/* vsa_ratelimit_init / _set_label, and the label in the report. */
static void test_ratelimit_label(void **state)
{
    struct vsa_ratelimit rl = VSA_RATELIMIT_INIT_LABEL(1, 10, "all VMs");
    char longname[200];

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(1000);
    assert_string_equal(rl.label, "all VMs");
    assert_true(vsa_ratelimit_allow(&rl));
    assert_false(vsa_ratelimit_allow(&rl));
    assert_false(vsa_ratelimit_allow(&rl));
    vsa_time_manual_advance(10000);
    assert_true(vsa_ratelimit_allow(&rl));
    assert_int_equal(n_cap, 1);
    assert_string_equal(cap[0].module, "ratelimit");
    assert_string_equal(cap[0].msg, "all VMs: 2 similar messages suppressed");

    /* init empties the bucket and sets the label; NULL means none */
    assert_false(vsa_ratelimit_allow(&rl));
    vsa_ratelimit_init(&rl, 2, 5, "vm vm1");
    assert_int_equal(rl.burst, 2);
    assert_int_equal(rl.period_s, 5);
    assert_true(atomic_load(&rl.suppressed) == 0);
    assert_string_equal(rl.label, "vm vm1");
    assert_true(vsa_ratelimit_allow(&rl));
    assert_true(vsa_ratelimit_allow(&rl));
    assert_false(vsa_ratelimit_allow(&rl));
    /* set_label keeps the budget */
    vsa_ratelimit_set_label(&rl, "vm vm2");
    assert_false(vsa_ratelimit_allow(&rl));
    vsa_time_manual_advance(5000);
    n_cap = 0;
    assert_true(vsa_ratelimit_allow(&rl));
    assert_int_equal(n_cap, 1);
    assert_string_equal(cap[0].msg, "vm vm2: 2 similar messages suppressed");
    vsa_ratelimit_set_label(&rl, NULL);
    assert_string_equal(rl.label, "");
    vsa_ratelimit_init(&rl, 1, 5, NULL);
    assert_string_equal(rl.label, "");

    /* a long label is cut, NUL-terminated */
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    vsa_ratelimit_set_label(&rl, longname);
    assert_int_equal(strlen(rl.label), VSA_RATELIMIT_LABEL_SIZE - 1);
}

/* Per-VM buckets: A floods, B's first message still goes out; A over its
 * own budget takes nothing from the shared one. */
static void test_ratelimit_pair_per_vm(void **state)
{
    struct vsa_ratelimit a, b;
    struct vsa_ratelimit all = VSA_RATELIMIT_INIT_LABEL(8, 10, "all VMs");
    int allowed = 0;

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(20000);
    vsa_ratelimit_init(&a, 3, 10, "vm a");
    vsa_ratelimit_init(&b, 3, 10, "vm b");
    for (int i = 0; i < 100; i++)
        allowed += vsa_ratelimit_allow_pair(&a, &all, "mod");
    assert_int_equal(allowed, 3);
    assert_true(atomic_load(&a.suppressed) == 97);
    /* the shared bucket lent A three tokens, no more */
    assert_int_equal(atomic_load(&all.used), 3);
    assert_true(atomic_load(&all.suppressed) == 0);
    assert_true(vsa_ratelimit_allow_pair(&b, &all, "mod"));
    assert_int_equal(n_cap, 0);

    /* next window: each bucket reports its own suppressions, under the
     * module given and its own label */
    vsa_time_manual_advance(10000);
    assert_true(vsa_ratelimit_allow_pair(&a, &all, "mod"));
    assert_int_equal(n_cap, 1);
    assert_int_equal(cap[0].level, VSA_LOG_WARN);
    assert_string_equal(cap[0].module, "mod");
    assert_string_equal(cap[0].msg, "vm a: 97 similar messages suppressed");
    assert_true(vsa_ratelimit_allow_pair(&b, &all, "mod"));
    assert_int_equal(n_cap, 1); /* B lost nothing */

    /* NULL buckets: only the other one counts; no module: "ratelimit" */
    vsa_ratelimit_init(&a, 1, 10, "vm a");
    assert_true(vsa_ratelimit_allow_pair(&a, NULL, NULL));
    assert_false(vsa_ratelimit_allow_pair(&a, NULL, NULL));
    vsa_time_manual_advance(10000);
    assert_true(vsa_ratelimit_allow_pair(&a, NULL, NULL));
    assert_int_equal(n_cap, 2);
    assert_string_equal(cap[1].module, "ratelimit");
    assert_string_equal(cap[1].msg, "vm a: 1 similar messages suppressed");
    assert_true(vsa_ratelimit_allow_pair(NULL, NULL, "mod"));
    vsa_ratelimit_init(&all, 1, 10, NULL);
    assert_true(vsa_ratelimit_allow_pair(NULL, &all, "mod"));
    assert_false(vsa_ratelimit_allow_pair(NULL, &all, "mod"));
}

/* The shared bucket caps many VMs together: 100 VMs with a message each
 * get `burst` lines out; the VMs' suppression reports need it too, and
 * what they would have said is added to its own report. */
static void test_ratelimit_pair_global_cap(void **state)
{
    struct vsa_ratelimit vms[100];
    struct vsa_ratelimit all = VSA_RATELIMIT_INIT_LABEL(10, 10, "all VMs");
    int allowed = 0;

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(40000);
    for (int i = 0; i < 100; i++) {
        char label[16];

        snprintf(label, sizeof(label), "vm %d", i);
        vsa_ratelimit_init(&vms[i], 2, 10, label);
    }
    /* each VM: 3 messages, of which its own bucket allows 2 */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100; i++)
            allowed += vsa_ratelimit_allow_pair(&vms[i], &all, "mod");
    assert_int_equal(allowed, 10);
    assert_int_equal(n_cap, 0);
    /* the shared bucket suppressed 200 - 10 (2 per VM passed their own) */
    assert_true(atomic_load(&all.suppressed) == 190);

    /* next window: 100 VM reports want out, each followed by its
     * message; the shared bucket reports first, then lets 10 lines
     * through: 5 reports and 5 messages */
    vsa_time_manual_advance(10000);
    allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += vsa_ratelimit_allow_pair(&vms[i], &all, "mod");
    assert_int_equal(allowed, 5);
    assert_int_equal(n_cap, 1 + 5);
    assert_string_equal(cap[0].msg, "all VMs: 190 similar messages "
                                    "suppressed");
    assert_string_equal(cap[1].msg, "vm 0: 1 similar messages suppressed");
    assert_string_equal(cap[5].msg, "vm 4: 1 similar messages suppressed");
    /* what the other 95 VMs' reports would have said (1 each) and their
     * 95 messages are in the shared bucket's next report */
    vsa_time_manual_advance(10000);
    n_cap = 0;
    assert_true(vsa_ratelimit_allow_pair(NULL, &all, "mod"));
    assert_int_equal(n_cap, 1);
    assert_string_equal(cap[0].msg, "all VMs: 190 similar messages "
                                    "suppressed");
}

/* VSA_LOG_RL2: level first (no bucket consulted), then both buckets. */
static void test_log_rl2_macro(void **state)
{
    struct vsa_ratelimit a, b;
    static struct vsa_ratelimit all =
        VSA_RATELIMIT_INIT_LABEL(50, 10, "all VMs");

    (void)state;
    vsa_time_set_source(vsa_time_manual);
    vsa_time_manual_set(60000);
    vsa_ratelimit_init(&a, 2, 10, "vm a");
    vsa_ratelimit_init(&b, 2, 10, "vm b");
    for (int i = 0; i < 20; i++)
        VSA_LOG_RL2(&a, &all, WARN, "vm %s: bad frame %d", "a", i);
    VSA_LOG_RL2(&b, &all, WARN, "vm %s: bad frame %d", "b", 0);
    assert_int_equal(n_cap, 3);
    assert_string_equal(cap[0].module, "test_common");
    assert_string_equal(cap[0].msg, "vm a: bad frame 0");
    assert_string_equal(cap[1].msg, "vm a: bad frame 1");
    assert_string_equal(cap[2].msg, "vm b: bad frame 0");

    vsa_log_set_level(VSA_LOG_ERR);
    VSA_LOG_RL2(&a, &all, WARN, "never");
    assert_true(atomic_load(&a.suppressed) == 18);
    assert_int_equal(atomic_load(&all.used), 3);
    vsa_log_set_level(VSA_LOG_INFO);

    vsa_time_manual_advance(10000);
    VSA_LOG_RL2(&a, &all, INFO, "vm %s: back", "a");
    assert_int_equal(n_cap, 5);
    assert_string_equal(cap[3].module, "test_common");
    assert_string_equal(cap[3].msg, "vm a: 18 similar messages suppressed");
    assert_string_equal(cap[4].msg, "vm a: back");
}

/* ---- vsa_shm ----------------------------------------------------------- */

static void test_shm_copies(void **state)
{
    uint8_t src[64], dst[64], want[64];
    (void)state;

    for (size_t so = 0; so < 8; so++)
        for (size_t d_o = 0; d_o < 8; d_o++)
            for (size_t n = 0; n <= 40; n++) {
                for (size_t i = 0; i < sizeof(src); i++)
                    src[i] = (uint8_t)(i * 7 + 1);
                memset(dst, 0xEE, sizeof(dst));
                memset(want, 0xEE, sizeof(want));
                memcpy(want + d_o, src + so, n);
                vsa_shm_read(dst + d_o, src + so, n);
                assert_memory_equal(dst, want, sizeof(dst));

                memset(dst, 0xEE, sizeof(dst));
                vsa_shm_write(dst + d_o, src + so, n);
                assert_memory_equal(dst, want, sizeof(dst));
            }
}

/* A check in the forked child of test_accept_emfile: the line that
 * failed is its exit status. */
#define CHILD_CHECK(c)                                                      \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "test_accept_emfile: line %d: %s\n", __LINE__,  \
                    #c);                                                    \
            return 1;                                                       \
        }                                                                   \
    } while (0)

/* A client connected to the abstract socket `name`.  0 or -1. */
static int connect_abstract(const char *name, int *client)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                strlen(name));

    memcpy(sa.sun_path + 1, name, strlen(name));
    *client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*client < 0 || connect(*client, (struct sockaddr *)&sa, len) < 0)
        return -1;
    return 0;
}

/* A listening socket in the abstract namespace (*l), and a client
 * connected to it, queued, not accepted (*client).  0 or -1. */
static int listen_abstract(const char *name, int *l, int *client)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                strlen(name));

    memcpy(sa.sun_path + 1, name, strlen(name));
    *l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*l < 0 || bind(*l, (struct sockaddr *)&sa, len) < 0 ||
        listen(*l, 8) < 0)
        return -1;
    return connect_abstract(name, client);
}

/* The body, in a child process: it lowers RLIMIT_NOFILE and fills the
 * descriptor table, which a failed check must not leave to the tests
 * after it. */
static int accept_emfile_child(void)
{
    char name[64];
    int l, cl, cl2, fd, filler[64], nfill = 0;
    struct rlimit lim;
    bool shed;
    char b;

    snprintf(name, sizeof(name), "vsa-accept-test-%d", (int)getpid());
    CHILD_CHECK(listen_abstract(name, &l, &cl) == 0);
    CHILD_CHECK(vsa_accept_reserve() == 0);
    /* a limit just above what is open now, then filled up */
    CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    fd = dup(l);
    CHILD_CHECK(fd >= 0);
    lim.rlim_cur = (rlim_t)fd + 8;
    close(fd);
    CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    while (nfill < 64 && (fd = dup(l)) >= 0)
        filler[nfill++] = fd;
    CHILD_CHECK(errno == EMFILE && nfill < 64);
    /* accept4 alone fails and leaves the connection queued */
    CHILD_CHECK(accept4(l, NULL, NULL, SOCK_NONBLOCK) < 0 && errno == EMFILE);
    fd = vsa_accept(l, SOCK_NONBLOCK | SOCK_CLOEXEC, &shed);
    CHILD_CHECK(fd >= 0 && shed);
    vsa_accept_shed_done(fd);
    CHILD_CHECK(recv(cl, &b, 1, 0) == 0); /* the peer sees the close */
    /* nothing left waiting: a level-triggered loop would sleep now (at
     * EMFILE accept4 fails so whether or not a connection waits) */
    CHILD_CHECK(vsa_accept(l, SOCK_NONBLOCK, &shed) == -EAGAIN && !shed);
    /* the reserve was taken again: a second one is shed the same way */
    close(cl); /* room for the next client's socket, and no more */
    CHILD_CHECK(connect_abstract(name, &cl2) == 0);
    fd = vsa_accept(l, SOCK_NONBLOCK, &shed);
    CHILD_CHECK(fd >= 0 && shed);
    vsa_accept_shed_done(fd);
    CHILD_CHECK(recv(cl2, &b, 1, 0) == 0);
    /* with descriptors to spare it is accept4 */
    while (nfill)
        close(filler[--nfill]);
    CHILD_CHECK(connect_abstract(name, &cl) == 0);
    fd = vsa_accept(l, SOCK_NONBLOCK, &shed);
    CHILD_CHECK(fd >= 0 && !shed);
    /* and the soft limit goes up to the hard one */
    CHILD_CHECK(vsa_raise_nofile_limit() >= (long)lim.rlim_cur);
    return 0;
}

static void test_accept_emfile(void **state)
{
    pid_t pid;
    int status;
    (void)state;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(accept_emfile_child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_parse_good),
        cmocka_unit_test(test_mac_parse_bad),
        cmocka_unit_test(test_mac_parse_prefixes),
        cmocka_unit_test(test_mac_separators),
        cmocka_unit_test(test_mac_hex_digits),
        cmocka_unit_test(test_mac_round_trip),
        cmocka_unit_test(test_errmsg_set),
        cmocka_unit_test(test_errmsg_truncation),
        cmocka_unit_test(test_errmsg_prefix),
        cmocka_unit_test(test_errmsg_append),
        cmocka_unit_test(test_time_sources),
        cmocka_unit_test(test_shm_copies),
        cmocka_unit_test(test_accept_emfile),
        cmocka_unit_test_setup_teardown(test_log_hook_and_levels, log_setup,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_log_stderr_format, log_setup,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_burst_and_window,
                                        log_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_log_rl_macro, log_setup,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_clock_at_zero,
                                        log_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_degenerate, log_setup,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_label, log_setup,
                                        log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_pair_per_vm,
                                        log_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_pair_global_cap,
                                        log_setup, log_teardown),
        cmocka_unit_test_setup_teardown(test_log_rl2_macro, log_setup,
                                        log_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
