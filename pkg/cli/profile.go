package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// profiling is kubectl's --profile and --profile-output: a pprof profile of
// one real invocation (its TLS handshakes, discovery cache reads and garbage
// collection included, which an in-process benchmark loop hides).
type profiling struct {
	name, output string
	cpuFile      *os.File
}

var profileNames = []string{"none", "cpu", "heap", "allocs", "goroutine", "threadcreate", "block", "mutex"}

func (p *profiling) addFlags(flags *pflag.FlagSet) {
	flags.StringVar(&p.name, "profile", "none", "Name of profile to capture, as kubectl's: one of ("+strings.Join(profileNames, "|")+")")
	flags.StringVar(&p.output, "profile-output", "profile.pprof", "Name of the file to write the profile to")
}

func (p *profiling) start() error {
	if !slices.Contains(profileNames, p.name) {
		return Usagef("invalid --profile %q: allowed values are %s", p.name, strings.Join(profileNames, ", "))
	}
	switch p.name {
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return fmt.Errorf("--profile-output: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		p.cpuFile = f
	case "heap", "allocs":
		runtime.MemProfileRate = 4096 // as kubectl: fine enough to see a command's allocations
	case "block":
		runtime.SetBlockProfileRate(1)
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	}
	return nil
}

// stop writes the profile; a failure is one warning, never the command's exit code.
func (p *profiling) stop(warn func(format string, args ...any)) {
	switch p.name {
	case "none", "":
		return
	case "cpu":
		if p.cpuFile != nil {
			pprof.StopCPUProfile()
			if err := p.cpuFile.Close(); err != nil {
				warn("--profile-output: %v", err)
			}
		}
		return
	}
	prof := pprof.Lookup(p.name)
	if prof == nil {
		return
	}
	if p.name == "heap" || p.name == "allocs" {
		runtime.GC() // the memory profiles are as of the last collection
	}
	f, err := os.Create(p.output)
	if err == nil {
		err = prof.WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		warn("--profile-output: %v", err)
	}
}
