#!/usr/bin/env bash
# Builds the pod sandbox image localhost:5001/pause:$PAUSE_VERSION (port: $LOCAL_REGISTRY_PORT)
# without a container registry.
#
#   test/cluster/pause-image.sh        prints the image reference on its last line
#
# Why: kubelet/containerd need a pause image and registry.k8s.io is unreachable from the test
# machines. The source ships in the k8s.io/kubernetes Go module (build/pause/linux/pause.c), which
# the Go module proxy serves, so we compile it as upstream's Makefile does (gcc -Os -Wall -Werror
# -static -DVERSION=v<tag>-<rev>, then strip) and put the binary in a FROM scratch image
# (test/cluster/images/pause/Dockerfile). The binary is cached under $HYPERAGENT_CACHE/pause/ and
# the image carries a hash of its inputs, so a rerun does nothing. Requires a running Docker daemon.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=image-lib.sh
source "$here/image-lib.sh"

readonly image="localhost:${LOCAL_REGISTRY_PORT:-5001}/pause:$PAUSE_VERSION"
readonly version_string="v$PAUSE_VERSION-hyperagent"
readonly dockerfile="$here/images/pause/Dockerfile"
readonly binary="$HYPERAGENT_CACHE/pause/$K8S_VERSION/pause-$PAUSE_VERSION"

log() { echo "pause-image: $*" >&2; }

# gcc, strip and the static C library (libc.a, from libc6-dev).
ensure_toolchain() {
  "$here/install-deps.sh" gcc strip
  if [ ! -f "$(gcc -print-file-name=libc.a)" ]; then
    "$here/install-deps.sh" libc6-dev
  fi
}

pause_source() {
  local dir
  dir=$(cd "$HOME" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$dir/build/pause/linux/pause.c" ] || {
    log "no build/pause/linux/pause.c in k8s.io/kubernetes@$K8S_VERSION ($dir)"
    exit 1
  }
  echo "$dir/build/pause/linux/pause.c"
}

build_binary() {
  local src tmp
  ensure_toolchain
  src=$(pause_source)
  mkdir -p "$(dirname "$binary")"
  tmp="$binary.tmp"
  log "compiling $src ($version_string)"
  gcc -Os -Wall -Werror -static "-DVERSION=$version_string" -o "$tmp" "$src"
  strip "$tmp"
  mv "$tmp" "$binary"
}

build_image() { # inputs
  local context
  context=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: context is local
  trap "rm -rf '$context'" EXIT
  cp "$dockerfile" "$context/Dockerfile"
  cp "$binary" "$context/pause"
  log "building $image"
  quiet_build --label "$INPUTS_LABEL=$1" -t "$image" "$context"
}

verify_image() {
  local reported
  reported=$(docker run --rm "$image" -v)
  [ "$reported" = "pause.c $version_string" ] || {
    log "$image reports '$reported', expected 'pause.c $version_string'"
    exit 1
  }
  log "$image: $reported"
}

main() {
  local inputs
  [ -x "$binary" ] || build_binary
  inputs=$(cat "$binary" "$dockerfile" | sha)
  if [ "$(inputs_label_of "$image")" = "$inputs" ]; then
    log "$image is up to date"
  else
    build_image "$inputs"
    verify_image
  fi
  echo "$image"
}

main "$@"
