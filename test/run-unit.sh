#!/usr/bin/env bash
# Unit tests: pure logic, no cluster. Test files sit beside the code they test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find operator/src sandbox-image/runner test/unit -name '*.test.ts' 2>/dev/null | sort)
exec node --import tsx --test "${files[@]}"
