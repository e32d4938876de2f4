package fleet

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder counts the calls fn gets and whether each saw its context end.
type recorder struct {
	mu        sync.Mutex
	started   []string
	cancelled []string
	running   atomic.Int32
	peak      atomic.Int32
}

func (r *recorder) fn(hold time.Duration) func(context.Context, string) (string, error) {
	return func(ctx context.Context, key string) (string, error) {
		n := r.running.Add(1)
		defer r.running.Add(-1)
		for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
		}
		r.mu.Lock()
		r.started = append(r.started, key)
		r.mu.Unlock()
		select {
		case <-time.After(hold):
			return "rows of " + key, nil
		case <-ctx.Done():
			r.mu.Lock()
			r.cancelled = append(r.cancelled, key)
			r.mu.Unlock()
			return "", ctx.Err()
		}
	}
}

func (r *recorder) startedKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := slices.Clone(r.started)
	slices.Sort(s)
	return s
}

func TestFanOutAheadGivesTheActualClustersWhateverTheGuess(t *testing.T) {
	cases := []struct {
		name         string
		guess        []string
		actual       []string
		wantStarted  []string
		mayBeStopped []string
	}{
		{"right guess", []string{"a", "b"}, []string{"a", "b"}, []string{"a", "b"}, nil},
		{"no guess", nil, []string{"b", "a"}, []string{"a", "b"}, nil},
		{"one joined since", []string{"a"}, []string{"a", "c"}, []string{"a", "c"}, nil},
		{"one unjoined since", []string{"a", "gone"}, []string{"a"}, []string{"a", "gone"}, []string{"gone"}},
		{"all different", []string{"x", "y"}, []string{"a"}, []string{"a", "x", "y"}, []string{"x", "y"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			actual := func(ctx context.Context) ([]string, error) {
				time.Sleep(20 * time.Millisecond) // the host's round trip
				return tc.actual, nil
			}
			res, err := collectAhead(tc.guess, actual, 8, time.Second, rec.fn(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				if r.Err != nil || r.Value != "rows of "+r.Cluster {
					t.Errorf("result %+v", r)
				}
				got = append(got, r.Cluster)
			}
			if !slices.Equal(got, tc.actual) {
				t.Errorf("results for %v, want %v in that order", got, tc.actual)
			}
			if s := rec.startedKeys(); !slices.Equal(s, tc.wantStarted) {
				t.Errorf("calls started for %v, want %v", s, tc.wantStarted)
			}
			time.Sleep(20 * time.Millisecond)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, k := range rec.cancelled {
				if !slices.Contains(tc.mayBeStopped, k) {
					t.Errorf("the call for %s was cancelled, though %s is a member", k, k)
				}
			}
			if len(rec.cancelled) != len(tc.mayBeStopped) {
				t.Errorf("cancelled %v, want the wrong guesses %v cancelled", rec.cancelled, tc.mayBeStopped)
			}
		})
	}
}

func TestFanOutAheadStartsGuessesBeforeTheListAnswers(t *testing.T) {
	var rec recorder
	listed := make(chan struct{})
	actual := func(ctx context.Context) ([]string, error) {
		// The guess has been asked before the host answers.
		deadline := time.Now().Add(time.Second)
		for len(rec.startedKeys()) < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		close(listed)
		return []string{"a", "b"}, nil
	}
	if _, err := collectAhead([]string{"a", "b"}, actual, 4, time.Second, rec.fn(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	<-listed
	if s := rec.startedKeys(); !slices.Equal(s, []string{"a", "b"}) {
		t.Fatalf("started %v", s)
	}
}

func TestFanOutAheadCancelsEverythingWhenTheListFails(t *testing.T) {
	var rec recorder
	boom := errors.New("cannot list KubeFedClusters")
	actual := func(ctx context.Context) ([]string, error) {
		time.Sleep(20 * time.Millisecond)
		return nil, boom
	}
	res, err := collectAhead([]string{"a", "b"}, actual, 4, time.Second, rec.fn(time.Second))
	if !errors.Is(err, boom) || res != nil {
		t.Fatalf("got %v, %v; want the list's error and no results", res, err)
	}
	deadline := time.Now().Add(time.Second)
	for rec.running.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := rec.running.Load(); n != 0 {
		t.Fatalf("%d calls still running after the list failed", n)
	}
}

func TestFanOutAheadBoundsGuessesAndLateStartsTogether(t *testing.T) {
	var rec recorder
	guess := []string{"a", "b", "c", "d", "e", "f"}
	actual := func(ctx context.Context) ([]string, error) {
		return []string{"a", "b", "c", "d", "e", "f", "g", "h"}, nil
	}
	res, err := collectAhead(guess, actual, 3, time.Second, rec.fn(10*time.Millisecond))
	if err != nil || len(res) != 8 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	if p := rec.peak.Load(); p > 3 {
		t.Errorf("%d calls at once with --max-parallel 3", p)
	}
}

func TestFanOutAheadTimesOutEachClusterOnItsOwn(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	actual := func(ctx context.Context) ([]string, error) { return []string{"fast", "stuck"}, nil }
	res, err := collectAhead([]string{"stuck"}, actual, 0, 50*time.Millisecond, func(ctx context.Context, k string) (int, error) {
		if k == "stuck" {
			<-release // ignores ctx, like a paused server
		}
		return 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || !errors.Is(res[1].Err, context.DeadlineExceeded) {
		t.Fatalf("results %+v", res)
	}
}

// The first cluster's answer is handed over while a later one still works,
// and the answers come in the clusters' order however they finish.
func TestFanOutAheadEmitsInOrderAsSoonAsItCan(t *testing.T) {
	release := make(chan struct{})
	fn := func(ctx context.Context, k string) (string, error) {
		switch k {
		case "b":
			<-release // b finishes only after a was emitted
		case "c":
			// c finishes first of all; it must still wait for b
		default:
			time.Sleep(20 * time.Millisecond)
		}
		return k, nil
	}
	actual := func(context.Context) ([]string, error) { return []string{"a", "b", "c"}, nil }
	var got []string
	err := FanOutAhead(context.Background(), nil, actual, 0, 5*time.Second, fn, func(r Result[string]) {
		if r.Value == "a" {
			close(release)
		}
		got = append(got, r.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("emitted %v, want [a b c]", got)
	}
}

// collectAhead is FanOutAhead with every result collected, in order.
func collectAhead[T any](guess []string, actual func(context.Context) ([]string, error), maxParallel int, timeout time.Duration, fn func(context.Context, string) (T, error)) ([]Result[T], error) {
	var results []Result[T]
	err := FanOutAhead(context.Background(), guess, actual, maxParallel, timeout, fn, func(r Result[T]) { results = append(results, r) })
	if err != nil {
		return nil, err
	}
	return results, nil
}
