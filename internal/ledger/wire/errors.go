package wire

import (
	"errors"
	"fmt"
)

// Code is a transaction's result code, as returned in CheckTx and FinalizeBlock results.
// 0 is success; every rejection has its own code so clients can act on it without parsing
// the log. Codes are part of the chain's interface: never renumber them.
type Code uint32

// Result codes.
const (
	CodeOK                Code = 0
	CodeDecode            Code = 1  // the tx or its body is not valid JSON of the documented shape
	CodeTxTooLarge        Code = 2  // the tx exceeds params.max_tx_bytes
	CodeBadSignature      Code = 3  // the signature does not verify for the signer's key
	CodeWrongChainID      Code = 4  // body.chain_id is not this chain's
	CodeNonceReplayed     Code = 5  // body.nonce is below the account's nonce (already used)
	CodeNonceFuture       Code = 6  // body.nonce is above the account's nonce (a gap)
	CodeInsufficientFunds Code = 7  // the signer's free balance cannot pay
	CodeInvalid           Code = 8  // a field is malformed or out of range
	CodeUnknownType       Code = 9  // the descriptor type is not registered
	CodeNoProvider        Code = 10 // no active provider serves the descriptor type
	CodeNoCapacity        Code = 11 // no suitable provider has enough free units
	CodePriceAboveMax     Code = 12 // every provider serving the type asks more than the maximum
	CodeNotFound          Code = 13 // the provider or subscription does not exist
	CodeUnauthorized      Code = 14 // the signer may not act on this object
	CodeProviderBusy      Code = 15 // the provider still has pending or active subscriptions
	CodeAlreadyExists     Code = 16 // a provider or type with this id is already registered
	CodeWrongState        Code = 17 // the subscription is not in a state that allows this
)

var codeNames = map[Code]string{
	CodeOK: "ok", CodeDecode: "decode", CodeTxTooLarge: "tx_too_large",
	CodeBadSignature: "bad_signature", CodeWrongChainID: "wrong_chain_id",
	CodeNonceReplayed: "nonce_replayed", CodeNonceFuture: "nonce_future",
	CodeInsufficientFunds: "insufficient_funds", CodeInvalid: "invalid",
	CodeUnknownType: "unknown_type", CodeNoProvider: "no_provider",
	CodeNoCapacity: "no_capacity", CodePriceAboveMax: "price_above_max",
	CodeNotFound: "not_found", CodeUnauthorized: "unauthorized",
	CodeProviderBusy: "provider_busy", CodeAlreadyExists: "already_exists",
	CodeWrongState: "wrong_state",
}

// String is the code's stable name (e.g. "nonce_replayed").
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// Codespace is the ABCI codespace of the ledger's codes.
const Codespace = "dinfra"

// TxError is a rejected transaction: a code, the field at fault (a JSON path such as
// "msg.subscribe.units", or empty) and the reason.
type TxError struct {
	Code   Code
	Field  string
	Reason string
}

func (e *TxError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Reason)
}

func Reject(code Code, field, format string, args ...any) *TxError {
	return &TxError{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of an error returned by the ledger (CodeInvalid for others, CodeOK
// for nil).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var te *TxError
	if errors.As(err, &te) {
		return te.Code
	}
	return CodeInvalid
}
