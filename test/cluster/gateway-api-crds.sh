#!/usr/bin/env bash
# Prints the directory holding the Gateway API's standard-channel CRDs at $GATEWAY_API_VERSION,
# copied once from the sigs.k8s.io/gateway-api Go module (the Go proxy serves it; its release
# downloads are not reachable offline) into $HYPERAGENT_CACHE.
#
#   test/cluster/gateway-api-crds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

cached=$HYPERAGENT_CACHE/gateway-api/$GATEWAY_API_VERSION/standard
if [ ! -d "$cached" ]; then
  module_dir=$(cd / && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$module_dir/config/crd/standard" ] || {
    echo "gateway-api-crds: cannot download the Gateway API $GATEWAY_API_VERSION module" >&2
    exit 1
  }
  mkdir -p "$cached.tmp"
  cp "$module_dir"/config/crd/standard/*.yaml "$cached.tmp/"
  chmod u+w "$cached.tmp"/*.yaml
  mv "$cached.tmp" "$cached"
fi
echo "$cached"
