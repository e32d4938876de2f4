//go:build unix

package execcred

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the plugin in a process group of its own, so that a
// timeout kills what it started too (a shell script's sleep, a browser
// helper), not only the plugin.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
