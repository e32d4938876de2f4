package topology

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzParseRegionZone checks that any input either parses to a value that
// is a valid label value (a known code unless allowAny) and parses again to
// itself, or fails with one line naming the value; never a panic.
func FuzzParseRegionZone(f *testing.F) {
	for _, s := range [][2]string{{"AS", "KR"}, {"as", "kr"}, {"OC", "NZ"}, {"asia", "korea"}, {"", ""}, {"EU", "UK"}, {"ap-northeast-2", "ap-northeast-2a"}, {"A\x00", "é"}} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, region, zone string, allowAny bool) {
		r, z, err := ParseRegionZone(region, zone, allowAny)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("multi-line error %q", msg)
			}
			var ce *CodeError
			if errors.As(err, &ce) && ce.Value != region && ce.Value != zone {
				t.Fatalf("error names %q, input was %q/%q", ce.Value, region, zone)
			}
			return
		}
		if region == "" && r != "" || zone == "" && z != "" {
			t.Fatalf("%q/%q gave %q/%q", region, zone, r, z)
		}
		for _, v := range []string{r, z} {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Fatalf("%q is not a label value: %v", v, errs)
			}
		}
		if !allowAny {
			if r != "" && !slices.Contains(Regions(), r) {
				t.Fatalf("region %q accepted", r)
			}
			if z != "" && !slices.Contains(Zones(), z) {
				t.Fatalf("zone %q accepted", z)
			}
		}
		r2, z2, err := ParseRegionZone(r, z, allowAny)
		if err != nil || r2 != r || z2 != z {
			t.Fatalf("not idempotent: %q/%q -> %q/%q, %v", r, z, r2, z2, err)
		}
	})
}
