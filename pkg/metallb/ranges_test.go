package metallb

import (
	"strings"
	"testing"
)

func TestParseRangeAccepts(t *testing.T) {
	for _, tc := range []struct{ in, canon, from, to string }{
		{"10.0.3.241-10.0.3.250", "10.0.3.241-10.0.3.250", "10.0.3.241", "10.0.3.250"},
		{" 10.0.3.241 - 10.0.3.250 ", "10.0.3.241-10.0.3.250", "10.0.3.241", "10.0.3.250"},
		{"10.0.3.240/28", "10.0.3.240/28", "10.0.3.240", "10.0.3.255"},
		{"192.168.1.7/32", "192.168.1.7/32", "192.168.1.7", "192.168.1.7"},
		{"10.0.3.5-10.0.3.5", "10.0.3.5-10.0.3.5", "10.0.3.5", "10.0.3.5"},
		{"10.0.0.0/8", "10.0.0.0/8", "10.0.0.0", "10.255.255.255"},
		{"10.0.3.0/31", "10.0.3.0/31", "10.0.3.0", "10.0.3.1"},
		{"fd00:10::1-fd00:10::ff", "fd00:10::1-fd00:10::ff", "fd00:10::1", "fd00:10::ff"},
		{"FD00:10::/120", "fd00:10::/120", "fd00:10::", "fd00:10::ff"},
		{"2001:db8::/32", "2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"fd00::0-fd00::0", "fd00::-fd00::", "fd00::", "fd00::"}, // IPv6 has no broadcast
	} {
		r, err := ParseRange(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.String() != tc.canon || r.From.String() != tc.from || r.To.String() != tc.to {
			t.Errorf("%q parsed as %s (%s..%s), want %s (%s..%s)", tc.in, r, r.From, r.To, tc.canon, tc.from, tc.to)
		}
	}
}

func TestParseRangeRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty address range"},
		{"10.0.3.241", "want FROM-TO"},
		{"10.0.3.300-10.0.3.310", "bad start address"},
		{"10.0.3.1-10.0.3", "bad end address"},
		{"10.0.3.250-10.0.3.241", "start 10.0.3.250 is after end 10.0.3.241"},
		{"10.0.3.1-fd00::1", "mixes IPv4 and IPv6"},
		{"10.0.3.0/33", "not a CIDR"},
		{"10.0.3.5/24", "did you mean 10.0.3.0/24"},
		{"10.0.3.0-10.0.3.0", "only network/broadcast"},
		{"10.0.3.255/32", "only network/broadcast"},
		{"10.0.3.255-10.0.4.0", "only network/broadcast"},
		{"fe80::1%eth0-fe80::9%eth0", "zone"},
		{"::ffff:10.0.0.1-::ffff:10.0.0.9", "write it as IPv4 10.0.0.1"},
		{"10.0.3.1--10.0.3.4", "bad end address"},
		{"a-b", "bad start address"},
	} {
		_, err := ParseRange(tc.in)
		if err == nil {
			t.Errorf("%q accepted", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%q: error %q lacks %q", tc.in, msg, tc.want)
		}
		if tc.in != "" && !strings.Contains(msg, `"`+tc.in+`"`) {
			t.Errorf("%q: error %q does not name the value", tc.in, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%q: multi-line error", tc.in)
		}
	}
}

func TestOverlaps(t *testing.T) {
	mustRange := func(s string) Range {
		r, err := ParseRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"10.0.3.241-10.0.3.250", "10.0.3.240/28", true},
		{"10.0.3.241-10.0.3.250", "10.0.3.250-10.0.3.254", true}, // one shared address
		{"10.0.3.241-10.0.3.250", "10.0.3.251-10.0.3.254", false},
		{"10.0.3.240/28", "10.0.4.0/28", false},
		{"10.0.0.0/8", "10.200.1.1-10.200.1.9", true},
		{"fd00::/64", "fd00::5-fd00::9", true},
		{"fd00::/64", "fd01::5-fd01::9", false},
		{"10.0.0.1-10.0.0.9", "::a00:1-::a00:9", false}, // different families never overlap
	} {
		a, b := mustRange(tc.a), mustRange(tc.b)
		if a.Overlaps(b) != tc.want || b.Overlaps(a) != tc.want {
			t.Errorf("%s vs %s: overlap %v, want %v", tc.a, tc.b, a.Overlaps(b), tc.want)
		}
	}
	if _, err := ParseRanges([]string{"10.0.3.240/28", "10.0.3.241-10.0.3.242"}); err == nil || !strings.Contains(err.Error(), "10.0.3.240/28 and 10.0.3.241-10.0.3.242 overlap") {
		t.Errorf("overlapping --range values: %v", err)
	}
	if rs, err := ParseRanges([]string{"10.0.3.240/28", "fd00::/120"}); err != nil || len(rs) != 2 {
		t.Errorf("a dual-stack pool is allowed: %v", err)
	}
}

func TestExistingAddressesAreReadLeniently(t *testing.T) {
	// MetalLB itself accepts these, so a cluster may hold them.
	for _, s := range []string{"10.0.3.5/24", "10.0.3.0-10.0.3.0"} {
		if _, err := parseExisting(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	r, _ := parseExisting("10.0.3.5/24")
	if r.From.String() != "10.0.3.0" || r.To.String() != "10.0.3.255" {
		t.Errorf("host bits not masked: %s..%s", r.From, r.To)
	}
}
