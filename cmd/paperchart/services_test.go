//go:build faults

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"paperchart/internal/testenv"
	"paperchart/storage"
)

// private are services of the test's own, on free loopback ports, for
// tests that stop, restart and empty them: never the shared ones of make
// test (other sessions' tests use those). PostgreSQL runs from Debian's
// postgresql package (initdb, pg_ctl), as user postgres when the test runs
// as root; Redis from redis-server; the S3 server is versitygw.
type private struct {
	t     *testing.T
	root  string
	pgBin string
	pgDir string
	pgLog string
	pgRun func(args ...string) *exec.Cmd

	redisCmd, s3Cmd     *exec.Cmd
	pgPort, redisPort   int
	s3Port              int
	accessKey, secretKy string
}

// startPrivate starts PostgreSQL, Redis and versitygw; they are stopped
// and their data removed when the test ends.
func startPrivate(t *testing.T) *private {
	t.Helper()
	root, err := os.MkdirTemp("", "paperchart-faults-")
	testenv.Must(t, err, "make services folder")
	t.Cleanup(func() { os.RemoveAll(root) })
	p := &private{t: t, root: root, accessKey: "faults", secretKy: "faults-secret-key"}
	p.startPostgres()
	p.startRedis()
	p.startS3()
	return p
}

func (p *private) endpoints() endpoints {
	return endpoints{
		dbAdminURL: fmt.Sprintf("postgres://paperchart@127.0.0.1:%d/postgres?sslmode=disable", p.pgPort),
		redisAddr:  fmt.Sprintf("127.0.0.1:%d", p.redisPort),
		objects: storage.ObjectsConfig{Endpoint: fmt.Sprintf("127.0.0.1:%d", p.s3Port),
			AccessKey: p.accessKey, SecretKey: p.secretKy},
	}
}

func (p *private) startPostgres() {
	t := p.t
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("no pg_ctl under /usr/lib/postgresql/*/bin: apt-get install postgresql")
	}
	p.pgBin = filepath.Dir(bins[len(bins)-1])
	p.pgDir = filepath.Join(p.root, "pg")
	p.pgLog = filepath.Join(p.root, "pg.log")
	p.pgPort = freePort(t)
	p.pgRun = func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	if os.Geteuid() == 0 { // initdb refuses root
		u, err := user.Lookup("postgres")
		testenv.Must(t, err, "PostgreSQL must run as user postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		testenv.Must(t, os.Chown(p.root, uid, gid), "chown services folder")
		p.pgRun = func(args ...string) *exec.Cmd {
			c := exec.Command(args[0], args[1:]...)
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
			c.Env = append(os.Environ(), "HOME="+p.root)
			return c
		}
	}
	if out, err := p.pgRun(filepath.Join(p.pgBin, "initdb"), "-D", p.pgDir, "-U", "paperchart", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n", p.pgPort, p.root)
	f, err := os.OpenFile(filepath.Join(p.pgDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	testenv.Must(t, err, "open postgresql.conf")
	f.WriteString(conf)
	f.Close()
	p.pgCtl("start")
	t.Cleanup(func() { p.pgRun(filepath.Join(p.pgBin, "pg_ctl"), "-D", p.pgDir, "-m", "immediate", "stop").Run() })
}

// pgCtl runs pg_ctl start, stop or restart (fast shutdown) and waits.
func (p *private) pgCtl(action string) {
	p.t.Helper()
	args := []string{filepath.Join(p.pgBin, "pg_ctl"), "-D", p.pgDir, "-l", p.pgLog, "-w", "-t", "60"}
	if action != "start" {
		args = append(args, "-m", "fast")
	}
	if out, err := p.pgRun(append(args, action)...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(p.pgLog)
		p.t.Fatalf("pg_ctl %s: %v\n%s\n%s", action, err, out, log)
	}
}

func (p *private) startRedis() {
	t := p.t
	p.redisPort = freePort(t)
	dir := filepath.Join(p.root, "redis")
	testenv.Must(t, os.MkdirAll(dir, 0o700), "make Redis folder")
	p.redisCmd = exec.Command("redis-server", "--port", strconv.Itoa(p.redisPort), "--bind", "127.0.0.1",
		"--dir", dir, "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction")
	p.startDaemon("redis-server", p.redisCmd, p.redisPort)
}

func (p *private) startS3() {
	t := p.t
	gw := os.Getenv("PAPERCHART_VERSITYGW")
	if gw == "" {
		gw = "../../var/bin/versitygw" // where deploy/setup.sh builds it
	}
	if _, err := os.Stat(gw); err != nil {
		t.Fatalf("versitygw: %v (make setup builds it into var/bin; or set PAPERCHART_VERSITYGW)", err)
	}
	p.s3Port = freePort(t)
	dirs := map[string]string{}
	for _, d := range []string{"iam", "versions", "data"} {
		dirs[d] = filepath.Join(p.root, "s3", d)
		testenv.Must(t, os.MkdirAll(dirs[d], 0o700), "make S3 folder")
	}
	p.s3Cmd = exec.Command(gw, "--port", fmt.Sprintf("127.0.0.1:%d", p.s3Port), "--quiet", "--iam-dir", dirs["iam"],
		"posix", "--versioning-dir", dirs["versions"], dirs["data"])
	p.s3Cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+p.accessKey, "ROOT_SECRET_KEY="+p.secretKy)
	p.startDaemon("versitygw", p.s3Cmd, p.s3Port)
}

// startDaemon starts cmd and waits until it accepts connections on port.
func (p *private) startDaemon(name string, cmd *exec.Cmd, port int) {
	t := p.t
	log, err := os.Create(filepath.Join(p.root, name+".log"))
	testenv.Must(t, err, "log of %s", name)
	cmd.Stdout, cmd.Stderr = log, log
	testenv.Must(t, cmd.Start(), "start %s", name)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := waitPort(t, port, 30*time.Second); err != nil {
		out, _ := os.ReadFile(log.Name())
		t.Fatalf("%s: %v: %s", name, err, out)
	}
}

// redisCLI runs a redis-cli command against the private Redis.
func (p *private) redisCLI(args ...string) string {
	p.t.Helper()
	out, err := exec.CommandContext(context.Background(), "redis-cli", append([]string{"-p", strconv.Itoa(p.redisPort)}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("redis-cli %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
