package fleet

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
)

// Result is one cluster's answer in a fan-out.
type Result[T any] struct {
	Cluster string
	Value   T
	Err     error
	Elapsed time.Duration
}

// FanOut calls fn for every cluster, at most maxParallel at a time, each
// under its own timeout, and returns the results in the order of clusters:
// output stays stable however the clusters race. One failing cluster never
// cancels the others.
func FanOut[T any](ctx context.Context, clusters []string, maxParallel int, timeout time.Duration, fn func(ctx context.Context, cluster string) (T, error)) []Result[T] {
	return FanOutIndexed(ctx, clusters, maxParallel, timeout, func(ctx context.Context, i int) (T, error) {
		return fn(ctx, clusters[i])
	})
}

// FanOutIndexed is FanOut calling fn with each cluster's position, so
// clusters of the same name (the host and a member) stay apart.
func FanOutIndexed[T any](ctx context.Context, clusters []string, maxParallel int, timeout time.Duration, fn func(ctx context.Context, i int) (T, error)) []Result[T] {
	results := make([]Result[T], len(clusters))
	var g errgroup.Group
	if maxParallel > 0 {
		g.SetLimit(maxParallel)
	}
	for i, c := range clusters {
		g.Go(func() error {
			results[i] = callWithTimeout(ctx, c, timeout, func(ctx context.Context, _ string) (T, error) { return fn(ctx, i) })
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// callWithTimeout is one cluster's call of a fan-out, under its own timeout.
func callWithTimeout[T any](ctx context.Context, cluster string, timeout time.Duration, fn func(context.Context, string) (T, error)) Result[T] {
	start := time.Now()
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	v, err := call(cctx, cluster, fn)
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	return Result[T]{Cluster: cluster, Value: v, Err: err, Elapsed: time.Since(start)}
}

// call runs fn but returns as soon as ctx ends, even if fn ignores ctx (a
// discovery call, say): a paused cluster must not hold the whole command.
func call[T any](ctx context.Context, cluster string, fn func(context.Context, string) (T, error)) (T, error) {
	type out struct {
		v   T
		err error
	}
	done := make(chan out, 1)
	go func() {
		v, err := fn(ctx, cluster)
		done <- out{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
