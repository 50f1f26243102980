package local_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/rpc"
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
		bare = append(bare, bareGossamerToBlock1(b, c.gossamer).Seconds())

		start := time.Now()
		if out, err := c.run("up", "-f", spec, "--binary", c.gossamer, "--until-block", "1", "--timeout", "3m"); err != nil {
			b.Fatalf("onf up: %v\n%s", err, out)
		}
		onf = append(onf, time.Since(start).Seconds())
		if out, err := c.run("down", "dev", "--purge"); err != nil {
			b.Fatalf("onf down: %v\n%s", err, out)
		}
	}
	mb, mo := median(bare), median(onf)
	b.ReportMetric(mb, "bare-s")
	b.ReportMetric(mo, "onf-s")
	b.ReportMetric(mo/mb, "ratio")
	b.Logf("bare gossamer to block #1: %v s; onf up (3 nodes) to block #1 everywhere: %v s; median ratio %.2f", bare, onf, mo/mb)
}

func bareGossamerToBlock1(b *testing.B, gossamer string) time.Duration {
	b.Helper()
	dir := b.TempDir()
	chain := filepath.Join(filepath.Dir(gossamer), "chain", "westend-dev", "westend-dev-spec-raw.json")
	ports := make([]int, 4)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	start := time.Now()
	if out, err := exec.Command(gossamer, "init", "--force", "--chain", chain, "--base-path", dir, "--key", "alice").CombinedOutput(); err != nil {
		b.Fatalf("gossamer init: %v\n%s", err, out)
	}
	cmd := exec.Command(gossamer, "--chain", chain, "--base-path", dir, "--key", "alice", "--validator",
		"--unsafe-rpc", "--ws-external", "--prometheus-external", "--no-telemetry", "--no-mdns",
		"--rpc-port", strconv.Itoa(ports[0]), "--ws-port", strconv.Itoa(ports[1]),
		"--prometheus-port", strconv.Itoa(ports[2]), "--port", strconv.Itoa(ports[3]))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := rpc.Dial(ctx, url); err == nil {
			h, err := c.BestHeader(ctx)
			c.Close()
			if err == nil && h.Number >= 1 {
				return time.Since(start)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("bare gossamer never reached block #1")
	return 0
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
