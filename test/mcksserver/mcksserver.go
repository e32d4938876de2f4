// Package mcksserver runs the real MCKS API server (CB-Ladybug v0.7.2, built
// by `make tools` into .cache/bin/mcks-server) for end-to-end tests, with a
// small HTTP stand-in for CB-Tumblebug, the only service it calls before it
// reaches the clouds.
//
// The server's ports are fixed (REST 1470, gRPC 50254, and 9095 for the gRPC
// metrics, whose listener failing ends the server): Start serialises the
// servers of every test process on this machine with a lock file, and fails
// with the port's number when another program holds one.
package mcksserver

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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

const (
	// RESTPort and GRPCPort are fixed by the server (rest-api/server.go, conf/grpc_conf.yaml).
	RESTPort = 1470
	GRPCPort = 50254
	// MetricsPort is the gRPC server's Prometheus listener (conf/grpc_conf.yaml):
	// the server exits when it cannot bind it.
	MetricsPort = 9095
	// BasePath is the v0.7.2 server's REST root: its BASE_URL default.
	BasePath = "/ladybug"
	// Version is the upstream release whose source the tests run.
	Version = "v0.7.2"
	// SourceEnv names the folder that holds the server's source.
	SourceEnv = "MCKS_SRC"
)

// Source is the server's source folder: $MCKS_SRC, else
// ../shared/thirdparty/cb-mcks beside the repository (as `make tools` looks),
// or "" when neither exists.
func Source() string {
	if d := os.Getenv(SourceEnv); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
		return ""
	}
	d := filepath.Join(sandbox.RepoRoot(), "..", "shared", "thirdparty", "cb-mcks")
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return filepath.Clean(d)
	}
	return ""
}

// tree is a source tree to take conf/ and the store writer from: Source(),
// else the copy `make tools` builds in (.cache/src/cb-mcks).
func tree() string {
	if src := Source(); src != "" {
		return src
	}
	d := filepath.Join(sandbox.RepoRoot(), ".cache", "src", "cb-mcks")
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
		return d
	}
	return ""
}

// Binary is where `make tools` puts the server.
func Binary() string { return filepath.Join(sandbox.DefaultBinDir(), "mcks-server") }

// Require returns the server binary. Without it, a test skips when there is
// no source to build it from, and fails when there is (then the build is
// missing, which CI must not hide).
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if src := Source(); src != "" {
		t.Fatalf("the MCKS server is not built (%s missing) although its source is in %s: run `make tools`", bin, src)
	}
	t.Skipf("no MCKS server source: set %s to a cb-mcks %s tree or put it in ../shared/thirdparty/cb-mcks, then run `make tools`", SourceEnv, Version)
	return ""
}

// Options say what the server starts with.
type Options struct {
	// Clusters are written to the server's store before it starts, as the
	// server writes them (JSON of its model.Cluster): the only way to hold a
	// provisioned cluster, and its kubeconfig, without clouds.
	Clusters []map[string]any
}

