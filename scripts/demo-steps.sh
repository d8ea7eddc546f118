#!/usr/bin/env bash
# Runs after cluster.sh up, with .cluster/env sourced (KUBECONFIG, kubectl, helm).
set -euo pipefail
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
namespace=demo

say "kubectl get nodes; kubectl get pods -A"
kubectl get nodes -o wide
kubectl get pods -A
say "helm list -n hyperagent-system"
helm list -n hyperagent-system

say "kubectl apply -n $namespace -f examples/"
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl delete ha quote-latency -n "$namespace" --ignore-not-found --wait=true >/dev/null
kubectl apply -n "$namespace" -f examples/
for _ in $(seq 1 100); do
  [ "$(kubectl get ha quote-latency -n "$namespace" -o jsonpath='{.status.lastCycle.phase}')" != "" ] && break
  sleep 0.3
done

say "kubectl get ha,hacycle -n $namespace"
kubectl get ha,hacycle -n "$namespace"
say "kubectl describe ha quote-latency (status and events)"
kubectl describe ha quote-latency -n "$namespace" | sed -n '/^Status:/,$p'
say "an invalid agent is refused by the API server"
kubectl apply -n "$namespace" -f test/fixtures/invalid/01-weights-not-rising.yaml || true

say "the operator's metrics, scraped by Prometheus (pods opt in with prometheus.io/* annotations)"
query='sum by (controller, result) (hyperagent_reconcile_total)'
for _ in $(seq 1 30); do
  result=$(curl -s "$HYPERAGENT_PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$query")
  echo "$result" | grep -q '"result":\[{' && break
  sleep 2
done
echo "$query"
echo "$result"
say "operator logs: kubectl logs -n hyperagent-system deploy/hyperagent-hyperagent-operator"
kubectl logs -n hyperagent-system deploy/hyperagent-hyperagent-operator --tail=5
say "the cluster keeps running: source .cluster/env to use it, npm run cluster:down to stop it"
