package main

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

type joinRow struct {
	Name  string
	Cmd   string
	Wall  time.Duration
	Runs  int
	RSSKB int64
}

// measureJoin joins the sandbox's two members in one command of ours and, one
// after the other, with kubefedctl v0.10.0, unjoining between rounds and
// waiting until both clusters are clean again.
func measureJoin(ctx context.Context, cfg *config, f *fixture) ([]joinRow, error) {
	if err := f.unjoinAll(ctx); err != nil {
		return nil, err
	}
	kc := f.fed.Kubeconfig
	members := []string{"cluster1", "cluster2"}
	ours := joinRow{Name: "kubectl openmcp join", Cmd: "kubectl openmcp join cluster1 cluster2"}
	theirs := joinRow{Name: "kubefedctl join (x2)", Cmd: "kubefedctl join NAME --cluster-context NAME --host-cluster-context openmcp, for cluster1 then cluster2"}
	var oursWalls, theirWalls []time.Duration
	for r := range cfg.JoinRuns {
		s, err := execute(ctx, []string{cfg.Ours, "join", "cluster1", "cluster2", "--kubeconfig", kc}, nil)
		if err != nil {
			return nil, err
		}
		if err := checkJoined(ctx, f, members); err != nil {
			return nil, fmt.Errorf("after kubectl openmcp join: %w", err)
		}
		oursWalls = append(oursWalls, s.Wall)
		ours.RSSKB = max(ours.RSSKB, s.RSSKB)
		if _, err := execute(ctx, []string{cfg.Ours, "unjoin", "cluster1", "cluster2", "--wait", "--kubeconfig", kc}, nil); err != nil {
			return nil, err
		}
		if err := waitClean(ctx, f, members); err != nil {
			return nil, err
		}

		var total time.Duration
		for _, m := range members {
			s, err := execute(ctx, []string{cfg.Kubefedctl, "join", m, "--cluster-context", m, "--host-cluster-context", sandbox.HostName, "--kubeconfig", kc}, nil)
			if err != nil {
				return nil, err
			}
			total += s.Wall
			theirs.RSSKB = max(theirs.RSSKB, s.RSSKB)
		}
		if err := checkJoined(ctx, f, members); err != nil {
			return nil, fmt.Errorf("after kubefedctl join: %w", err)
		}
		theirWalls = append(theirWalls, total)
		for _, m := range members {
			if _, err := execute(ctx, []string{cfg.Kubefedctl, "unjoin", m, "--cluster-context", m, "--host-cluster-context", sandbox.HostName, "--kubeconfig", kc}, nil); err != nil {
				return nil, err
			}
		}
		if err := waitClean(ctx, f, members); err != nil {
			return nil, err
		}
		logf("bench: join round %d: ours %s, kubefedctl %s", r+1, oursWalls[r].Round(time.Millisecond), total.Round(time.Millisecond))
	}
	ours.Wall, ours.Runs = median(oursWalls), len(oursWalls)
	theirs.Wall, theirs.Runs = median(theirWalls), len(theirWalls)
	return []joinRow{ours, theirs}, nil
}

func checkJoined(ctx context.Context, f *fixture, members []string) error {
	for _, m := range members {
		_, err := f.fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Get(ctx, m, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("KubeFedCluster %s: %w", m, err)
		}
	}
	return nil
}

// waitClean waits until the host lists no KubeFedCluster and no member has
// the KubeFed namespace any more, so the next join starts from scratch.
func waitClean(ctx context.Context, f *fixture, members []string) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := f.fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) > 0 {
			return false, nil
		}
		for _, m := range members {
			_, err := f.fed.Member(m).Client.CoreV1().Namespaces().Get(ctx, sandbox.KubeFedNamespace, metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	})
}
