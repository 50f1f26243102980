package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mr-tron/base58"
)

// ErrNotSupported marks a method the node answers without doing anything (gossamer's
// author_rotateKeys returns null).
var ErrNotSupported = errors.New("not supported by this node")

// ErrBlockNotFound is returned by BlockHash for a block the node does not have.
var ErrBlockNotFound = errors.New("block not found")

// BlockNumber is a block height. Nodes send it as a hex string ("0x1a"); a plain JSON number
// is accepted too.
type BlockNumber uint64

// UnmarshalJSON decodes "0x.." hex strings and JSON numbers.
func (n *BlockNumber) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		hex, ok := strings.CutPrefix(strings.ToLower(s), "0x")
		if !ok || hex == "" {
			return fmt.Errorf("block number %q: want a 0x-prefixed hex string", s)
		}
		v, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			return fmt.Errorf("block number %q: %w", s, err)
		}
		*n = BlockNumber(v)
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("block number %s: %w", b, err)
	}
	*n = BlockNumber(v)
	return nil
}

// MarshalJSON encodes the number the way nodes do, as a hex string.
func (n BlockNumber) MarshalJSON() ([]byte, error) {
	return []byte(`"0x` + strconv.FormatUint(uint64(n), 16) + `"`), nil
}

// Header is a block header as chain_getHeader returns it.
type Header struct {
	ParentHash     string          `json:"parentHash"`
	Number         BlockNumber     `json:"number"`
	StateRoot      string          `json:"stateRoot"`
	ExtrinsicsRoot string          `json:"extrinsicsRoot"`
	Digest         json.RawMessage `json:"digest,omitempty"`
}

// Health is system_health. encoding/json matches keys case-insensitively, so polkadot-sdk's
// {"peers","isSyncing","shouldHavePeers"} and gossamer's {"Peers","IsSyncing","ShouldHavePeers"}
// both decode into it (tested with both shapes).
type Health struct {
	Peers           int  `json:"peers"`
	IsSyncing       bool `json:"isSyncing"`
	ShouldHavePeers bool `json:"shouldHavePeers"`
}

func (c *Client) callString(ctx context.Context, method string, params ...any) (string, error) {
	var s string
	err := c.Call(ctx, &s, method, params...)
	return s, err
}

// SystemName returns the node implementation's name (system_name).
func (c *Client) SystemName(ctx context.Context) (string, error) {
	return c.callString(ctx, "system_name")
}

// SystemVersion returns the node implementation's version (system_version).
func (c *Client) SystemVersion(ctx context.Context) (string, error) {
	return c.callString(ctx, "system_version")
}

// SystemChain returns the chain's name (system_chain).
func (c *Client) SystemChain(ctx context.Context) (string, error) {
	return c.callString(ctx, "system_chain")
}

// LocalPeerID returns the node's libp2p peer id (system_localPeerId).
func (c *Client) LocalPeerID(ctx context.Context) (string, error) {
	id, err := c.callString(ctx, "system_localPeerId")
	return normalizePeerID(id), err
}

// normalizePeerID undoes gossamer's double encoding: it answers base58(peer ID text) where
// polkadot-sdk answers the peer ID text (12D3KooW... or Qm...) itself.
func normalizePeerID(id string) string {
	if strings.HasPrefix(id, "12D3KooW") || strings.HasPrefix(id, "Qm") {
		return id
	}
	inner, err := base58.Decode(id)
	if err != nil {
		return id
	}
	if s := string(inner); strings.HasPrefix(s, "12D3KooW") || strings.HasPrefix(s, "Qm") {
		return s
	}
	return id
}

// SystemHealth returns peers and sync state (system_health).
func (c *Client) SystemHealth(ctx context.Context) (Health, error) {
	var h Health
	err := c.Call(ctx, &h, "system_health")
	return h, err
}

// BestHeader returns the header of the best block (chain_getHeader without a hash).
func (c *Client) BestHeader(ctx context.Context) (*Header, error) {
	var h Header
	if err := c.Call(ctx, &h, "chain_getHeader"); err != nil {
		return nil, err
	}
	return &h, nil
}

// Header returns the header of the block with the given hash.
func (c *Client) Header(ctx context.Context, hash string) (*Header, error) {
	var h *Header
	if err := c.Call(ctx, &h, "chain_getHeader", hash); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("chain_getHeader %s: %w", hash, ErrBlockNotFound)
	}
	return h, nil
}

// FinalizedHead returns the hash of the last finalized block (chain_getFinalizedHead).
func (c *Client) FinalizedHead(ctx context.Context) (string, error) {
	return c.callString(ctx, "chain_getFinalizedHead")
}

