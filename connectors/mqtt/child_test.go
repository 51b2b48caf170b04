package mqtt

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect/connecttest"
)

// A child process runs one task like a worker would, so the test can kill
// it with SIGKILL between Poll and Commit: no DISCONNECT, no cleanup, the
// operating system just closes the socket.
const childEnv = "SPUR_MQTT_TEST_CHILD"

type childSpec struct {
	Config map[string]string
	Name   string
	Task   int
	Poll   int // records to poll
	Commit int // of which to commit
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
	out   *lockedBuffer
}

// startChild runs the task in a child process and waits until it started.
func startChild(t *testing.T, raw map[string]string, name string, task, poll, commit int) *child {
	t.Helper()
	spec, _ := json.Marshal(childSpec{raw, name, task, poll, commit})
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildTask$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100), out: &lockedBuffer{}}
	cmd.Stderr = c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("child output:\n%s", c.out.String())
		}
	})
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stdout, c.out))
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	c.waitFor(t, "started")
	return c
}

// waitFor waits for a line of the child's protocol.
func (c *child) waitFor(t *testing.T, what string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q", what)
			}
			if strings.HasPrefix(l, "CHILD ") && strings.Contains(l, what) {
				return
			}
			if strings.HasPrefix(l, "CHILD FAILED") {
				t.Fatalf("child: %s", l)
			}
		case <-timeout:
			t.Fatalf("child did not report %q in 20s", what)
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// TestChildTask is the child's body; it does nothing in a normal run.
func TestChildTask(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("runs only as the child process of TestNotAcknowledgedUntilCommit")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Println("CHILD FAILED", err)
		os.Exit(1)
	}
	fail := func(err error) {
		fmt.Println("CHILD FAILED", err)
		os.Exit(1)
	}
	c, errs := Spec().Parse(spec.Config)
	if len(errs) > 0 {
		fail(errs)
	}
	tk := newTask()
	sc := &connecttest.SourceContext{Name: spec.Name, TaskNum: spec.Task}
	if err := tk.Start(context.Background(), c, sc); err != nil {
		fail(err)
	}
	fmt.Println("CHILD started")
	var n int
	var committed int
	deadline := time.Now().Add(20 * time.Second)
	for n < spec.Poll && time.Now().Before(deadline) {
		recs, err := tk.Poll(context.Background())
		if err != nil {
			fail(err)
		}
		for _, r := range recs {
			n++
			if committed < spec.Commit {
				tk.Commit(context.Background(), r)
				committed++
			}
		}
	}
	// Give the acknowledgements written by Commit time to leave the socket
	// before the parent kills the process.
	time.Sleep(300 * time.Millisecond)
	fmt.Println("CHILD polled " + strconv.Itoa(n) + " committed " + strconv.Itoa(committed))
	time.Sleep(time.Hour) // killed by the parent, never stopped
}
