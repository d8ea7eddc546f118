#!/usr/bin/env bash
# Installs the Debian packages the test harness needs when they are missing (fresh machines, CI).
#   test/cluster/install-deps.sh etcd [...]
set -euo pipefail
declare -A package_of=([etcd]=etcd-server [curl]=curl [openssl]=openssl [dockerd]=docker.io [docker]=docker.io [envsubst]=gettext-base [strip]=binutils)
wanted=()
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 || wanted+=("${package_of[$tool]:-$tool}")
done
[ ${#wanted[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${wanted[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# apt's progress is kept out of the way and shown only when something fails
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${wanted[@]}"; } > "$log" 2>&1; then
  tail -n 30 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
