#!/usr/bin/env bash
# Lints the Helm chart twice, with its default values and with everything on: `helm lint --strict`,
# then kubeconform -strict over what `helm template` renders (CRDs included). There is no internet
# to fetch kubeconform's schemas from, so they come from the running cluster's OpenAPI
# (test/support/openapi-schemas.ts): the kinds and fields this API server serves.
#
#   bash test/lint-chart.sh      (needs the test cluster; sources .cluster/env when KUBECONFIG is unset)
#
# ServiceMonitor (monitoring.coreos.com/v1) is the one kind without a schema here: the cluster has
# no Prometheus Operator CRDs. It is skipped by its full group/version/kind (-skip), not with
# -ignore-missing-schemas, so any other kind without a schema still fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KUBECONFIG:-}" ] && [ -f .cluster/env ]; then
  # shellcheck source=/dev/null
  source .cluster/env
fi
if ! kubectl version >/dev/null 2>&1; then
  echo "lint-chart: no cluster reachable (bash test/cluster/cluster.sh up; source .cluster/env)" >&2
  exit 1
fi

chart=charts/hyperagent-operator
release=hyperagent
namespace=hyperagent-system
service_monitor=monitoring.coreos.com/v1/ServiceMonitor
# a cached build is not rebuilt; the script prints the binaries' directory last
kubeconform="$(bash test/cluster/build-tools.sh kubeconform | tail -1)/kubeconform"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node --import tsx test/support/openapi-schemas.ts "$work/schemas"
schemas="$work/schemas/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json"

conform() {
  "$kubeconform" -strict -summary -skip "$service_monitor" -schema-location "$schemas" "$@"
}

# Self-check: the schemas must refuse an unknown field and a wrong type, or a pass proves nothing.
cat >"$work/bad.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
  labelz: {}
data: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
spec:
  replicas: two
  selector: { matchLabels: { app: bad } }
  template:
    metadata: { labels: { app: bad } }
    spec: { containers: [{ name: bad, image: bad }] }
YAML
if bad_output=$(conform "$work/bad.yaml" 2>&1); then
  echo "$bad_output" >&2
  echo "lint-chart: kubeconform accepted known-bad manifests; the generated schemas are not strict" >&2
  exit 1
fi
[ "$(grep -c ' is invalid: ' <<<"$bad_output")" -eq 2 ] || {
  echo "$bad_output" >&2
  echo "lint-chart: expected both known-bad manifests to be invalid" >&2
  exit 1
}

# Everything on: two replicas, every optional value set, the ServiceMonitor rendered as if the
# cluster served monitoring.coreos.com/v1, and the dashboard in another namespace.
cat >"$work/values-everything-on.yaml" <<'YAML'
replicaCount: 2
leaderElection:
  enabled: true
watchNamespace: demo
image:
  tag: '0.1.0'
  pullPolicy: Always
imagePullSecrets: [{ name: regcred }]
sandbox:
  image: localhost:5001/hyperagent-sandbox:0.1.0
logLevel: debug
podAnnotations:
  example.com/owner: platform
serviceAccount:
  annotations:
    example.com/role: operator
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - { key: dedicated, operator: Equal, value: operators, effect: NoSchedule }
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels: { app.kubernetes.io/name: hyperagent-operator }
serviceMonitor:
  enabled: true
  interval: 15s
  labels: { release: prometheus }
grafanaDashboard:
  enabled: true
  namespace: monitoring
  labels: { grafana_dashboard: '1', team: platform }
  annotations: { grafana_folder: HyperAgent }
extraArgs: ['--log-level=debug']
YAML

# helm lint knows no --api-versions, so it renders without the ServiceMonitor; helm template is
# told the API is served, which renders it
check() { # name, values arguments...
  local name=$1 out="$work/rendered-$1.yaml"
  shift
  echo "lint-chart: $name values"
  helm lint --strict "$chart" --namespace "$namespace" "$@"
  helm template "$release" "$chart" --namespace "$namespace" --include-crds \
    --api-versions monitoring.coreos.com/v1 "$@" >"$out"
  [ -s "$out" ] || { echo "lint-chart: $name: helm template rendered nothing" >&2; exit 1; }
  conform "$out"
}

check default
check everything-on -f "$work/values-everything-on.yaml"
# the skipped kind must at least have been rendered where it was asked for
grep -q '^kind: ServiceMonitor$' "$work/rendered-everything-on.yaml" || {
  echo "lint-chart: everything-on rendered no ServiceMonitor" >&2
  exit 1
}
echo "lint-chart: chart clean"
