package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"paperchart/internal/testenv"
)

// TestRedisSentinel starts a Redis and a Sentinel monitoring it (both of
// the test's own) and checks that --redis-sentinels finds the master
// through the Sentinel: the queue answers and a task lands in the master's
// queue. A master name the Sentinel does not know fails.
func TestRedisSentinel(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is missing: apt-get install redis-server (make setup does)")
	}
	dir := t.TempDir()
	master, sentinel := freePort(t), freePort(t)
	daemon := func(name string, args ...string) {
		cmd := exec.Command("redis-server", args...)
		cmd.Dir = dir
		testenv.Must(t, cmd.Start(), "start %s", name)
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	daemon("redis", "--port", strconv.Itoa(master), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	conf := filepath.Join(dir, "sentinel.conf")
	testenv.Must(t, os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor paperchart 127.0.0.1 %d 1\n", sentinel, master)), 0o600), "sentinel.conf")
	daemon("sentinel", conf, "--sentinel")
	for _, port := range []int{master, sentinel} {
		testenv.Must(t, waitPort(t, port, 20*time.Second), "start Redis and Sentinel")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := testenv.Name("pcsent") + ":"
	// --redis-addr points nowhere: only the Sentinel can lead to the master.
	c := config{RedisAddr: "127.0.0.1:1", RedisSentinels: " 127.0.0.1:" + strconv.Itoa(sentinel) + " ,", RedisMaster: "paperchart", QueuePrefix: prefix}
	q := c.queue()
	defer q.Close()
	testenv.Must(t, q.Ping(ctx), "ping through the Sentinel")
	testenv.Must(t, q.EnqueueSplit(ctx, 7), "enqueue through the Sentinel")
	out, err := exec.Command("redis-cli", "-p", strconv.Itoa(master), "LLEN", "asynq:{"+prefix+"split}:pending").Output()
	testenv.Must(t, err, "redis-cli")
	if strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("the master's split queue holds %q tasks, want 1", out)
	}

	bad := c
	bad.RedisMaster = "nosuchmaster"
	bq := bad.queue()
	defer bq.Close()
	if err := bq.Ping(ctx); err == nil {
		t.Fatal("a master the Sentinel does not monitor answered")
	}
	if w := bad.redisWhere(); !strings.Contains(w, "nosuchmaster") {
		t.Errorf("the error names %q", w)
	}
}
