#!/usr/bin/env bash
# The main job, as far as the project goes today: the local single-node cluster (built from Go
# modules on first use), the operator installed by its Helm chart, the example HyperAgent, and
# what a user sees with kubectl and Prometheus. Later slices add sandboxes and canaries to it.
# The cluster keeps running afterwards; `npm run cluster:down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash test/cluster/cluster.sh up
# shellcheck source=/dev/null
source .cluster/env
exec bash scripts/demo-steps.sh
