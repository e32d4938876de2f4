package fleet

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestFanOutKeepsOrderBoundsParallelismAndIsolatesFailures(t *testing.T) {
	clusters := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	var running, peak atomic.Int32
	res := FanOut(context.Background(), clusters, 2, time.Second, func(ctx context.Context, c string) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		if c == "c3" {
			return "", errors.New("boom")
		}
		return "hello " + c, nil
	})
	if peak.Load() > 2 {
		t.Errorf("%d clusters ran at once with a limit of 2", peak.Load())
	}
	for i, r := range res {
		if r.Cluster != clusters[i] {
			t.Fatalf("result %d is %s, want %s", i, r.Cluster, clusters[i])
		}
		if (r.Err != nil) != (r.Cluster == "c3") {
			t.Errorf("%s: err %v", r.Cluster, r.Err)
		}
		if r.Err == nil && r.Value != "hello "+r.Cluster {
			t.Errorf("%s: value %q", r.Cluster, r.Value)
		}
	}
}

func TestFanOutReturnsAtTimeoutEvenIfACallIgnoresIt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	res := FanOut(context.Background(), []string{"fast", "stuck"}, 0, 50*time.Millisecond, func(ctx context.Context, c string) (int, error) {
		if c == "stuck" {
			<-release // a call that never looks at ctx, like a paused server
		}
		return 1, nil
	})
	if time.Since(start) > time.Second {
		t.Fatalf("FanOut waited %s for a stuck cluster", time.Since(start))
	}
	if res[0].Err != nil || !errors.Is(res[1].Err, context.DeadlineExceeded) {
		t.Fatalf("results %+v", res)
	}
}
