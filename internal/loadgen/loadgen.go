// Package loadgen loads a running network with signed balance transfers, a fixed number per
// block, and measures what the chain did with them: transfers included, block times (from
// each block's on-chain timestamp) and finality lag. `onf simulate` runs it.
package loadgen

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	gsrpc "github.com/centrifuge/go-substrate-rpc-client/v4"
	"github.com/centrifuge/go-substrate-rpc-client/v4/signature"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"golang.org/x/crypto/blake2b"
)

// DevAccounts are the well-known development accounts funded in dev chains' genesis.
var DevAccounts = []string{"//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"}

// Config is one load run.
type Config struct {
	// URL is a node's RPC endpoint (http or ws).
	URL string
	// TransfersPerBlock are sent on each new best block.
	TransfersPerBlock int
	// Blocks is how many new best blocks the run sends on.
	Blocks int
	// Senders are secret URIs of funded accounts (default DevAccounts); each pays the next.
	Senders []string
	// Amount is each transfer's value in the chain's smallest unit (default 1e12).
	Amount uint64
	// Grace is how many new best blocks after the last send may still include transfers
	// (default 3); the run ends sooner once every transfer sent is in a block.
	Grace int
	// Poll is how often the best block is read (default 100ms).
	Poll time.Duration
	// Progress receives a line per block, if set.
	Progress io.Writer
}

// Summary is what a run measured.
type Summary struct {
	Blocks   int `json:"blocks"`
	Sent     int `json:"sent"`
	Included int `json:"included"`
	// Rejected were refused by the node at submission.
	Rejected int `json:"rejected"`
	// BlockTime is the on-chain timestamp difference of consecutive blocks.
	BlockTimeMedian time.Duration `json:"blockTimeMedian"`
	BlockTimeP95    time.Duration `json:"blockTimeP95"`
	// FinalityLag is best minus finalized block number, read on each new block.
	FinalityLagMedian uint64 `json:"finalityLagMedian"`
	FinalityLagMax    uint64 `json:"finalityLagMax"`
}

// String is the summary as `onf simulate` prints it.
func (s Summary) String() string {
	return fmt.Sprintf("blocks %d, transfers sent %d, included %d, rejected %d\nblock time median %s, p95 %s\nfinality lag median %d blocks, max %d blocks",
		s.Blocks, s.Sent, s.Included, s.Rejected, s.BlockTimeMedian, s.BlockTimeP95, s.FinalityLagMedian, s.FinalityLagMax)
}

type sender struct {
	pair  signature.KeyringPair
	dest  types.MultiAddress
	nonce uint32
	stale bool // re-read the nonce from the chain before the next send
}

type run struct {
	cfg     Config
	api     *gsrpc.SubstrateAPI
	meta    *types.Metadata
	opts    types.SignatureOptions
	senders []*sender
	next    int
	pending map[string]bool // hex hashes of sent transfers not yet seen in a block
	stamps  []uint64        // on-chain timestamps (ms) of the blocks seen, in order
	lags    []uint64
	sum     Summary
}

// Run sends cfg.TransfersPerBlock transfers on each of cfg.Blocks new blocks, then watches up
// to cfg.Grace more blocks for inclusions, and returns the summary.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.TransfersPerBlock < 1 || cfg.Blocks < 1 {
		return Summary{}, errors.New("transfers per block and blocks must be at least 1")
	}
	if len(cfg.Senders) == 0 {
		cfg.Senders = DevAccounts
	}
	if len(cfg.Senders) < 2 {
		return Summary{}, errors.New("at least two sender accounts: each pays the next")
	}
	if cfg.Amount == 0 {
		cfg.Amount = 1_000_000_000_000
	}
	if cfg.Grace == 0 {
		cfg.Grace = 3
	}
	if cfg.Poll == 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	api, err := gsrpc.NewSubstrateAPI(cfg.URL)
	if err != nil {
		return Summary{}, fmt.Errorf("connect %s: %w", cfg.URL, err)
	}
	defer api.Client.Close()
	r := &run{cfg: cfg, api: api, pending: map[string]bool{}}
	if err := r.prepare(); err != nil {
		return Summary{}, err
	}
	return r.loop(ctx)
}

