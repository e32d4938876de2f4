package metallb

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

func lbService(ns, name string, ips ...string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return s
}

func mustRanges(t *testing.T, vs ...string) []Range {
	t.Helper()
	rs, err := ParseRanges(vs)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestRangeSize(t *testing.T) {
	for _, tc := range []struct {
		r     string
		buggy bool
		want  string
	}{
		{"10.0.3.241-10.0.3.250", false, "10"},
		{"10.0.3.0/24", false, "256"},
		{"10.0.3.0/24", true, "254"},
		{"10.0.3.250-10.0.4.5", true, "10"}, // 12, less 10.0.3.255 and 10.0.4.0
		{"10.0.0.0/16", true, "65024"},      // 256 /24s, two each
		{"10.0.3.1-10.0.3.254", true, "254"},
		{"fd00::/120", true, "256"}, // IPv6 has no buggy addresses
		{"fd00::/64", false, "18446744073709551616"},
	} {
		r, err := parseExisting(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Size(tc.buggy).String(); got != tc.want {
			t.Errorf("%s (avoid buggy %v): size %s, want %s", tc.r, tc.buggy, got, tc.want)
		}
	}
}

func TestServiceUseOf(t *testing.T) {
	waiting := lbService("shop", "pending")
	waiting.Spec.LoadBalancerIP = "10.9.9.9"
	waiting.CreationTimestamp = metav1.NewTime(time.Unix(1000, 0))
	otherClass := lbService("shop", "other-class")
	class := "example.com/other"
	otherClass.Spec.LoadBalancerClass = &class
	clusterIP := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
	hostname := lbService("shop", "cloud")
	hostname.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}
	u := ServiceUseOf([]corev1.Service{
		lbService("web", "b", "10.0.3.242"),
		lbService("web", "a", "10.0.3.241"),
		lbService("web", "shared", "10.0.3.241"),
		lbService("web", "bad", "10.0.3.x\x1b[31m"),
		waiting, otherClass, clusterIP, hostname,
	})
	var got []string
	for _, h := range u.Holders {
		got = append(got, h.Address.String()+"="+h.Service())
	}
	if strings.Join(got, ",") != "10.0.3.241=web/a,10.0.3.241=web/shared,10.0.3.242=web/b" {
		t.Errorf("holders %v", got)
	}
	if len(u.Waiting) != 1 || u.Waiting[0].Name != "pending" || u.Waiting[0].Requested != "10.9.9.9" || !u.Waiting[0].Since.Equal(time.Unix(1000, 0)) {
		t.Errorf("waiting %+v (a hostname ingress and another class's Service do not wait for MetalLB)", u.Waiting)
	}
	if len(u.Unparsed) != 1 || strings.Contains(u.Unparsed[0], "\x1b") || !strings.Contains(u.Unparsed[0], "web/bad") {
		t.Errorf("unparsed %q: want web/bad, quoted", u.Unparsed)
	}
}

func TestPoolUsage(t *testing.T) {
	u := ServiceUseOf([]corev1.Service{
		lbService("web", "a", "10.0.3.241"),
		lbService("web", "shared", "10.0.3.241"),
		lbService("web", "b", "10.0.3.250"),
		lbService("web", "outside", "10.0.4.1"),
		lbService("web", "v6", "fd00::1"),
	})
	p := Pool{Name: "default", Ranges: mustRanges(t, "10.0.3.241-10.0.3.250", "fd00::/126")}
	got := p.Usage(u.Holders)
	if got.Size.String() != "14" || got.Used != 3 || got.Free().String() != "11" || got.Percent() != 21 {
		t.Errorf("size %s used %d free %s percent %d; want 14, 3, 11, 21", got.Size, got.Used, got.Free(), got.Percent())
	}
	if len(got.InUse) != 3 || got.InUse[0].Address != "10.0.3.241" || strings.Join(got.InUse[0].Services, ",") != "web/a,web/shared" || got.InUse[2].Address != "fd00::1" {
		t.Errorf("in use %+v", got.InUse)
	}
	full := Pool{Name: "tiny", Ranges: mustRanges(t, "10.0.3.241-10.0.3.241")}
	if u := full.Usage(u.Holders); u.Percent() != 100 || u.Free().Sign() != 0 {
		t.Errorf("full pool: %d%%, %s free", u.Percent(), u.Free())
	}
	// An address MetalLB does not hand out (avoid-buggy-ips) is not counted.
	buggyPool := Pool{Name: "b", AvoidBuggyIPs: true, Ranges: mustRanges(t, "10.0.5.0/24")}
	if u := buggyPool.Usage([]Holder{{Namespace: "x", Name: "y", Address: netip.MustParseAddr("10.0.5.0")}}); u.Used != 0 || u.Size.String() != "254" {
		t.Errorf("avoid-buggy-ips pool: used %d size %s", u.Used, u.Size)
	}
}

func TestStranded(t *testing.T) {
	holders := ServiceUseOf([]corev1.Service{
		lbService("web", "a", "10.0.3.241"),
		lbService("web", "b", "10.0.3.250"),
		lbService("other", "pool", "10.0.9.1"), // another pool's address: not ours to strand
	}).Holders
	old := mustRanges(t, "10.0.3.241-10.0.3.250")
	for _, tc := range []struct {
		next []string
		want string
	}{
		{[]string{"10.0.3.241-10.0.3.250"}, ""},
		{[]string{"10.0.3.240/28"}, ""},                            // grows: keeps both
		{[]string{"10.0.3.241-10.0.3.245"}, "web/b"},               // shrinks past b
		{[]string{"10.0.5.0/28"}, "web/a,web/b"},                   // moves away
		{[]string{"10.0.3.241/32", "10.0.3.250/32"}, ""},           // split, both kept
		{[]string{"fd00::/120", "10.0.3.250-10.0.3.250"}, "web/a"}, // family added, a lost
	} {
		var got []string
		for _, h := range Stranded(old, mustRanges(t, tc.next...), holders) {
			got = append(got, h.Service())
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%v: stranded %v, want %q", tc.next, got, tc.want)
		}
	}
	err := &StrandedError{Cluster: "cluster1", Pool: "default", Holders: Stranded(old, mustRanges(t, "10.0.5.0/28"), holders)}
	if msg := err.Error(); !strings.Contains(msg, "10.0.3.241 (Service web/a), 10.0.3.250 (Service web/b)") || !strings.Contains(msg, `pool "default" of cluster cluster1`) {
		t.Errorf("message %q", msg)
	}
}

func TestCheckFamilies(t *testing.T) {
	v4 := Families{IPv4: true, From: "service CIDRs 10.96.0.0/12"}
	if err := CheckFamilies("cluster1", mustRanges(t, "10.0.3.0/28"), v4); err != nil {
		t.Error(err)
	}
	err := CheckFamilies("cluster1", mustRanges(t, "10.0.3.0/28", "fd00::/120"), v4)
	if err == nil || !strings.Contains(err.Error(), "address range fd00::/120 is IPv6, but the Services of cluster cluster1 are IPv4 only (service CIDRs 10.96.0.0/12): allowed are IPv4 ranges") {
		t.Errorf("IPv6 range on an IPv4 cluster: %v", err)
	}
	if err := CheckFamilies("c", mustRanges(t, "10.0.3.0/28", "fd00::/120"), Families{IPv4: true, IPv6: true}); err != nil {
		t.Errorf("dual stack: %v", err)
	}
	if err := CheckFamilies("c", mustRanges(t, "10.0.3.0/28"), Families{IPv6: true}); err == nil || !strings.Contains(err.Error(), "allowed are IPv6 ranges") {
		t.Errorf("IPv4 range on an IPv6 cluster: %v", err)
	}
}

func TestDetectModeUnknownVersion(t *testing.T) {
	kube := fake.NewClientset()
	kube.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
		GroupVersion: "metallb.io/v1alpha1",
		APIResources: []metav1.APIResource{{Name: "ipaddresspools", Kind: "IPAddressPool", Namespaced: true}},
	}}
	_, err := DetectMode(t.Context(), kube.Discovery())
	var uv *UnknownVersionError
	if !errors.As(err, &uv) || !strings.Contains(err.Error(), "serves MetalLB CRDs metallb.io/v1alpha1 but not metallb.io/v1beta1 ipaddresspools") {
		t.Errorf("v1alpha1 only: %v", err)
	}
}
