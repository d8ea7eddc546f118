#!/usr/bin/env bash
# Runs a command against a fresh loopback control plane with the project's CRDs installed, then
# stops the control plane whatever the command's outcome.
#   test/cluster/with-control-plane.sh COMMAND [ARGS...]
# The command sees KUBECONFIG, HYPERAGENT_K8S_BIN (kubectl, kube-apiserver...) and PATH with them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

"$here/install-deps.sh" etcd curl openssl
bin=$("$here/build-k8s.sh" kube-apiserver kube-controller-manager kubectl | tail -n 1)
dir=$(mktemp -d "${TMPDIR:-/tmp}/hyperagent-cp.XXXXXX")
trap '"$here/control-plane.sh" stop "$dir"' EXIT INT TERM
echo "with-control-plane: starting etcd, kube-apiserver and kube-controller-manager in $dir" >&2
"$here/control-plane.sh" start "$dir" >/dev/null

export KUBECONFIG="$dir/kubeconfig"
export HYPERAGENT_K8S_BIN="$bin"
export PATH="$bin:$PATH"
kubectl apply -f "$root/crds/" >/dev/null
kubectl wait --for condition=established crd/hyperagents.hyperagents.io crd/improvementcycles.hyperagents.io \
  --timeout=60s >/dev/null
echo "with-control-plane: ready ($(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'))" >&2
set +e
"$@"
status=$?
set -e
exit $status
