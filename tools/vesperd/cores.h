/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cores.h — vesperd's --cores argument: which CPUs run the control thread
 * (the first) and the datapath lcores (the others).
 *
 * The list is checked before DPDK sees it, so that a mistake gets one line
 * that names it instead of the EAL's usage text: "0,1" or ranges "0,2-3";
 * every CPU must exist and be one this process may run on
 * (sched_getaffinity), none may be named twice, and there must be a
 * control core and 1..VD_CORES_MAX_DP datapath cores.  The result keeps
 * the operator's order (the first is the control core) and gives the
 * list again in the form the EAL's -l takes.
 *
 * Plain C, no DPDK: tests/unit/tools/test_vd_cores.c.
 */
#ifndef VD_CORES_H
#define VD_CORES_H

#include <sched.h>
#include <stddef.h>

#define VD_CORES_MAX_DP 16u

struct vd_cores {
    unsigned n;                         /* control + datapath */
    unsigned cpu[VD_CORES_MAX_DP + 1];  /* cpu[0]: the control core */
    char eal_list[8 * (VD_CORES_MAX_DP + 1)]; /* "0,1,3" for -l */
};

/* Parses `list` against the CPUs in `allowed`.  0, or -EINVAL with a
 * message naming the fault in err (e.g. "--cores 0,7: CPU 7 is not
 * available (vesperd may use CPUs 0-1)"). */
int vd_cores_parse(const char *list, const cpu_set_t *allowed,
                   struct vd_cores *out, char *err, size_t errlen);

#endif /* VD_CORES_H */
