package local_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/rpc/rpctest"
)

// BenchmarkUpToFirstBlock compares, in the same run, the time from `onf up` of the example
// network (3 nodes) until every node has imported block #1, against one bare gossamer
// validator started by hand (init + run) until its block #1. Each iteration measures both;
// the reported figures are the medians and their ratio.
//
//	go test ./test/local -run '^$' -bench UpToFirstBlock -benchtime 5x -timeout 30m
func BenchmarkUpToFirstBlock(b *testing.B) {
	c := newCLI(b)
	spec := filepath.Join("..", "..", "examples", "dev-network.yaml")
	var bare, onf []float64
	for i := 0; i < b.N; i++ {
		bare = append(bare, bareGossamerToBlock1(b).Seconds())

		start := time.Now()
		if out, err := c.Run("up", "-f", spec, "--binary", c.gossamer, "--until-block", "1", "--timeout", "3m"); err != nil {
			b.Fatalf("onf up: %v\n%s", err, out)
		}
		onf = append(onf, time.Since(start).Seconds())
		if out, err := c.Run("down", "dev", "--purge"); err != nil {
			b.Fatalf("onf down: %v\n%s", err, out)
		}
	}
	mb, mo := median(bare), median(onf)
	b.ReportMetric(mb, "bare-s")
	b.ReportMetric(mo, "onf-s")
	b.ReportMetric(mo/mb, "ratio")
	b.Logf("bare gossamer to block #1: %v s; onf up (3 nodes) to block #1 everywhere: %v s; median ratio %.2f", bare, onf, mo/mb)
}

// bareGossamerToBlock1 is the baseline: init and start one validator by hand, until block #1.
func bareGossamerToBlock1(b *testing.B) time.Duration {
	b.Helper()
	start := time.Now()
	g := rpctest.StartGossamer(b)
	defer g.Stop()
	g.WaitBlock(b, 1, 3*time.Minute)
	return time.Since(start)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
