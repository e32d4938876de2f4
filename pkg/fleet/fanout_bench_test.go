package fleet

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFanOut is FanOut's own cost over 256 clusters whose calls return
// at once: goroutines, timeouts and ordered results, without any network.
func BenchmarkFanOut(b *testing.B) {
	clusters := make([]string, 256)
	for i := range clusters {
		clusters[i] = fmt.Sprintf("cluster%d", i)
	}
	fn := func(ctx context.Context, c string) (int, error) { return len(c), nil }
	b.ReportAllocs()
	for b.Loop() {
		res := FanOut(context.Background(), clusters, 64, 10*time.Second, fn)
		if res[255].Cluster != "cluster255" || res[255].Err != nil {
			b.Fatalf("last result %+v", res[255])
		}
	}
}
