package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildSpur builds the spur binary without -race into dir.
func buildSpur(dir string) (string, error) {
	bin := filepath.Join(dir, "spur")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/spur")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building ./cmd/spur (run the bench from the repository root, or pass -spur): %w", err)
	}
	return bin, nil
}

// spurProc is a `spur run` worker process of its own worker group.
type spurProc struct {
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startSpur starts a worker on bootstrap in a fresh worker group (its own
// internal topics, so connectors of earlier runs do not come back) and
// waits until its REST API serves.
func startSpur(bin, bootstrap, dir, id string, env, sets []string) (*spurProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "worker-"+id+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"run",
		"--set", "bootstrap.servers=" + bootstrap,
		"--set", "listeners=http://127.0.0.1:" + strconv.Itoa(port),
		"--set", "group.id=bench-" + id,
		"--set", "config.storage.topic=bench-configs-" + id,
		"--set", "status.storage.topic=bench-status-" + id,
		"--set", "offset.storage.topic=bench-offsets-" + id,
		"--set", "status.storage.partitions=1",
		"--set", "offset.storage.partitions=1",
		"--set", "heartbeat.interval.ms=500",
		"--set", "log.level=WARN",
	}
	for _, kv := range sets {
		args = append(args, "--set", kv)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &spurProc{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/connectors")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("spur run exited at startup: %s", p.tail())
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("spur run not serving after 60s: %s", p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *spurProc) pid() int { return p.cmd.Process.Pid }

func (p *spurProc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// create creates a connector through the REST API, in initial_state
// state (RUNNING, PAUSED).
func (p *spurProc) create(name string, config map[string]string, state string) error {
	body, _ := json.Marshal(map[string]any{"name": name, "config": config, "initial_state": state})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(p.url+"/connectors", "application/json", bytes.NewReader(body))
		if err == nil {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 201 {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, msg)
			if resp.StatusCode == 400 {
				return fmt.Errorf("create %s: %w", name, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create %s: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// taskCount waits until a connector has tasks and returns how many.
func (p *spurProc) taskCount(name string) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Tasks []json.RawMessage `json:"tasks"`
		}
		resp, err := http.Get(p.url + "/connectors/" + name + "/status")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && len(st.Tasks) > 0 {
				return len(st.Tasks), nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("connector %s has no tasks after 30s: %s", name, p.taskState(name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resume resumes a paused connector.
func (p *spurProc) resume(name string) error {
	req, _ := http.NewRequest(http.MethodPut, p.url+"/connectors/"+name+"/resume", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("resume %s: %s", name, resp.Status)
	}
	return nil
}

// taskState returns the state and trace of task 0 of a connector.
func (p *spurProc) taskState(name string) string {
	resp, err := http.Get(p.url + "/connectors/" + name + "/status")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// stop ends the process: SIGTERM, then SIGKILL after 30 s.
func (p *spurProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// procStatus reads VmRSS and VmHWM (bytes) of a process.
func procStatus(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return
}

// cpuSeconds returns the user+system CPU time of a process ("self" for
// this one).
func cpuSeconds(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	// After "(comm) ", field 3 (state) is f[0]; utime is field 14, stime 15.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// memSampler records the largest VmRSS of a process while it runs.
type memSampler struct {
	mu     sync.Mutex
	maxRSS int64
	stop   chan struct{}
	done   chan struct{}
}

func sampleMemory(pid int, every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rss, _ := procStatus(pid)
			m.mu.Lock()
			m.maxRSS = max(m.maxRSS, rss)
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// reset forgets what was sampled so far (startup), keeping the sampling on.
func (m *memSampler) reset() {
	m.mu.Lock()
	m.maxRSS = 0
	m.mu.Unlock()
}

func (m *memSampler) finish() int64 {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxRSS
}
