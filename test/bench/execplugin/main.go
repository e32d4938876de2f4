// Command execplugin is the benchmark's exec credential plugin, shaped like
// the cloud ones (aws eks get-token --cluster-name X, gke-gcloud-auth-plugin,
// kubelogin): it spends BENCH_PLUGIN_CPU of CPU (default 150ms, about what a
// cloud plugin's start-up costs), then prints an ExecCredential with the
// token in the file BENCH_PLUGIN_TOKEN_FILE, valid for an hour. Every run
// appends a line with the CPU it used, in nanoseconds, to BENCH_PLUGIN_COUNT,
// so the benchmark counts the plugins a command spawned and what they spent.
// Its arguments (--cluster-name NAME) only make each context's configuration
// its own.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	burn := 150 * time.Millisecond
	if v := os.Getenv("BENCH_PLUGIN_CPU"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "invalid BENCH_PLUGIN_CPU %q: want a duration such as 150ms\n", v)
			os.Exit(2)
		}
		burn = d
	}
	x := uint64(1)
	for cpu() < burn {
		for range 100000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	token, err := os.ReadFile(os.Getenv("BENCH_PLUGIN_TOKEN_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "no token:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1",
		"kind":       "ExecCredential",
		"status": map[string]any{
			"token":               strings.TrimSpace(string(token)),
			"expirationTimestamp": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		},
	})
	if path := os.Getenv("BENCH_PLUGIN_COUNT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			// One write of one short line: appends of several plugins at once do not mix.
			_, _ = f.WriteString(strconv.FormatInt(int64(cpu()), 10) + "\n")
			f.Close()
		}
	}
	fmt.Println(string(out))
	_ = x
}

// cpu is the CPU time this process has used.
func cpu() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
