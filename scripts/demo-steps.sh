#!/usr/bin/env bash
# Runs inside with-control-plane.sh (KUBECONFIG and kubectl are set up).
set -euo pipefail
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
node dist/hyperagent-operator.mjs --metrics-port 18080 --metrics-host 127.0.0.1 --lease-namespace default \
  > "${TMPDIR:-/tmp}/hyperagent-demo-operator.log" 2>&1 &
operator=$!
trap 'kill $operator 2>/dev/null || true; wait $operator 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done
say "operator ready: $(curl -s http://127.0.0.1:18080/readyz)"

say "kubectl apply -f examples/"
kubectl apply -f examples/
for _ in $(seq 1 50); do
  [ "$(kubectl get ha quote-latency -o jsonpath='{.status.lastCycle.phase}')" != "" ] && break
  sleep 0.2
done

say "kubectl get ha,hacycle"
kubectl get ha,hacycle
say "kubectl describe ha quote-latency (status and events)"
kubectl describe ha quote-latency | sed -n '/^Status:/,$p'
say "kubectl explain hyperagent.spec.rollout.analysis.onNoData"
kubectl explain hyperagent.spec.rollout.analysis.onNoData | sed -n '/DESCRIPTION/,$p'
say "an invalid agent is refused by the API server"
kubectl apply -f test/fixtures/invalid/01-weights-not-rising.yaml || true
say "operator metrics"
curl -s http://127.0.0.1:18080/metrics | grep -E '^hyperagent_(reconcile_total|cycles|leader)' || true
say "operator log: ${TMPDIR:-/tmp}/hyperagent-demo-operator.log"
