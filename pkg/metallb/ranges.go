// Package metallb reads and writes a member cluster's MetalLB address pools,
// in whichever form its MetalLB reads them: IPAddressPool and L2Advertisement
// objects (v0.13 and later) or the legacy ConfigMap.
package metallb

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Range is a contiguous block of addresses of one family, as MetalLB takes
// them: "FROM-TO" or a CIDR.
type Range struct {
	From, To netip.Addr
	// Prefix is set when the range was written as a CIDR, so it prints back
	// the way the user (or the cluster) wrote it.
	Prefix netip.Prefix
}

// ParseRange parses "FROM-TO" (spaces around the dash allowed, as MetalLB
// does) or a CIDR, IPv4 or IPv6. It rejects what MetalLB would reject or
// silently misread: malformed addresses, FROM > TO, families mixed in one
// range, zones, IPv4-mapped IPv6, CIDRs with host bits set, and IPv4 pools
// made only of .0 and .255 addresses (network and broadcast addresses of
// /24s, which MetalLB's avoidBuggyIPs skips and many clients mishandle).
func ParseRange(s string) (Range, error) { return parseRange(s, true) }

// parseExisting reads an address a cluster already holds, as leniently as
// MetalLB itself: host bits are masked and tiny pools pass, so a pool that
// MetalLB accepted is never unreadable here.
func parseExisting(s string) (Range, error) { return parseRange(s, false) }

func parseRange(s string, strict bool) (Range, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return Range{}, fmt.Errorf("empty address range: want FROM-TO (10.0.3.241-10.0.3.250) or a CIDR (10.0.3.240/28)")
	}
	var r Range
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return Range{}, fmt.Errorf("invalid address range %q: not a CIDR (%s)", s, cutErr(err))
		}
		if err := checkAddr(s, p.Addr()); err != nil {
			return Range{}, err
		}
		if m := p.Masked(); m != p && !strict {
			p = m
		} else if m != p {
			return Range{}, fmt.Errorf("invalid address range %q: host bits set after /%d; did you mean %s?", s, p.Bits(), m)
		}
		r = Range{From: p.Addr(), To: lastAddr(p), Prefix: p}
	} else {
		from, to, ok := strings.Cut(v, "-")
		if !ok {
			return Range{}, fmt.Errorf("invalid address range %q: want FROM-TO (10.0.3.241-10.0.3.250) or a CIDR (10.0.3.240/28)", s)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(from))
		if err != nil {
			return Range{}, fmt.Errorf("invalid address range %q: bad start address (%s)", s, cutErr(err))
		}
		b, err := netip.ParseAddr(strings.TrimSpace(to))
		if err != nil {
			return Range{}, fmt.Errorf("invalid address range %q: bad end address (%s)", s, cutErr(err))
		}
		for _, x := range []netip.Addr{a, b} {
			if err := checkAddr(s, x); err != nil {
				return Range{}, err
			}
		}
		if a.Is4() != b.Is4() {
			return Range{}, fmt.Errorf("invalid address range %q: mixes IPv4 and IPv6; give one range per family", s)
		}
		if b.Less(a) {
			return Range{}, fmt.Errorf("invalid address range %q: start %s is after end %s", s, a, b)
		}
		r = Range{From: a, To: b}
	}
	if strict && r.onlyNetworkOrBroadcast() {
		return Range{}, fmt.Errorf("invalid address range %q: holds only network/broadcast (.0 and .255) addresses, which no Service can use", s)
	}
	return r, nil
}

func checkAddr(s string, a netip.Addr) error {
	switch {
	case a.Zone() != "":
		return fmt.Errorf("invalid address range %q: IPv6 zone %%%s not allowed in a pool", s, a.Zone())
	case a.Is4In6():
		return fmt.Errorf("invalid address range %q: IPv4-mapped IPv6 address %s; write it as IPv4 %s", s, a, a.Unmap())
	}
	return nil
}

// cutErr drops netip's restatement of the input, which the caller quotes already.
func cutErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// onlyNetworkOrBroadcast: an IPv4 range of at most two addresses, each ending
// in .0 or .255 (a longer range always holds a usable address).
func (r Range) onlyNetworkOrBroadcast() bool {
	if !r.From.Is4() {
		return false
	}
	bad := func(a netip.Addr) bool { b := a.As4(); return b[3] == 0 || b[3] == 255 }
	if !bad(r.From) || !bad(r.To) {
		return false
	}
	return r.From == r.To || r.From.Next() == r.To
}

// String is the canonical form: the CIDR when given as one, else FROM-TO.
func (r Range) String() string {
	if r.Prefix.IsValid() {
		return r.Prefix.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// Is4 reports whether the range is IPv4.
func (r Range) Is4() bool { return r.From.Is4() }

// Overlaps reports whether two ranges share an address.
func (r Range) Overlaps(o Range) bool {
	if r.Is4() != o.Is4() {
		return false
	}
	return !r.To.Less(o.From) && !o.To.Less(r.From)
}

// ParseRanges parses several ranges and refuses ones that overlap each other.
func ParseRanges(values []string) ([]Range, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("no address range given")
	}
	out := make([]Range, 0, len(values))
	for _, v := range values {
		r, err := ParseRange(v)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if r.Overlaps(o) {
				return nil, fmt.Errorf("address ranges %s and %s overlap", o, r)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Strings renders ranges canonically.
func Strings(rs []Range) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// sameRanges compares two address lists as sets of address blocks: the same
// block written "10.0.0.0/30" or "10.0.0.0 - 10.0.0.3" is the same.
func sameRanges(a, b []Range) bool {
	key := func(rs []Range) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.From.String() + "-" + r.To.String()
		}
		sort.Strings(out)
		return out
	}
	ka, kb := key(a), key(b)
	if len(ka) != len(kb) {
		return false
	}
	for i := range ka {
		if ka[i] != kb[i] {
			return false
		}
	}
	return true
}
