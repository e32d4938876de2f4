package write

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseDryRun(t *testing.T) {
	for s, want := range map[string]DryRun{"none": DryRunNone, "client": DryRunClient, "server": DryRunServer} {
		got, err := ParseDryRun(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseDryRun(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseDryRun("maybe"); err == nil || !strings.Contains(err.Error(), `"maybe"`) || !strings.Contains(err.Error(), "none, client or server") {
		t.Errorf("ParseDryRun(maybe): %v", err)
	}
	if o := DryRunServer.Options(); len(o) != 1 || o[0] != metav1.DryRunAll {
		t.Errorf("server options %v", o)
	}
	if DryRunClient.Options() != nil || DryRunNone.Options() != nil {
		t.Error("only a server dry run sends dryRun=All")
	}
	if DryRunNone.Suffix() != "" || DryRunClient.Suffix() != " (dry run)" || DryRunServer.Suffix() != " (server dry run)" {
		t.Error("suffixes are kubectl's")
	}
}
