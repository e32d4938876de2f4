package openmcpapi

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// lbPolicy reads OpenMCP's own lb-scoring-weight policy, kept with the other
// reference manifests in pkg/manifest's testdata.
func lbPolicy(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile("../manifest/testdata/reference/policy/lbPolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPolicyTableColumns(t *testing.T) {
	p, err := PolicyFrom(lbPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "lb-scoring-weight" || p.Status != "Enabled" || p.Target != "OpenMCPLoadbalancingController" {
		t.Errorf("%+v", p)
	}
	want := "GeoRate=0.2;Period=5.0;RegionZoneMatchedScore=200;OnlyRegionMatchedScore=100;NoRegionZoneMatchedScore=0"
	if got := p.PoliciesString(); got != want {
		t.Errorf("POLICIES = %q, want %q", got, want)
	}
}

func TestSetPolicyValues(t *testing.T) {
	u := lbPolicy(t)
	sets, err := ParsePolicyArgs([]string{"georate=0.3", "Period=10.0,20.0"})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := SetPolicyValues(u, sets)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	p, _ := PolicyFrom(u)
	if !reflect.DeepEqual(p.Policies[0], PolicyValue{"GeoRate", []string{"0.3"}}) || !reflect.DeepEqual(p.Policies[1], PolicyValue{"Period", []string{"10.0", "20.0"}}) {
		t.Errorf("policies after set: %+v", p.Policies)
	}
	if p.Policies[2].Values[0] != "200" {
		t.Error("other types must stay")
	}
	changed, err = SetPolicyValues(u, sets)
	if err != nil || changed {
		t.Errorf("setting the same values again: changed %v, err %v", changed, err)
	}
	_, err = SetPolicyValues(u, []PolicyValue{{"Weight", []string{"1"}}})
	if err == nil || !strings.Contains(err.Error(), `openmcppolicy "lb-scoring-weight" has no policy type "Weight" (its types: GeoRate, NoRegionZoneMatchedScore, OnlyRegionMatchedScore, Period, RegionZoneMatchedScore)`) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestParsePolicyArgs(t *testing.T) {
	for _, bad := range [][]string{{}, {"noequals"}, {"=1"}, {"a="}, {"a=1,,2"}, {"a=1", "a=2"}} {
		if _, err := ParsePolicyArgs(bad); err == nil {
			t.Errorf("ParsePolicyArgs(%q) accepted", bad)
		}
	}
}
