/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tools_test.h — helpers shared by the tools/ctl unit tests.
 *
 * Documents in the tests are written with single quotes ('name') so that
 * they read like JSON; jq() swaps them for double quotes and parses.
 */
#ifndef TOOLS_TEST_H
#define TOOLS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

/* Parses a single-quoted JSON text; fails the test if it does not parse. */
static inline json_t *jq(const char *text)
{
    size_t len = strlen(text);
    char *s = malloc(len + 1);
    json_error_t err;
    json_t *j;

    assert_non_null(s);
    for (size_t i = 0; i <= len; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j)
        fail_msg("test document does not parse: %s: %s", err.text, s);
    free(s);
    return j;
}

/* Canonical text of a document (sorted keys), for byte comparisons; free
 * with free(). */
static inline char *jdump(const json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

    assert_non_null(s);
    return s;
}

#define assert_substr(hay, needle)                                          \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (!strstr(h_, n_))                                                \
            fail_msg("\"%s\" does not contain \"%s\"", h_, n_);            \
    } while (0)

/* A document with every kind of object: an internal switch with its host
 * vNIC, an external switch with management OS and a trunk uplink, a private
 * switch with two dpdk ports, and two static FDB entries. */
#define TT_RICH_DOC                                                          \
    "{'version':1,"                                                          \
    " 'switches':["                                                          \
    "  {'name':'default','type':'internal','fdb_max':8192,'aging_s':300},"   \
    "  {'name':'ext','type':'external','management_os':true,"                \
    "   'fdb_max':4096,'aging_s':60},"                                       \
    "  {'name':'priv','type':'private','fdb_max':1024}],"                    \
    " 'ports':["                                                             \
    "  {'name':'vesper0','switch':'default','class':'internal',"             \
    "   'ifname':'vesper0','addresses':['192.168.100.1/24','fd00::1/64'],"   \
    "   'mtu':1500,'vlan':{'mode':'access','vid':1},'learn_limit':0},"       \
    "  {'name':'ext.uplink','switch':'ext','class':'uplink',"                \
    "   'ifname':'eth0','vlan':{'mode':'trunk','allowed':'1-100,200',"       \
    "   'native':1,'native_tagged':false}},"                                 \
    "  {'name':'ext-host','switch':'ext','class':'internal',"                \
    "   'ifname':'ext-host','mtu':1400},"                                    \
    "  {'name':'p1','switch':'priv','class':'dpdk','devargs':'net_ring0'},"  \
    "  {'name':'p2','switch':'priv','class':'dpdk',"                         \
    "   'devargs':'net_af_packet0,iface=veth1',"                             \
    "   'vlan':{'mode':'access','vid':20},'learn_limit':100}],"              \
    " 'fdb_static':["                                                        \
    "  {'switch':'priv','vlan':20,'mac':'02:00:00:00:00:01','port':'p2'},"   \
    "  {'switch':'ext','vlan':200,'mac':'02:00:00:00:00:02',"                \
    "   'port':'ext.uplink'}]}"

/* TT_RICH_DOC plus VMs: vm1 with NIC eth0 on priv (explicit MAC, access
 * VLAN 20, learn limit) and NIC eth1 on ext (derived MAC, trunk), vm2
 * without NICs, and a static FDB entry on port vm1.eth0. */
#define TT_VM_DOC                                                            \
    "{'version':1,"                                                          \
    " 'switches':["                                                          \
    "  {'name':'default','type':'internal','fdb_max':8192,'aging_s':300},"   \
    "  {'name':'ext','type':'external','management_os':true,"                \
    "   'fdb_max':4096,'aging_s':60},"                                       \
    "  {'name':'priv','type':'private','fdb_max':1024}],"                    \
    " 'ports':["                                                             \
    "  {'name':'vesper0','switch':'default','class':'internal',"             \
    "   'ifname':'vesper0','addresses':['192.168.100.1/24'],"                \
    "   'mtu':1500,'vlan':{'mode':'access','vid':1},'learn_limit':0},"       \
    "  {'name':'ext.uplink','switch':'ext','class':'uplink',"                \
    "   'ifname':'eth0','vlan':{'mode':'trunk','allowed':'1-100,200',"       \
    "   'native':1,'native_tagged':false}},"                                 \
    "  {'name':'ext-host','switch':'ext','class':'internal',"                \
    "   'ifname':'ext-host','mtu':1400},"                                    \
    "  {'name':'p1','switch':'priv','class':'dpdk','devargs':'net_ring0'}],"  \
    " 'vms':["                                                               \
    "  {'name':'vm1','nics':["                                               \
    "   {'name':'eth0','type':'synthetic','switch':'priv',"                  \
    "    'mac':'02:00:00:00:aa:01','vlan':{'mode':'access','vid':20},"       \
    "    'learn_limit':16},"                                                 \
    "   {'name':'eth1','type':'synthetic','switch':'ext',"                   \
    "    'vlan':{'mode':'trunk','allowed':'10-20','native':0,"               \
    "    'native_tagged':false},'connected':false}]},"                       \
    "  {'name':'vm2','nics':[]}],"                                           \
    " 'fdb_static':["                                                        \
    "  {'switch':'priv','vlan':20,'mac':'02:00:00:00:00:01',"                \
    "   'port':'vm1.eth0'}]}"

#endif /* TOOLS_TEST_H */
