package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// defaultTailBytes is kept of each output stream when the judge does not say.
const defaultTailBytes = 1 << 20

// drainWait bounds the wait for the output pipes once every process is gone.
const drainWait = 2 * time.Second

// runCommand runs one command in the source tree in its own process group, copies its output to
// the container's log and keeps the tail of each stream, and answers only after the command and
// everything it left behind have ended.
func runCommand(source string, request Request) Answer {
	if len(request.Argv) == 0 {
		return Answer{Error: "run without argv"}
	}
	tailBytes := request.TailBytes
	if tailBytes <= 0 || tailBytes > 4<<20 {
		tailBytes = defaultTailBytes
	}
	started, err := launch(source, request, tailBytes, "")
	if err != nil {
		return Answer{Error: err.Error()}
	}
	cmd, stdout, stderr := started.cmd, started.stdout, started.stderr
	if started.startErr != nil {
		stopOthers()
		waitBounded(started.copying)
		return Answer{Ok: true, SpawnError: started.startErr.Error(), DurationMs: time.Since(started.at).Milliseconds()}
	}

	watch := watchProcesses(request.ProcessLimit)
	var timedOut bool
	var timeoutMutex sync.Mutex
	timeout := time.Duration(request.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Hour
	}
	timer := time.AfterFunc(timeout, func() {
		timeoutMutex.Lock()
		timedOut = true
		timeoutMutex.Unlock()
		killAll(cmd.Process.Pid)
	})
	state, waitErr := cmd.Process.Wait()
	timer.Stop()
	duration := time.Since(started.at)
	processLimit := watch.end()

	lingering := len(liveOthers())
	stopOthers()
	if os.Getpid() != 1 {
		killGroup(cmd.Process.Pid)
	}
	waitBounded(started.copying)
	started.closeReaders()

	timeoutMutex.Lock()
	answer := Answer{Ok: true, TimedOut: timedOut, DurationMs: duration.Milliseconds(), Lingering: lingering, ProcessLimit: processLimit}
	timeoutMutex.Unlock()
	if waitErr != nil {
		answer.SpawnError = waitErr.Error()
	} else if status, ok := state.Sys().(syscall.WaitStatus); ok {
		if status.Signaled() {
			answer.Signal = signalName(status.Signal())
		} else {
			code := status.ExitStatus()
			answer.ExitCode = &code
		}
	}
	answer.Stdout = base64.StdEncoding.EncodeToString(stdout.bytes())
	answer.Stderr = base64.StdEncoding.EncodeToString(stderr.bytes())
	answer.OutputBytes = stdout.total + stderr.total
	fmt.Fprintf(os.Stdout, "[executor] <<< %s: exit %v signal %q timed out %v, %d ms, %d lingering process(es) killed\n",
		request.Name, exitText(answer.ExitCode), answer.Signal, answer.TimedOut, answer.DurationMs, lingering)
	return answer
}

// launched is a command started in its own process group, its output copied to the container's
// log while the tail of each stream is kept for the judge.
type launched struct {
	cmd      *exec.Cmd
	at       time.Time
	stdout   *tail
	stderr   *tail
	readers  [2]*os.File
	copying  *sync.WaitGroup
	startErr error
}

// launch starts the request's command in the source tree with the container's environment under
// the judge's; an error means the pipes could not be made (nothing started). A command that could
// not start is returned with startErr set and its copiers running until the pipes close.
func launch(source string, request Request, tailBytes int, label string) (*launched, error) {
	outRead, outWrite, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %v", err)
	}
	errRead, errWrite, err := os.Pipe()
	if err != nil {
		outRead.Close()
		outWrite.Close()
		return nil, fmt.Errorf("pipe: %v", err)
	}
	cmd := exec.Command(request.Argv[0], request.Argv[1:]...)
	cmd.Dir = source
	cmd.Env = mergeEnv(os.Environ(), request.Env)
	cmd.Stdout = outWrite
	cmd.Stderr = errWrite
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(os.Stdout, "[executor] >>> %s%s: %q\n", label, request.Name, request.Argv)
	started := &launched{
		cmd:     cmd,
		at:      time.Now(),
		stdout:  newTail(tailBytes),
		stderr:  newTail(tailBytes),
		readers: [2]*os.File{outRead, errRead},
		copying: &sync.WaitGroup{},
	}
	started.startErr = cmd.Start()
	outWrite.Close()
	errWrite.Close()
	started.copying.Add(2)
	go copyOutput(started.copying, outRead, started.stdout)
	go copyOutput(started.copying, errRead, started.stderr)
	return started, nil
}

