#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, built from Go modules and Debian packages:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet on containerd, kube-proxy
# (iptables), CoreDNS, a CNI bridge, NetworkPolicy enforcement by kube-router (firewall mode), a
# local OCI registry, Prometheus discovering pods through the API, the Gateway API (standard-channel
# CRDs) implemented by Traefik with one shared Gateway, traefik/hyperagent, and the operator
# installed by its Helm chart. kind cannot run offline; this harness runs the same chart and manifests.
#
#   test/cluster/cluster.sh up [--no-operator]   start whatever is not running (idempotent)
#   test/cluster/cluster.sh down                 stop every process the harness started
#   test/cluster/cluster.sh purge                down, then delete all cluster state
#   test/cluster/cluster.sh status               what runs, with pids
#   test/cluster/cluster.sh running              exit status 0 when the cluster runs
#
# State (certificates, etcd, images, logs) lives in $HYPERAGENT_CLUSTER_STATE
# (default /var/lib/hyperagent-cluster) and survives `down`, so the next `up` is a warm start.
# The admin kubeconfig is written to .cluster/kubeconfig in the repository.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

export CLUSTER_NAME=hyperagent
export NODE_NAME=hyperagent-control-plane
export CLUSTER_STATE=${HYPERAGENT_CLUSTER_STATE:-/var/lib/hyperagent-cluster}
export CONTAINERD_ROOT=$CLUSTER_STATE/containerd/root
export CONTAINERD_STATE=/run/hyperagent-cluster/containerd
export CONTAINERD_SOCKET=$CONTAINERD_STATE/containerd.sock
export KUBELET_ROOT=$CLUSTER_STATE/kubelet
export API_PORT=6443 LOCAL_REGISTRY_PORT=5001 PROMETHEUS_PORT=9090
export SERVICE_CIDR=10.96.0.0/16 KUBERNETES_SERVICE_IP=10.96.0.1 CLUSTER_DNS_IP=10.96.0.10
export CLUSTER_POD_CIDR=10.244.0.0/16 NODE_POD_CIDR=10.244.0.0/24
export PAUSE_IMAGE=localhost:$LOCAL_REGISTRY_PORT/pause:$PAUSE_VERSION
export TRAEFIK_IMAGE=localhost:$LOCAL_REGISTRY_PORT/traefik:$TRAEFIK_VERSION
export PROMETHEUS_SCRAPE_INTERVAL=${PROMETHEUS_SCRAPE_INTERVAL:-5s}
# A stand-in for "the internet": an HTTP server on a host of its own (a network namespace behind
# the node), so tests can show egress to an outside address working and then being blocked.
export OUTSIDE_NETNS=hyperagent-outside OUTSIDE_IP=198.51.100.10 OUTSIDE_GATEWAY=198.51.100.1

# shellcheck source=image-lib.sh
source "$here/image-lib.sh"
# shellcheck source=node/daemons.sh
source "$here/node/daemons.sh"
# shellcheck source=node/pki.sh
source "$here/node/pki.sh"
# shellcheck source=node/configs.sh
source "$here/node/configs.sh"
# shellcheck source=node/network.sh
source "$here/node/network.sh"
# shellcheck source=node/images.sh
source "$here/node/images.sh"

K8S_BIN="$HYPERAGENT_CACHE/k8s/$K8S_VERSION/bin"
TOOLS_BIN="$HYPERAGENT_CACHE/tools/bin"
ADMIN_KUBECONFIG=$CLUSTER_STATE/admin.kubeconfig

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
crictl_node() { "$TOOLS_BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCKET" "$@"; }

node_ip() {
  # the address of the interface that carries the default route; pods reach the node there
  local ip
  ip=$(ip -4 route get 192.0.2.200 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}' | head -1)
  [ -n "$ip" ] || ip=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
  [ -n "$ip" ] || { log "no IPv4 address found for the node"; return 1; }
  echo "$ip"
}

require_root() {
  [ "$(id -u)" -eq 0 ] || { log "must run as root (it starts a kubelet, containerd and iptables rules)"; exit 1; }
}

install_prerequisites() {
  "$here/install-deps.sh" etcd containerd runc iptables ipset conntrack openssl curl envsubst debootstrap
  [ -x /usr/lib/cni/bridge ] || "$here/install-deps.sh" containernetworking-plugins
  "$here/build-k8s.sh" kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl >/dev/null
  "$here/build-tools.sh" >/dev/null
  GATEWAY_API_CRDS=$(gateway_api_crds)
}

