package openmcpapi

import (
	"reflect"
	"testing"
)

// Only what is known is written: `label` must not blank the MetalLB range
// that `join` recorded, nor `metallb` the region.
func TestClusterRecordFillsOnlyKnownFields(t *testing.T) {
	spec := map[string]any{"metalLBRange": map[string]any{"addressFrom": "10.0.0.1", "addressTo": "10.0.0.9"}}
	ClusterRecord{Region: "AS", Zone: "KR"}.fill(spec)
	want := map[string]any{
		"metalLBRange": map[string]any{"addressFrom": "10.0.0.1", "addressTo": "10.0.0.9"},
		"nodeInfo":     map[string]any{"region": "AS", "zone": "KR"},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec %v, want %v", spec, want)
	}
}
