package mqtt

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mosquittoPath finds the broker binary. Debian installs it in /usr/sbin,
// which is not on a non-root user's PATH.
func mosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	return ""
}

// needMosquitto skips the test when the broker is not installed: the only
// reason an MQTT test may skip. CI installs it.
func needMosquitto(t testing.TB) string {
	t.Helper()
	p := mosquittoPath()
	if p == "" {
		t.Skip("mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients): skipping the tests against a real MQTT broker")
	}
	return p
}

// broker is a real mosquitto on a free loopback port with its own config
// file and persistence directory.
type broker struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	conf string

	base []string // config lines without the options' extras

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// brokerOptions tune the broker config.
type brokerOptions struct {
	maxInflight int // max_inflight_messages; 0 means the test default (1000), -1 leaves mosquitto's default (20)
	extra       []string
}

// startBroker writes a config and starts mosquitto. The broker is stopped
// when the test ends; its log is printed if the test failed.
func startBroker(t testing.TB, opt brokerOptions) *broker {
	t.Helper()
	bin := needMosquitto(t)
	dir, err := os.MkdirTemp("", "spur-mosquitto-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// mosquitto started as root drops privileges to the mosquitto user: the
	// directories must be reachable and the persistence dir writable by it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("mosquitto"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(data, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := &broker{t: t, bin: bin, dir: dir, port: freePort(t), out: &lockedBuffer{}}
	inflight := "max_inflight_messages 1000"
	switch {
	case opt.maxInflight > 0:
		inflight = fmt.Sprintf("max_inflight_messages %d", opt.maxInflight)
	case opt.maxInflight < 0:
		inflight = "# max_inflight_messages left at mosquitto's default (20)"
	}
	b.base = []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.port),
		"allow_anonymous true",
		"persistence true",
		"persistence_location " + data + "/",
		inflight,
		"max_queued_messages 0",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
	}
	b.conf = filepath.Join(dir, "mosquitto.conf")
	b.writeConf(append(b.baseConf(), opt.extra...))
	b.start()
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", b.out.String())
		}
	})
	return b
}

// baseConf returns the config lines every test broker has.
func (b *broker) baseConf() []string { return append([]string(nil), b.base...) }

// writeConf replaces the config file; it applies at the next start.
func (b *broker) writeConf(lines []string) {
	b.t.Helper()
	if err := writeFile(b.conf, strings.Join(lines, "\n")+"\n"); err != nil {
		b.t.Fatal(err)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (b *broker) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// uri is the server URI for mqtt.server.uri.
func (b *broker) uri() string { return "tcp://" + b.addr() }

// start runs mosquitto and waits until it accepts connections.
func (b *broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			b.cmd = cmd
			b.exited = exited
			return
		}
		select {
		case <-exited:
			b.t.Fatalf("mosquitto exited at start:\n%s", b.out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %s within 10s:\n%s", b.addr(), b.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop terminates mosquitto gracefully (SIGTERM), so it writes its
// persistence file, and waits for it to exit.
func (b *broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
	b.cmd = nil
}

// restart stops and starts the broker on the same port with the same
// persistence directory.
func (b *broker) restart() {
	b.t.Helper()
	b.stop()
	b.start()
}
