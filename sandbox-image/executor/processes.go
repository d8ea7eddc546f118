package main

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// The candidate's processes are bounded here, in its own container, whatever the node's pid
// limit: a pod cannot read its pod-level pids.max (the cgroup namespace hides it), and the operator
// could read the kubelet's podPidsLimit only through nodes/proxy, a right that also reaches every
// pod's exec. Above the limit a fork bomb is assumed and every candidate process is killed at once.

// defaultProcessLimit is how many processes the candidate may have at once when the judge does
// not say: ample for a build or a test runner in a sandbox of a few hundred millicores.
const defaultProcessLimit = 512

// processPoll is how often the count is taken while a command or a service runs.
const processPoll = 20 * time.Millisecond

// processWatch counts the container's processes while something of the candidate runs.
type processWatch struct {
	limit    int
	done     chan struct{}
	finished chan struct{}
	tripped  atomic.Bool
}

// watchProcesses starts counting; only as init, where /proc lists the container's processes alone.
func watchProcesses(limit int) *processWatch {
	if limit <= 0 {
		limit = defaultProcessLimit
	}
	watch := &processWatch{limit: limit, done: make(chan struct{}), finished: make(chan struct{})}
	if os.Getpid() != 1 {
		close(watch.finished)
		return watch
	}
	go func() {
		defer close(watch.finished)
		ticker := time.NewTicker(processPoll)
		defer ticker.Stop()
		for {
			select {
			case <-watch.done:
				return
			case <-ticker.C:
				// Once over the limit, every round kills again: a process in the middle of a fork
				// when the first signal went out leaves a child that carries on.
				if watch.tripped.Load() {
					_ = syscall.Kill(-1, syscall.SIGKILL)
				} else if count := countProcesses(); count > limit {
					watch.tripped.Store(true)
					_ = syscall.Kill(-1, syscall.SIGKILL)
					fmt.Fprintf(os.Stdout, "[executor] %d processes, more than the limit of %d: killing them all\n", count, limit)
				}
			}
		}
	}()
	return watch
}

// end stops the count; the limit when it was exceeded, else 0.
func (watch *processWatch) end() int {
	select {
	case <-watch.done:
	default:
		close(watch.done)
	}
	<-watch.finished
	if watch.tripped.Load() {
		return watch.limit
	}
	return 0
}

// countProcesses counts the entries of /proc that are processes, this one excluded. Zombies
// count: they hold a pid until reaped.
func countProcesses() int {
	directory, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer directory.Close()
	names, err := directory.Readdirnames(-1)
	if err != nil {
		return 0
	}
	count := 0
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil && pid != 1 {
			count++
		}
	}
	return count
}
