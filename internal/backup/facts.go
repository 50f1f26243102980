package backup

import (
	"context"
	"time"

	"github.com/dinfra/stack/internal/rpc"
)

// ChainFacts records in m what the node at url holds: chain, genesis hash, best and
// finalized blocks, node version. A backup reads them just before the node stops for the copy.
func ChainFacts(ctx context.Context, url string, m *Manifest) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Status(ctx)
	if err != nil {
		return err
	}
	genesis, err := c.BlockHash(ctx, 0)
	if err != nil {
		return err
	}
	m.Chain, m.GenesisHash, m.NodeVersion = s.Chain, genesis, s.Version
	m.Best = Block{Number: uint64(s.Best), Hash: s.BestHash}
	m.Finalized = Block{Number: uint64(s.Finalized), Hash: s.FinalizedHash}
	return nil
}
