// Package topology labels a federation member with its region and zone, the
// way OpenMCP's scheduler and KubeFed's placement read them: region is a
// continent code, zone an ISO 3166-1 alpha-2 country code, written on the
// member's nodes under both the GA and the deprecated beta keys and on the
// host's KubeFedCluster.
package topology

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

type country struct {
	Code   string // ISO 3166-1 alpha-2
	Alpha3 string
	Name   string
}

type region struct {
	Code string
	Name string
}

// regions are the continents. The OpenMCP guide lists six and forgets
// Oceania; OC is the code the UN M49 continental grouping uses for it.
var regions = []region{
	{"AF", "Africa"},
	{"AN", "Antarctica"},
	{"AS", "Asia"},
	{"EU", "Europe"},
	{"NA", "North America"},
	{"OC", "Oceania"},
	{"SA", "South America"},
}

// aliases are codes people type that ISO does not assign to the country they
// mean; they are only ever suggestions, never accepted.
var aliases = map[string]string{
	"UK": "GB", // exceptionally reserved; the ISO code is GB
	"EL": "GR", // the EU's code for Greece
}

var (
	regionByCode  = map[string]region{}
	countryByCode = map[string]country{}
)

func init() {
	for _, r := range regions {
		regionByCode[r.Code] = r
	}
	for _, c := range countries {
		countryByCode[c.Code] = c
	}
}

// Regions returns the accepted region codes, sorted.
func Regions() []string {
	out := make([]string, len(regions))
	for i, r := range regions {
		out[i] = r.Code
	}
	return out
}

// Zones returns the accepted zone codes (every assigned ISO 3166-1 alpha-2
// code), sorted.
func Zones() []string {
	out := make([]string, len(countries))
	for i, c := range countries {
		out[i] = c.Code
	}
	return out
}

// RegionName and ZoneName give the human name of a code, "" when unknown.
func RegionName(code string) string { return regionByCode[strings.ToUpper(code)].Name }
func ZoneName(code string) string   { return countryByCode[strings.ToUpper(code)].Name }

// CodeError is an unknown or malformed region or zone. It names the value
// and the nearest valid codes, so the user can fix the command line at once.
type CodeError struct {
	Kind        string // "region" or "zone"
	Value       string
	Reason      string
	Suggestions []string // "KR (South Korea)" or bare codes when there are many
}

func (e *CodeError) Error() string {
	msg := fmt.Sprintf("invalid %s %q: %s", e.Kind, e.Value, e.Reason)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + orList(e.Suggestions) + "?"
	}
	return msg
}