// Server is a running MCKS server.
type Server struct {
	// URL is the REST root to give kubectl mcks: http://127.0.0.1:1470/ladybug.
	URL string
	// Dir holds conf/, the store (meta_db/) and the logs.
	Dir       string
	Tumblebug *Tumblebug

	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

var inProcess sync.Mutex

// Start runs the server until the test ends. A failed test keeps Dir and
// prints the end of the server's log.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Require(t)
	src := tree()
	if src == "" {
		t.Fatalf("the MCKS server needs its conf/ folder from its source: set %s or put it in ../shared/thirdparty/cb-mcks", SourceEnv)
	}
	unlock := lockPorts(t)
	dir, err := os.MkdirTemp("", "mcks-server-")
	if err != nil {
		unlock()
		t.Fatal(err)
	}
	s := &Server{Dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d%s", RESTPort, BasePath), logPath: filepath.Join(dir, "mcks-server.log")}
	s.Tumblebug = newTumblebug()
	t.Cleanup(func() {
		s.stop()
		s.Tumblebug.Close()
		unlock()
		if t.Failed() {
			t.Logf("MCKS server folder kept in %s; end of its log:\n%s\nTumblebug stand-in saw:\n%s", dir, tail(s.logPath, 30), strings.Join(s.Tumblebug.Requests(), "\n"))
			return
		}
		_ = os.RemoveAll(dir)
	})
	if err := copyDir(filepath.Join(src, "conf"), filepath.Join(dir, "conf")); err != nil {
		t.Fatalf("copy the MCKS server's conf/: %v", err)
	}
	env := append(os.Environ(),
		"APP_ROOT="+dir, "CBSTORE_ROOT="+dir, "CBLOG_ROOT="+dir,
		// v0.7.2 reads BASE_URL; its setup.env names BASE_PATH. Both say the default.
		"BASE_URL="+BasePath, "BASE_PATH="+BasePath,
		"TUMBLEBUG_URL="+s.Tumblebug.URL(), "SPIDER_URL="+s.Tumblebug.Server.URL+"/spider",
		"GOLANG_PROTOBUF_REGISTRATION_CONFLICT=ignore", "LOG_LEVEL=info",
	)
	if len(opts.Clusters) > 0 {
		if err := seed(dir, env, opts.Clusters); err != nil {
			t.Fatalf("write clusters to the MCKS store: %v", err)
		}
	}
	if err := s.start(bin, env); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Server) start(bin string, env []string) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env = s.Dir, env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start the MCKS server: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(s.done) }()

	// Ready when its REST root answers; it exits at once on a bad setup.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("the MCKS server exited at start (%v); its log:\n%s", cmd.ProcessState, tail(s.logPath, 30))
		default:
		}
		resp, err := http.Get(s.URL + "/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the MCKS server did not answer %s/healthy within 60s; its log:\n%s", s.URL, tail(s.logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Log is the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// lockPorts serialises the MCKS servers of all test processes on this
// machine, then checks that nothing else holds the fixed ports.
func lockPorts(t testing.TB) (unlock func()) {
	t.Helper()
	inProcess.Lock()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-openmcp-mcks-server-%d.lock", RESTPort))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		inProcess.Unlock()
		t.Fatalf("lock file for the MCKS server's ports: %v", err)
	}
	const wait = 10 * time.Minute
	deadline := time.Now().Add(wait)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			inProcess.Unlock()
			t.Fatalf("another test has held the MCKS server's ports (lock %s) for %s", path, wait)
		}
		time.Sleep(200 * time.Millisecond)
	}
	unlock = func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		inProcess.Unlock()
	}
	for _, port := range []int{RESTPort, GRPCPort, MetricsPort} {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			unlock()
			t.Fatalf("port %d is taken (%v): the MCKS server needs its fixed ports %d, %d and %d; stop the program that holds it (another MCKS server?)", port, err, RESTPort, GRPCPort, MetricsPort)
		}
		l.Close()
	}
	return unlock
}

// seed writes clusters into the store at dir with a helper built from the
// server's own source (testdata/seed), so the records are what the server's
// model.Cluster.PutStore writes.
func seed(dir string, env []string, clusters []map[string]any) error {
	helper, err := buildSeeder()
	if err != nil {
		return err
	}
	data, err := json.Marshal(clusters)
	if err != nil {
		return err
	}
	cmd := exec.Command(helper)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, tail2(out, 20))
	}
	return nil
}

var (
	seederOnce sync.Once
	seederPath string
	seederErr  error
)

// buildSeeder builds testdata/seed inside a copy of the server's module
// (src/core and src/utils with its go.mod), once per test process; Go's
// build cache keeps it to a link after the first time. The caller holds
// the port lock.
func buildSeeder() (string, error) {
	seederOnce.Do(func() {
		src := tree()
		if src == "" {
			seederErr = fmt.Errorf("no MCKS server source to build the store writer from: set %s", SourceEnv)
			return
		}
		// One folder reused by every run (the port lock serialises them),
		// so no copy is left behind per test process.
		work := filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-openmcp-mcks-seed-%d", os.Getuid()))
		if err := os.RemoveAll(work); err != nil {
			seederErr = err
			return
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := copyFile(filepath.Join(src, f), filepath.Join(work, f)); err != nil {
				seederErr = err
				return
			}
		}
		for _, d := range []string{"src/core", "src/utils"} {
			if err := copyDir(filepath.Join(src, d), filepath.Join(work, d)); err != nil {
				seederErr = err
				return
			}
		}
		main := filepath.Join(sandbox.RepoRoot(), "test", "mcksserver", "testdata", "seed", "main.go")
		if err := copyFile(main, filepath.Join(work, "src", "mcksseed", "main.go")); err != nil {
			seederErr = err
			return
		}
		seederPath = filepath.Join(work, "mcks-seed")
		cmd := exec.Command("go", "build", "-trimpath", "-o", seederPath, "./src/mcksseed")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			seederErr = fmt.Errorf("build the MCKS store writer: %v: %s", err, tail2(out, 20))
		}
	})
	return seederPath, seederErr
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(path, target)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail2(b, n)
}

func tail2(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
