package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// containerMemoryLimit returns the memory limit of the cgroup the process
// runs in, as a container runtime (Docker, Kubernetes) sets it: cgroup v2's
// memory.max or cgroup v1's memory.limit_in_bytes, the smallest one from
// the process's cgroup up to the root of the mount (a limit may sit on a
// parent, as a pod's does). It returns 0 when there is no limit or no
// cgroup file system. root is "/" except in tests.
func containerMemoryLimit(root string) int64 {
	mounts, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return 0
	}
	groups, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	for _, v2 := range []bool{true, false} {
		mountRoot, mountPoint, ok := memoryMount(mounts, v2)
		if !ok {
			continue
		}
		path, ok := memoryCgroup(groups, v2)
		if !ok {
			continue
		}
		rel, ok := strings.CutPrefix(path, mountRoot)
		if !ok {
			continue // the process's cgroup is outside what is mounted
		}
		file := "memory.limit_in_bytes"
		if v2 {
			file = "memory.max"
		}
		top := filepath.Join(root, mountPoint)
		limit := int64(0)
		for dir := filepath.Join(top, rel); ; dir = filepath.Dir(dir) {
			if n := readLimit(filepath.Join(dir, file)); n > 0 && (limit == 0 || n < limit) {
				limit = n
			}
			if dir == top || !strings.HasPrefix(dir, top) {
				break
			}
		}
		if limit > 0 {
			return limit
		}
		// A hybrid host mounts cgroup2 without the memory controller
		// (/sys/fs/cgroup/unified): look at v1 as well.
	}
	return 0
}

// memoryMount finds the cgroup2 mount (v2) or the cgroup mount holding the
// memory controller (v1) in /proc/self/mountinfo: its root within the
// hierarchy and its mount point.
func memoryMount(mountinfo []byte, v2 bool) (root, point string, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, found := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !found || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch {
		case v2 && g[0] == "cgroup2":
		case !v2 && g[0] == "cgroup" && hasOption(g[2], "memory"):
		default:
			continue
		}
		return f[3], f[4], true
	}
	return "", "", false
}

// memoryCgroup finds the process's cgroup path in /proc/self/cgroup: the
// "0::" line (v2) or the line listing the memory controller (v1).
func memoryCgroup(cgroup []byte, v2 bool) (string, bool) {
	for _, line := range strings.Split(string(cgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if v2 && parts[0] == "0" && parts[1] == "" || !v2 && hasOption(parts[1], "memory") {
			return parts[2], true
		}
	}
	return "", false
}

func hasOption(list, name string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// readLimit reads a limit file: a byte count, or "max" (v2) or a value
// near 2^63 (v1) for none, which count as 0.
func readLimit(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
