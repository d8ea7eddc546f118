# shellcheck shell=bash
# Pinned versions of everything the test harness builds or installs. Bumping one invalidates its cache.
export K8S_VERSION="${K8S_VERSION:-v1.33.13}"
export HYPERAGENT_CACHE="${HYPERAGENT_CACHE:-$HOME/.cache/hyperagent}"
export COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
export KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
export DISTRIBUTION_VERSION="${DISTRIBUTION_VERSION:-v3.0.0}"
export HELM_VERSION="${HELM_VERSION:-v3.22.0}"
export CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
export KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
# Prometheus 3.x is published as Go module versions v0.3MM.P for release 3.MM.P.
export PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-3.16.0}"
PROMETHEUS_MODULE_VERSION="v0.$((300 + $(echo "$PROMETHEUS_VERSION" | cut -d. -f2))).$(echo "$PROMETHEUS_VERSION" | cut -d. -f3)"
export PROMETHEUS_MODULE_VERSION
export PAUSE_VERSION="${PAUSE_VERSION:-3.10}"
# The Gateway API implementation and the Gateway API release its go.mod requires (the CRDs match it).
# Traefik v3.7 needs modules the Go proxy here does not serve; v3.6 builds.
export TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
export GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.4.0}"
# The offline kind node image (test/kind/node-image.sh): kind itself and the storage provisioner
# its node images carry. etcd, CoreDNS and pause are built at the versions kubeadm asks for.
export KIND_VERSION="${KIND_VERSION:-v0.33.0}"
export LOCAL_PATH_PROVISIONER_VERSION="${LOCAL_PATH_PROVISIONER_VERSION:-v0.0.30}"
