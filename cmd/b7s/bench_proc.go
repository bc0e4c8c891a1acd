package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It is 100 on
// every Linux architecture Go supports; reading sysconf(_SC_CLK_TCK) would need cgo.
const clockTicksPerSecond = 100

// benchProcess is a node process whose CPU time and memory the bench samples.
type benchProcess struct {
	Name string
	PID  int
}

// procSample is what /proc says about a process at one moment.
type procSample struct {
	CPUTicks uint64 // utime + stime
	RSSKB    uint64 // VmRSS
}

// sampleProc reads /proc/<pid>/stat and /proc/<pid>/status.
func sampleProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("process %d: %w", pid, err)
	}
	ticks, err := parseStatCPU(stat)
	if err != nil {
		return procSample{}, fmt.Errorf("process %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("process %d: %w", pid, err)
	}
	rss, err := parseStatusKB(status, "VmRSS")
	if err != nil {
		return procSample{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return procSample{CPUTicks: ticks, RSSKB: rss}, nil
}

// parseStatCPU returns utime+stime (fields 14 and 15) of a /proc/<pid>/stat line. The command
// name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.
func parseStatCPU(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("stat: no command name")
	}
	// After ")": field 3 (state) is rest[0], so field k is rest[k-3].
	rest := strings.Fields(string(stat[end+1:]))
	if len(rest) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(rest))
	}
	utime, err := strconv.ParseUint(rest[14-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	stime, err := strconv.ParseUint(rest[15-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return utime + stime, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of /proc/<pid>/status.
func parseStatusKB(status []byte, key string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			break
		}
		return strconv.ParseUint(fields[0], 10, 64)
	}
	return 0, fmt.Errorf("status: no %s", key)
}

// ticksToMillis converts clock ticks to milliseconds.
func ticksToMillis(ticks uint64) float64 {
	return float64(ticks) * 1000 / clockTicksPerSecond
}

// parsePIDList reads --pids "12,34".
func parsePIDList(s string) ([]benchProcess, error) {
	var procs []benchProcess
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--pids: %q is not a process ID", f)
		}
		procs = append(procs, benchProcess{Name: "pid" + f, PID: pid})
	}
	return procs, nil
}

// readDevnetPIDs reads the "<name> <pid>" lines `b7s devnet` writes to <dir>/pids.
func readDevnetPIDs(dir string) ([]benchProcess, error) {
	path := filepath.Join(dir, devnetPIDsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read devnet pids (is the devnet running?): %w", err)
	}
	var procs []benchProcess
	for i, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"<name> <pid>\", got %q", path, i+1, line)
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a process ID", path, i+1, fields[1])
		}
		procs = append(procs, benchProcess{Name: fields[0], PID: pid})
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("%s lists no process", path)
	}
	return procs, nil
}
