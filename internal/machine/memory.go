package machine

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Memory is the memory in bytes this process may use: the machine's physical memory
// (/proc/meminfo MemTotal), or less when a cgroup (v1 or v2) the process belongs to, or one of
// that cgroup's ancestors, has a lower memory limit. It fails where /proc/meminfo is missing
// (not Linux).
func Memory() (int64, error) { return memory(os.DirFS("/")) }

// memory is Memory on the file tree root ("/" in production).
func memory(root fs.FS) (int64, error) {
	total, err := memTotal(root)
	if err != nil {
		return 0, err
	}
	for _, file := range cgroupLimitFiles(root) {
		if limit, ok := readLimit(root, file); ok && limit < total {
			total = limit
		}
	}
	return total, nil
}

// memTotal reads MemTotal from /proc/meminfo ("MemTotal:  24683800 kB").
func memTotal(root fs.FS) (int64, error) {
	f, err := root.Open("proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("machine memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 {
			break
		}
		return kb << 10, nil
	}
	return 0, errors.New("machine memory: no MemTotal in /proc/meminfo")
}

// cgroupLimitFiles are the memory limit files that may apply to this process, from
// /proc/self/cgroup: for each cgroup of the memory controller (v1, "4:memory:/a/b") or of the
// unified hierarchy (v2, "0::/a/b"), the limit file of that cgroup and of each ancestor up to
// the mount's root. A container usually sees its own cgroup as the root, so the root's file
// is read too.
func cgroupLimitFiles(root fs.FS) []string {
	data, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return nil
	}
	var files []string
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var mount, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			mount, file = "sys/fs/cgroup", "memory.max"
		case containsWord(parts[1], "memory"):
			mount, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for dir := path.Clean("/" + parts[2]); ; dir = path.Dir(dir) {
			files = append(files, path.Join(mount, dir, file))
			if dir == "/" {
				break
			}
		}
	}
	return files
}

func containsWord(list, word string) bool {
	for _, w := range strings.Split(list, ",") {
		if w == word {
			return true
		}
	}
	return false
}

// readLimit reads one limit file: bytes, or "max" for none (v2). v1 writes "no limit" as a
// huge number, which the caller's minimum with the physical memory absorbs.
func readLimit(root fs.FS, file string) (int64, bool) {
	data, err := fs.ReadFile(root, file)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}
