# Pinned versions of everything the test harness builds or installs. Bumping one invalidates its cache.
export K8S_VERSION="${K8S_VERSION:-v1.33.13}"
export HYPERAGENT_CACHE="${HYPERAGENT_CACHE:-$HOME/.cache/hyperagent}"
