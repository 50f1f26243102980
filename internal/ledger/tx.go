package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// decodedTx is a wire transaction parsed and checked for shape, not yet for signature.
type decodedTx struct {
	body      wire.Body
	msgName   string
	signed    []byte // SignBytes(body)
	signature []byte
	signer    keyring.PublicKey
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// DecodeTx parses a wire transaction (without checking its signature or nonce).
func DecodeTx(raw []byte) (wire.Body, error) {
	d, err := decodeTx(raw)
	if err != nil {
		return wire.Body{}, err
	}
	return d.body, nil
}

func decodeTx(raw []byte) (*decodedTx, error) {
	var tx wire.Tx
	if err := decodeStrict(raw, &tx); err != nil {
		return nil, wire.Reject(wire.CodeDecode, "", "tx is not {\"body\":BASE64,\"signature\":HEX}: %v", err)
	}
	d := &decodedTx{signed: wire.SignBytes(tx.Body)}
	if err := decodeStrict(tx.Body, &d.body); err != nil {
		return nil, wire.Reject(wire.CodeDecode, "body", "%v", err)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(tx.Signature, "0x"))
	if err != nil || len(sig) != keyring.SignatureSize {
		return nil, wire.Reject(wire.CodeDecode, "signature", "want 0x followed by %d hex bytes", keyring.SignatureSize)
	}
	d.signature = sig
	scheme, err := keyring.ParseScheme(d.body.Scheme)
	if err != nil {
		return nil, wire.Reject(wire.CodeDecode, "body.scheme", "%v", err)
	}
	pub, _, err := keyring.DecodeSS58(d.body.Signer)
	if err != nil {
		return nil, wire.Reject(wire.CodeDecode, "body.signer", "%v", err)
	}
	d.signer, _ = keyring.NewPublicKey(scheme, pub)
	if d.msgName, err = d.body.Msg.Kind(); err != nil {
		return nil, err
	}
	return d, nil
}
