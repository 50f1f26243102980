package keyring

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	abandon12     = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	legalWinner24 = "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title"
	pjsDoc12      = "seed sock milk update focus rotate barely fade car face mechanic mercy"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Vectors from sp-core's tests (marked sp-core), TOOLCHAIN.md, subkey output and
// polkadot-js (@polkadot/keyring addFromUri) for the same URIs.
func TestURIVectors(t *testing.T) {
	cases := []struct {
		scheme Scheme
		uri    string
		public string
		ss58   string
	}{
		// sp-core derive_hard_known_pair_should_work / TOOLCHAIN.md.
		{Sr25519, "//Alice", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{Sr25519, DevPhrase + "//Alice", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", ""},
		// sp-core derive_soft_known_pair_should_work; subkey inspect /Alice.
		{Sr25519, DevPhrase + "/Alice", "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e", "5GvKEoc787uDV8etY1AM8vF385edu2iyqD1WfCjDugzLUiAL"},
		{Sr25519, "/Alice", "d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e", ""},
		// sp-core sr_test_vector_should_work (mini secret expanded in Ed25519 mode).
		{Sr25519, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f", ""},
		// sp-core seeded_pair_should_work: the ASCII seed "12345678901234567890123456789012".
		{Sr25519, "0x" + hex.EncodeToString([]byte("12345678901234567890123456789012")), "741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63", ""},
		// sp-core ed25519 test_vector_by_string_should_work (RFC 8032 test 1).
		{Ed25519, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", ""},
		// TOOLCHAIN.md: ed25519 //Alice.
		{Ed25519, "//Alice", "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee", "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"},
		// Dev phrase root and other mnemonics (polkadot-js addFromUri, substrate-interface).
		{Sr25519, DevPhrase, "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a", "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"},
		{Sr25519, abandon12, "66933bd1f37070ef87bd1198af3dacceb095237f803f3d32b173e6b425ed7972", "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH"},
		{Sr25519, pjsDoc12, "9c25e4a0d216aa8b1b2f4d3a2eb9dc85c16272438ab81fc73e20b7603ed22531", "5FbSap4BsWfjyRhCchoVdZHkDnmDm3NEgLZ25mesq4aw2WvX"},
		{Sr25519, legalWinner24, "5294e5a4859a235bed10b8a38cf5e832f1a2b560c36533a36200fc4cba1ad171", "5Dvz1qwrSmKZkD82LgS7mrsgJSQMExLp3eZHHwfm7MqKs3nd"},
		{Sr25519, abandon12 + "///TREZOR", "baa4036a6b212012c67b91fd47c2e3e64b65bbd538969544c71b2f905227374c", "5GHRV8fpuNjWCxfoRjCBc1BqY33ddAHs9DVdkhwccAjY71pN"},
		{Sr25519, legalWinner24 + "///TREZOR", "dc30aeb76d66f32c20fa33e5e8d8894d095e281be79dcce85385f0aae67e702c", "5H3QrTUbPZncGwkgUeTGXWerJnzRXJGbw1Rz3XYT4APTNT51"},
		// Numeric hard junctions are u64 little-endian.
		{Sr25519, abandon12 + "//0", "5244eb2b8a9f975c603485c5a76eeec41fdad88aa6ef204b7c56691940ad1671", "5DvaFrBesD6jTWd3GEefcM72BSXaFRHqQuZtwBSZii1VMnuP"},
		{Sr25519, abandon12 + "//1", "", "5DJ8y4CAHnmjt4rdoZpR1wgXnQDnKDksskx7JTphZhMxthiG"},
		{Sr25519, DevPhrase + "//0", "2afba9278e30ccf6a6ceb3a8b6e336b70068f045c666f2e7f4f9cc5f47db8972", "5D34dL5prEUaGNQtPPZ3yN5Y6BnkfXunKXXz6fo7ZJbLwRRH"},
		{Sr25519, pjsDoc12 + "//0", "e27ed800d359cd3b336d97b637056d05c499102870ae784d94a89164abb2d626", "5HBgMorR1xrFgoabcF898oBsY7YG9XPZtyQpDUrZUoaKJuEa"},
		// subkey inspect output for two phrases, both schemes.
		{Sr25519, "marble crisp cover huge yellow quick warm pudding spatial engage unfair million", "b0e396819f644dcb7c9c6ba0bdf3acd6b3bf7faa8394ec4e49948906efce482c", "5G4dtixpo43WQM5V4QSHjHw6BpwRdEnrBwP9zQid2RvRQkCK"},
		{Ed25519, "marble crisp cover huge yellow quick warm pudding spatial engage unfair million", "e7988839e659db69ae9ad08c3ef2ccabba44236024a039ebad83bd8fc75dccfb", "5HJNEJ6KCG8PDzXC7ZeNDJetktYzpyPXi8GLVagP8fvC8tdH"},
		{Ed25519, "clean upper wool melt current summer pride fuel sudden enlist swarm cram", "5a9b9bec588531188fb362aca065730ded3dcd1c9529d33d5b66f1710bfdec88", "5E7WPi4qsCp5EsqtXdP5GiUXJqCfyGr2QMbDb9v7E2nMzvkU"},
		// ecdsa: `subkey inspect --scheme ecdsa //Alice` (quoted in Litentry's
		// pallets/account-linker tests; the same key is BEEFY's //Alice in polkadot-sdk test
		// chains); the SS58 address is of the account id, blake2b-256 of the compressed key.
		{Ecdsa, "//Alice", "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1", "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"},
		// sp-core ecdsa test_vector_by_string_should_work and seeded_pair_should_work (their
		// uncompressed keys 8db55b...d4 and 5676109c...13, compressed here).
		{Ecdsa, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91", ""},
		{Ecdsa, "0x" + hex.EncodeToString([]byte("12345678901234567890123456789012")), "035676109c54b9a16d271abeb4954316a40a32bcce023ac14c8e26e958aa68fba9", ""},
		// polkadot-js (@polkadot/keyring 14.0.3, type ecdsa, addFromUri) for the same URIs.
		{Ecdsa, "//Bob", "0390084fdbf27d2b79d26a4f13f0ccd982cb755a661969143c37cbc49ef5b91f27", "5DVskgSC9ncWQpxFMeUn45NU43RUq93ByEge6ApbnLk6BR9N"},
		{Ecdsa, "//Alice//stash", "03c6a1c2194fa966d30bc4b9c4d5140e9a899d456372dae0e4ef230fd7d2197e72", "5CNog3FZ1ofBJQ4v4VWmruaLnoYeenobD88WRiT6ZvEXsvwF"},
		{Ecdsa, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//0", "03a858882f06951b9cae4601c5b203de973c900992055906c9c9eae04053926055", "5GTVmy1cwhb8TeGForDPnfF7pC8aw68pamJjDBVgXqAkx2JC"},
		{Ecdsa, abandon12 + "//1", "03026c3ae1b88dd53dde9e163233463bc49cdcd81a9291d8933c2fcb0ff4d22111", "5DU1GGaSuDWnoKuXsKhSRnUbrGf8wwpNsLTpdsyTancBFy2U"},
		{Ecdsa, abandon12 + "///TREZOR", "023b74b08b6650b67e5f8c862cea56965658641aed270658de42e348d17962dbc3", "5ErjegPw4eMKZaNRb1vFRqfxJW1eZmyb6hGxxwK8Gf1rXvdx"},
	}
	for _, c := range cases {
		t.Run(string(c.scheme)+" "+c.uri, func(t *testing.T) {
			p, err := FromURI(c.scheme, c.uri)
			if err != nil {
				t.Fatal(err)
			}
			if c.public != "" && p.Public().Hex() != "0x"+c.public {
				t.Errorf("public %s, want 0x%s", p.Public().Hex(), c.public)
			}
			if c.ss58 != "" && p.Address(SubstratePrefix) != c.ss58 {
				t.Errorf("address %s, want %s", p.Address(SubstratePrefix), c.ss58)
			}
		})
	}
}

func TestMiniSecretVectors(t *testing.T) {
	cases := []struct{ phrase, password, mini string }{
		{DevPhrase, "", "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"}, // TOOLCHAIN.md
		{abandon12, "", "4ed8d4b17698ddeaa1f1559f152f87b5d472f725ca86d341bd0276f1b61197e2"},
		{abandon12, "TREZOR", "b43c67f1b354a8c17e73d8b483f349f3a3549a4ee730ef08fbbd577d4decf064"},
		{legalWinner24, "", "f02cdc109954e34cd3f0c60fdb0c97ffb3a934ad1cc9a4df87b8417024b8bdbe"},
		{"marble crisp cover huge yellow quick warm pudding spatial engage unfair million", "", "fd72a60d6cd6d226c7dac996b9479bf5f4631434fd6b1bdec3e76e35a39e2be4"},
	}
	for _, c := range cases {
		got, err := MiniSecretFromMnemonic(c.phrase, c.password)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != c.mini {
			t.Errorf("%q/%q: mini secret %x, want %s", c.phrase, c.password, got, c.mini)
		}
	}
}

// sp-core's ed25519 and ecdsa seed_and_derive_should_work: a hard junction with a zero chain
// code.
func TestHardDeriveVectors(t *testing.T) {
	for _, c := range []struct {
		scheme  Scheme
		derived string
		seed    func(*Pair) []byte
	}{
		{Ed25519, "ede3354e133f9c8e337ddd6ee5415ed4b4ffe5fc7d21e933f4930a3730e5b21c", func(p *Pair) []byte { return p.ed.Seed() }},
		{Ecdsa, "b8eefc4937200a8382d00050e050ced2d4ab72cc2ef1b061477afb51564fdd61", func(p *Pair) []byte { return p.ec.Serialize() }},
	} {
		p, err := FromSeed(c.scheme, unhex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.derive(junction{hard: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(c.seed(d)); got != c.derived {
			t.Errorf("%s: derived seed %s, want %s", c.scheme, got, c.derived)
		}
	}
	// subkey's account id of //Alice's ecdsa key: blake2b-256 of the compressed key.
	alice, _ := Dev(Ecdsa, "alice")
	if id := alice.Public().Bytes; hex.EncodeToString(id[:]) != "01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed" {
		t.Errorf("//Alice ecdsa account id %x", id)
	}
}

func TestSignatureVectors(t *testing.T) {
	// sp-core ecdsa test_vector_should_work: RFC 6979 signature of "" with recovery id.
	ec, _ := FromURI(Ecdsa, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	if sig := ec.MustSign(nil); hex.EncodeToString(sig) != "3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921a2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00" {
		t.Fatalf("ecdsa signature %x", sig)
	}
	// sp-core ed25519 test_vector_should_work: deterministic signature of "".
	ed, _ := FromURI(Ed25519, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	sig, err := ed.Sign(nil)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sig) != "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" {
		t.Fatalf("ed25519 signature %x", sig)
	}
	// An sr25519 signature made by polkadot-js (abandon-12 root over an extrinsic payload)
	// that a live Substrate node accepted.
	pub, _ := NewPublicKey(Sr25519, unhex(t, "66933bd1f37070ef87bd1198af3dacceb095237f803f3d32b173e6b425ed7972"))
	payload := unhex(t, "0503005244eb2b8a9f975c603485c5a76eeec41fdad88aa6ef204b7c56691940ad167102093d0045001c1400d6010000010000002f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c030648bc120c2cd5d818f442481dc500adfce8fdd57afc448181362623f129429f00")
	pjsSig := unhex(t, "f0ce803151838122782b9e25ddafc6336b9150d05f634620584c80d61126ca2daf3e508d71acffb5da16b99a30b35edc4b93a03c491be1a89b1f4898f11c6b87")
	if !pub.Verify(payload, pjsSig) {
		t.Fatal("polkadot-js sr25519 signature does not verify")
	}
	payload[0] ^= 1
	if pub.Verify(payload, pjsSig) {
		t.Fatal("signature verifies over a changed payload")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, s := range []Scheme{Sr25519, Ed25519, Ecdsa} {
		p, err := Dev(s, "bob")
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("hello dinfra")
		sig := p.MustSign(msg)
		if !p.Public().Verify(msg, sig) {
			t.Fatalf("%s: own signature does not verify", s)
		}
		other, _ := Dev(s, "alice")
		if other.Public().Verify(msg, sig) {
			t.Fatalf("%s: signature verifies under another key", s)
		}
		if p.Public().Verify(msg, sig[:len(sig)-1]) {
			t.Fatalf("%s: short signature verifies", s)
		}
	}
}

func TestURIErrors(t *testing.T) {
	cases := []struct {
		scheme Scheme
		uri    string
		want   string
	}{
		{Ed25519, "//Alice/soft", "only hard derivation"},
		{Ecdsa, "//Alice/soft", "ecdsa keys support only hard derivation"},
		{Ecdsa, "0x" + strings.Repeat("00", 32), "not a valid secp256k1 secret key"},
		{Ecdsa, "0x" + strings.Repeat("ff", 32), "not a valid secp256k1 secret key"},
		{Sr25519, "abandon abandon abandon", "not a valid English BIP39 phrase"},
		{Sr25519, abandon12[:len(abandon12)-5] + "zoo", "not a valid English BIP39 phrase"},
		{Sr25519, "0x1234", "hex seed"},
		{Sr25519, "//Alice///", ""}, // empty password is allowed
		{Sr25519, "//", "empty junction"},
		{Sr25519, "bad-phrase//x", "invalid character"},
	}
	for _, c := range cases {
		_, err := FromURI(c.scheme, c.uri)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.uri, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.uri, err, c.want)
		}
	}
}

func TestSS58(t *testing.T) {
	alice := unhex(t, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
	for _, c := range []struct {
		prefix uint16
		addr   string
	}{
		{42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"}, // Polkadot
		{2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},  // Kusama
	} {
		if got := EncodeSS58(alice, c.prefix); got != c.addr {
			t.Errorf("prefix %d: %s, want %s", c.prefix, got, c.addr)
		}
		pub, prefix, err := DecodeSS58(c.addr)
		if err != nil || prefix != c.prefix || hex.EncodeToString(pub) != hex.EncodeToString(alice) {
			t.Errorf("decode %s: %x %d %v", c.addr, pub, prefix, err)
		}
	}
	// Two-byte prefixes round-trip.
	for _, prefix := range []uint16{64, 255, 1284, 16383} {
		pub, got, err := DecodeSS58(EncodeSS58(alice, prefix))
		if err != nil || got != prefix || hex.EncodeToString(pub) != hex.EncodeToString(alice) {
			t.Errorf("prefix %d round trip: %d %v", prefix, got, err)
		}
	}
	for _, bad := range []string{"", "0OIl", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut"} {
		if _, _, err := DecodeSS58(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestSSHAliceVector(t *testing.T) {
	p, _ := FromURI(Ed25519, "//Alice")
	got, err := p.SSHAuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	const want = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjcNBfVBY7EtFA+DBLqGgqJviAP6YkiQj1DNAFPprDu"
	if got != want {
		t.Fatalf("authorized key %q, want %q", got, want)
	}
	if canon, err := ParseSSHEd25519Key(want + " alice@dev"); err != nil || canon != want {
		t.Fatalf("parse: %q %v", canon, err)
	}
	sr, _ := FromURI(Sr25519, "//Alice")
	if _, err := sr.SSHAuthorizedKey(); err != ErrNotSSHKey {
		t.Fatalf("sr25519 ssh key: %v", err)
	}
	if _, err := sr.SSHPrivateKeyPEM(""); err != ErrNotSSHKey {
		t.Fatalf("sr25519 ssh private key: %v", err)
	}
	if _, err := ParseSSHEd25519Key("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC9"); err == nil {
		t.Fatal("rsa key accepted")
	}
}

// The real OpenSSH reproduces the public key from the private key file we write.
func TestSSHKeygenReadsPrivateKey(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ssh-keygen missing in CI (install openssh-client)")
		}
		t.Skip("ssh-keygen not installed")
	}
	for _, uri := range []string{"//Alice", "//Bob//stash", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"} {
		p, _ := FromURI(Ed25519, uri)
		pemBytes, err := p.SSHPrivateKeyPEM("dinfra")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "id_ed25519")
		if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(keygen, "-y", "-f", file).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -y: %v: %s", err, out)
		}
		want, _ := p.SSHAuthorizedKey()
		if got := strings.Fields(string(out)); len(got) < 2 || got[0]+" "+got[1] != want {
			t.Fatalf("%s: ssh-keygen says %q, want %q", uri, out, want)
		}
	}
}

func TestGenerateMnemonic(t *testing.T) {
	for _, n := range []int{12, 24} {
		m, err := GenerateMnemonic(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.Fields(m)) != n {
			t.Fatalf("%d words: %q", n, m)
		}
		if _, err := FromURI(Sr25519, m+"//x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := GenerateMnemonic(13); err == nil {
		t.Fatal("13 words accepted")
	}
}

func TestPairStringHidesSecret(t *testing.T) {
	p, _ := Dev(Sr25519, "alice")
	if s := p.String(); s != "sr25519:5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Fatalf("String() = %q", s)
	}
}
