#!/usr/bin/env bash
# Makes a Docker daemon available to build the test images, and stops it again afterwards.
#
#   test/cluster/docker.sh ensure STATE_DIR   installs docker.io if dockerd is missing, starts dockerd
#                                             in the background unless `docker info` already works
#   test/cluster/docker.sh stop STATE_DIR     stops the dockerd that `ensure` started, if any
#   test/cluster/docker.sh ensure-privileged STATE_DIR
#                                             ensure, then make `docker run --privileged` work (kind
#                                             runs its nodes so): where it fails for want of
#                                             capabilities this machine does not have, the dockerd
#                                             we started is restarted with test/kind's runtime that
#                                             trims them (test/kind/runc-fit-capabilities)
#
# Why: the test machines have no systemd (PID 1 is something else), so nothing starts dockerd for
# us. A dockerd we start records its pid in STATE_DIR/pids/dockerd.pid and logs to
# STATE_DIR/logs/dockerd.log; a Docker that was already running is never recorded, so `stop` leaves
# it alone. dockerd runs its own managed containerd (under /var/run/docker/containerd), which does
# not collide with a containerd the node harness runs on the default socket. Both commands are
# idempotent.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readonly here
readonly start_timeout_s=60
readonly stop_timeout_s=30

usage() {
  echo "usage: docker.sh ensure|stop STATE_DIR" >&2
  exit 2
}

log() { echo "docker.sh: $*" >&2; }

docker_works() { docker info >/dev/null 2>&1; }

# Prints the pid recorded in the pid file when that process is still a running dockerd.
recorded_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  echo "$pid"
}

# Waits until no pid of the list is alive; returns 1 when the timeout passes first.
wait_gone() { # timeout_s pid...
  local deadline=$(($(date +%s) + $1)) pid alive
  shift
  while :; do
    alive=0
    for pid in "$@"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

start_dockerd() { # state_dir [dockerd option...]
  local logfile="$1/logs/dockerd.log" pidfile="$1/pids/dockerd.pid" pid
  mkdir -p "$1/logs" "$1/pids"
  log "starting dockerd ${*:2} (log: $logfile)"
  # setsid: the daemon outlives this script and its terminal.
  setsid dockerd "${@:2}" >>"$logfile" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "$pid" "$logfile"
}

wait_ready() { # pid logfile
  local deadline=$(($(date +%s) + start_timeout_s))
  until docker_works; do
    if ! kill -0 "$1" 2>/dev/null; then
      fail_start "dockerd exited" "$2"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail_start "dockerd not ready after ${start_timeout_s}s" "$2"
    fi
    sleep 0.5
  done
  log "dockerd ready (pid $1)"
}

fail_start() { # message logfile
  log "$1; last lines of $2:"
  tail -n 30 "$2" >&2 || true
  exit 1
}

ensure() { # state_dir
  "$here/install-deps.sh" dockerd docker
  if docker_works; then
    return 0
  fi
  if recorded_pid "$1/pids/dockerd.pid" >/dev/null; then
    # Ours, still starting up (or wedged): wait for it rather than start a second one.
    wait_ready "$(recorded_pid "$1/pids/dockerd.pid")" "$1/logs/dockerd.log"
    return 0
  fi
  start_dockerd "$1"
}

stop() { # state_dir
  local pidfile="$1/pids/dockerd.pid" pid children
  if ! pid=$(recorded_pid "$pidfile"); then
    rm -f "$pidfile"
    return 0
  fi
  # dockerd stops its managed containerd itself on SIGTERM; wait for both to be gone.
  children=$(ps -o pid= --ppid "$pid" | tr -s ' \n' ' ')
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # shellcheck disable=SC2086 # children is a list of pids
  if ! wait_gone "$stop_timeout_s" "$pid" $children; then
    log "dockerd did not stop within ${stop_timeout_s}s; killing it"
    # shellcheck disable=SC2086
    kill -KILL "$pid" $children 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 "$pid" $children || true
  fi
  rm -f "$pidfile"
}

readonly fit_runtime=$here/../kind/runc-fit-capabilities

# Prints why a privileged container cannot start for want of capabilities, or nothing when it can.
# The probe runs any image already here (none is pulled; test/cluster/base-images.sh makes
# debian:bookworm-slim): the capabilities are applied before the command runs, so a command the
# image lacks still shows they were granted. With no image there is nothing to probe yet.
privileged_failure() {
  local image output
  image=$(docker image ls --filter dangling=false --format '{{.Repository}}:{{.Tag}}' debian:bookworm-slim | sed -n 1p)
  # sed reads the whole list: head would close the pipe early and fail it under pipefail
  [ -n "$image" ] || image=$(docker image ls --filter dangling=false --format '{{.Repository}}:{{.Tag}}' | sed -n 1p)
  [ -n "$image" ] || return 0
  # only the error is wanted: stderr into the captured output, stdout discarded
  output=$({ docker run --rm --privileged --user 0:0 --entrypoint /bin/sh "$image" -c true >/dev/null; } 2>&1) || true
  case "$output" in
    *"apply caps"*) echo "$output" ;;
  esac
}

ensure_privileged() { # state_dir
  local failure
  ensure "$1"
  failure=$(privileged_failure)
  [ -n "$failure" ] || return 0
  recorded_pid "$1/pids/dockerd.pid" >/dev/null || {
    log "docker run --privileged fails ($failure) and this Docker was not started by docker.sh;"
    log "start dockerd with: --add-runtime fitcaps=$(realpath "$fit_runtime") --default-runtime fitcaps"
    exit 1
  }
  log "privileged containers ask for capabilities this machine lacks; restarting dockerd with a runtime that trims them"
  stop "$1"
  start_dockerd "$1" --add-runtime "fitcaps=$(realpath "$fit_runtime")" --default-runtime fitcaps
  failure=$(privileged_failure)
  [ -z "$failure" ] || { log "docker run --privileged still fails: $failure"; exit 1; }
}

main() {
  [ $# -eq 2 ] || usage
  case "$1" in
    ensure) ensure "$2" ;;
    ensure-privileged) ensure_privileged "$2" ;;
    stop) stop "$2" ;;
    *) usage ;;
  esac
}

main "$@"
