#!/usr/bin/env bash
# Builds every image the test cluster runs, offline, with the local Docker daemon:
#   the base images (debian:bookworm-slim, node:20-bookworm-slim; test/cluster/base-images.sh),
#   the pod sandbox image (test/cluster/pause-image.sh),
#   the operator from the project's own Dockerfile, the demo's reference service
#   (examples/quote-service), the Python reference service (examples/rates-service, also its own
#   toolchain image) and the e2e fixtures (test/e2e/images/*).
#
#   test/cluster/build-images.sh [STATE_DIR]
#
# Prints the references of the images to push to the local registry, one per line, on stdout;
# progress goes to stderr. Pushing is the cluster harness's job (test/cluster/cluster.sh).
# STATE_DIR (default $HYPERAGENT_CLUSTER_STATE or /var/lib/hyperagent-cluster, as cluster.sh) is
# where a dockerd started here keeps its pid file and log; see test/cluster/docker.sh.
# Docker's layer cache makes a rerun without changes take a few seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
readonly here repo
# shellcheck source=image-lib.sh
source "$here/image-lib.sh"
readonly registry="localhost:${LOCAL_REGISTRY_PORT:-5001}"
readonly echo_dir="$repo/test/e2e/images/echo"
readonly quote_dir="$repo/test/e2e/images/quote"
readonly faults_dir="$repo/test/e2e/images/echo-faults"
readonly service_dir="$repo/examples/quote-service"
readonly rates_dir="$repo/examples/rates-service"

log() { echo "build-images: $*" >&2; }

# Runs a step, reporting how long it took.
timed() { # name command...
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name done in $((SECONDS - start))s"
}

build() { # image context
  log "building $1"
  quiet_build -t "$1" "$2"
}

package_version() { # dir
  node -p "require('$1/package.json').version"
}

# The version in DIR/VERSION (a Python project has no package.json), checked so a stray line or an
# empty file cannot make an unpinned or malformed image reference.
file_version() { # dir
  local version
  version=$(tr -d '[:space:]' <"$1/VERSION")
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
    log "$1/VERSION must hold a version such as 1.0.0, got '$version'"
    exit 1
  }
  echo "$version"
}

main() {
  local state_dir=${1:-${HYPERAGENT_CLUSTER_STATE:-/var/lib/hyperagent-cluster}}
  local operator_image sandbox_image echo_image faults_image quote_image service_image rates_image pause_image
  operator_image="$registry/hyperagent-operator:$(package_version "$repo")"
  sandbox_image="$registry/hyperagent-sandbox:$(package_version "$repo")"
  echo_image="$registry/hyperagent-e2e-echo:$(package_version "$echo_dir")"
  faults_image="$registry/hyperagent-e2e-echo-faults:$(package_version "$faults_dir")"
  quote_image="$registry/hyperagent-e2e-quote:$(package_version "$quote_dir")"
  service_image="$registry/quote-service:$(package_version "$service_dir")"
  rates_image="$registry/rates-service:$(file_version "$rates_dir")"
  timed docker "$here/docker.sh" ensure "$state_dir"
  timed base-images "$here/base-images.sh"
  pause_image=$(timed pause-image "$here/pause-image.sh" | tail -n 1)
  timed operator build "$operator_image" "$repo"
  log "building $sandbox_image"
  timed sandbox quiet_build -t "$sandbox_image" -f "$repo/sandbox-image/Dockerfile" "$repo"
  timed echo build "$echo_image" "$echo_dir"
  log "building $faults_image"
  timed echo-faults quiet_build -t "$faults_image" --build-arg ECHO_IMAGE="$echo_image" "$faults_dir"
  timed quote build "$quote_image" "$quote_dir"
  timed quote-service build "$service_image" "$service_dir"
  timed rates-service build "$rates_image" "$rates_dir"
  printf '%s\n' "$pause_image" "$operator_image" "$sandbox_image" "$echo_image" "$faults_image" "$quote_image" \
    "$service_image" "$rates_image"
}

main "$@"
