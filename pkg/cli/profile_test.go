package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --profile writes a profile pprof reads, as kubectl's does; a name it does
// not know is a usage error naming it.
func TestProfileFlagWritesAProfile(t *testing.T) {
	for _, name := range []string{"cpu", "heap", "allocs"} {
		out := filepath.Join(t.TempDir(), name+".pprof")
		if code, _, errOut := run(t, "version", "--profile", name, "--profile-output", out); code != ExitOK {
			t.Fatalf("--profile %s: exit %d: %s", name, code, errOut)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 64 || b[0] != 0x1f || b[1] != 0x8b { // pprof's format: gzipped protobuf
			t.Errorf("--profile %s wrote %d bytes that are no pprof profile", name, len(b))
		}
	}
	code, _, errOut := run(t, "version", "--profile", "everything")
	if code != ExitUsage || !strings.Contains(errOut, `invalid --profile "everything"`) {
		t.Errorf("exit %d, %q: want a usage error naming the value", code, errOut)
	}
}
