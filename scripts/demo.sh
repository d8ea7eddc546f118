#!/usr/bin/env bash
# The main job: on a fresh machine, builds and starts the local single-node cluster (Kubernetes from
# Go modules on first use, then cached), builds the images, installs Prometheus wiring and the
# operator's Helm chart, deploys the quote service with steady load, and runs the demo scenario
# (scripts/demo/scenario.ts): a tuner cycle promoted through a canary, then an LLM-proposed change
# rolled back under real traffic. Writes out/demo-report.json. The cluster keeps running
# afterwards; `npm run cluster:down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
bash test/cluster/cluster.sh up
# shellcheck source=/dev/null
source .cluster/env
exec node --import tsx scripts/demo.ts
