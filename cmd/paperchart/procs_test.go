package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// runMainEnv makes the test binary run paperchart's main instead of the
// tests, so that tests start roles as separate OS processes of the very
// code under test (os.Args[1] is the command).
const runMainEnv = "PCTEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// logLine is one JSON log record of a role process.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

func (l logLine) num(k string) int64 { f, _ := l[k].(float64); return int64(f) }

// proc is a paperchart role running as its own process, its JSON log kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr chan string // the address it announced ("serving HTTP", "serving health")
	done chan struct{}

	mu    sync.Mutex
	lines []logLine
	tail  []string // last lines that were not JSON (panics, flag errors)
}

// startRole starts `paperchart ARGS...` with env added to the test's own
// environment, JSON logs at debug level. The process is killed when the test
// ends.
func startRole(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "PAPERCHART_LOG_FORMAT=json", "PAPERCHART_LOG_LEVEL=debug")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go p.read(stderr)
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("%s: last output: %s", name, strings.Join(p.lastLines(15), "\n"))
		}
	})
	return p
}

func (p *proc) read(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l logLine
		p.mu.Lock()
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			p.tail = append(p.tail, sc.Text())
			if len(p.tail) > 50 {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
			continue
		}
		p.lines = append(p.lines, l)
		p.mu.Unlock()
		if m := l.str("msg"); (m == "serving HTTP" || m == "serving health") && l.str("addr") != "" {
			select {
			case p.addr <- l.str("addr"):
			default:
			}
		}
	}
	p.cmd.Wait()
}

// logged returns the log records whose message is msg.
func (p *proc) logged(msg string) []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []logLine
	for _, l := range p.lines {
		if l.str("msg") == msg {
			out = append(out, l)
		}
	}
	return out
}

func (p *proc) lastLines(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines[max(0, len(p.lines)-n):] {
		b, _ := json.Marshal(l)
		out = append(out, string(b))
	}
	return append(out, p.tail...)
}

// waitAddr waits for the address the process listens on.
func (p *proc) waitAddr(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return a
	case <-p.done:
		t.Fatalf("%s exited before listening: %s", p.name, strings.Join(p.lastLines(10), "\n"))
	case <-time.After(d):
		t.Fatalf("%s did not listen within %s: %s", p.name, d, strings.Join(p.lastLines(10), "\n"))
	}
	return ""
}

// stop sends SIGTERM and waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something accepts connections on the loopback port.
func waitPort(t *testing.T, port int, d time.Duration) error {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing answers on port %d after %s: %w", port, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getOK GETs url until it answers 200 or d passes, and returns the body.
func getOK(t *testing.T, url string, d time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode == http.StatusOK {
				return body
			}
			err = fmt.Errorf("%s: %s", resp.Status, body)
		} else {
			cancel()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// counter reads the sum of a counter's series from Prometheus text.
func counter(t *testing.T, text []byte, name string) float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(text)))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	f, ok := fams[name]
	if !ok || f.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("no counter %s in the metrics", name)
	}
	var sum float64
	for _, m := range f.Metric {
		sum += m.GetCounter().GetValue()
	}
	return sum
}
