#!/usr/bin/env bash
# The main job, as far as the project goes today: a real API server, the operator, the example
# HyperAgent, and what a user sees with kubectl. Later slices add the kubelet cluster, sandboxes,
# Prometheus and canaries to the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null
exec bash test/cluster/with-control-plane.sh bash scripts/demo-steps.sh
