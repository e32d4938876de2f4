package metallb

import (
	"strings"
	"testing"
)

func ranges(t *testing.T, s ...string) []Range {
	t.Helper()
	rs, err := ParseRanges(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const guideConfig = `# set by the platform team
peers:
- peer-address: 10.0.0.1
  peer-asn: 64501
  my-asn: 64500
address-pools:
- name: bgp-pool
  protocol: bgp
  avoid-buggy-ips: true
  addresses:
  - 192.168.10.0/24
- name: default
  protocol: layer2
  addresses:
  - 10.0.3.241-10.0.3.250 # lab range
`

func TestSetConfigPoolSameRangeIsUnchanged(t *testing.T) {
	for _, same := range [][]string{{"10.0.3.241-10.0.3.250"}, {" 10.0.3.241 - 10.0.3.250"}} {
		out, changed, err := setConfigPool(guideConfig, "default", ranges(t, same...), nil)
		if err != nil || changed || out != guideConfig {
			t.Fatalf("%v: changed=%v err=%v\n%s", same, changed, err, out)
		}
	}
}

func TestSetConfigPoolReplacesOnlyThatPool(t *testing.T) {
	out, changed, err := setConfigPool(guideConfig, "default", ranges(t, "10.0.4.0/28"), nil)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	pools, err := configPools(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 2 {
		t.Fatalf("%d pools:\n%s", len(pools), out)
	}
	if p := pools[1]; p.Name != "default" || strings.Join(p.Addresses, ",") != "10.0.4.0/28" || p.Protocol != "layer2" {
		t.Errorf("default pool now %+v", p)
	}
	if p := pools[0]; p.Name != "bgp-pool" || p.Protocol != "bgp" || strings.Join(p.Addresses, ",") != "192.168.10.0/24" {
		t.Errorf("other pool changed: %+v", p)
	}
	for _, keep := range []string{"# set by the platform team", "peer-asn: 64501", "avoid-buggy-ips: true"} {
		if !strings.Contains(out, keep) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
	if strings.Contains(out, "10.0.3.241") {
		t.Errorf("old range kept:\n%s", out)
	}
}

func TestSetConfigPoolAddsLayer2Pool(t *testing.T) {
	out, changed, err := setConfigPool(guideConfig, "lab", ranges(t, "10.0.5.10-10.0.5.20", "fd00::10-fd00::20"), nil)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	pools, _ := configPools(out)
	if len(pools) != 3 || pools[2].Name != "lab" || pools[2].Protocol != "layer2" || len(pools[2].Ranges) != 2 || !pools[2].AutoAssign {
		t.Fatalf("pools %+v\n%s", pools, out)
	}
}

func TestSetConfigPoolOnEmptyConfigIsTheGuidesDocument(t *testing.T) {
	out, changed, err := setConfigPool("", "default", ranges(t, "10.0.3.241-10.0.3.250"), nil)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	want := "address-pools:\n  - name: default\n    protocol: layer2\n    addresses:\n      - 10.0.3.241-10.0.3.250\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSetConfigPoolAutoAssign(t *testing.T) {
	off := false
	out, changed, err := setConfigPool(guideConfig, "default", ranges(t, "10.0.3.241-10.0.3.250"), &off)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	pools, _ := configPools(out)
	if pools[1].AutoAssign {
		t.Fatalf("auto-assign still on:\n%s", out)
	}
	if _, changed, _ := setConfigPool(out, "default", ranges(t, "10.0.3.241-10.0.3.250"), &off); changed {
		t.Errorf("auto-assign false twice changed the config")
	}
}

func TestSetConfigPoolRefusesBrokenConfig(t *testing.T) {
	for _, bad := range []string{"address-pools: [", "- just\n- a list\n", "address-pools: 7\n"} {
		if _, _, err := setConfigPool(bad, "default", ranges(t, "10.0.3.241-10.0.3.250"), nil); err == nil {
			t.Errorf("%q: edited a broken config", bad)
		}
	}
}
