package fleet

import (
	"context"
	"time"
)

// FanOutAhead is FanOut for when learning the clusters costs a round trip
// (listing the host's KubeFedClusters) but they are usually the ones of last
// time. It starts fn for the guessed keys at once and learns the actual keys
// with actual meanwhile; then it starts the keys it did not guess and cancels
// the guesses that were wrong. It hands emit the results FanOut would give
// for the actual keys, in their order, each as soon as it and every result
// before it are in, and keeps none: a command prints the first clusters'
// objects while later ones still answer, and holds one cluster's answer at
// a time rather than all of them. A wrong guess costs a request, never a
// row. emit runs on the caller's goroutine. When actual fails, every call is
// cancelled and its error returned, and nothing is emitted.
func FanOutAhead[T any](ctx context.Context, guess []string, actual func(context.Context) ([]string, error), maxParallel int, timeout time.Duration, fn func(ctx context.Context, key string) (T, error), emit func(Result[T])) error {
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	if maxParallel < 1 {
		maxParallel = 1 << 30
	}
	// Guesses and late starts share one bound; a cancelled guess waiting
	// for a slot gives up without taking one.
	slots := make(chan struct{}, min(maxParallel, 1<<16))
	type pending struct {
		cancel context.CancelFunc
		done   chan struct{}
		res    Result[T]
	}
	calls := map[string]*pending{}
	start := func(key string) {
		if _, ok := calls[key]; ok {
			return
		}
		cctx, cancel := context.WithCancel(ctx)
		c := &pending{cancel: cancel, done: make(chan struct{})}
		calls[key] = c
		go func() {
			defer close(c.done)
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-cctx.Done():
				c.res = Result[T]{Cluster: key, Err: cctx.Err()}
				return
			}
			c.res = callWithTimeout(cctx, key, timeout, fn)
		}()
	}
	for _, k := range guess {
		start(k)
	}
	keys, err := actual(ctx)
	if err != nil {
		return err
	}
	wanted := make(map[string]bool, len(keys))
	for _, k := range keys {
		wanted[k] = true
	}
	for k, c := range calls {
		if !wanted[k] {
			c.cancel()
		}
	}
	for _, k := range keys {
		start(k)
	}
	for _, k := range keys {
		c := calls[k]
		<-c.done
		res := c.res
		c.res = Result[T]{} // emitted: not held until the last cluster answers
		emit(res)
	}
	return nil
}