# gateway_api_crds: the directory holding the Gateway API standard-channel CRDs of
# $GATEWAY_API_VERSION, taken from its Go module (the release's standard-install.yaml holds the
# same CRDs) and cached by version.
gateway_api_crds() { "$here/gateway-api-crds.sh" | tail -1; }

start_control_plane() {
  local pki=$CLUSTER_STATE/pki
  mkdir -p "$CLUSTER_STATE/etcd"
  start_daemon etcd etcd --name "$NODE_NAME" --data-dir "$CLUSTER_STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --log-level warn
  wait_for etcd 60 curl -sf http://127.0.0.1:2379/health

  start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers http://127.0.0.1:2379 \
    --bind-address 0.0.0.0 --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver 120 kubectl_admin get --raw /readyz

  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials=true --controllers '*' \
    --allocate-node-cidrs=true --cluster-cidr "$CLUSTER_POD_CIDR" --node-cidr-mask-size 24 \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 10257
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 10259
}

start_registry() {
  mkdir -p "$CLUSTER_STATE/registry"
  start_daemon registry "$TOOLS_BIN/registry" serve "$CLUSTER_STATE/registry.yaml"
  wait_for registry 30 curl -sf "http://127.0.0.1:$LOCAL_REGISTRY_PORT/v2/"
}

start_node() {
  mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$KUBELET_ROOT"
  start_daemon containerd containerd --config "$CLUSTER_STATE/containerd/config.toml"
  wait_for containerd 30 crictl_node info
  start_daemon kubelet "$K8S_BIN/kubelet" \
    --config "$CLUSTER_STATE/kubelet-config.yaml" \
    --kubeconfig "$CLUSTER_STATE/kubelet.kubeconfig" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --root-dir "$KUBELET_ROOT"
  start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$CLUSTER_STATE/kube-proxy-config.yaml"
  start_daemon kube-router "$TOOLS_BIN/kube-router" \
    --kubeconfig "$CLUSTER_STATE/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 20244 --metrics-port 0
}

start_prometheus() {
  mkdir -p "$CLUSTER_STATE/prometheus"
  start_daemon prometheus "$TOOLS_BIN/prometheus" --config.file "$CLUSTER_STATE/prometheus.yaml" \
    --storage.tsdb.path "$CLUSTER_STATE/prometheus" --storage.tsdb.retention.time 2d \
    --web.listen-address "0.0.0.0:$PROMETHEUS_PORT" --web.enable-lifecycle
  wait_for prometheus 60 curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}

apply_addons() {
  envsubst '${NODE_IP} ${LOCAL_REGISTRY_PORT} ${COREDNS_VERSION} ${CLUSTER_DNS_IP} ${PROMETHEUS_PORT}' \
    < "$here/manifests/cluster-addons.yaml" | kubectl_admin apply -f - >/dev/null
  # the Gateway API CRDs as their project installs them (server-side: they are too large for the
  # last-applied annotation), then Traefik, the GatewayClass and the Gateway
  kubectl_admin apply --server-side --force-conflicts -f "$GATEWAY_API_CRDS" >/dev/null
  kubectl_admin wait --for=condition=Established --timeout=60s -f "$GATEWAY_API_CRDS" >/dev/null
  envsubst '${TRAEFIK_IMAGE}' < "$here/manifests/gateway.yaml" | kubectl_admin apply -f - >/dev/null
}

wait_for_gateway() {
  log "waiting for Traefik and the Gateway traefik/hyperagent"
  # rollout status, not condition=Available: after a manifest change it waits for the new pod
  kubectl_admin -n traefik rollout status deployment/traefik --timeout=180s >/dev/null || {
    log "Traefik did not roll out; see: kubectl -n traefik describe pods; kubectl -n traefik logs deployment/traefik"
    return 1
  }
  local condition
  for condition in Accepted Programmed; do
    kubectl_admin -n traefik wait --for=condition=$condition gateway/hyperagent --timeout=60s >/dev/null || {
      log "the Gateway traefik/hyperagent is not $condition; see: kubectl -n traefik get gateway hyperagent -o yaml; kubectl -n traefik logs deployment/traefik"
      return 1
    }
  done
}

