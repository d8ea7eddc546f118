# shellcheck shell=bash
# Starting, finding and stopping the harness's background processes. Sourced by cluster.sh.
#
# Each daemon has a pid file in $CLUSTER_STATE/pids and a log in $CLUSTER_STATE/logs. A pid file
# holds the pid and the process's start time, and counts only while that same process lives, so a
# stale file left by a killed session never makes `up` skip a component or `down` kill an
# unrelated process that reused the pid.

log() { echo "cluster: $*" >&2; }

start_time_of() { # PID -> clock ticks after boot at which it started (field 22 of /proc/PID/stat)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) } # the command name may hold spaces; fields after it do not
  echo "$stat" | awk '{print $20}'
}

pid_of() { # NAME -> prints the live pid or nothing
  local file="$CLUSTER_STATE/pids/$1.pid" pid started
  [ -f "$file" ] || return 0
  read -r pid started < "$file" || true
  if [ -n "${pid:-}" ] && [ "$(start_time_of "$pid")" = "${started:-}" ]; then
    echo "$pid"
  fi
}

is_running() { [ -n "$(pid_of "$1")" ]; }

started_at() { cat "$CLUSTER_STATE/pids/$1.started" 2>/dev/null || true; } # NAME -> when `start_daemon` last started it

# command_signature COMMAND...: the command line, plus size and modification time of every
# argument that is a file. Config files are replaced only when their content changes
# (write_if_changed), so an unchanged file keeps its signature.
command_signature() {
  printf '%q ' "$@"
  local arg
  for arg in "$@"; do
    if [ -f "$arg" ]; then stat -L -c ' %n:%s:%Y' "$arg"; fi
  done
}

# start_daemon NAME COMMAND...: runs COMMAND in the background unless NAME already runs.
start_daemon() {
  local name=$1
  shift
  # What the daemon was started with is remembered, so an `up` with changed flags, or a changed
  # file among its arguments (config, certificate, kubeconfig, binary), restarts it.
  local signature_file="$CLUSTER_STATE/pids/$name.cmd" signature
  signature=$(command_signature "$@")
  if is_running "$name"; then
    if [ "$(cat "$signature_file" 2>/dev/null)" = "$signature" ]; then
      log "$name already running (pid $(pid_of "$name"))"
      return 0
    fi
    log "$name: command line or one of its files changed; restarting"
    stop_daemon "$name"
  fi
  mkdir -p "$CLUSTER_STATE/pids" "$CLUSTER_STATE/logs"
  echo "$signature" > "$signature_file"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$CLUSTER_STATE/pids/$name.started"
  log "starting $name"
  # setsid: the daemon outlives this script and gets no terminal signals meant for it
  setsid "$@" >> "$CLUSTER_STATE/logs/$name.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid $(start_time_of "$pid")" > "$CLUSTER_STATE/pids/$name.pid"
  sleep 0.3
  if ! is_running "$name"; then
    log "$name exited at once; last lines of $CLUSTER_STATE/logs/$name.log:"
    tail -20 "$CLUSTER_STATE/logs/$name.log" >&2
    return 1
  fi
}

# start_in_netns NAMESPACE NAME COMMAND...: like start_daemon, inside a network namespace.
start_in_netns() {
  local netns=$1
  shift
  local name=$1
  shift
  start_daemon "$name" ip netns exec "$netns" "$@"
}

stop_daemon() { # NAME [SECONDS]
  local name=$1 grace=${2:-15} pid
  pid=$(pid_of "$name")
  rm_pid() { rm -f "$CLUSTER_STATE/pids/$name.pid"; }
  if [ -z "$pid" ]; then
    rm_pid
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt $((grace * 10)) ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in ${grace}s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm_pid
}

# wait_for WHAT SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge "$deadline" ]; then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}
