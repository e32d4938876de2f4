package kubectltext_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	_ "k8s.io/kubectl/pkg/cmd/get" // translates help text in its package variables, as in the plugins
	"k8s.io/kubectl/pkg/util/i18n"

	_ "github.com/openmcp-plugins/kubectl-openmcp/pkg/kubectltext"
)

// A German locale would load kubectl's German catalog at start-up; this
// package must have replaced the loader before any kubectl package used it.
// The check runs in a child process, whose start-up happens in that locale.
func TestKubectlCatalogIsNotLoadedAtStartUp(t *testing.T) {
	const msg = "Display one or many resources" // "Zeige eine oder mehrere Resourcen" in de_DE
	if os.Getenv("KUBECTLTEXT_CHILD") == "1" {
		fmt.Print(i18n.T(msg))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKubectlCatalogIsNotLoadedAtStartUp$")
	cmd.Env = append(os.Environ(), "KUBECTLTEXT_CHILD=1", "LANG=de_DE.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), msg) {
		t.Fatalf("with LANG=de_DE.UTF-8 kubectl's text came out as %q: its catalog was loaded at start-up", out)
	}
}
