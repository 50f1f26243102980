// Package keyring holds Substrate-compatible keys: sr25519 (schnorrkel), ed25519 and ecdsa
// (secp256k1) key pairs, derived from secret URIs exactly as subkey, sp-core and polkadot-js
// derive them, and the SS58 addresses that name their public keys.
//
// A secret URI is PHRASE[PATH][///PASSWORD]:
//
//   - PHRASE is a BIP39 mnemonic, a 0x-prefixed 32-byte hex seed, or empty (the well-known
//     development phrase, DevPhrase);
//   - PATH is a sequence of junctions: "//name" is a hard junction and "/name" a soft one. A
//     junction that parses as a uint64 is SCALE-encoded as a little-endian u64, anything else
//     as a SCALE string; codes longer than 32 bytes are replaced by their blake2b-256 hash;
//   - PASSWORD is the BIP39 password (it salts the mnemonic, it does not encrypt anything).
//
// So "//Alice" is DevPhrase//Alice, the Alice development account of every Substrate chain.
//
// A mnemonic becomes a key the Substrate way, which differs from BIP32 wallets: the mnemonic
// is decoded back to its BIP39 entropy, and the 32-byte "mini secret" is the first half of
// PBKDF2-HMAC-SHA512(entropy, "mnemonic"+password, 2048 rounds). sr25519 expands the mini
// secret in schnorrkel's Ed25519 mode; ed25519 uses it as the RFC 8032 seed; ecdsa as the
// secp256k1 secret scalar.
//
// Hard derivation of sr25519 keys follows schnorrkel's hard_derive_mini_secret_key, soft
// derivation its derived_key_simple; ed25519 and ecdsa only support hard derivation:
// seed' = blake2b-256(SCALE("Ed25519HDKD") ++ seed ++ chaincode), "Secp256k1HDKD" for ecdsa.
//
// Signatures are what a Substrate runtime verifies: sr25519 signs with the "substrate"
// signing context, ed25519 is plain RFC 8032, ecdsa is RFC 6979 over blake2b-256(message)
// with the recovery id appended (65 bytes).
//
// An ecdsa public key is the 33-byte compressed point (PublicKey.Raw, what BEEFY session
// keys and keystores hold); its account id and SS58 address are of blake2b-256 of that key.
// ecdsa keys are session keys here, not an account scheme (ParseScheme refuses them).
//
// ed25519 pairs can also be written as OpenSSH keys (see Pair.SSHAuthorizedKey and
// Pair.SSHPrivateKeyPEM), so a consumer can log into what they rent with their account key.
package keyring
