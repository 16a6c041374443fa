/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_hv_chan_msg.c — libFuzzer target for the VMBus control path: a
 * sequence of guest operations fed to hv_vmbus_host with a fake guest
 * memory (64 pages at GPA 0), every host reply pushed through an
 * hv_vmbus_guest client (so both decoders and state machines run).
 *
 * Input: records {op u8, len u8, payload[len]} until the input ends.
 *   op % 8 = 0..3  deliver payload as one channel message to the host
 *            4     write payload[4..] into guest memory at page payload[0]
 *                  % 64, offset payload[1..2] (ring indices, packets)
 *            5     service every open channel: drain its guest→host ring,
 *                  answer with a completion, apply the signal rules, then
 *                  hv_vmbus_host_check_rings()
 *            6     payload[0] odd: rescind relid payload[1] % 4; even: add
 *                  a netvsc offer
 *            7     transport reset (disconnect + connect)
 * Seeds (tests/fuzz/corpus/fuzz_hv_chan_msg/) contain whole handshakes so
 * the fuzzer starts past version negotiation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "hv/hv_vmbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PAGES 64u

static uint8_t *gmem;
static struct hv_vmbus_guest *guest;
static uint64_t sink;

static int host_send(void *ctx, const void *msg, size_t len)
{
    (void)ctx;
    /* host → guest: must always be a valid message */
    struct hv_chan_msg m;
    if (hv_chan_msg_decode(msg, len, &m) != 0)
        abort();
    sink += (uint64_t)hv_vmbus_guest_handle_msg(guest, msg, len);
    return 0;
}

static int guest_send(void *ctx, const void *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    sink += len;
    return 0;
}

static int up_open(void *ctx, struct hv_chan *ch)
{
    (void)ctx;
    return hv_chan_relid(ch) == 3 ? -1 : 0; /* upper layer may refuse */
}

static void service(struct hv_vmbus_host *h)
{
    uint8_t buf[8192];
    struct hv_ring_pkt p;

    for (unsigned i = 0;; i++) {
        struct hv_chan *ch = hv_vmbus_host_chan_at(h, i);
        if (!ch)
            break;
        if (hv_chan_state(ch) != HV_CHAN_OPEN)
            continue;
        for (int k = 0; k < 32; k++) {
            if (hv_ring_read_pkt(hv_chan_in_ring(ch), buf, sizeof(buf), &p))
                break;
            for (uint32_t j = 0; j < p.data_size; j++)
                sink += p.data[j];
            if (p.flags & HV_PKT_FLAG_COMPLETION_REQUESTED)
                hv_ring_write_comp(hv_chan_out_ring(ch), p.trans_id, NULL, 0,
                                   NULL);
        }
        sink += hv_ring_read_end(hv_chan_in_ring(ch));
    }
    sink += hv_vmbus_host_check_rings(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hv_vmbus_host_ops hops = { .send = host_send,
                                                   .chan_open = up_open };
    static const struct hv_vmbus_guest_ops gops = { .send = guest_send };
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct hv_vmbus_host *h;
    struct hv_mem *mem;
    size_t pos = 0;

    if (!gmem) {
        vsa_log_set_level(VSA_LOG_ERR);
        gmem = aligned_alloc(4096, FUZZ_PAGES * 4096);
    }
    memset(gmem, 0, FUZZ_PAGES * 4096);
    if (hv_mem_create(&mem))
        return 0;
    hv_mem_add_buffer(mem, gmem, 0, FUZZ_PAGES * 4096);
    if (hv_vmbus_host_create(&hops, NULL, &h)) {
        hv_mem_put(mem);
        return 0;
    }
    hv_vmbus_guest_create(&gops, NULL, NULL, 0, &guest);
    hv_vmbus_guest_connect(guest); /* so replies have a consumer state */
    cfg.if_instance.b[0] = 1;
    hv_vmbus_host_add_offer(h, &cfg, NULL);
    cfg.if_instance.b[0] = 2;
    hv_vmbus_host_add_offer(h, &cfg, NULL);
    hv_vmbus_host_connect(h, mem);

    while (pos + 2 <= size) {
        uint8_t op = data[pos], len = data[pos + 1];
        const uint8_t *pl = data + pos + 2;

        if (pos + 2 + len > size)
            len = (uint8_t)(size - pos - 2);
        pos += 2u + len;
        switch (op % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
            sink += (uint64_t)hv_vmbus_host_handle_msg(h, pl, len);
            break;
        case 4:
            if (len > 3) {
                size_t off = (size_t)(pl[0] % FUZZ_PAGES) * 4096 +
                             (size_t)((pl[1] | (pl[2] << 8)) % 4096);
                size_t n = len - 3u;
                if (off + n > FUZZ_PAGES * 4096)
                    n = FUZZ_PAGES * 4096 - off;
                memcpy(gmem + off, pl + 3, n);
            }
            break;
        case 5:
            service(h);
            break;
        case 6:
            if (len > 1 && (pl[0] & 1))
                hv_vmbus_host_rescind(h, pl[1] % 4u);
            else
                hv_vmbus_host_add_offer(h, &cfg, NULL);
            break;
        default:
            hv_vmbus_host_disconnect(h);
            hv_vmbus_host_connect(h, mem);
            break;
        }
    }
    service(h);
    hv_vmbus_host_destroy(h);
    hv_vmbus_guest_destroy(guest);
    guest = NULL;
    hv_mem_put(mem);
    return 0;
}
