package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The container's memory counters, read by the executor because only its container's cgroup shows
// them: cgroup v2 first, then v1.
var peakFiles = []string{"/sys/fs/cgroup/memory.peak", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"}
var oomFiles = []string{"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}
var oomLine = regexp.MustCompile(`(?m)^oom_kill (\d+)$`)

func readMemory() Answer {
	answer := Answer{Ok: true}
	for _, file := range peakFiles {
		if text, err := os.ReadFile(file); err == nil {
			if value, err := strconv.ParseInt(strings.TrimSpace(string(text)), 10, 64); err == nil {
				answer.PeakBytes = &value
				break
			}
		}
	}
	for _, file := range oomFiles {
		if text, err := os.ReadFile(file); err == nil {
			if match := oomLine.FindSubmatch(text); match != nil {
				if value, err := strconv.ParseInt(string(match[1]), 10, 64); err == nil {
					answer.OomKills = &value
					break
				}
			}
		}
	}
	return answer
}
