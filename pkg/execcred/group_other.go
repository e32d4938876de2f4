//go:build !unix

package execcred

import (
	"fmt"
	"os"
	"os/exec"
)

func ownGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

// ownedByUs cannot be told here: the cache is not used.
func ownedByUs(fi os.FileInfo) bool { return false }

func openPrivate(path string) (*os.File, error) {
	return nil, fmt.Errorf("the exec credential cache works on Unix only")
}
