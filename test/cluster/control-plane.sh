#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for integration tests: etcd, kube-apiserver and
# kube-controller-manager (garbage collector and namespace controllers, so owner references and
# namespace deletion behave as on a real cluster). No kubelet: pods are the e2e harness's job.
#
#   test/cluster/control-plane.sh start DIR    writes DIR/kubeconfig, prints it, returns when ready
#   test/cluster/control-plane.sh stop DIR     stops every process it started and removes DIR
#
# Ports are chosen free at start, so several control planes can run side by side.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

cmd=${1:?usage: control-plane.sh start|stop DIR}
dir=${2:?usage: control-plane.sh start|stop DIR}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stop() {
  for name in kube-controller-manager kube-apiserver etcd; do
    local pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -rf "$dir"
}

make_pki() {
  local pki="$dir/pki"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hyperagent-test-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' \
    > "$pki/apiserver.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  # Static tokens keep the harness small; the operator itself only ever sees a kubeconfig.
  admin_token=$(openssl rand -hex 16)
  kcm_token=$(openssl rand -hex 16)
  {
    echo "$admin_token,admin,admin,system:masters"
    echo "$kcm_token,system:kube-controller-manager,kcm,system:masters"
  } > "$pki/tokens.csv"
}

write_kubeconfig() { # file token
  cat > "$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: hyperagent-test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $dir/pki/ca.crt
users:
- name: user
  user:
    token: $2
contexts:
- name: hyperagent-test
  context: {cluster: hyperagent-test, user: user, namespace: default}
current-context: hyperagent-test
KUBECONFIG
}

wait_for() { # description seconds command...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "control-plane: $what did not become ready in ${seconds}s; logs in $dir" >&2
  tail -n 30 "$dir"/*.log >&2 || true
  return 1
}

start() {
  local bin
  bin=$("$here/build-k8s.sh" kube-apiserver kube-controller-manager kubectl | tail -n 1)
  command -v etcd >/dev/null || "$here/install-deps.sh" etcd
  mkdir -p "$dir"
  make_pki
  local etcd_port peer_port kcm_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  kcm_port=$(free_port)
  # etcd data in memory when possible: tests need speed, not durability.
  local data="$dir/etcd-data"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then data=$(mktemp -d /dev/shm/hyperagent-etcd.XXXXXX); fi
  ln -sfn "$data" "$dir/etcd-data-link"

  etcd --name default --data-dir "$data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port" --log-level warn \
    > "$dir/etcd.log" 2>&1 &
  echo $! > "$dir/etcd.pid"
  wait_for etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

  "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" --token-auth-file "$dir/pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --cert-dir "$dir/apiserver-certs" \
    > "$dir/kube-apiserver.log" 2>&1 &
  echo $! > "$dir/kube-apiserver.pid"
  write_kubeconfig "$dir/kubeconfig" "$admin_token"
  write_kubeconfig "$dir/kcm.kubeconfig" "$kcm_token"
  wait_for kube-apiserver 90 "$bin/kubectl" --kubeconfig "$dir/kubeconfig" get --raw /readyz

  "$bin/kube-controller-manager" --kubeconfig "$dir/kcm.kubeconfig" \
    --controllers garbagecollector,namespace --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" \
    > "$dir/kube-controller-manager.log" 2>&1 &
  echo $! > "$dir/kube-controller-manager.pid"
  wait_for kube-controller-manager 60 curl -sfk "https://127.0.0.1:$kcm_port/healthz"
  echo "$dir/kubeconfig"
}

case "$cmd" in
  start) start ;;
  stop)
    data=$(readlink "$dir/etcd-data-link" 2>/dev/null || true)
    stop
    case "$data" in /dev/shm/hyperagent-etcd.*) rm -rf "$data" ;; esac
    ;;
  *) echo "usage: control-plane.sh start|stop DIR" >&2; exit 2 ;;
esac
