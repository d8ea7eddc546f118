#!/usr/bin/env bash
# Runs ShellCheck over every shell script of the project (warnings and errors).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null 2>&1 || bash test/cluster/install-deps.sh shellcheck
mapfile -t scripts < <(git ls-files '*.sh' .ci/run bin/kubectl-hyperagent test/kind/runc-fit-capabilities \
  test/kind/base/files/usr/local/bin/entrypoint)
shellcheck -x -P SCRIPTDIR -S warning "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
