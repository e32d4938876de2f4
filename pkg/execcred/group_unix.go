//go:build unix

package execcred

import (
	"fmt"
	"os"
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

// ownedByUs: the file belongs to the user running this.
func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// openPrivate opens a cache file, never through a symbolic link, and only if
// it is a regular file of ours that no one else can read or write.
func openPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 || !ownedByUs(fi) {
		f.Close()
		return nil, fmt.Errorf("not a private file of yours (mode 0600)")
	}
	return f, nil
}
