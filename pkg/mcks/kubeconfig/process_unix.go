//go:build unix

package kubeconfig

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has that id (signal 0 probes it).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
