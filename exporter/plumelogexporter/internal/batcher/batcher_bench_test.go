package batcher

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkAdd measures admission throughput with many goroutines adding requests of 100
// records and a send that returns at once, so the batcher itself is what is measured.
func BenchmarkAdd(b *testing.B) {
	const perAdd = 100
	recs := make([][]byte, perAdd)
	for i := range recs {
		recs[i] = make([]byte, 200) // about one Plumelog message
	}
	for _, mode := range []Mode{ModeStrict, ModeEager} {
		for _, concurrency := range []int{1, 4} {
			b.Run(fmt.Sprintf("mode=%s/concurrency=%d", mode, concurrency), func(b *testing.B) {
				bt := New(Config{
					BatchSize:     100,
					FlushInterval: 10 * time.Millisecond,
					Mode:          mode,
					MaxInFlight:   concurrency,
					Buffer:        Buffer{MaxRecords: 100_000, MaxBytes: 64 << 20, BlockTimeout: time.Minute},
					MaxRetries:    3,
					Backoff:       Backoff{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2},
				}, func(context.Context, [][]byte) error { return nil }, nil)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := bt.Add(context.Background(), recs, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N*perAdd)/b.Elapsed().Seconds(), "records/s")
				if err := bt.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
