#!/usr/bin/env bash
# Integration tests against a real kube-apiserver (etcd, apiserver and controller-manager on
# loopback, built from Go modules on first use and cached in ~/.cache/hyperagent).
#   test/run-integration.sh [test files...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test/integration -name '*.test.ts' | sort); fi
exec bash test/cluster/with-control-plane.sh node --import tsx --test --test-concurrency=1 "${files[@]}"
