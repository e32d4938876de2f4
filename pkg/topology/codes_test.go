package topology

import (
	"errors"
	"strings"
	"testing"
)

func TestZonesAreTheAssignedISOCodes(t *testing.T) {
	zones := Zones()
	if len(zones) != 249 {
		t.Fatalf("%d zone codes, want the 249 assigned ISO 3166-1 alpha-2 codes", len(zones))
	}
	for i := 1; i < len(zones); i++ {
		if zones[i-1] >= zones[i] {
			t.Fatalf("zones not sorted or duplicated at %s, %s", zones[i-1], zones[i])
		}
	}
	for _, code := range []string{"KR", "JP", "US", "GB", "SS", "CW", "SX", "BQ", "AQ", "AX", "TW", "PS"} {
		if _, err := ParseZone(code, false); err != nil {
			t.Errorf("assigned code %s rejected: %v", code, err)
		}
	}
	// Withdrawn (AN, YU, CS), reserved (UK, EU, EL) and user-assigned (XK, ZZ) codes.
	for _, code := range []string{"AN", "YU", "CS", "UK", "EU", "EL", "XK", "ZZ"} {
		if _, err := ParseZone(code, false); err == nil {
			t.Errorf("unassigned code %s accepted", code)
		}
	}
}

func TestRegionsIncludeOceania(t *testing.T) {
	want := "AF AN AS EU NA OC SA"
	if got := strings.Join(Regions(), " "); got != want {
		t.Fatalf("regions %q, want %q", got, want)
	}
	if RegionName("oc") != "Oceania" {
		t.Fatalf("OC is %q", RegionName("oc"))
	}
}

func TestParseNormalisesCase(t *testing.T) {
	for _, tc := range []struct{ region, zone, wantR, wantZ string }{
		{"as", "kr", "AS", "KR"},
		{" Eu ", "De", "EU", "DE"},
		{"OC", "", "OC", ""},
		{"", "nz", "", "NZ"},
	} {
		r, z, err := ParseRegionZone(tc.region, tc.zone, false)
		if err != nil || r != tc.wantR || z != tc.wantZ {
			t.Errorf("ParseRegionZone(%q, %q) = %q, %q, %v; want %q, %q", tc.region, tc.zone, r, z, err, tc.wantR, tc.wantZ)
		}
	}
	if _, _, err := ParseRegionZone("", " ", false); err == nil {
		t.Errorf("neither region nor zone must be an error")
	}
}

func TestUnknownCodesNameTheValueAndSuggest(t *testing.T) {
	for _, tc := range []struct {
		kind, value string
		want        []string // substrings of the error
	}{
		{"zone", "KO", []string{`invalid zone "KO"`, "KR", "KP"}},
		{"zone", "RK", []string{`"RK"`, "did you mean KR"}},
		{"zone", "UK", []string{"GB (United Kingdom)"}},
		{"zone", "KOR", []string{"KR (South Korea)"}},
		{"zone", "korea", []string{"KP", "KR"}},
		{"zone", "EU", []string{"continent", "region"}},
		{"zone", "", []string{"empty"}},
		{"region", "ASIA", []string{`invalid region "ASIA"`, "AS (Asia)"}},
		{"region", "europe", []string{"EU (Europe)"}},
		{"region", "australia", []string{"OC (Oceania)"}},
		{"region", "KR", []string{"country code", "zone", "OC Oceania"}},
		{"region", "ap-northeast-2", []string{"not a continent code", "AF Africa", "SA South America"}},
	} {
		var err error
		if tc.kind == "zone" {
			_, err = ParseZone(tc.value, false)
		} else {
			_, err = ParseRegion(tc.value, false)
		}
		if err == nil {
			t.Errorf("%s %q accepted", tc.kind, tc.value)
			continue
		}
		var ce *CodeError
		if !errors.As(err, &ce) {
			t.Errorf("%s %q: error is %T, want *CodeError", tc.kind, tc.value, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %q: error %q lacks %q", tc.kind, tc.value, msg, w)
			}
		}
	}
}

func TestSuggestionsStayShort(t *testing.T) {
	_, err := ParseZone("QQ", false)
	var ce *CodeError
	if !errors.As(err, &ce) {
		t.Fatalf("QQ accepted or wrong error: %v", err)
	}
	if len(ce.Suggestions) == 0 || len(ce.Suggestions) > maxSuggestions {
		t.Fatalf("%d suggestions for QQ: %v", len(ce.Suggestions), ce.Suggestions)
	}
	// Same first letter ranks first: Q has only QA.
	if !strings.HasPrefix(ce.Suggestions[0], "QA") {
		t.Fatalf("first suggestion for QQ is %q, want QA", ce.Suggestions[0])
	}
}

func TestAllowAnyAcceptsLabelValuesOnly(t *testing.T) {
	r, z, err := ParseRegionZone("ap-northeast-2", "ap-northeast-2a", true)
	if err != nil || r != "ap-northeast-2" || z != "ap-northeast-2a" {
		t.Fatalf("own scheme rejected: %q %q %v", r, z, err)
	}
	if r, _ := ParseRegion("as", true); r != "AS" {
		t.Errorf("a known code is still normalised with allow-any, got %q", r)
	}
	for _, bad := range []string{"has space", "-lead", strings.Repeat("a", 64), "ünï"} {
		if _, err := ParseZone(bad, true); err == nil || !strings.Contains(err.Error(), "not a valid label value") {
			t.Errorf("zone %q with allow-any: %v", bad, err)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"KR", "KR", 0}, {"KR", "RK", 1}, {"KR", "KP", 1}, {"KR", "JP", 2}, {"", "AS", 2}, {"KOR", "KR", 1}} {
		if got := distance(tc.a, tc.b); got != tc.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
