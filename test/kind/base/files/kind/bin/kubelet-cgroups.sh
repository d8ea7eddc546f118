#!/bin/sh
# Makes the cgroups kind's kubelet configuration names (cgroupRoot /kubelet, and kubelet.slice
# under the systemd driver) with every controller delegated to them. cgroup v2 only: on v1 the
# entrypoint made them.
set -eu
root=/sys/fs/cgroup
[ -f $root/cgroup.controllers ] || exit 0
delegate() { # cgroup directory: enable for its children every controller it has
  sed -e 's/^/+/' -e 's/ / +/g' "$1/cgroup.controllers" >"$1/cgroup.subtree_control"
}
delegate $root
for group in kubelet kubelet.slice; do
  mkdir -p "$root/$group"
  delegate "$root/$group"
done
