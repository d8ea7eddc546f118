// The sandbox executor: the only program of the project that runs in the candidate's container.
// An init container copies it in, so the service's own toolchain image (Go, Python, Java, Node)
// needs nothing of ours. It connects to the judge's socket, then runs what the judge asks, one
// request at a time, and nothing else: it starts no candidate code on its own.
//
// It is the container's init process (PID 1 of its PID namespace). After every command it stops
// every other process of the container (kill(-1) from init reaches them all) and reaps them, so no
// candidate process outlives its phase, and it answers the judge only then. It makes itself
// non-dumpable, so processes of the same uid cannot ptrace it or read its memory and descriptors,
// and it ignores the signals a candidate could send it (init receives only signals it handles).
//
//	executor --socket /hyperagent/control/executor.sock --source /hyperagent/workspace/src
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

const protocolVersion = 1

// maxRequestBytes bounds one request line (a write carries whole files, base64).
const maxRequestBytes = 8 << 20

func main() {
	socket := flag.String("socket", "/hyperagent/control/executor.sock", "the judge's Unix socket")
	source := flag.String("source", "/hyperagent/workspace/src", "the candidate's source tree")
	wait := flag.Duration("connect-timeout", 120*time.Second, "how long to wait for the judge's socket")
	flag.Parse()

	hardenProcess()
	warmThreads()
	conn, err := connect(*socket, *wait)
	if err != nil {
		fmt.Fprintf(os.Stderr, "executor: %v\n", err)
		os.Exit(3)
	}
	if err := serve(conn, *source); err != nil {
		fmt.Fprintf(os.Stderr, "executor: %v\n", err)
		stopOthers()
		os.Exit(4)
	}
	stopOthers()
}

// hardenProcess: not dumpable (no ptrace, no /proc/1/mem or /proc/1/fd for the same uid), and
// deaf to the signals candidate code could send it.
func hardenProcess() {
	const prSetDumpable = 4
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "executor: prctl(PR_SET_DUMPABLE, 0): %v\n", errno)
		os.Exit(5)
	}
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTSTP, syscall.SIGTTIN,
		syscall.SIGTTOU, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGPROF,
		syscall.SIGWINCH, syscall.SIGIO, syscall.SIGSYS, syscall.SIGTRAP, syscall.SIGSTKFLT)
	// The fault signals cannot be ignored without hiding real faults: receiving them here makes
	// a kill(1, SIGSEGV) from candidate code a message that is dropped, while a real fault in
	// this process still crashes it.
	faults := make(chan os.Signal, 16)
	signal.Notify(faults, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGABRT, syscall.SIGFPE, syscall.SIGILL)
	go func() {
		for range faults {
		}
	}()
}

// warmThreads makes the Go runtime start its threads now. A fork bomb can exhaust the pod's pid
// limit, which threads count against; a runtime that then needs a new thread to run the timeout
// that kills the bomb would die instead. Threads that have run a blocking call stay idle in the
// runtime, ready for later.
func warmThreads() {
	const threads = 8
	var ready sync.WaitGroup
	ready.Add(threads)
	for i := 0; i < threads; i++ {
		go func() {
			defer ready.Done()
			pause := syscall.Timespec{Nsec: 20 * int64(time.Millisecond)}
			_ = syscall.Nanosleep(&pause, nil)
		}()
	}
	ready.Wait()
}

// connect dials the judge until its socket accepts or the wait is over.
func connect(path string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the judge's socket %s did not accept within %s: %w", path, wait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func serve(conn net.Conn, source string) error {
	defer conn.Close()
	services := &serviceSlot{}
	out := json.NewEncoder(conn)
	if err := out.Encode(Hello{Hello: "hyperagent-executor", Version: protocolVersion, Pid: os.Getpid(), Uid: os.Getuid()}); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	lines := bufio.NewScanner(conn)
	lines.Buffer(make([]byte, 64<<10), maxRequestBytes)
	for lines.Scan() {
		var request Request
		if err := json.Unmarshal(lines.Bytes(), &request); err != nil {
			return fmt.Errorf("unreadable request: %w", err)
		}
		var answer Answer
		switch request.Op {
		case "write":
			answer = writeFiles(source, request)
		case "run":
			if services.running() {
				answer = Answer{Error: "a service is running: stop it first"}
			} else {
				answer = runCommand(source, request)
			}
		case "start":
			answer = services.start(source, request)
		case "stop":
			answer = services.stop()
		case "memory":
			answer = readMemory()
		case "exit":
			stopOthers()
			return out.Encode(Answer{Ok: true})
		default:
			answer = Answer{Error: fmt.Sprintf("unknown op %q", request.Op)}
		}
		if err := out.Encode(answer); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("reading requests: %w", err)
	}
	return fmt.Errorf("the judge closed the connection")
}
