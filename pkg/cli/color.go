package cli

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// ColorMode is the value of --color.
type ColorMode string

const (
	ColorAuto   ColorMode = "auto"
	ColorAlways ColorMode = "always"
	ColorNever  ColorMode = "never"
)

// ApplyColor sets fatih/color's global switch. auto means: colour only when
// out is a terminal and NO_COLOR (https://no-color.org) is not set; an
// explicit --color=always is the user's word for this one run and wins.
func ApplyColor(mode string, out io.Writer) error {
	switch ColorMode(mode) {
	case ColorNever:
		color.NoColor = true
	case ColorAlways:
		color.NoColor = false
	case ColorAuto, "":
		color.NoColor = !IsTerminal(out) || os.Getenv("NO_COLOR") != ""
	default:
		return Usagef("invalid --color %q: allowed values are auto, always, never", mode)
	}
	return nil
}

// IsTerminal reports whether w writes to a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Palette holds the few colours the plugins use, so every command agrees on
// what green and red mean.
var (
	Good = color.New(color.FgGreen).SprintFunc()
	Warn = color.New(color.FgYellow).SprintFunc()
	Bad  = color.New(color.FgRed).SprintFunc()
	Bold = color.New(color.Bold).SprintFunc()
)

// Warnf prints a one-line warning on w, in kubectl's "Warning: " form.
func Warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s %s\n", Warn("Warning:"), oneLine(fmt.Sprintf(format, args...)))
}

// Errorf prints a one-line "error: ..." on w, for commands that report
// several failures (one per cluster) before choosing their exit code.
func Errorf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s %s\n", Bad("error:"), oneLine(fmt.Sprintf(format, args...)))
}

// serverWarnings prints the Warning headers servers send (deprecated APIs,
// admission warnings) on stderr once each, as kubectl does; unlike
// client-go's WarningWriter, made safe and bounded: a member is free to send
// escape sequences or a new warning with every answer.
type serverWarnings struct {
	mu   sync.Mutex
	w    io.Writer
	seen map[string]bool
}

// maxServerWarnings is how many different warnings one command prints.
const maxServerWarnings = 20

func (s *serverWarnings) HandleWarningHeader(code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[text] || len(s.seen) > maxServerWarnings {
		return
	}
	s.seen[text] = true
	if len(s.seen) > maxServerWarnings {
		Warnf(s.w, "more warnings from the servers are not shown")
		return
	}
	Warnf(s.w, "%s", text)
}