// FinalizedHeader returns the header of the last finalized block.
func (c *Client) FinalizedHeader(ctx context.Context) (string, *Header, error) {
	hash, err := c.FinalizedHead(ctx)
	if err != nil {
		return "", nil, err
	}
	h, err := c.Header(ctx, hash)
	return hash, h, err
}

// BlockHash returns the hash of block n on the best chain (chain_getBlockHash). A
// polkadot-sdk node answers null for a block it does not have (ErrBlockNotFound); gossamer
// answers an error.
func (c *Client) BlockHash(ctx context.Context, n uint64) (string, error) {
	var hash *string
	if err := c.Call(ctx, &hash, "chain_getBlockHash", n); err != nil {
		return "", err
	}
	if hash == nil || *hash == "" {
		return "", fmt.Errorf("chain_getBlockHash %d: %w", n, ErrBlockNotFound)
	}
	return *hash, nil
}

// InsertKey puts a key into the node's keystore (author_insertKey, an unsafe method).
// suri is secret: it is sent to the node and never included in an error.
func (c *Client) InsertKey(ctx context.Context, keyType, suri, publicKey string) error {
	return c.Call(ctx, nil, "author_insertKey", keyType, suri, publicKey)
}

// RotateKeys makes the node generate new session keys and returns their SCALE-encoded public
// keys (author_rotateKeys). A node that answers null or "0x" (gossamer) gives ErrNotSupported.
func (c *Client) RotateKeys(ctx context.Context) (string, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, &raw, "author_rotateKeys"); err != nil {
		return "", err
	}
	var keys string
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, &keys) != nil || keys == "" || keys == "0x" {
		return "", fmt.Errorf("author_rotateKeys: %w (the node answered %s)", ErrNotSupported, snippet(raw))
	}
	return keys, nil
}

// HasSessionKeys reports whether the node's keystore holds the private keys of all the
// SCALE-encoded session public keys given (author_hasSessionKeys).
func (c *Client) HasSessionKeys(ctx context.Context, sessionKeys string) (bool, error) {
	var ok bool
	err := c.Call(ctx, &ok, "author_hasSessionKeys", sessionKeys)
	return ok, err
}

// HeadSubscription follows new or finalized block headers.
type HeadSubscription struct{ *Subscription }

// Next returns the next header.
func (h *HeadSubscription) Next(ctx context.Context) (*Header, error) {
	raw, err := h.Subscription.Next(ctx)
	if err != nil {
		return nil, err
	}
	var hdr Header
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return nil, fmt.Errorf("%s: decode header: %w", h.method, err)
	}
	return &hdr, nil
}

// SubscribeNewHeads follows new best-chain heads (chain_subscribeNewHeads).
func (c *Client) SubscribeNewHeads(ctx context.Context) (*HeadSubscription, error) {
	s, err := c.Subscribe(ctx, "chain_subscribeNewHeads", "chain_unsubscribeNewHeads")
	if err != nil {
		return nil, err
	}
	return &HeadSubscription{s}, nil
}

// SubscribeFinalizedHeads follows finalized heads (chain_subscribeFinalizedHeads).
func (c *Client) SubscribeFinalizedHeads(ctx context.Context) (*HeadSubscription, error) {
	s, err := c.Subscribe(ctx, "chain_subscribeFinalizedHeads", "chain_unsubscribeFinalizedHeads")
	if err != nil {
		return nil, err
	}
	return &HeadSubscription{s}, nil
}

// Status is what a node status line needs.
type Status struct {
	Name          string
	Version       string
	Chain         string
	PeerID        string
	Health        Health
	Best          BlockNumber
	BestHash      string
	Finalized     BlockNumber
	FinalizedHash string
}

// Status reads identity, health, best and finalized blocks. It makes single calls, not a
// batch: gossamer rejects JSON-RPC batches.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	var best Header
	calls := []struct {
		method string
		result any
	}{
		{"system_name", &s.Name},
		{"system_version", &s.Version},
		{"system_chain", &s.Chain},
		{"system_localPeerId", &s.PeerID},
		{"system_health", &s.Health},
		{"chain_getHeader", &best},
		{"chain_getBlockHash", &s.BestHash},
		{"chain_getFinalizedHead", &s.FinalizedHash},
	}
	for _, call := range calls {
		if err := c.Call(ctx, call.result, call.method); err != nil {
			return nil, err
		}
	}
	s.Best = best.Number
	fin, err := c.Header(ctx, s.FinalizedHash)
	if err != nil {
		return nil, err
	}
	s.Finalized = fin.Number
	return &s, nil
}
