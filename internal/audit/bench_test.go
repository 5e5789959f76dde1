package audit_test

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures an append against the cheapest durable write
// the store makes, AllocatePartition (one statement on one row, one
// commit), interleaved in the same run on the same database, and reports
// the ratio: what locking the head, hashing and writing two rows cost over
// a bare commit. "parallel" runs 8 goroutines of each: both serialise on
// one row, so the ratio shows whether the append's longer transaction
// holds the head noticeably longer.
//
//	go test -run '^$' -bench Append ./internal/audit/
func BenchmarkAppend(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			fx := newFixture(b, engine)
			e := entry(1)
			var base, app time.Duration
			for b.Loop() {
				t := time.Now()
				if _, err := fx.st.AllocatePartition(ctx(b), "bench", 1_000_000); err != nil {
					b.Fatal(err)
				}
				base += time.Since(t)
				t = time.Now()
				if _, err := fx.log.Append(ctx(b), e); err != nil {
					b.Fatal(err)
				}
				app += time.Since(t)
			}
			report(b, base, app)
		})
		b.Run(engine+"/parallel", func(b *testing.B) {
			fx := newFixture(b, engine)
			e := entry(1)
			const workers = 8
			run := func(op func() error) time.Duration {
				n := b.N
				var wg sync.WaitGroup
				var mu sync.Mutex
				work := make(chan struct{}, n)
				for range n {
					work <- struct{}{}
				}
				close(work)
				t := time.Now()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range work {
							if err := op(); err != nil {
								mu.Lock()
								b.Error(err)
								mu.Unlock()
								return
							}
						}
					}()
				}
				wg.Wait()
				return time.Since(t)
			}
			b.ResetTimer()
			base := run(func() error { _, err := fx.st.AllocatePartition(ctx(b), "bench", 1_000_000); return err })
			app := run(func() error { _, err := fx.log.Append(ctx(b), e); return err })
			report(b, base, app)
		})
	}
}

func report(b *testing.B, base, app time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(base.Microseconds())/n, "baseline-µs/op")
	b.ReportMetric(float64(app.Microseconds())/n, "append-µs/op")
	b.ReportMetric(float64(app)/float64(base), "ratio")
	b.ReportMetric(0, "ns/op") // the two figures above are the result
}
