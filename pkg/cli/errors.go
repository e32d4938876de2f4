package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// Exit codes scripts can rely on.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed (a cluster said no, a check failed, ...)
	ExitUsage = 2 // the command line itself is wrong; nothing was attempted
	// ExitInterrupted is what a shell reports for a command Ctrl-C ended (128+SIGINT).
	ExitInterrupted = 130
)

// UsageError marks an error in how the command was called (bad flag, wrong
// number of arguments, invalid value). It exits with ExitUsage and is followed
// by a hint to --help, as kubectl does.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// IsUsage reports whether err is (or wraps) a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// SilentError is returned by commands that have already reported what went
// wrong (e.g. one warning line per failed cluster): it only sets the exit code.
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// oneLine keeps an error to the single line the conventions ask for: API
// servers and Go's multi-errors can carry newlines. What is left that a
// terminal would act on (a server's message can hold escape sequences) is
// made visible, and a message longer than maxLine (a server's HTML error
// page) is cut.
func oneLine(msg string) string {
	return Brief(termsafe.Line(msg), maxLine)
}

// maxLine bounds an error or warning line: enough for every message of
// ours, a tenth of the 2 KiB of a server's error page client-go quotes.
const maxLine = 1024

// Brief cuts s to at most max bytes (on a character boundary), saying how
// much was left out.
func Brief(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", s[:cut], len(s)-cut)
}

// isCobraUsage recognises the argument errors cobra raises itself.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag(s)", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// InterruptedError is a command stopped by Ctrl-C (or SIGTERM). Its message
// says what was done and what was not; it exits with ExitInterrupted. It
// matches context.Canceled, so errors.Is sees it as the cancellation it is.
type InterruptedError struct{ Msg string }

func (e *InterruptedError) Error() string        { return e.Msg }
func (e *InterruptedError) Is(target error) bool { return target == context.Canceled }

// Interruptedf builds an InterruptedError.
func Interruptedf(format string, args ...any) error {
	return &InterruptedError{Msg: fmt.Sprintf(format, args...)}
}
