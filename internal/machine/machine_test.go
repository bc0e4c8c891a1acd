package machine

import (
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"
)

const meminfo = "MemTotal:       24683800 kB\nMemFree:        21441536 kB\n"

func TestMemory_IsTheSmallestOfPhysicalAndCgroupLimits(t *testing.T) {
	const physical = 24683800 << 10
	tests := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"no cgroup file", map[string]string{}, physical},
		{"v2, no limit", map[string]string{
			"proc/self/cgroup":                                 "0::/user.slice/node.service\n",
			"sys/fs/cgroup/memory.max":                         "max\n",
			"sys/fs/cgroup/user.slice/node.service/memory.max": "max\n",
		}, physical},
		{"v2, limit on the own cgroup", map[string]string{
			"proc/self/cgroup": "0::/user.slice/node.service\n",
			"sys/fs/cgroup/user.slice/node.service/memory.max": "2147483648\n",
		}, 2 << 30},
		{"v2, lower limit on an ancestor", map[string]string{
			"proc/self/cgroup": "0::/user.slice/node.service\n",
			"sys/fs/cgroup/user.slice/node.service/memory.max": "2147483648\n",
			"sys/fs/cgroup/user.slice/memory.max":              "1073741824\n",
		}, 1 << 30},
		{"v2, namespaced container sees its limit at the root", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "536870912\n",
		}, 512 << 20},
		{"v1, memory controller among others", map[string]string{
			"proc/self/cgroup": "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "3221225472\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            "9223372036854771712\n",
		}, 3 << 30},
		{"v1 unlimited is the huge number", map[string]string{
			"proc/self/cgroup":                           "4:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, physical},
		{"limit above the physical memory", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "999999999999999\n",
		}, physical},
		{"garbage is ignored", map[string]string{
			"proc/self/cgroup":           "0::/a\nnonsense\n",
			"sys/fs/cgroup/a/memory.max": "lots\n",
			"sys/fs/cgroup/memory.max":   "-5\n",
		}, physical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fstest.MapFS{"proc/meminfo": {Data: []byte(meminfo)}}
			for name, data := range tt.files {
				root[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, err := memory(root)
			if err != nil || got != tt.want {
				t.Fatalf("memory = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestMemory_FailsWithoutMeminfo(t *testing.T) {
	for name, root := range map[string]fstest.MapFS{
		"missing":     {},
		"no MemTotal": {"proc/meminfo": {Data: []byte("MemFree: 1 kB\n")}},
		"bad unit":    {"proc/meminfo": {Data: []byte("MemTotal: 1 MB\n")}},
		"not a count": {"proc/meminfo": {Data: []byte("MemTotal: x kB\n")}},
	} {
		if got, err := memory(root); err == nil {
			t.Errorf("%s: memory = %d, want an error", name, got)
		}
	}
}

func TestMemoryAndFreeDisk_OnThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	m, err := Memory()
	if err != nil || m <= 0 {
		t.Fatalf("Memory() = %d, %v", m, err)
	}
	// A path that does not exist yet is measured on its nearest existing parent.
	free, err := FreeDisk(filepath.Join(t.TempDir(), "not", "yet"))
	if err != nil || free <= 0 {
		t.Fatalf("FreeDisk = %d, %v", free, err)
	}
}
