# shellcheck shell=bash
# Helpers shared by the scripts that build images with Docker. Sourced, not run.

# The label under which an image records the hash of what it was built from, so a rerun with the
# same inputs does nothing.
readonly INPUTS_LABEL=io.hyperagent.inputs

sha() { sha256sum | cut -c1-64; }

# docker build, showing its output only when it fails: the legacy builder's step log is long, and
# it warns that it is deprecated on every run (buildx is not installed on the test machines).
quiet_build() { # docker build arguments...
  local output
  output=$(docker build "$@" 2>&1) || {
    echo "$output" | tail -n 40 >&2
    echo "docker build $* failed" >&2
    exit 1
  }
}

inputs_label_of() { # image -> the input hash it was built from, or nothing
  docker image inspect -f "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$1" 2>/dev/null || true
}