func (r *run) prepare() error {
	var err error
	if r.meta, err = r.api.RPC.State.GetMetadataLatest(); err != nil {
		return fmt.Errorf("read metadata: %w", err)
	}
	genesis, err := r.api.RPC.Chain.GetBlockHash(0)
	if err != nil {
		return fmt.Errorf("genesis hash: %w", err)
	}
	rv, err := r.api.RPC.State.GetRuntimeVersionLatest()
	if err != nil {
		return fmt.Errorf("runtime version: %w", err)
	}
	r.opts = types.SignatureOptions{
		BlockHash: genesis, GenesisHash: genesis, Era: types.ExtrinsicEra{IsImmortalEra: true},
		Tip: types.NewUCompactFromUInt(0), SpecVersion: rv.SpecVersion, TransactionVersion: rv.TransactionVersion,
	}
	pairs := make([]signature.KeyringPair, len(r.cfg.Senders))
	for i, suri := range r.cfg.Senders {
		if pairs[i], err = signature.KeyringPairFromSecret(suri, 42); err != nil {
			return fmt.Errorf("sender %d: not a valid sr25519 secret URI", i)
		}
	}
	for i := range pairs {
		dest, err := types.NewMultiAddressFromAccountID(pairs[(i+1)%len(pairs)].PublicKey)
		if err != nil {
			return err
		}
		r.senders = append(r.senders, &sender{pair: pairs[i], dest: dest, stale: true})
	}
	return nil
}

func (r *run) loop(ctx context.Context) (Summary, error) {
	head, err := r.api.RPC.Chain.GetHeaderLatest()
	if err != nil {
		return Summary{}, fmt.Errorf("best block: %w", err)
	}
	last := uint64(head.Number)
	ticker := time.NewTicker(r.cfg.Poll)
	defer ticker.Stop()
	// Each poll that finds a new best block is one step, however many blocks it brought: a
	// node catching up imports many at once, and a batch is sent once per step.
	for steps := 0; steps < r.cfg.Blocks+r.cfg.Grace; {
		select {
		case <-ctx.Done():
			return r.sum, ctx.Err()
		case <-ticker.C:
		}
		head, err := r.api.RPC.Chain.GetHeaderLatest()
		if err != nil {
			return r.sum, fmt.Errorf("best block: %w", err)
		}
		best := uint64(head.Number)
		if best <= last {
			continue
		}
		for ; last < best; last++ {
			if err := r.observe(last + 1); err != nil {
				return r.sum, err
			}
		}
		steps++
		if steps > r.cfg.Blocks {
			if len(r.pending) == 0 {
				break // everything sent is in a block: no need to wait out the grace
			}
			continue
		}
		r.sum.Blocks = steps
		if err := r.finalityLag(best); err != nil {
			return r.sum, err
		}
		if err := r.send(); err != nil {
			return r.sum, err
		}
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "block #%d: sent %d, included %d so far\n", best, r.sum.Sent, r.sum.Included)
		}
	}
	r.summarise()
	return r.sum, nil
}

// observe counts the run's transfers in block n and records its timestamp.
func (r *run) observe(n uint64) error {
	hash, err := r.api.RPC.Chain.GetBlockHash(n)
	if err != nil {
		return fmt.Errorf("block #%d hash: %w", n, err)
	}
	var block struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	if err := r.api.Client.Call(&block, "chain_getBlock", hash.Hex()); err != nil {
		return fmt.Errorf("block #%d: %w", n, err)
	}
	for _, x := range block.Block.Extrinsics {
		raw, err := hex.DecodeString(strings.TrimPrefix(x, "0x"))
		if err != nil {
			return fmt.Errorf("block #%d: extrinsic not hex", n)
		}
		h := blake2b.Sum256(raw)
		if id := hex.EncodeToString(h[:]); r.pending[id] {
			delete(r.pending, id)
			r.sum.Included++
		}
	}
	key, err := types.CreateStorageKey(r.meta, "Timestamp", "Now")
	if err != nil {
		return fmt.Errorf("timestamp.now key: %w", err)
	}
	raw, err := r.api.RPC.State.GetStorageRaw(key, hash)
	if err != nil {
		return fmt.Errorf("block #%d timestamp: %w", n, err)
	}
	if raw != nil && len(*raw) == 8 {
		r.stamps = append(r.stamps, binary.LittleEndian.Uint64(*raw))
	}
	return nil
}

