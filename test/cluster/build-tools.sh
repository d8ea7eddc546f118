#!/usr/bin/env bash
# Builds the cluster add-ons that no reachable package repository ships, from their Go modules at
# pinned versions, and caches each binary by name and version outside the repo.
#
#   test/cluster/build-tools.sh [tool ...]     (default: every tool below)
#
# Prints the directory holding the binaries on its last line. A cached tool is not rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

# tool name -> "go package@version"; the version is part of the cache path, so a bump rebuilds.
declare -A package_of=(
  [coredns]="github.com/coredns/coredns@$COREDNS_VERSION"
  [kube-router]="github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  [registry]="github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
  [helm]="helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  [crictl]="sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  # the chart's manifest linter (schemas come from the cluster's own OpenAPI: no download)
  [kubeconform]="github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  # Debian's prometheus package is built without Kubernetes service discovery
  # ("field kubernetes_sd_configs not found"), so the harness builds the upstream server.
  [prometheus]="github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION"
  # the Gateway API implementation (built from its module's source, see module_source_of)
  [traefik]="github.com/traefik/traefik/v3/cmd/traefik@$TRAEFIK_VERSION"
  # for the kind path only (test/kind), so not among the defaults below
  [kind]="sigs.k8s.io/kind@$KIND_VERSION"
  [local-path-provisioner]="github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
)
# `go install pkg@version` refuses modules whose go.mod has replace directives (Traefik replaces
# three dependencies with its own forks). These are built inside a copy of their module's source,
# where the replace directives apply: tool name -> "module@version".
declare -A module_source_of=(
  [traefik]="github.com/traefik/traefik/v3@$TRAEFIK_VERSION"
)
# Extra linker flags so the tools report their real version.
declare -A ldflags_of=(
  [helm]="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  [registry]="-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION"
  [kube-router]="-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
  [crictl]="-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
  [prometheus]="-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
  [traefik]="-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
  [local-path-provisioner]="-X main.VERSION=$LOCAL_PATH_PROVISIONER_VERSION"
)

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(coredns kube-router registry helm crictl prometheus kubeconform traefik)

bin_dir="$HYPERAGENT_CACHE/tools/bin"
mkdir -p "$bin_dir"
for tool in "${tools[@]}"; do
  pkg=${package_of[$tool]:?"build-tools: unknown tool $tool"}
  version=${pkg##*@}
  target="$bin_dir/$tool-$version"
  if [ ! -x "$target" ]; then
    echo "build-tools: building $pkg" >&2
    start=$(date +%s)
    gobin=$(mktemp -d)
    flags="-s -w ${ldflags_of[$tool]:-}"
    if [ -n "${module_source_of[$tool]:-}" ]; then
      # the module cache is read-only: build in a writable copy, the package path relative to it
      dir=$(cd "$gobin" && go mod download -json "${module_source_of[$tool]}" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [ -d "$dir" ] || { echo "build-tools: cannot download ${module_source_of[$tool]}" >&2; exit 1; }
      cp -r "$dir" "$gobin/src"
      chmod -R u+w "$gobin/src"
      package_dir=${pkg%@*}
      package_dir=./${package_dir#"${module_source_of[$tool]%@*}"/}
      (cd "$gobin/src" && CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$gobin/$tool" "$package_dir") >&2
      rm -rf "$gobin/src"
    else
      CGO_ENABLED=0 GOBIN="$gobin" go install -trimpath -ldflags "$flags" "$pkg" >&2
    fi
    mv "$gobin"/* "$target"
    rmdir "$gobin"
    echo "build-tools: $tool $version built in $(( $(date +%s) - start ))s" >&2
  fi
  # a stable name for scripts; the versioned file is the cache entry
  ln -sf "$tool-$version" "$bin_dir/$tool"
done
echo "$bin_dir"
