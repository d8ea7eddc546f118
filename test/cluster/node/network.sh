# shellcheck shell=bash
# The node's host networking: forwarding, bridge netfilter, the FORWARD rules pod traffic needs
# next to Docker's, and the "outside" host. Sourced by cluster.sh.

prepare_host_network() {
  modprobe br_netfilter 2>/dev/null || true
  modprobe overlay 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # Docker sets the FORWARD policy to DROP. Pod traffic is let through by rules *appended* after
  # the chains kube-proxy and kube-router insert first, so NetworkPolicy still decides.
  local rule
  for rule in "-s $CLUSTER_POD_CIDR" "-d $CLUSTER_POD_CIDR"; do
    # shellcheck disable=SC2086
    iptables -C FORWARD $rule -m comment --comment hyperagent-pod-traffic -j ACCEPT 2>/dev/null \
      || iptables -A FORWARD $rule -m comment --comment hyperagent-pod-traffic -j ACCEPT
  done
  start_outside_host
}

start_outside_host() {
  if ! ip netns list | grep -qw "$OUTSIDE_NETNS"; then
    ip netns add "$OUTSIDE_NETNS"
    ip link add ha-outside type veth peer name eth0 netns "$OUTSIDE_NETNS"
    ip addr add "$OUTSIDE_GATEWAY/24" dev ha-outside
    ip link set ha-outside up
    ip -n "$OUTSIDE_NETNS" addr add "$OUTSIDE_IP/24" dev eth0
    ip -n "$OUTSIDE_NETNS" link set lo up
    ip -n "$OUTSIDE_NETNS" link set eth0 up
    ip -n "$OUTSIDE_NETNS" route add default via "$OUTSIDE_GATEWAY"
  fi
  mkdir -p "$CLUSTER_STATE/outside"
  echo "hello from outside the cluster" > "$CLUSTER_STATE/outside/index.html"
  start_in_netns "$OUTSIDE_NETNS" outside-http python3 -m http.server 80 --bind "$OUTSIDE_IP" \
    --directory "$CLUSTER_STATE/outside"
}