func orList(items []string) string {
	switch len(items) {
	case 1:
		return items[0]
	case 2:
		return items[0] + " or " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// ParseRegion checks and normalises a region: a continent code in any case,
// returned upper case. With allowAny any valid label value is accepted (a
// team's own scheme), still upper-cased when it happens to be a known code.
func ParseRegion(value string, allowAny bool) (string, error) {
	v := strings.TrimSpace(value)
	up := strings.ToUpper(v)
	if _, ok := regionByCode[up]; ok {
		return up, nil
	}
	if allowAny {
		return anyLabelValue("region", value, v)
	}
	e := &CodeError{Kind: "region", Value: value, Reason: "not a continent code (" + regionList() + ")"}
	if v == "" {
		e.Reason = "empty; give a continent code (" + regionList() + ")"
		return "", e
	}
	if c, ok := countryByCode[up]; ok {
		// Near-miss continents would only mislead here.
		e.Reason = fmt.Sprintf("%s (%s) is a country code, which belongs in the zone; the region is its continent (%s)", up, c.Name, regionList())
		return "", e
	}
	e.Suggestions = suggestRegions(up)
	return "", e
}

// ParseZone checks and normalises a zone: an assigned ISO 3166-1 alpha-2
// country code in any case, returned upper case. allowAny as in ParseRegion.
func ParseZone(value string, allowAny bool) (string, error) {
	v := strings.TrimSpace(value)
	up := strings.ToUpper(v)
	if _, ok := countryByCode[up]; ok {
		return up, nil
	}
	if allowAny {
		return anyLabelValue("zone", value, v)
	}
	e := &CodeError{Kind: "zone", Value: value, Reason: "not an assigned ISO 3166-1 alpha-2 country code"}
	if v == "" {
		e.Reason = "empty; give an ISO 3166-1 alpha-2 country code such as KR"
		return "", e
	}
	if r, ok := regionByCode[up]; ok {
		e.Reason = fmt.Sprintf("%s (%s) is a continent, which belongs in the region; the zone is a country code", up, r.Name)
	}
	e.Suggestions = suggestZones(up)
	return "", e
}

// ParseRegionZone parses both at once; an empty value means "not given" and
// is returned empty, but at least one of the two must be set.
func ParseRegionZone(regionValue, zoneValue string, allowAny bool) (string, string, error) {
	if strings.TrimSpace(regionValue) == "" && strings.TrimSpace(zoneValue) == "" {
		return "", "", fmt.Errorf("nothing to set: give a region, a zone or both")
	}
	var r, z string
	var err error
	if regionValue != "" {
		if r, err = ParseRegion(regionValue, allowAny); err != nil {
			return "", "", err
		}
	}
	if zoneValue != "" {
		if z, err = ParseZone(zoneValue, allowAny); err != nil {
			return "", "", err
		}
	}
	return r, z, nil
}

func anyLabelValue(kind, value, trimmed string) (string, error) {
	if trimmed == "" {
		return "", &CodeError{Kind: kind, Value: value, Reason: "empty"}
	}
	if errs := validation.IsValidLabelValue(trimmed); len(errs) > 0 {
		return "", &CodeError{Kind: kind, Value: value, Reason: "not a valid label value: " + strings.Join(errs, "; ")}
	}
	return trimmed, nil
}

func regionList() string {
	parts := make([]string, len(regions))
	for i, r := range regions {
		parts[i] = r.Code + " " + r.Name
	}
	return strings.Join(parts, ", ")
}

// suggestRegions matches continent names ("asia", "Europe") and codes one
// edit away.
func suggestRegions(up string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(r region) {
		if !seen[r.Code] {
			seen[r.Code] = true
			out = append(out, r.Code+" ("+r.Name+")")
		}
	}
	if len(up) >= 3 {
		for _, r := range regions {
			if strings.Contains(strings.ToUpper(r.Name), up) || strings.Contains(up, strings.ToUpper(r.Name)) {
				add(r)
			}
		}
		if up == "AUSTRALIA" || up == "OCEANIA" || up == "PACIFIC" {
			add(regionByCode["OC"])
		}
	}
	if len(up) <= 3 {
		for _, r := range regions {
			if distance(up, r.Code) == 1 {
				add(r)
			}
		}
	}
	return out
}

// maxSuggestions keeps the error to one readable line.
const maxSuggestions = 12

// suggestZones tries, in order: a known misnomer (UK) or an alpha-3 code
// (KOR), else a country name ("korea"), else codes one edit away, a swap
// (RK -> KR) first and codes sharing the first letter before the others.
func suggestZones(up string) []string {
	var codes []string
	seen := map[string]bool{}
	add := func(code string) {
		if !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}
	if a, ok := aliases[up]; ok {
		add(a)
	}
	if len(up) == 3 {
		for _, c := range countries {
			if c.Alpha3 == up {
				add(c.Code)
			}
		}
	}
	if len(codes) == 0 && len(up) >= 3 {
		for _, c := range countries {
			if strings.Contains(foldName(c.Name), foldName(up)) {
				add(c.Code)
			}
		}
	}
	// Edit distance only when nothing above knew what was meant: a list of
	// near misses would bury the one right answer.
	if len(codes) == 0 && len(up) <= 3 {
		type cand struct {
			code string
			rank int
		}
		var cands []cand
		for _, c := range countries {
			if distance(up, c.Code) != 1 {
				continue
			}
			rank := 3
			switch {
			case len(up) == 2 && up[0] == c.Code[1] && up[1] == c.Code[0]:
				rank = 0
			case len(up) > 0 && up[0] == c.Code[0]:
				rank = 1
			case len(up) > 1 && up[1] == c.Code[1]:
				rank = 2
			}
			cands = append(cands, cand{c.Code, rank})
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].rank < cands[j].rank })
		for _, c := range cands {
			add(c.code)
		}
	}
	if len(codes) > maxSuggestions {
		codes = codes[:maxSuggestions]
	}
	// Names help when the list is short; a long list stays on one line.
	if len(codes) <= 3 {
		for i, c := range codes {
			codes[i] = c + " (" + countryByCode[c].Name + ")"
		}
	}
	return codes
}

// foldName upper-cases and drops what users leave out when typing a name.
func foldName(s string) string {
	r := strings.NewReplacer("Å", "A", "Ç", "C", "É", "E", "Ü", "U", "Ô", "O", "'", "", ".", "", ",", "", "-", " ")
	return r.Replace(strings.ToUpper(s))
}

// distance is the optimal string alignment distance (Levenshtein plus
// adjacent swaps), so "RK" is one edit from "KR".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
