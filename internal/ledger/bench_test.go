package ledger

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// apply runs fn against the state as block h (outside any transaction) and commits it.
func (l *Ledger) apply(h int64, fn func(x *execCtx)) error {
	x := &execCtx{st: store{l.block}, height: h, params: l.params}
	fn(x)
	l.nextHeight = h
	l.prepareCommit()
	return l.Commit()
}

// as makes x act for a signer.
func (x *execCtx) as(p *keyring.Pair) *execCtx {
	x.signer = p.Public()
	x.signerAddr = p.Address(x.params.SS58Prefix)
	return x
}

// benchLedger builds a ledger on goleveldb with `active` active subscriptions spread over
// 10 providers. 2 of them expire in each of the first `expiring/2` blocks after setup; the
// others run for a million blocks. Setup bypasses signatures (it calls the handlers).
func benchLedger(b *testing.B, active, expiring int) (*Ledger, *harness) {
	b.Helper()
	db, err := OpenLevelDB("bench", filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	l, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	g := testGenesis()
	g.Params.DeployTimeout = 1 << 40
	if _, err := l.InitChain(testChain, g.JSON(), 1); err != nil {
		b.Fatal(err)
	}
	h := &harness{t: b, l: l, db: db, pending: map[string]uint64{}}
	var providers []*keyring.Pair
	for i := 0; i < 10; i++ {
		providers = append(providers, keyOf(b, keyring.Ed25519, fmt.Sprintf("//provider//%d", i)))
	}
	alice, _ := keyring.Dev(keyring.Sr25519, "alice")
	height := int64(1)
	if err := l.apply(height, func(x *execCtx) {
		for _, p := range providers {
			if err := x.as(p).registerProvider(registerProvider("https://p.example", uint64(active+1000), 1).RegisterProvider); err != nil {
				b.Fatal(err)
			}
		}
	}); err != nil {
		b.Fatal(err)
	}
	// Subscriptions in blocks of 5000: award, then the provider reports them deployed.
	const perBlock = 5000
	for done := 0; done < active; {
		n := min(perBlock, active-done)
		height++
		first := store{l.block}.metaUint(metaNextSub)
		if first == 0 {
			first = store{l.committed}.metaUint(metaNextSub)
		}
		err := l.apply(height, func(x *execCtx) {
			for i := 0; i < n; i++ {
				// Deposit for 1e6 blocks, or for exactly k blocks after setup for the expiring ones.
				deposit := wire.Amount(1_000_000)
				if idx := done + i; idx < expiring {
					deposit = wire.Amount(int64(active/perBlock+3) + int64(idx/2) - height)
				}
				if err := x.as(alice).subscribe(subscribe(1, deposit, 1, wire.StrategyRoundRobin).Subscribe); err != nil {
					b.Fatal(err)
				}
			}
			for id := first; id < first+uint64(n); id++ {
				sub, _ := x.st.subscription(id)
				for _, p := range providers {
					if pubOf(p) == sub.Provider {
						if err := x.as(p).reportStatus(deployed(id).ReportStatus); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
	for l.height < int64(active/perBlock+2) {
		h.block()
	}
	var st wire.Status
	h.query(wire.QueryStatus, &st)
	if st.LiveSubscriptions != uint64(active) {
		b.Fatalf("%d live subscriptions, want %d", st.LiveSubscriptions, active)
	}
	// Measure the steady state, not the compaction tail of the setup's bulk writes (on a
	// live chain the same state builds up over many thousands of blocks).
	if err := db.Compact(nil, nil); err != nil {
		b.Fatal(err)
	}
	return l, h
}

// BenchmarkBlockCost measures one block (FinalizeBlock + Commit on goleveldb) with 1,000 and
// with 100,000 active subscriptions. Every measured block does the same work in both: 2
// subscriptions expire (settling their provider and refunding the consumer) and, in the
// "txs" variant, 50 signed transactions run (transfers, subscribes, top-ups, cancels) whose
// signatures were verified beforehand, as CheckTx does in a node. Billing is lazy, so the
// active set does not enter the per-block work; what remains is the store's O(log n).
//
//	go test ./internal/ledger -run XXX -bench BlockCost -benchtime 400x
func BenchmarkBlockCost(b *testing.B) {
	for _, active := range []int{1_000, 100_000} {
		for _, withTxs := range []bool{false, true} {
			name := fmt.Sprintf("active=%d/expiries=2", active)
			if withTxs {
				name += "/txs=50"
			}
			b.Run(name, func(b *testing.B) {
				if b.N > 1000 {
					b.Fatalf("run with -benchtime of at most 1000x (setup prepares expiries for 1000 blocks), got %d", b.N)
				}
				l, h := benchLedger(b, active, 2*1000)
				bob, charlie := dev(b, "bob"), dev(b, "charlie")
				blocks := make([][][]byte, b.N)
				if withTxs {
					for i := range blocks {
						// 10 transfers, 20 subscribes, 10 top-ups and 10 cancels of subscriptions
						// made by charlie in the previous block.
						var txs [][]byte
						for j := 0; j < 10; j++ {
							txs = append(txs, h.tx(bob, wire.Msg{Transfer: &wire.MsgTransfer{To: charlie.Address(42), Amount: 1}}))
						}
						next := uint64(active) + 1 + uint64(i)*20
						for j := 0; j < 20; j++ {
							txs = append(txs, h.tx(charlie, subscribe(1, 1_000_000, 1, wire.StrategyCapacity)))
						}
						for j := 0; i > 0 && j < 10; j++ {
							txs = append(txs, h.tx(charlie, wire.Msg{TopUp: &wire.MsgTopUp{SubscriptionID: next - 20 + uint64(j), Amount: 5}}))
						}
						for j := 0; i > 0 && j < 10; j++ {
							txs = append(txs, h.tx(charlie, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: next - 10 + uint64(j)}}))
						}
						blocks[i] = txs
					}
				}
				// In a node CheckTx has verified every signature before the block runs (and the
				// ledger remembers it); do the same so the block pays what it pays there.
				for _, txs := range blocks {
					for _, raw := range txs {
						d, err := decodeTx(raw)
						if err != nil || !l.sigs.verify(d.signer, d.signed, d.signature) {
							b.Fatal("bad tx")
						}
					}
				}
				var finalize, commit time.Duration
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					res, err := l.FinalizeBlock(Block{Height: l.height + 1, Hash: h.blockHash(), Txs: blocks[i]})
					if err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := l.Commit(); err != nil {
						b.Fatal(err)
					}
					finalize, commit = finalize+t1.Sub(t0), commit+time.Since(t1)
					if n := len(events(res.Events, wire.EventSubscriptionEnded)); n != 2 {
						b.Fatalf("block %d: %d expiries, want 2", l.height, n)
					}
					for _, r := range res.TxResults {
						if r.Code != wire.CodeOK {
							b.Fatalf("block %d: %s", l.height, r.Log)
						}
					}
				}
				b.StopTimer()
				// Where the time goes: executing the block, writing it (a synced batch), and the
				// process's CPU time (including goleveldb's background compaction).
				b.ReportMetric(float64(finalize.Nanoseconds())/float64(b.N), "finalize-ns/block")
				b.ReportMetric(float64(commit.Nanoseconds())/float64(b.N), "commit-ns/block")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/block")
			})
		}
	}
}

// cpuTime is the CPU time (user+system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
