// Package write is the one vocabulary of every write the plugins make:
// kubectl's dry-run strategies (DryRun), what a write did as kubectl prints
// it (Outcome), the field manager that owns what they write, and the one
// server-side apply (Apply).
package write

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldManager names kubectl openmcp in managedFields, for every write.
const FieldManager = "kubectl-openmcp"

// FieldManagerMCKS names kubectl mcks in managedFields, for its writes.
const FieldManagerMCKS = "kubectl-mcks"

// DryRun is kubectl's --dry-run: write, compute without sending, or send as
// a server dry run (dryRun=All: the server validates, nothing persists).
type DryRun int

const (
	DryRunNone DryRun = iota
	DryRunClient
	DryRunServer
)

// ParseDryRun reads a --dry-run value: none, client or server.
func ParseDryRun(s string) (DryRun, error) {
	switch s {
	case "none":
		return DryRunNone, nil
	case "client":
		return DryRunClient, nil
	case "server":
		return DryRunServer, nil
	}
	return DryRunNone, fmt.Errorf("invalid --dry-run value %q: must be none, client or server", s)
}

func (d DryRun) String() string {
	switch d {
	case DryRunClient:
		return "client"
	case DryRunServer:
		return "server"
	}
	return "none"
}

// Options is the DryRun field of metav1's Create, Update, Patch and Delete
// options: [All] for a server dry run, nil otherwise.
func (d DryRun) Options() []string {
	if d == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// Suffix is what kubectl adds to a line it prints: " (dry run)",
// " (server dry run)" or nothing.
func (d DryRun) Suffix() string {
	switch d {
	case DryRunClient:
		return " (dry run)"
	case DryRunServer:
		return " (server dry run)"
	}
	return ""
}

// Outcome is what a write did to one object, in kubectl's words.
type Outcome string

const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
	Deleted    Outcome = "deleted"
)

func (o Outcome) String() string { return string(o) }
