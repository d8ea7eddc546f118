#!/usr/bin/env bash
# The kind path on a machine with no container registry: builds kind's node image and every image
# the kind demo pulls from Debian's packages and Go modules, then runs scripts/kind-demo.sh with
# them, unchanged otherwise.
#
#   test/kind/run.sh demo    the demo on the kind cluster "hyperagent" (scripts/kind-demo.sh)
#   test/kind/run.sh up      the same cluster, registry, Prometheus, gateway and chart, no demo;
#                            then the e2e suite's images and settings in .kind/env
#                            (HYPERAGENT_E2E_ON_KIND=1 npm run test:e2e does this, then the suite)
#   test/kind/run.sh down    deletes the kind cluster, the registry and outside containers, .kind/
#
# kind, kubectl and helm come from the harness's builds (test/cluster/build-*.sh). Requires root
# and Docker (started by test/cluster/docker.sh, which also makes --privileged containers work on
# machines that withhold capabilities). Bring the harness cluster (test/cluster/cluster.sh) down
# first: both want 127.0.0.1:5001 for their registry.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cluster_dir=$(cd "$here/../cluster" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../cluster/versions.sh
source "$cluster_dir/versions.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=../cluster/node/images.sh
source "$cluster_dir/node/images.sh"
readonly state=${HYPERAGENT_CLUSTER_STATE:-/var/lib/hyperagent-cluster}

log() { echo "kind: $*" >&2; }

# A copy of BINARY named NAME in a fresh directory, for an image that wants that name.
named() { # binary name -> path
  local dir
  dir=$(mktemp -d)
  cp "$1" "$dir/$2"
  echo "$dir/$2"
}

# The images scripts/kind-demo.sh would pull, made from the harness's binaries.
companion_images() { # tools_bin
  local registry prometheus traefik config
  registry=$(named "$1/registry" registry)
  config="$(dirname "$registry")/config.yml"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n' >"$config"
  build_image "hyperagent.local/registry:$DISTRIBUTION_VERSION" 'FROM scratch
COPY registry /usr/local/bin/
COPY config.yml /etc/distribution/config.yml
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/registry", "serve", "/etc/distribution/config.yml"]' "$registry" "$config"
  prometheus=$(named "$1/prometheus" prometheus)
  binary_image "hyperagent.local/prometheus:v$PROMETHEUS_VERSION" "$prometheus" prometheus
  traefik=$(named "$1/traefik" traefik)
  build_image "hyperagent.local/traefik:$TRAEFIK_VERSION" "$(cat "$cluster_dir/images/traefik/Dockerfile")" "$traefik"
  rm -rf "$(dirname "$registry")" "$(dirname "$prometheus")" "$(dirname "$traefik")"
}

prepare() {
  local k8s_bin tools_bin
  # js-yaml merges the kind configuration (create_cluster)
  [ -d "$repo/node_modules" ] || (cd "$repo" && npm ci --no-audit --no-fund)
  "$cluster_dir/docker.sh" ensure "$state"
  KIND_NODE_IMAGE=$("$here/node-image.sh" | tail -1)
  # after node-image.sh, which made debian:bookworm-slim for the probe
  "$cluster_dir/docker.sh" ensure-privileged "$state"
  k8s_bin=$("$cluster_dir/build-k8s.sh" kubectl | tail -1)
  tools_bin=$("$cluster_dir/build-tools.sh" kind helm registry prometheus traefik | tail -1)
  companion_images "$tools_bin"
  export PATH="$tools_bin:$k8s_bin:$PATH" KIND_NODE_IMAGE
  export KIND_REGISTRY_IMAGE="hyperagent.local/registry:$DISTRIBUTION_VERSION"
  export PROMETHEUS_IMAGE="hyperagent.local/prometheus:v$PROMETHEUS_VERSION"
  export TRAEFIK_IMAGE="hyperagent.local/traefik:$TRAEFIK_VERSION"
  GATEWAY_API_CRDS=$("$cluster_dir/gateway-api-crds.sh" | tail -1)
  export GATEWAY_API_CRDS
}

