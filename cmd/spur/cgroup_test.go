package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot builds a file tree under a temp dir: path -> content.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	mountsV2 = "28 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	mountsV1 = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
)

func TestContainerMemoryLimit(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2, in a cgroup namespace (Docker)", map[string]string{
			"proc/self/mountinfo":      mountsV2,
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "536870912\n",
		}, 512 << 20},
		{"v2, the limit on the pod above the container (Kubernetes)", map[string]string{
			"proc/self/mountinfo":                       mountsV2,
			"proc/self/cgroup":                          "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max":    "1073741824\n",
			"sys/fs/cgroup/kubepods/memory.max":         "max\n",
		}, 1 << 30},
		{"v2, no limit", map[string]string{
			"proc/self/mountinfo":      mountsV2,
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "max\n",
		}, 0},
		{"v1, the memory controller's line", map[string]string{
			"proc/self/mountinfo": mountsV1,
			"proc/self/cgroup":    "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "268435456\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            "9223372036854771712\n",
		}, 256 << 20},
		{"hybrid: cgroup2 mounted without the memory controller, v1 holds the limit", map[string]string{
			"proc/self/mountinfo": mountsV1 + "36 31 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
			"proc/self/cgroup":    "4:memory:/docker/abc\n0::/docker/abc\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "268435456\n",
		}, 256 << 20},
		{"v1, unlimited (this machine)", map[string]string{
			"proc/self/mountinfo": mountsV1,
			"proc/self/cgroup":    "4:memory:/process_api/578f\n",
			"sys/fs/cgroup/memory/process_api/578f/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0},
		{"v1, mounted at the container's own cgroup", map[string]string{
			"proc/self/mountinfo":                        "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
			"proc/self/cgroup":                           "4:memory:/docker/abc\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "104857600\n",
		}, 100 << 20},
		{"no cgroup file system", map[string]string{
			"proc/self/mountinfo": "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n",
			"proc/self/cgroup":    "0::/\n",
		}, 0},
		{"no /proc", map[string]string{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := containerMemoryLimit(fakeRoot(t, c.files)); got != c.want {
				t.Fatalf("limit %d, want %d", got, c.want)
			}
		})
	}
}

func TestMemoryLimitFromTheContainer(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		configured, container, want int64
	}{
		{0, 0, 0},                      // no container limit: Go's defaults
		{0, 1 << 30, 1 << 30 / 10 * 9}, // 90% of the container's
		{0, 16 << 20, 0},               // too small to be worth a limit
		{-1, 1 << 30, 0},               // asked for Go's defaults
		{64 << 20, 1 << 30, 64 << 20},  // configured wins
	} {
		if got := memoryLimit(c.configured, c.container, log); got != c.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", c.configured, c.container, got, c.want)
		}
	}
}
