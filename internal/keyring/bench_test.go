package keyring

import "testing"

func BenchmarkVerify(b *testing.B) {
	for _, s := range []Scheme{Sr25519, Ed25519} {
		p, _ := Dev(s, "alice")
		msg := make([]byte, 300)
		sig := p.MustSign(msg)
		pub := p.Public()
		b.Run(string(s), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if !pub.Verify(msg, sig) {
					b.Fatal("bad")
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	for _, s := range []Scheme{Sr25519, Ed25519} {
		p, _ := Dev(s, "alice")
		msg := make([]byte, 300)
		b.Run(string(s), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p.MustSign(msg)
			}
		})
	}
}