# heartbeat_fresh SINCE: the node's Ready condition was posted by the kubelet at or after SINCE
# (an ISO time). After a kubelet restart the stored status is stale until the kubelet posts again;
# a kubelet that kept running posts only on change, so SINCE is when the kubelet started.
heartbeat_fresh() {
  local heartbeat
  heartbeat=$(kubectl_admin get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [ -n "$heartbeat" ] && [[ ! "$heartbeat" < "$1" ]]
}

# pods_restored: every pod the API server says runs on the node has a ready sandbox in containerd.
# After a warm start the API still reports the pods of the last session Ready for a while.
pods_restored() {
  local in_api in_runtime
  in_api=$(kubectl_admin get pods -A --field-selector "spec.nodeName=$NODE_NAME,status.phase=Running" \
    -o name | wc -l)
  in_runtime=$(crictl_node pods --state ready -q | wc -l)
  [ "$in_runtime" -ge "$in_api" ]
}

wait_for_node() {
  log "waiting for node $NODE_NAME to be Ready"
  wait_for "node registration" 120 kubectl_admin get node "$NODE_NAME"
  # a kubelet may not set node-role labels on itself (NodeRestriction); the admin does, as kubeadm
  kubectl_admin label node "$NODE_NAME" node-role.kubernetes.io/control-plane= --overwrite >/dev/null
  wait_for "a fresh node status" 120 heartbeat_fresh "$(started_at kubelet)"
  kubectl_admin wait --for=condition=Ready "node/$NODE_NAME" --timeout=180s >/dev/null
  wait_for "the node's pods to run again" 180 pods_restored
  kubectl_admin -n kube-system wait --for=condition=Available deployment/coredns --timeout=180s >/dev/null
}

install_operator() {
  local image repository tag sandbox_image
  image=$(grep '/hyperagent-operator:' "$CLUSTER_STATE/images")
  sandbox_image=$(grep '/hyperagent-sandbox:' "$CLUSTER_STATE/images")
  repository=${image%:*}
  tag=${image##*:}
  log "installing the operator with its Helm chart ($image)"
  # Helm installs the chart's CRDs once and never upgrades them: apply the current ones first.
  kubectl_admin apply --server-side --force-conflicts -f "$repo/crds/" >/dev/null
  "$TOOLS_BIN/helm" --kubeconfig "$ADMIN_KUBECONFIG" upgrade --install hyperagent "$repo/charts/hyperagent-operator" \
    --namespace hyperagent-system --create-namespace \
    --set image.repository="$repository" --set-string image.tag="$tag" \
    --set-string sandbox.image="$sandbox_image" --set-string sandbox.outsideProbe="$OUTSIDE_IP:80" \
    --set-json 'llm.prices={"demo-model":{"inputPerMillion":0.15,"outputPerMillion":0.6}}' \
    --wait --timeout 180s >/dev/null
}

write_user_files() {
  mkdir -p "$repo/.cluster/bin"
  cp "$ADMIN_KUBECONFIG" "$repo/.cluster/kubeconfig"
  chmod 600 "$repo/.cluster/kubeconfig"
  ln -sf "$K8S_BIN/kubectl" "$repo/.cluster/bin/kubectl"
  ln -sf "$TOOLS_BIN/helm" "$repo/.cluster/bin/helm"
  ln -sf "$TOOLS_BIN/crictl" "$repo/.cluster/bin/crictl"
  ln -sfn "$CLUSTER_STATE/logs" "$repo/.cluster/logs"
  cat > "$repo/.cluster/env" <<ENV
export KUBECONFIG=$repo/.cluster/kubeconfig
export PATH=$repo/.cluster/bin:\$PATH
export CONTAINER_RUNTIME_ENDPOINT=unix://$CONTAINERD_SOCKET
export HYPERAGENT_REGISTRY=localhost:$LOCAL_REGISTRY_PORT
export HYPERAGENT_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
export HYPERAGENT_OUTSIDE_URL=http://$OUTSIDE_IP/
export HYPERAGENT_NODE_IP=$NODE_IP
export HYPERAGENT_GATEWAY=traefik/hyperagent
export HYPERAGENT_GATEWAY_URL=http://traefik.traefik.svc.cluster.local
export HYPERAGENT_SANDBOX_IMAGE=$(grep '/hyperagent-sandbox:' "$CLUSTER_STATE/images")
export HYPERAGENT_E2E_QUOTE_IMAGE=$(grep '/hyperagent-e2e-quote:' "$CLUSTER_STATE/images")
export HYPERAGENT_OPERATOR_IMAGE=$(grep '/hyperagent-operator:' "$CLUSTER_STATE/images")
export HYPERAGENT_E2E_ECHO_IMAGE=$(grep '/hyperagent-e2e-echo:' "$CLUSTER_STATE/images")
export HYPERAGENT_E2E_ECHO_FAULTS_IMAGE=$(grep '/hyperagent-e2e-echo-faults:' "$CLUSTER_STATE/images")
export HYPERAGENT_QUOTE_SERVICE_IMAGE=$(grep '/quote-service:' "$CLUSTER_STATE/images")
export HYPERAGENT_RATES_SERVICE_IMAGE=$(grep '/rates-service:' "$CLUSTER_STATE/images")
ENV
}

cmd_up() {
  local with_operator=true
  [ "${1:-}" = "--no-operator" ] && with_operator=false
  require_root
  local started=$SECONDS
  install_prerequisites
  NODE_IP=$(node_ip)
  export NODE_IP
  mkdir -p "$CLUSTER_STATE/logs" "$CLUSTER_STATE/pids"
  make_pki
  write_containerd_config
  write_cni_config
  write_kubelet_config
  write_kube_proxy_config
  write_registry_config
  write_prometheus_config
  prepare_host_network
  start_control_plane
  start_registry
  build_and_push_images
  apply_addons
  start_node
  wait_for_node
  wait_for_gateway
  start_prometheus
  write_user_files
  $with_operator && install_operator
  log "cluster up in $((SECONDS - started))s"
  cat <<USAGE

  The cluster is ready. Use it with:

    source .cluster/env        # KUBECONFIG, PATH to the harness's kubectl, helm and crictl
    kubectl get nodes

  Registry:    localhost:$LOCAL_REGISTRY_PORT (push with docker; pods pull localhost:$LOCAL_REGISTRY_PORT/NAME:TAG)
  Prometheus:  http://127.0.0.1:$PROMETHEUS_PORT  (in the cluster: http://prometheus.monitoring:9090)
  Gateway:     traefik/hyperagent (GatewayClass traefik), in the cluster: http://traefik.traefik.svc.cluster.local
  Logs:        .cluster/logs/
  Stop it:     npm run cluster:down

USAGE
}

stop_pods() {
  # Containers outlive kubelet and containerd (their shims are separate processes): remove every
  # pod sandbox through the CRI while containerd still runs, so their networks are torn down too.
  if is_running containerd; then
    crictl_node rmp --all --force >/dev/null 2>&1 || true
  fi
}

kill_leftover_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim.*-address $CONTAINERD_SOCKET" || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
}

cmd_down() {
  require_root
  stop_daemon prometheus
  stop_daemon kubelet
  stop_pods
  stop_daemon containerd
  kill_leftover_shims
  stop_daemon kube-router
  stop_daemon kube-proxy
  stop_daemon kube-scheduler
  stop_daemon kube-controller-manager
  stop_daemon kube-apiserver
  stop_daemon etcd
  stop_daemon registry
  stop_daemon outside-http
  ip netns del "$OUTSIDE_NETNS" 2>/dev/null || true
  "$here/docker.sh" stop "$CLUSTER_STATE"
  rm -f "$repo/.cluster/kubeconfig"
  log "cluster down"
}

cmd_purge() {
  cmd_down
  # pod volumes (tmpfs for tokens and secrets) and overlay snapshots may still be mounted
  local mount_point
  for mount_point in $(awk -v root="$CLUSTER_STATE" -v run="$CONTAINERD_STATE" \
    'index($2, root) == 1 || index($2, run) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$mount_point" 2>/dev/null || true
  done
  rm -rf "$CLUSTER_STATE" "$CONTAINERD_STATE" "$repo/.cluster"
  ip link del cni0 2>/dev/null || true
  log "cluster state removed"
}

cmd_status() {
  local name
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy \
    kube-router registry prometheus outside-http; do
    if is_running "$name"; then
      printf '%-24s running (pid %s)\n' "$name" "$(pid_of "$name")"
    else
      printf '%-24s stopped\n' "$name"
    fi
  done
}

cmd_running() { # exit 0 when the cluster's core processes run
  is_running kube-apiserver && is_running kubelet && is_running containerd
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  running) cmd_running ;;
  down) cmd_down ;;
  purge) cmd_purge ;;
  status) cmd_status ;;
  *) echo "usage: $0 up [--no-operator] | down | purge | status | running" >&2; exit 2 ;;
esac
