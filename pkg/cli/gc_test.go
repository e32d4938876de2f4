package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGCLeavesTheUsersGOGCAndGOMEMLIMITAlone(t *testing.T) {
	restorePercent := debug.SetGCPercent(100)
	restoreLimit := debug.SetMemoryLimit(-1)
	defer debug.SetGCPercent(restorePercent)
	defer debug.SetMemoryLimit(restoreLimit)

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOGC")
	os.Unsetenv("GOMEMLIMIT")
	tuneGC()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != gcPercent || l != gcSoftLimit {
		t.Errorf("without GOGC/GOMEMLIMIT: GOGC %d, limit %d; want %d, %d", p, l, gcPercent, gcSoftLimit)
	}

	t.Setenv("GOGC", "50")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 30)
	tuneGC()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != 50 || l != 1<<30 {
		t.Errorf("with GOGC=50 GOMEMLIMIT=1GiB: GOGC %d, limit %d; the user's settings were overridden", p, l)
	}
}
