package rpc

import "testing"

func TestNormalizePeerID(t *testing.T) {
	const id = "12D3KooWSqJNaSW1dUaLDPJHJ3SuBbpECtemVJyWtVm6WsKEFftv"
	for in, want := range map[string]string{
		id: id, // polkadot-sdk
		"CovLVG4fQcqVSwZDKW2CvzmMT83nTDrhXW4wg46T2gJuYAJu7CLxHAeaqE7TW92Fr37KDvM": id, // gossamer, seen from v0.9.0
		"not-a-peer-id": "not-a-peer-id",
	} {
		if got := normalizePeerID(in); got != want {
			t.Errorf("normalizePeerID(%q) = %q, want %q", in, got, want)
		}
	}
}
