#!/usr/bin/env bash
# Builds Kubernetes binaries from Go modules at a pinned version and caches them outside the repo.
#
#   test/cluster/build-k8s.sh [component ...]     (default: kube-apiserver kubectl)
#
# Prints the directory holding the binaries on its last line. A component already in the cache is
# not rebuilt, so a second run is instant; the Go module and build caches make a rebuild after a
# version bump incremental.
#
# Why a wrapper module: k8s.io/kubernetes requires its staging modules (k8s.io/api, client-go, ...)
# at v0.0.0 with local replace directives, so `go install k8s.io/kubernetes/cmd/...@v1.x` fails.
# A tiny module that requires k8s.io/kubernetes and replaces every staging module with its
# published v0.x tag builds the real commands unchanged.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver kubectl)

bin_dir="$HYPERAGENT_CACHE/k8s/$K8S_VERSION/bin"
src_dir="$HYPERAGENT_CACHE/k8s/$K8S_VERSION/src"
mkdir -p "$bin_dir" "$src_dir"

missing=()
for c in "${components[@]}"; do
  [ -x "$bin_dir/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin_dir"
  exit 0
fi

staging_minor="v0.${K8S_VERSION#v1.}"
# kubeadm is built only for the kind node image (test/kind); a wrapper module prepared before it
# was pinned is prepared again.
pinned=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm)
if [ ! -f "$src_dir/go.sum" ] || ! grep -q '"k8s.io/kubernetes/cmd/kubeadm"' "$src_dir/tools.go"; then
  echo "build-k8s: preparing wrapper module for k8s.io/kubernetes $K8S_VERSION" >&2
  (
    cd "$src_dir"
    rm -f go.mod go.sum tools.go
    go mod init hyperagent.local/k8s-binaries >/dev/null 2>&1
    go mod edit -go=1.23.0
    go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod
    # every staging module that upstream replaces with ./staging/... gets its published tag
    for m in $(grep -E '=> \./staging/' "$modfile" | awk '{print $1}'); do
      go mod edit -replace="$m=$m@$staging_minor"
    done
    {
      echo '//go:build tools'
      echo
      echo '// Package tools pins the commands this module builds, so `go mod tidy` keeps them.'
      echo 'package tools'
      echo
      echo 'import ('
      for c in "${pinned[@]}"; do
        echo "	_ \"k8s.io/kubernetes/cmd/$c\""
      done
      echo ')'
    } > tools.go
    go mod tidy >&2
  )
fi

ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"

for c in "${missing[@]}"; do
  echo "build-k8s: building $c $K8S_VERSION (first build takes many minutes on 2 cores)" >&2
  start=$(date +%s)
  (cd "$src_dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv "$bin_dir/$c.tmp" "$bin_dir/$c"
  echo "build-k8s: $c built in $(( $(date +%s) - start ))s" >&2
done
echo "$bin_dir"
