#!/usr/bin/env bash
# Builds a kind node image offline, from Debian's packages and Go modules, the way kind's own base
# and node images are made (a systemd + containerd base, then Kubernetes and its images preloaded
# into the node's containerd), so `kind create cluster --image` works on a machine with no registry.
#
#   test/kind/node-image.sh        prints the node image reference on its last line
#
# What goes in:
#   base      test/kind/base (Dockerfile, entrypoint, units, containerd configuration) FROM the
#             harness's debootstrap-made debian:bookworm-slim
#   binaries  kubeadm, kubelet, kubectl at $K8S_VERSION (test/cluster/build-k8s.sh)
#   images    every image `kubeadm config images list` names: kube-apiserver, -controller-manager,
#             -scheduler and -proxy from the same binaries, etcd and CoreDNS built from their Go
#             modules at the versions kubeadm asks for, pause from the harness's build; and the
#             images of the default CNI (kube-router) and storage (local-path-provisioner)
#             manifests in test/kind/manifests
#
# Why not `kind build node-image`: it fetches etcd, CoreDNS, pause and its own kindnetd and storage
# images from their registries inside the build container, and kindnetd is not a Go module the
# proxy serves. Each image carries the label io.hyperagent.inputs (a hash of what it was built
# from), so a rerun with nothing changed takes seconds. Requires root and a running Docker
# (test/cluster/docker.sh ensure).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cluster_dir=$(cd "$here/../cluster" && pwd)
# shellcheck source=../cluster/versions.sh
source "$cluster_dir/versions.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"

readonly node_image="hyperagent.local/kind-node:$K8S_VERSION"
readonly base_image=hyperagent.local/kind-base:bookworm
readonly kube_router_image="hyperagent.local/kube-router:$KUBE_ROUTER_VERSION"
readonly provisioner_image="hyperagent.local/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION"
readonly cache="$HYPERAGENT_CACHE/kind"

log() { echo "node-image: $*" >&2; }

# etcd's server module replaces its sibling modules with local paths, so `go install` refuses it:
# a one-file module calling etcdmain builds the same server.
build_etcd() { # version -> binary path
  local binary="$cache/etcd-$1" dir
  if [ ! -x "$binary" ]; then
    log "building etcd $1 from go.etcd.io/etcd/server/v3"
    dir=$(mktemp -d)
    (
      cd "$dir"
      go mod init hyperagent.local/etcd >/dev/null 2>&1
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >main.go
      go mod edit -require="go.etcd.io/etcd/server/v3@$1"
      go mod tidy >&2
      CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .
    )
    rm -rf "$dir"
    mv "$binary.tmp" "$binary"
  fi
  echo "$binary"
}

build_coredns() { # version -> binary path
  local binary="$cache/coredns-$1" gobin
  if [ ! -x "$binary" ]; then
    log "building CoreDNS $1"
    gobin=$(mktemp -d)
    CGO_ENABLED=0 GOBIN="$gobin" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$1" >&2
    mv "$gobin/coredns" "$binary"
    rmdir "$gobin"
  fi
  echo "$binary"
}

# Makes every image kubeadm asks for, named as it names them; prints their names.
kubeadm_images() { # k8s_bin
  local image name tag bin
  for image in $("$1/kubeadm" config images list --kubernetes-version "$K8S_VERSION"); do
    name=${image%:*} tag=${image##*:}
    case "${name##*/}" in
      kube-apiserver | kube-controller-manager | kube-scheduler)
        bin=$(mktemp -d)
        cp "$1/${name##*/}" "$bin/"
        binary_image "$image" "$bin/${name##*/}"
        rm -rf "$bin"
        ;;
      kube-proxy)
        tools_image "$image" "$1/kube-proxy"
        ;;
      etcd)
        # kubeadm's tags are the etcd version with an image revision: 3.5.24-0
        bin=$(mktemp -d)
        cp "$(build_etcd "v${tag%-*}")" "$bin/etcd"
        binary_image "$image" "$bin/etcd"
        rm -rf "$bin"
        ;;
      coredns)
        bin=$(mktemp -d)
        cp "$(build_coredns "$tag")" "$bin/coredns"
        binary_image "$image" "$bin/coredns" coredns
        rm -rf "$bin"
        ;;
      pause)
        [ "$tag" = "$PAUSE_VERSION" ] || { log "kubeadm asks for pause $tag, the harness builds $PAUSE_VERSION"; exit 1; }
        docker tag "$("$cluster_dir/pause-image.sh" | tail -1)" "$image"
        ;;
      *)
        log "kubeadm asks for $image, which this script does not know how to build"
        exit 1
        ;;
    esac
    echo "$image"
  done
}

