#!/usr/bin/env bash
# Unit tests: pure logic, no cluster. Test files sit beside the code they test. The demo's
# reference service (examples/quote-service) has its own suite, run from its directory as the
# sandbox runs it; it resolves its packages from the root node_modules when it has none. So has the
# Python reference service (examples/rates-service, pytest), skipped when this machine lacks pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find operator/src sandbox-image/runner test/unit -name '*.test.ts' 2>/dev/null | sort)
node --import tsx --test "${files[@]}"
(cd examples/quote-service && node --import tsx --test test/*.test.ts)
if command -v python3 >/dev/null 2>&1 && python3 -c 'import pytest' 2>/dev/null; then
  (cd examples/rates-service && PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q)
else
  echo "run-unit: SKIPPED examples/rates-service's tests: no python3 with pytest here (apt-get install python3-pytest)" >&2
fi
