package metallb

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseRange checks that any input either fails with one line that
// quotes it, or gives an ordered, single-family range whose canonical form
// parses back to the same addresses.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"10.0.3.241-10.0.3.250", "10.0.3.240/28", " 10.0.3.1 - 10.0.3.9 ", "10.0.3.250-10.0.3.241",
		"fd00::1-fd00::ff", "fd00::/120", "10.0.3.1-fd00::1", "10.0.3.0/32", "10.0.3.5/24",
		"::ffff:1.2.3.4/128", "fe80::1%eth0-fe80::2%eth0", "", "-", "/", "1.2.3.4/", "0.0.0.0/0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("multi-line error %q", msg)
			}
			if strings.TrimSpace(s) != "" && !strings.Contains(msg, strconv.Quote(s)) {
				t.Fatalf("error %q does not name %q", msg, s)
			}
			return
		}
		if !r.From.IsValid() || !r.To.IsValid() || r.From.Is4() != r.To.Is4() || r.To.Less(r.From) {
			t.Fatalf("%q gave a bad range %v..%v", s, r.From, r.To)
		}
		if r.From.Zone() != "" || r.From.Is4In6() {
			t.Fatalf("%q gave %v", s, r.From)
		}
		if !r.Overlaps(r) {
			t.Fatalf("%q does not overlap itself", s)
		}
		back, err := ParseRange(r.String())
		if err != nil || back.From != r.From || back.To != r.To || back.String() != r.String() {
			t.Fatalf("%q -> %q -> %v..%v, %v", s, r.String(), back.From, back.To, err)
		}
	})
}