# The manifest kind applies, with the image names filled in.
manifest() { # file
  sed -e "s|\${KUBE_ROUTER_IMAGE}|$kube_router_image|g" \
    -e "s|\${LOCAL_PATH_PROVISIONER_IMAGE}|$provisioner_image|g" \
    -e "s|\${HELPER_IMAGE}|$debian_image|g" "$here/manifests/$1"
}

# Runs the base image, copies Kubernetes in, imports the images into its containerd (content only:
# containerd unpacks them when a pod first uses them) and commits the result: kind's own recipe.
# Debian's ctr 1.6 cannot pin images on import; kind's kubelet configuration never collects images
# (imageGCHighThresholdPercent 100), so they stay.
assemble_node() { # k8s_bin tools_bin inputs image...
  local k8s_bin=$1 tools_bin=$2 inputs=$3 build image file
  shift 3
  build=$(docker run -d --entrypoint sleep --security-opt seccomp=unconfined "$base_image" infinity)
  # shellcheck disable=SC2064 # the container's id is known now
  trap "docker rm -f -v $build >/dev/null 2>&1 || true" EXIT
  for file in kubeadm kubelet kubectl; do
    docker cp "$k8s_bin/$file" "$build:/usr/bin/$file"
  done
  docker cp "$tools_bin/crictl" "$build:/usr/local/bin/crictl"
  docker exec "$build" sh -c "echo $K8S_VERSION >/kind/version && mkdir -p /kind/manifests"
  for file in default-cni.yaml default-storage.yaml; do
    manifest "$file" | docker exec -i "$build" sh -c "cat >/kind/manifests/$file"
  done
  docker exec "$build" sh -c 'containerd >/tmp/containerd.log 2>&1 &'
  docker exec "$build" sh -c 'for i in $(seq 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
  for image in "$@"; do
    log "preloading $image"
    docker save "$image" |
      docker exec -i "$build" ctr --namespace k8s.io images import --no-unpack - >/dev/null
  done
  # sleep, PID 1 here, reaps nobody: containerd has ended when it is a zombie
  docker exec "$build" sh -c 'pkill -x containerd; while ps -o stat= -C containerd | grep -qv Z; do sleep 0.2; done'
  docker exec "$build" rm -f /etc/machine-id /tmp/containerd.log
  docker commit \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change 'CMD []' \
    --change "LABEL $INPUTS_LABEL=$inputs" \
    "$build" "$node_image" >/dev/null
}

main() {
  local k8s_bin tools_bin images inputs
  mkdir -p "$cache"
  "$cluster_dir/base-images.sh" >/dev/null
  k8s_bin=$("$cluster_dir/build-k8s.sh" kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl kubeadm | tail -1)
  tools_bin=$("$cluster_dir/build-tools.sh" kube-router local-path-provisioner crictl | tail -1)

  inputs=$({ docker image inspect -f '{{.Id}}' "$debian_image"; find "$here/base" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha)
  if [ "$(inputs_label_of "$base_image")" != "$inputs" ]; then
    log "building $base_image"
    quiet_build --label "$INPUTS_LABEL=$inputs" -t "$base_image" "$here/base"
  fi

  # a command substitution, not <(...): an image kubeadm_images cannot build must stop the script
  images=$(kubeadm_images "$k8s_bin")
  mapfile -t images <<<"$images"
  tools_image "$kube_router_image" "$tools_bin/kube-router"
  binary_image "$provisioner_image" "$tools_bin/local-path-provisioner"
  images+=("$kube_router_image" "$provisioner_image" "$debian_image")

  inputs=$({
    docker image inspect -f '{{.Id}}' "$base_image" "${images[@]}"
    sha256sum "$k8s_bin/kubeadm" "$k8s_bin/kubelet" "$k8s_bin/kubectl" "$tools_bin/crictl" "$here"/manifests/* "$0" | cut -c1-64
  } | sha)
  if [ "$(inputs_label_of "$node_image")" != "$inputs" ]; then
    log "assembling $node_image"
    assemble_node "$k8s_bin" "$tools_bin" "$inputs" "${images[@]}"
  fi
  echo "$node_image"
}

main "$@"
