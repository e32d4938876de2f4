package fleet

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestSelectorShortKeysStandForTopologyLabels(t *testing.T) {
	kr := labels.Set{RegionLabel: "AS", ZoneLabel: "KR", "platform": "eks"}
	de := labels.Set{RegionLabel: "EU", ZoneLabel: "DE"}
	for _, c := range []struct {
		sel    string
		kr, de bool
	}{
		{"region=AS", true, false},
		{"zone in (KR,DE)", true, true},
		{"region!=AS,platform", false, false},
		{RegionLabel + "=EU", false, true},
		{"!platform", false, true},
	} {
		s := &SelectionFlags{Selector: c.sel}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q: %v", c.sel, err)
		}
		sel := s.Selection().Selector
		if sel.Matches(kr) != c.kr || sel.Matches(de) != c.de {
			t.Errorf("%q matches KR %v, DE %v; want %v, %v", c.sel, sel.Matches(kr), sel.Matches(de), c.kr, c.de)
		}
	}
	if err := (&SelectionFlags{Selector: "region in (AS"}).Validate(); err == nil {
		t.Error("a broken selector was accepted")
	}
}
