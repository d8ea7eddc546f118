#!/usr/bin/env bash
# End-to-end tests on the real single-node cluster of test/cluster/cluster.sh.
#   test/run-e2e.sh [test files...]
# A running cluster is reused and left running. A cluster this script brought up is stopped again
# at the end (its state is kept, so the next start is warm) unless HYPERAGENT_KEEP_CLUSTER=1.
# HYPERAGENT_E2E_ON_KIND=1 runs them on the kind cluster of test/kind/run.sh instead (made or
# reused, and left running: test/kind/run.sh down removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${HYPERAGENT_E2E_ON_KIND:-0}" = 1 ]; then
  bash test/kind/run.sh up
  # shellcheck source=/dev/null
  source .kind/env
else
  started_here=false
  bash test/cluster/cluster.sh running || started_here=true
  if $started_here && [ "${HYPERAGENT_KEEP_CLUSTER:-0}" != 1 ]; then
    trap 'bash test/cluster/cluster.sh down' EXIT
  fi
  bash test/cluster/cluster.sh up
  # shellcheck source=/dev/null
  source .cluster/env
fi
# the chart the cluster was just installed with must also pass Helm's own checks
bash test/lint-chart.sh
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test/e2e -name '*.test.ts' | sort); fi
# 20 minutes a file: the demo scenario alone takes about 12 (two 60 s measurements of p99, four
# sandbox evaluations two at a time, two canaries, then an incident healed by a third), and a
# file's time includes its cleanup; one CI run on a loaded node needed more than 15
node --import tsx --test --test-concurrency=1 --test-timeout=1200000 "${files[@]}"
