#!/usr/bin/env bash
# The same demo on kind: the kind cluster "hyperagent" from kind-config.yaml with kind's
# local-registry recipe, Prometheus, the Gateway API with Traefik, the chart, then the demo scenario
# (scripts/demo/scenario.ts, as `npm run demo` runs it on the offline harness) and its report.
#
#   scripts/kind-demo.sh          create (or reuse) the kind cluster "hyperagent" and run the demo
#   kind delete cluster --name hyperagent; docker rm -f kind-registry     remove it all
#
# With internet access it pulls kindest/node, registry:2, Prometheus, Traefik and the Gateway API
# CRDs from their publishers. On a machine without, test/kind/run.sh demo builds each from Debian's
# packages and Go modules and runs this script with them, through these settings:
#   KIND_NODE_IMAGE        node image instead of kind-config.yaml's kindest/node
#   KIND_REGISTRY_IMAGE    the local registry's image (default registry:2)
#   PROMETHEUS_IMAGE       Prometheus's image (default examples/kind/prometheus.yaml's)
#   TRAEFIK_IMAGE          Traefik's image (default traefik:$TRAEFIK_VERSION)
#   GATEWAY_API_CRDS       file, directory or URL of the standard-channel CRDs
#   HYPERAGENT_OUTSIDE_PROBE   an address outside the cluster that sandboxes must not reach
#                          (default 1.1.1.1:443)
#   KIND_SETUP_ONLY=1      stop after the chart is installed (test/kind/run.sh up)
# A Traefik or Prometheus image set here that exists in the local Docker is loaded into the node
# (kind load), not pulled.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in docker kind kubectl helm node npm; do
  command -v "$tool" >/dev/null || { echo "kind-demo: $tool is not installed" >&2; exit 1; }
done
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

readonly registry=localhost:5001
version=$(node -p "require('./package.json').version")
service_version=$(node -p "require('./examples/quote-service/package.json').version")

# shellcheck source=../test/cluster/versions.sh
source test/cluster/versions.sh
TRAEFIK_IMAGE=${TRAEFIK_IMAGE:-traefik:$TRAEFIK_VERSION}
GATEWAY_API_CRDS=${GATEWAY_API_CRDS:-https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml}

# kind's local-registry recipe: a registry container on localhost:5001, which the node reaches
# as kind-registry:5000 through a containerd hosts.toml
if [ "$(docker inspect -f '{{.State.Running}}' kind-registry 2>/dev/null || true)" != true ]; then
  docker rm -f kind-registry >/dev/null 2>&1 || true
  docker run -d --restart=always -p 127.0.0.1:5001:5000 --network bridge --name kind-registry \
    "${KIND_REGISTRY_IMAGE:-registry:2}"
fi
kind get clusters | grep -qx hyperagent ||
  kind create cluster --config kind-config.yaml ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
kubectl config use-context kind-hyperagent >/dev/null
for node in $(kind get nodes --name hyperagent); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/$registry"
  printf '[host."http://kind-registry:5000"]\n' |
    docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/$registry/hosts.toml"
done
docker network connect kind kind-registry 2>/dev/null || true
# where the operator pushes candidate images from inside the cluster (KEP-1755)
kubectl apply -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: { name: local-registry-hosting, namespace: kube-public }
data:
  localRegistryHosting.v1: |
    host: "localhost:5001"
    hostFromContainerRuntime: "localhost:5001"
    hostFromClusterNetwork: "kind-registry:5000"
YAML

build_and_push() { # image context [dockerfile]
  docker build -t "$1" ${3:+-f "$3"} "$2"
  docker push "$1"
}
build_and_push "$registry/hyperagent-operator:$version" .
build_and_push "$registry/hyperagent-sandbox:$version" . sandbox-image/Dockerfile
build_and_push "$registry/quote-service:$service_version" examples/quote-service

# an image given here and built on this machine goes to the node directly
load_if_local() { # image
  if docker image inspect "$1" >/dev/null 2>&1; then
    kind load docker-image --name hyperagent "$1"
  fi
}
load_if_local "$TRAEFIK_IMAGE"
if [ -n "${PROMETHEUS_IMAGE:-}" ]; then
  load_if_local "$PROMETHEUS_IMAGE"
  sed "s|image: quay.io/prometheus/prometheus:.*|image: $PROMETHEUS_IMAGE|" examples/kind/prometheus.yaml | kubectl apply -f -
else
  kubectl apply -f examples/kind/prometheus.yaml
fi
kubectl -n monitoring rollout status deployment/prometheus --timeout=300s
# The Gateway API (standard channel) with Traefik implementing it: the harness's versions and
# manifest
kubectl apply --server-side -f "$GATEWAY_API_CRDS"
kubectl wait --for=condition=Established --timeout=60s crd/gatewayclasses.gateway.networking.k8s.io \
  crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io
sed "s|\${TRAEFIK_IMAGE}|$TRAEFIK_IMAGE|" test/cluster/manifests/gateway.yaml | kubectl apply -f -
kubectl -n traefik rollout status deployment/traefik --timeout=300s
kubectl -n traefik wait --for=condition=Programmed gateway/hyperagent --timeout=120s
# Helm installs CRDs only once; apply the current ones first, as the harness does
kubectl apply --server-side --force-conflicts -f crds/
helm upgrade --install hyperagent charts/hyperagent-operator -n hyperagent-system --create-namespace \
  --set image.repository="$registry/hyperagent-operator" --set-string image.tag="$version" \
  --set-string sandbox.image="$registry/hyperagent-sandbox:$version" \
  --set-string sandbox.outsideProbe="${HYPERAGENT_OUTSIDE_PROBE:-1.1.1.1:443}" \
  --set-json 'llm.prices={"demo-model":{"inputPerMillion":0.15,"outputPerMillion":0.6}}' \
  --wait --timeout 300s
[ "${KIND_SETUP_ONLY:-}" != 1 ] || exit 0

# The demo's git server and LLM stand-in listen on this machine, at the address pods of the kind
# network reach it by: that network's IPv4 gateway.
HYPERAGENT_NODE_IP=$(docker network inspect kind \
  -f '{{range .IPAM.Config}}{{if .Gateway}}{{println .Gateway}}{{end}}{{end}}' | grep -m1 -E '^[0-9.]+$')
kubectl -n monitoring port-forward svc/prometheus 9090:9090 >/dev/null &
forward=$!
trap 'kill "$forward" 2>/dev/null || true' EXIT
sleep 2
export HYPERAGENT_NODE_IP HYPERAGENT_PROMETHEUS_URL=http://127.0.0.1:9090
export HYPERAGENT_QUOTE_SERVICE_IMAGE="$registry/quote-service:$service_version"
export KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config}
node --import tsx scripts/demo.ts
