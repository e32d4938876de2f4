package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
)

// MetalLB use thresholds of `check`. They are variables so that tests need
// not wait a minute.
var (
	// MetalLBPoolWarnPercent: a pool used above this share is a WARN.
	MetalLBPoolWarnPercent = 90
	// MetalLBWaitLimit: a LoadBalancer Service without an address for
	// longer than this is a FAIL.
	MetalLBWaitLimit = time.Minute
)

// checkMetalLBUse reports, per member, pools that run out and LoadBalancer
// Services that wait for an address, as item "metallb use NAME".
func (d *Doctor) checkMetalLBUse(ctx context.Context, emit func(Finding), members []fleet.Member) {
	names := make([]string, len(members))
	byName := map[string]fleet.Member{}
	for i, m := range members {
		names[i] = m.Name
		byName[m.Name] = m
	}
	results := fleet.FanOut(ctx, names, 8, d.timeout(), func(ctx context.Context, name string) (Finding, error) {
		return d.metalLBUse(ctx, byName[name]), nil
	})
	for _, r := range results {
		if r.Err != nil {
			emit(Finding{CheckWarn, "metallb use " + r.Cluster, fmt.Sprintf("cannot check: %v", r.Err)})
			continue
		}
		emit(r.Value)
	}
}

func (d *Doctor) metalLBUse(ctx context.Context, m fleet.Member) Finding {
	item := "metallb use " + m.Name
	if m.Context == "" {
		return Finding{CheckWarn, item, "no kubeconfig context reaches cluster " + m.Name}
	}
	c, err := d.Member(m.Context)
	if err != nil {
		return Finding{CheckWarn, item, fmt.Sprintf("context %s: %v", m.Context, err)}
	}
	use, err := metallb.ReadServiceUse(ctx, c.Kube)
	if err != nil {
		return Finding{CheckWarn, item, err.Error()}
	}
	pools, _, err := metallb.ListPools(ctx, c, metallb.DefaultNamespace, metallb.ModeAuto)
	if err != nil {
		return Finding{CheckWarn, item, fmt.Sprintf("cannot read MetalLB pools: %v", err)}
	}
	return MetalLBUseFinding(item, pools, use, time.Now())
}

// MetalLBUseFinding judges a member's pools and LoadBalancer Services: FAIL
// when a Service has waited longer than MetalLBWaitLimit for an address,
// WARN when a pool is used above MetalLBPoolWarnPercent, else OK.
func MetalLBUseFinding(item string, pools []metallb.Pool, use metallb.ServiceUse, now time.Time) Finding {
	var waiting []string
	for _, w := range use.Waiting {
		if age := now.Sub(w.Since); age > MetalLBWaitLimit {
			s := fmt.Sprintf("%s/%s for %s", w.Namespace, w.Name, age.Round(time.Second))
			if w.Requested != "" {
				s += fmt.Sprintf(" (asks for %q)", w.Requested)
			}
			waiting = append(waiting, s)
		}
	}
	var full, summary []string
	for _, p := range pools {
		u := p.Usage(use.Holders)
		line := fmt.Sprintf("%s %d/%s used", p.Name, u.Used, u.Size)
		summary = append(summary, line)
		if u.Percent() > MetalLBPoolWarnPercent || u.Used > 0 && u.Free().Sign() == 0 {
			full = append(full, fmt.Sprintf("%s (%d%%, %s free)", line, u.Percent(), u.Free()))
		}
	}
	if len(waiting) > 0 {
		detail := fmt.Sprintf("%d LoadBalancer Service(s) without an address for over %s: %s", len(waiting), MetalLBWaitLimit, strings.Join(waiting, ", "))
		if len(full) > 0 {
			detail += "; pools nearly full: " + strings.Join(full, ", ")
		}
		return Finding{CheckFail, item, detail}
	}
	if len(full) > 0 {
		return Finding{CheckWarn, item, fmt.Sprintf("pools above %d%% used: %s", MetalLBPoolWarnPercent, strings.Join(full, ", "))}
	}
	if len(pools) == 0 {
		return Finding{CheckOK, item, "no pools, no LoadBalancer Service waiting"}
	}
	return Finding{CheckOK, item, "pools " + strings.Join(summary, ", ")}
}
