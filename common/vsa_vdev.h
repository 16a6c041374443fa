/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_vdev.h — the DPDK virtual device names vesperd makes for its own
 * devices: the TAP of an internal port and the af_packet device of an
 * uplink given by kernel interface name (vswitch/vswitch.c names them
 * PREFIX<n>, the smallest n free).  The configuration refuses them in a
 * dpdk port's devargs (tools/ctl/ctl_config.c): such a port could take the
 * name a restart gives one of those devices, and vesperd would then not
 * start on a configuration it had accepted.
 */
#ifndef VSA_VDEV_H
#define VSA_VDEV_H

#define VSA_VDEV_TAP_PREFIX "net_tap_vsp"
#define VSA_VDEV_AF_PACKET_PREFIX "net_af_packet_vsp"

#endif /* VSA_VDEV_H */
