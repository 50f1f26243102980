package sessionkeys

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	gsrpc "github.com/centrifuge/go-substrate-rpc-client/v4"
	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/signature"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
)

// KeyType is one field of the runtime's SessionKeys, as its metadata describes it.
type KeyType struct {
	Field  string // the SessionKeys field, e.g. grandpa
	ID     string // the four-letter key type, e.g. gran
	Scheme string // sr25519, ed25519 or ecdsa
	Size   int    // bytes of the public key
}

// keyTypes maps SessionKeys field names, as polkadot-sdk runtimes name them, to key types.
var keyTypes = map[string][2]string{
	"grandpa":             {"gran", "ed25519"},
	"babe":                {"babe", "sr25519"},
	"im_online":           {"imon", "sr25519"},
	"para_validator":      {"para", "sr25519"},
	"para_assignment":     {"asgn", "sr25519"},
	"authority_discovery": {"audi", "sr25519"},
	"aura":                {"aura", "sr25519"},
	"beefy":               {"beef", "ecdsa"},
}

// Chain talks to one node's loopback RPC with go-substrate-rpc-client, encoding calls and
// storage keys from the runtime's metadata.
type Chain struct {
	api  *gsrpc.SubstrateAPI
	meta *types.Metadata
}

// Connect reads the node's metadata. url is the node's own RPC endpoint, never a gateway.
func Connect(url string) (*Chain, error) {
	api, err := gsrpc.NewSubstrateAPI(url)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	meta, err := api.RPC.State.GetMetadataLatest()
	if err != nil {
		api.Client.Close()
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	return &Chain{api: api, meta: meta}, nil
}

// Close ends the connection.
func (c *Chain) Close() { c.api.Client.Close() }

// KeyTypes lists the runtime's session keys from the argument of session.set_keys.
func (c *Chain) KeyTypes() ([]KeyType, error) {
	if c.meta.Version != 14 {
		return nil, fmt.Errorf("runtime metadata v%d: only v14 is read", c.meta.Version)
	}
	m := c.meta.AsMetadataV14
	for _, p := range m.Pallets {
		if p.Name != "Session" || !p.HasCalls {
			continue
		}
		calls := m.EfficientLookup[p.Calls.Type.Int64()]
		for _, v := range calls.Def.Variant.Variants {
			if v.Name != "set_keys" || len(v.Fields) == 0 {
				continue
			}
			keys := m.EfficientLookup[v.Fields[0].Type.Int64()]
			if !keys.Def.IsComposite {
				return nil, fmt.Errorf("session.set_keys: keys is not a struct")
			}
			var out []KeyType
			for _, f := range keys.Def.Composite.Fields {
				t, ok := keyTypes[string(f.Name)]
				if !ok {
					return nil, fmt.Errorf("session key %q: unknown key type (known: grandpa, babe, im_online, para_validator, para_assignment, authority_discovery, aura, beefy)", f.Name)
				}
				size := c.byteArrayLen(f.Type.Int64())
				if size == 0 {
					return nil, fmt.Errorf("session key %q: not a byte array", f.Name)
				}
				out = append(out, KeyType{Field: string(f.Name), ID: t[0], Scheme: t[1], Size: size})
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("the runtime has no session.set_keys call")
}

// byteArrayLen follows newtype wrappers down to a [u8; N] and returns N (0: not one).
func (c *Chain) byteArrayLen(id int64) int {
	for range 8 {
		t, ok := c.meta.AsMetadataV14.EfficientLookup[id]
		switch {
		case !ok:
			return 0
		case t.Def.IsArray:
			return int(t.Def.Array.Len)
		case t.Def.IsComposite && len(t.Def.Composite.Fields) == 1:
			id = t.Def.Composite.Fields[0].Type.Int64()
		default:
			return 0
		}
	}
	return 0
}

// Stash is the validator (stash) account a controller account stands for: staking.ledger's
// first field. An account with no ledger is taken as the stash itself.
func (c *Chain) Stash(controller []byte) ([]byte, error) {
	key, err := types.CreateStorageKey(c.meta, "Staking", "Ledger", controller)
	if err != nil {
		return nil, fmt.Errorf("staking.ledger key: %w", err)
	}
	raw, err := c.api.RPC.State.GetStorageRawLatest(key)
	if err != nil {
		return nil, fmt.Errorf("read staking.ledger: %w", err)
	}
	if raw == nil || len(*raw) < 32 {
		return controller, nil
	}
	return []byte(*raw)[:32], nil
}

// NextKeys are the session keys the chain holds for a validator from the next session on
// (session.nextKeys), SCALE-encoded; nil when it has none.
func (c *Chain) NextKeys(stash []byte) ([]byte, error) {
	key, err := types.CreateStorageKey(c.meta, "Session", "NextKeys", stash)
	if err != nil {
		return nil, fmt.Errorf("session.nextKeys key: %w", err)
	}
	raw, err := c.api.RPC.State.GetStorageRawLatest(key)
	if err != nil {
		return nil, fmt.Errorf("read session.nextKeys: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	return []byte(*raw), nil
}

// rawKeys encodes as the bytes themselves: SessionKeys is a struct of fixed-size arrays.
type rawKeys []byte

func (r rawKeys) Encode(e scale.Encoder) error { return e.Write(r) }

// SetKeys submits session.set_keys(keys, proof: empty) signed by the controller and returns
// the extrinsic hash. suri is the controller's secret URI; it never leaves this process.
func (c *Chain) SetKeys(ctx context.Context, suri string, set Set) (string, error) {
	signer, err := signature.KeyringPairFromSecret(suri, 42)
	if err != nil {
		return "", fmt.Errorf("controller secret URI: not a valid sr25519 secret URI")
	}
	keys, err := hex.DecodeString(strings.TrimPrefix(set.Encoded(), "0x"))
	if err != nil {
		return "", err
	}
	call, err := types.NewCall(c.meta, "Session.set_keys", rawKeys(keys), types.NewBytes(nil))
	if err != nil {
		return "", fmt.Errorf("encode session.set_keys: %w", err)
	}
	genesis, err := c.api.RPC.Chain.GetBlockHash(0)
	if err != nil {
		return "", fmt.Errorf("genesis hash: %w", err)
	}
	rv, err := c.api.RPC.State.GetRuntimeVersionLatest()
	if err != nil {
		return "", fmt.Errorf("runtime version: %w", err)
	}
	nonce, err := c.nonce(signer.PublicKey)
	if err != nil {
		return "", err
	}
	ext := types.NewExtrinsic(call)
	err = ext.Sign(signer, types.SignatureOptions{
		BlockHash: genesis, GenesisHash: genesis, Era: types.ExtrinsicEra{IsImmortalEra: true},
		Nonce: types.NewUCompactFromUInt(uint64(nonce)), Tip: types.NewUCompactFromUInt(0),
		SpecVersion: rv.SpecVersion, TransactionVersion: rv.TransactionVersion,
	})
	if err != nil {
		return "", fmt.Errorf("sign session.set_keys: %w", err)
	}
	hash, err := c.api.RPC.Author.SubmitExtrinsic(ext)
	if err != nil {
		return "", fmt.Errorf("submit session.set_keys: %w", err)
	}
	return hash.Hex(), nil
}

// ControllerPublic is the public key of a controller secret URI.
func ControllerPublic(suri string) ([]byte, error) {
	kp, err := signature.KeyringPairFromSecret(suri, 42)
	if err != nil {
		return nil, fmt.Errorf("controller secret URI: not a valid sr25519 secret URI")
	}
	return kp.PublicKey, nil
}

// nonce is the account's next transaction index: system.account's first field.
func (c *Chain) nonce(account []byte) (uint32, error) {
	key, err := types.CreateStorageKey(c.meta, "System", "Account", account)
	if err != nil {
		return 0, fmt.Errorf("system.account key: %w", err)
	}
	raw, err := c.api.RPC.State.GetStorageRawLatest(key)
	if err != nil {
		return 0, fmt.Errorf("read system.account: %w", err)
	}
	if raw == nil || len(*raw) < 4 {
		return 0, nil
	}
	return binary.LittleEndian.Uint32(*raw), nil
}

// QueuedKeys are the session keys the chain queued for a validator at the last session
// change, to be used from the next session on (session.queuedKeys, a list of (validator,
// keys)); nil when the validator is not in the queue.
func (c *Chain) QueuedKeys(stash []byte) ([]byte, error) {
	kts, err := c.KeyTypes()
	if err != nil {
		return nil, err
	}
	size := 0
	for _, t := range kts {
		size += t.Size
	}
	raw, err := c.plain("QueuedKeys")
	if err != nil || raw == nil {
		return nil, err
	}
	d := scale.NewDecoder(bytes.NewReader(raw))
	n, err := d.DecodeUintCompact()
	if err != nil {
		return nil, fmt.Errorf("decode session.queuedKeys: %w", err)
	}
	for range n.Uint64() {
		entry := make([]byte, 32+size)
		if err := d.Read(entry); err != nil {
			return nil, fmt.Errorf("decode session.queuedKeys: %w", err)
		}
		if bytes.Equal(entry[:32], stash) {
			return entry[32:], nil
		}
	}
	return nil, nil
}

// Session is the current session index (session.currentIndex).
func (c *Chain) Session() (uint32, error) {
	raw, err := c.plain("CurrentIndex")
	if err != nil || len(raw) < 4 {
		return 0, err
	}
	return binary.LittleEndian.Uint32(raw), nil
}

// plain reads a storage value of the Session pallet that has no key arguments.
func (c *Chain) plain(item string) ([]byte, error) {
	key, err := types.CreateStorageKey(c.meta, "Session", item)
	if err != nil {
		return nil, fmt.Errorf("session.%s key: %w", item, err)
	}
	raw, err := c.api.RPC.State.GetStorageRawLatest(key)
	if err != nil {
		return nil, fmt.Errorf("read session.%s: %w", item, err)
	}
	if raw == nil {
		return nil, nil
	}
	return []byte(*raw), nil
}