func (r *run) finalityLag(best uint64) error {
	fh, err := r.api.RPC.Chain.GetFinalizedHead()
	if err != nil {
		return fmt.Errorf("finalized head: %w", err)
	}
	f, err := r.api.RPC.Chain.GetHeader(fh)
	if err != nil {
		return fmt.Errorf("finalized header: %w", err)
	}
	r.lags = append(r.lags, best-min(best, uint64(f.Number)))
	return nil
}

// send submits one block's transfers, round robin over the senders. A refused transfer is
// counted, and its sender's nonce read again from the chain before its next one. When the
// node refuses every transfer of the first block, nothing would change: that is an error.
func (r *run) send() error {
	var last error
	for range r.cfg.TransfersPerBlock {
		s := r.senders[r.next%len(r.senders)]
		r.next++
		if last = r.transfer(s); last != nil {
			s.stale = true
			r.sum.Rejected++
			if r.cfg.Progress != nil {
				fmt.Fprintf(r.cfg.Progress, "transfer refused: %v\n", last)
			}
			continue
		}
		r.sum.Sent++
	}
	if r.sum.Sent == 0 {
		return fmt.Errorf("the node refused every transfer: %w", last)
	}
	return nil
}

func (r *run) transfer(s *sender) error {
	if s.stale {
		n, err := r.nonce(s.pair.PublicKey)
		if err != nil {
			return err
		}
		s.nonce, s.stale = n, false
	}
	call, err := types.NewCall(r.meta, "Balances.transfer_keep_alive", s.dest, types.NewUCompactFromUInt(r.cfg.Amount))
	if err != nil {
		return fmt.Errorf("encode balances.transfer_keep_alive: %w", err)
	}
	ext := types.NewExtrinsic(call)
	opts := r.opts
	opts.Nonce = types.NewUCompactFromUInt(uint64(s.nonce))
	if err := ext.Sign(s.pair, opts); err != nil {
		return fmt.Errorf("sign transfer: %w", err)
	}
	hash, err := r.api.RPC.Author.SubmitExtrinsic(ext)
	if err != nil {
		return err
	}
	s.nonce++
	r.pending[strings.TrimPrefix(hash.Hex(), "0x")] = true
	return nil
}

// nonce is the account's next transaction index, from system.account.
func (r *run) nonce(account []byte) (uint32, error) {
	key, err := types.CreateStorageKey(r.meta, "System", "Account", account)
	if err != nil {
		return 0, fmt.Errorf("system.account key: %w", err)
	}
	var info types.AccountInfo
	if _, err := r.api.RPC.State.GetStorageLatest(key, &info); err != nil {
		return 0, fmt.Errorf("read system.account: %w", err)
	}
	return uint32(info.Nonce), nil
}

func (r *run) summarise() {
	var times []time.Duration
	for i := 1; i < len(r.stamps); i++ {
		times = append(times, time.Duration(r.stamps[i]-r.stamps[i-1])*time.Millisecond)
	}
	r.sum.BlockTimeMedian, r.sum.BlockTimeP95 = Percentile(times, 50), Percentile(times, 95)
	r.sum.FinalityLagMedian, r.sum.FinalityLagMax = Percentile(r.lags, 50), Percentile(r.lags, 100)
}

// Percentile is the nearest-rank p-th percentile of xs (zero for none).
func Percentile[T int | uint64 | time.Duration](xs []T, p int) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	i := (p*len(s) + 99) / 100
	return s[max(i, 1)-1]
}
