package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
)

func TestMetalLBUseFinding(t *testing.T) {
	now := time.Unix(10000, 0)
	r, _ := metallb.ParseRanges([]string{"10.0.3.241-10.0.3.250"})
	pool := metallb.Pool{Name: "default", Ranges: r}
	holders := func(n int) []metallb.Holder {
		var out []metallb.Holder
		a := r[0].From
		for i := 0; i < n; i++ {
			out = append(out, metallb.Holder{Namespace: "web", Name: "svc" + a.String(), Address: a})
			a = a.Next()
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		use    metallb.ServiceUse
		status CheckStatus
		want   string
	}{
		{"9 of 10 used", metallb.ServiceUse{Holders: holders(9)}, CheckOK, "pools default 9/10 used"},
		{"10 of 10 used", metallb.ServiceUse{Holders: holders(10)}, CheckWarn, "pools above 90% used: default 10/10 used (100%, 0 free)"},
		{"young waiter", metallb.ServiceUse{Waiting: []metallb.Waiting{{Namespace: "web", Name: "new", Since: now.Add(-30 * time.Second)}}}, CheckOK, "default 0/10 used"},
		{"old waiter", metallb.ServiceUse{Waiting: []metallb.Waiting{{Namespace: "web", Name: "old", Since: now.Add(-90 * time.Second), Requested: "10.9.9.9"}}}, CheckFail,
			`1 LoadBalancer Service(s) without an address for over 1m0s: web/old for 1m30s (asks for "10.9.9.9")`},
	} {
		f := MetalLBUseFinding("metallb use cluster1", []metallb.Pool{pool}, tc.use, now)
		if f.Status != tc.status || !strings.Contains(f.Detail, tc.want) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, f.Status, f.Detail, tc.status, tc.want)
		}
	}
}