// closeReaders ends copiers still waiting on a pipe whose writers are gone from the container.
func (started *launched) closeReaders() {
	started.readers[0].Close()
	started.readers[1].Close()
}

func exitText(code *int) string {
	if code == nil {
		return "none"
	}
	return strconv.Itoa(*code)
}

func copyOutput(done *sync.WaitGroup, from io.Reader, tail *tail) {
	defer done.Done()
	buffer := make([]byte, 32<<10)
	for {
		n, err := from.Read(buffer)
		if n > 0 {
			tail.write(buffer[:n])
			_, _ = os.Stdout.Write(buffer[:n])
		}
		if err != nil {
			return
		}
	}
}

func waitBounded(group *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		group.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainWait):
	}
}

// killAll stops the command on its timeout: as init, every process of the container; otherwise
// the command's process group.
func killAll(pid int) {
	if os.Getpid() == 1 {
		_ = syscall.Kill(-1, syscall.SIGKILL)
		return
	}
	killGroup(pid)
}

func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// stopOthers kills every other process of the container and reaps them, until none is left (or
// five seconds have passed: a process in uninterruptible sleep). Only as init: outside a PID
// namespace of its own, kill(-1) would reach every process of the uid on the machine.
func stopOthers() {
	if os.Getpid() != 1 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = syscall.Kill(-1, syscall.SIGKILL)
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.ECHILD) {
				return
			}
			if err == syscall.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveOthers lists the processes of the container besides this one that have not exited (zombies
// of processes that ended on their own do not count).
func liveOthers() []int {
	self := os.Getpid()
	if self != 1 {
		// Outside a PID namespace of its own, /proc lists the whole machine.
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile("/proc/" + entry.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) STATE ...: comm may hold spaces and parentheses, so read after the last ')'.
		text := string(stat)
		end := strings.LastIndexByte(text, ')')
		if end < 0 || end+2 >= len(text) {
			continue
		}
		if state := text[end+2]; state == 'Z' || state == 'X' {
			continue
		}
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	return pids
}

func mergeEnv(base []string, extra map[string]string) []string {
	values := map[string]string{}
	order := []string{}
	for _, entry := range base {
		name, value, found := strings.Cut(entry, "=")
		if !found {
			continue
		}
		if _, seen := values[name]; !seen {
			order = append(order, name)
		}
		values[name] = value
	}
	for name, value := range extra {
		if _, seen := values[name]; !seen {
			order = append(order, name)
		}
		values[name] = value
	}
	env := make([]string, 0, len(order))
	for _, name := range order {
		env = append(env, name+"="+values[name])
	}
	return env
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
	syscall.SIGKILL: "SIGKILL", syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM", syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
}

func signalName(signal syscall.Signal) string {
	if name, ok := signalNames[signal]; ok {
		return name
	}
	return "SIG" + strconv.Itoa(int(signal))
}

// tail keeps the last limit bytes written to it and counts them all.
type tail struct {
	mutex sync.Mutex
	limit int
	data  []byte
	total int64
}

func newTail(limit int) *tail { return &tail{limit: limit} }

func (t *tail) write(chunk []byte) {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	t.total += int64(len(chunk))
	t.data = append(t.data, chunk...)
	if len(t.data) > t.limit {
		t.data = append([]byte(nil), t.data[len(t.data)-t.limit:]...)
	}
}

func (t *tail) bytes() []byte {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	return append([]byte(nil), t.data...)
}
