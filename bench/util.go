package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lineCounter counts the lines of a growing file, reading only what is new.
type lineCounter struct {
	off int64
	n   int
	buf []byte
}

func (c *lineCounter) count(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return c.n
	}
	defer f.Close()
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	for {
		k, err := f.ReadAt(c.buf, c.off)
		c.n += bytes.Count(c.buf[:k], []byte("\n"))
		c.off += int64(k)
		if err != nil || k == 0 {
			return c.n
		}
	}
}

// perfRecorder samples a process with `perf record -g` (Go binaries keep
// frame pointers, so the call graphs are complete).
type perfRecorder struct {
	cmd *exec.Cmd
	out string
}

func startPerf(pid int, out string) (*perfRecorder, error) {
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", out)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record (is perf installed?): %w", err)
	}
	return &perfRecorder{cmd: cmd, out: out}, nil
}

// finish stops recording and prints the hottest functions of the process,
// by self time and including callees.
func (p *perfRecorder) finish() error {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	_ = p.cmd.Wait()
	fmt.Printf("\nprofile %s (perf report -i %s):\n", p.out, p.out)
	for _, mode := range []struct {
		flag, title string
		limit       int
	}{{"--no-children", "self", 25}, {"--children", "including callees", 45}} {
		b, err := exec.Command("perf", "report", "-i", p.out, mode.flag, "--stdio", "--sort", "symbol", "-g", "none", "--percent-limit", "0.7").Output()
		if err != nil {
			return fmt.Errorf("perf report: %w", err)
		}
		fmt.Printf("  -- %s --\n", mode.title)
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() && n < mode.limit {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fmt.Println("  ", line)
			n++
		}
	}
	return nil
}

// waitGroupStable waits until a consumer group is Stable with members
// members, each of them assigned partitions.
func waitGroupStable(seeds []string, group string, members int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := "not described"
	for {
		gs, err := adm.DescribeGroups(ctx, group)
		if err == nil {
			g := gs[group]
			assigned := 0
			for _, m := range g.Members {
				if ca, ok := m.Assigned.AsConsumer(); ok && len(ca.Topics) > 0 {
					assigned++
				}
			}
			if g.Err == nil && g.State == "Stable" && len(g.Members) == members && assigned == members {
				return nil
			}
			last = fmt.Sprintf("state %s, %d members, %d assigned, err %v", g.State, len(g.Members), assigned, g.Err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer group %s not stable with %d members after a minute: %s", group, members, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
