package main

// The executor's side of the judge protocol: JSON lines over the Unix socket the judge listens
// on. The judge sends one request at a time and waits for its answer; the executor never speaks
// first except for its hello. Only this process holds the connection (opened close-on-exec, and
// the process is not dumpable), so candidate code can neither read nor write it.

// Hello is the executor's first line: what the judge needs to trust the phase boundaries.
type Hello struct {
	Hello   string `json:"hello"`
	Version int    `json:"version"`
	// Pid is 1 when the executor is the init process of the container's PID namespace: only then
	// can it stop every candidate process (kill(-1)) and see that none is left.
	Pid int `json:"pid"`
	Uid int `json:"uid"`
}

// Request is one instruction of the judge.
type Request struct {
	// Op: write | run | start | stop | memory | exit.
	Op string `json:"op"`

	// write: files to create or replace (relative to the source root) and paths to delete.
	Files   []FileChange `json:"files,omitempty"`
	Deleted []string     `json:"deleted,omitempty"`

	// run: a command, its environment on top of the container's own, and its time limit. start: the
	// same, left running in the background (a service) until stop.
	Name      string            `json:"name,omitempty"`
	Argv      []string          `json:"argv,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	TimeoutMs int64             `json:"timeoutMs,omitempty"`
	TailBytes int               `json:"tailBytes,omitempty"`
	// ProcessLimit bounds the candidate's processes at once while it runs (defaultProcessLimit
	// when 0); above it every candidate process is killed.
	ProcessLimit int `json:"processLimit,omitempty"`
}

// FileChange is one file of a write request.
type FileChange struct {
	Path       string `json:"path"`
	Base64     string `json:"base64"`
	Executable bool   `json:"executable,omitempty"`
}

// Answer is the reply to one request.
type Answer struct {
	Ok    bool   `json:"ok"`
	Error string `json:"error,omitempty"`

	// run
	ExitCode   *int   `json:"exitCode,omitempty"`
	Signal     string `json:"signal,omitempty"`
	TimedOut   bool   `json:"timedOut,omitempty"`
	DurationMs int64  `json:"durationMs,omitempty"`
	SpawnError string `json:"spawnError,omitempty"`
	// Lingering counts the candidate processes still alive after the command's own process ended
	// (detached daemons, setsid children); the executor killed them before answering.
	Lingering int `json:"lingering,omitempty"`
	// ProcessLimit is set, to the limit, when the candidate ran more processes at once than it
	// allows (a fork bomb) and the executor killed them all.
	ProcessLimit int `json:"processLimit,omitempty"`
	// Stdout and Stderr are the last TailBytes of each stream, base64.
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// OutputBytes is how much the command wrote in all, both streams.
	OutputBytes int64 `json:"outputBytes,omitempty"`

	// stop: whether the service had already ended on its own, and how.
	Ended bool `json:"ended,omitempty"`

	// memory: -1 when the cgroup does not say.
	PeakBytes *int64 `json:"peakBytes,omitempty"`
	OomKills  *int64 `json:"oomKills,omitempty"`
}
