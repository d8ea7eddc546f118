package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// serviceSlot holds the one background process the judge may have running at a time: the service
// it measures from outside, or a dependency stand-in. Stopping it stops every process of the
// container, as the end of a command does.
type serviceSlot struct {
	mutex    sync.Mutex
	cmd      *exec.Cmd
	stdout   *tail
	stderr   *tail
	copying  *sync.WaitGroup
	exited   chan struct{}
	watch    *processWatch
	state    *os.ProcessState
	startErr string
}

func (slot *serviceSlot) running() bool {
	slot.mutex.Lock()
	defer slot.mutex.Unlock()
	return slot.cmd != nil
}

// start launches the request's command in its own process group and returns at once.
func (slot *serviceSlot) start(source string, request Request) Answer {
	slot.mutex.Lock()
	defer slot.mutex.Unlock()
	if slot.cmd != nil {
		return Answer{Error: "a service is already running"}
	}
	if len(request.Argv) == 0 {
		return Answer{Error: "start without argv"}
	}
	tailBytes := request.TailBytes
	if tailBytes <= 0 || tailBytes > 4<<20 {
		tailBytes = 64 << 10
	}
	started, err := launch(source, request, tailBytes, "start ")
	if err != nil {
		return Answer{Error: err.Error()}
	}
	slot.stdout, slot.stderr, slot.copying = started.stdout, started.stderr, started.copying
	if started.startErr != nil {
		started.closeReaders()
		return Answer{Ok: true, SpawnError: started.startErr.Error()}
	}
	cmd := started.cmd
	slot.cmd = cmd
	slot.watch = watchProcesses(request.ProcessLimit)
	slot.exited = make(chan struct{})
	go func(exited chan struct{}) {
		state, _ := cmd.Process.Wait()
		slot.mutex.Lock()
		slot.state = state
		slot.mutex.Unlock()
		close(exited)
	}(slot.exited)
	return Answer{Ok: true}
}

// stop ends the service and everything else in the container, and tells whether it had ended on
// its own before (a crash the judge should report), with the tail of its output.
func (slot *serviceSlot) stop() Answer {
	slot.mutex.Lock()
	cmd := slot.cmd
	exited := slot.exited
	watch := slot.watch
	slot.mutex.Unlock()
	if cmd == nil {
		return Answer{Error: "no service is running"}
	}
	answer := Answer{Ok: true, ProcessLimit: watch.end()}
	select {
	case <-exited:
		answer.Ended = true
	default:
	}
	slot.mutex.Lock()
	state := slot.state
	slot.mutex.Unlock()
	if answer.Ended && state != nil {
		if status, ok := state.Sys().(syscall.WaitStatus); ok {
			if status.Signaled() {
				answer.Signal = signalName(status.Signal())
			} else {
				code := status.ExitStatus()
				answer.ExitCode = &code
			}
		}
	}
	stopOthers()
	if os.Getpid() != 1 {
		killGroup(cmd.Process.Pid)
	}
	select {
	case <-exited:
	case <-time.After(drainWait):
	}
	waitBounded(slot.copying)
	answer.Stdout = base64.StdEncoding.EncodeToString(slot.stdout.bytes())
	answer.Stderr = base64.StdEncoding.EncodeToString(slot.stderr.bytes())
	answer.OutputBytes = slot.stdout.total + slot.stderr.total
	fmt.Fprintf(os.Stdout, "[executor] <<< stopped the service (ended on its own before: %v)\n", answer.Ended)
	slot.mutex.Lock()
	slot.cmd = nil
	slot.mutex.Unlock()
	return answer
}