# kind's cluster, made here rather than by kind-demo.sh (which reuses it) so that the outside server
# below can join its network before the chart is installed.
create_cluster() {
  local config="$repo/kind-config.yaml"
  kind get clusters | grep -qx hyperagent && return 0
  if [ "$(nproc)" -le 4 ]; then
    config=$(mktemp)
    # kind-config.yaml's own kubeadmConfigPatches are kept; this file's are added to them
    (cd "$repo" && node -e '
      const yaml = require("js-yaml"), fs = require("fs");
      const [base, extra] = process.argv.slice(1).map((file) => yaml.load(fs.readFileSync(file, "utf8")));
      base.kubeadmConfigPatches = [...(base.kubeadmConfigPatches ?? []), ...extra.kubeadmConfigPatches];
      process.stdout.write(yaml.dump(base));
    ' kind-config.yaml "$here/kubeadm-patches.yaml") >"$config"
  fi
  kind create cluster --config "$config" --image "$KIND_NODE_IMAGE"
  [ "$config" = "$repo/kind-config.yaml" ] || rm -f "$config"
}

# A stand-in for "the internet": an HTTP server on the kind network, outside the cluster, as the
# harness has one in a network namespace behind its node. Sandboxes must not reach it; ordinary
# pods may. Prints its address.
start_outside() {
  if [ "$(docker inspect -f '{{.State.Running}}' hyperagent-outside 2>/dev/null || true)" != true ]; then
    docker rm -f hyperagent-outside >/dev/null 2>&1 || true
    docker run -d --name hyperagent-outside --network kind --restart=always node:20-bookworm-slim \
      node -e "require('http').createServer((_, res) => res.end('hello from outside the cluster\n')).listen(80)" >/dev/null
  fi
  docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' hyperagent-outside
}

up() { # setup-only: 1 to stop after the chart, 0 to run the demo
  local outside
  # the demo forwards Prometheus to port 9090 itself: the e2e settings' forward must not hold it
  if [ "$1" = 0 ] && [ -f "$repo/.kind/port-forward.pid" ]; then
    kill "$(cat "$repo/.kind/port-forward.pid")" 2>/dev/null || true
    rm -f "$repo/.kind/port-forward.pid"
  fi
  prepare
  create_cluster
  outside=$(start_outside)
  HYPERAGENT_OUTSIDE_PROBE="$outside:80" KIND_SETUP_ONLY=$1 "$repo/scripts/kind-demo.sh"
}

# The e2e suite's settings for this cluster, like the harness's .cluster/env: the images it
# deploys (built by the harness's build-images.sh and pushed to the kind registry under tags that
# name their content), a port-forward to Prometheus, the outside server, and the addresses where
# pods reach this machine (the kind network's gateway) and where the node's kubelet listens.
write_e2e_env() {
  local dir="$repo/.kind" image gateway node_ip outside forward
  mkdir -p "$dir"
  kind get kubeconfig --name hyperagent >"$dir/kubeconfig"
  : >"$dir/images"
  for image in $("$cluster_dir/build-images.sh" "$state" | grep -v '/pause:'); do
    publish "$image" >>"$dir/images" # the harness's: tag by content, push to localhost:5001
  done
  gateway=$(docker network inspect kind \
    -f '{{range .IPAM.Config}}{{if .Gateway}}{{println .Gateway}}{{end}}{{end}}' | grep -m1 -E '^[0-9.]+$')
  node_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' hyperagent-control-plane)
  outside=$(start_outside)
  if ! { [ -f "$dir/port-forward.pid" ] && kill -0 "$(cat "$dir/port-forward.pid")" 2>/dev/null; }; then
    KUBECONFIG="$dir/kubeconfig" setsid kubectl -n monitoring port-forward svc/prometheus 9090:9090 \
      >"$dir/port-forward.log" 2>&1 </dev/null &
    forward=$!
    echo "$forward" >"$dir/port-forward.pid"
  fi
  {
    echo "export KUBECONFIG=$dir/kubeconfig"
    echo "export PATH=$(dirname "$(command -v kind)"):$(dirname "$(command -v kubectl)"):\$PATH"
    echo "export HYPERAGENT_REGISTRY=localhost:5001"
    echo "export HYPERAGENT_PROMETHEUS_URL=http://127.0.0.1:9090"
    echo "export HYPERAGENT_OUTSIDE_URL=http://$outside/"
    echo "export HYPERAGENT_NODE_IP=$gateway"
    echo "export HYPERAGENT_KUBELET_IP=$node_ip"
    echo "export HYPERAGENT_GATEWAY=traefik/hyperagent"
    echo "export HYPERAGENT_GATEWAY_URL=http://traefik.traefik.svc.cluster.local"
    while read -r image; do
      name=${image#localhost:5001/}
      name=${name%%:*}
      name=${name#hyperagent-}
      echo "export HYPERAGENT_$(echo "$name" | tr 'a-z-' 'A-Z_')_IMAGE=$image"
    done <"$dir/images"
  } >"$dir/env"
  log "settings for the e2e suite: source .kind/env"
}

main() {
  case "${1:-}" in
    demo) up 0 ;;
    up) up 1 && write_e2e_env ;;
    down)
      kind_bin=$("$cluster_dir/build-tools.sh" kind | tail -1)/kind
      # go on when Docker is slow to kill the node: the rest is removed either way
      "$kind_bin" delete cluster --name hyperagent || log "kind delete failed; run it again"
      docker rm -f kind-registry hyperagent-outside >/dev/null 2>&1 || true
      if [ -f "$repo/.kind/port-forward.pid" ]; then
        kill "$(cat "$repo/.kind/port-forward.pid")" 2>/dev/null || true
      fi
      rm -rf "$repo/.kind"
      ;;
    *) echo "usage: test/kind/run.sh demo|up|down" >&2; exit 2 ;;
  esac
}

main "$@"
