// Command launch runs a command and writes the peak resident set of its
// process tree, in KiB, to a file: `launch OUT CMD ARGS...`.
//
// The benchmark cannot read that from its own children: Go starts a child
// with vfork, the child shares the parent's memory until exec, and Linux
// counts the parent's peak into the child's ru_maxrss (about 70 MiB of the
// benchmark's own). This launcher is a few MiB, so what it reports is the
// command's own peak.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: launch OUT CMD [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "launch:", err)
		os.Exit(127)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		_ = os.WriteFile(os.Args[1], []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o600)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
