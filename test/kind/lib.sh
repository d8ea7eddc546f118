# shellcheck shell=bash
# Image helpers of the kind path (test/kind): small images around one binary, rebuilt only when what
# they are made of changed. Sourced, not run; the caller sets cluster_dir.
# shellcheck disable=SC2154 # cluster_dir is the caller's
# shellcheck source=../cluster/image-lib.sh
source "$cluster_dir/image-lib.sh"

readonly debian_image=debian:bookworm-slim

# Builds IMAGE from a generated Dockerfile and the files given, unless an image with the same
# inputs exists.
build_image() { # image dockerfile-text file...
  local image=$1 dockerfile=$2 context inputs
  shift 2
  inputs=$({ echo "$dockerfile"; docker image inspect -f '{{.Id}}' "$debian_image"; sha256sum "$@" | cut -c1-64; } | sha)
  [ "$(inputs_label_of "$image")" = "$inputs" ] && return 0
  log "building $image"
  context=$(mktemp -d)
  cp "$@" "$context/"
  echo "$dockerfile" >"$context/Dockerfile"
  quiet_build --label "$INPUTS_LABEL=$inputs" -t "$image" "$context"
  rm -rf "$context"
}

# A static binary alone in an image, on PATH, as Kubernetes' own images are.
binary_image() { # image binary [entrypoint]
  build_image "$1" "FROM scratch
COPY $(basename "$2") /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin${3:+
ENTRYPOINT [\"/usr/local/bin/$3\"]}" "$2"
}

# A binary that runs iptables, ipset or ip: Debian's tools beside it.
tools_image() { # image binary
  build_image "$1" "FROM $debian_image
RUN apt-get update && apt-get install -y --no-install-recommends iptables ipset conntrack iproute2 \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY $(basename "$2") /usr/local/bin/" "$2"
}

