package gateway

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/policy"
)

const fuzzHSSecret = "fuzz-secret-fuzz-secret-fuzz-secret!"

func fuzzAuthenticator(f *testing.F) *auth.Authenticator {
	dir := f.TempDir()
	keyFile := filepath.Join(dir, "keys.json")
	kf, _ := json.Marshal(auth.KeyFile{Keys: []auth.KeyEntry{{ID: "reader", SHA256: auth.HashKey(readerKey)}}})
	secretFile := filepath.Join(dir, "secret")
	if os.WriteFile(keyFile, kf, 0o600) != nil || os.WriteFile(secretFile, []byte(fuzzHSSecret), 0o600) != nil {
		f.Fatal("write fixtures")
	}
	roleExists := func(r string) bool { return r == config.DefaultRole }
	keys, err := auth.NewKeyStore(keyFile, config.DefaultRole, roleExists)
	if err != nil {
		f.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(&config.JWT{HS256SecretFile: secretFile, DefaultRole: config.DefaultRole}, roleExists)
	if err != nil {
		f.Fatal(err)
	}
	return &auth.Authenticator{Keys: keys, JWT: v}
}

// signedWithFuzzSecret says whether cred is an unexpired HS256 token signed with the fuzz
// secret: such a token authenticates rightly, including one minted by an earlier run and kept
// in the fuzz cache's corpus.
func signedWithFuzzSecret(cred string) bool {
	_, err := jwt.Parse(cred, func(*jwt.Token) (any, error) { return []byte(fuzzHSSecret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired())
	return err == nil
}

// FuzzParseAndAuthorize feeds arbitrary credentials and message bodies through
// authentication, message parsing, the method policy and the encoders. Nothing may panic, only
// the real key and validly signed tokens authenticate, no call passes with a method name of
// the wrong shape, no wildcard role reaches a method that is not Safe, and everything the
// gateway would send (upstream or back) is valid JSON.
// Seeds: testdata/fuzz/FuzzParseAndAuthorize (run by plain `go test`).
func FuzzParseAndAuthorize(f *testing.F) {
	a := fuzzAuthenticator(f)
	valid, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "fuzz", "exp": time.Now().Add(24 * time.Hour).Unix(),
	}).SignedString([]byte(fuzzHSSecret))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(req(1, "system_name")), readerKey)
	f.Add([]byte(req("x", "author_insertKey", "gran", "//Alice", "0x00")), valid)
	f.Add([]byte(`[`+req(1, "chain_getHeader")+`,{"jsonrpc":"2.0","method":"system_health"}]`), "")
	role, err := policy.Compile([]string{"*"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, cred string) {
		id, err := a.Check(cred)
		if err == nil && cred != readerKey && !signedWithFuzzSecret(cred) {
			t.Fatalf("credential %q authenticated as %+v", cred, id)
		}
		if m, ok := parseUpstream(body); ok != (json.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))) ||
			(ok && !json.Valid(appendReply(nil, nullID, &m))) {
			t.Fatalf("node answer %q: accepted %v", body, ok)
		}
		calls, batch, msgErr := parseMessage(body, 10, nil)
		if (msgErr == errMalformed) == json.Valid(body) {
			t.Fatalf("malformed %v, json.Valid %v for %q", msgErr == errMalformed, json.Valid(body), body)
		}
		if msgErr != nil {
			if !json.Valid(appendError(nil, nullID, msgErr)) {
				t.Fatal("message error answer is not JSON")
			}
			return
		}
		if len(calls) == 0 || len(calls) > 10 || (!batch && len(calls) != 1) {
			t.Fatalf("%d calls (batch %v)", len(calls), batch)
		}
		var elems []json.RawMessage
		if !batch {
			elems = []json.RawMessage{body}
		} else if json.Unmarshal(body, &elems) != nil {
			t.Fatal("batch does not decode")
		}
		for i, c := range calls {
			if want := stdMethod(elems[i]); c.invalid == nil && c.method != want {
				t.Fatalf("method %q, encoding/json reads %q", c.method, want)
			}
			if c.invalid != nil {
				if c.id == nil || !json.Valid(appendError(nil, c.id, c.invalid)) {
					t.Fatalf("invalid call answer for %q is not JSON", body)
				}
				continue
			}
			if !policy.ValidName(c.method) {
				t.Fatalf("valid call with method %q", c.method)
			}
			if policy.Classify(c.method) != policy.Safe && role.Decide(c.method) == policy.Allowed {
				t.Fatalf("wildcard role allowed %s", c.method)
			}
			up := appendUpstreamRequest(nil, 42, c.method, c.params)
			var back struct {
				ID     uint64          `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(up, &back); err != nil || back.ID != 42 || back.Method != c.method {
				t.Fatalf("upstream request %q for %q: %+v, %v", up, body, back, err)
			}
			if len(c.params) > 0 && !bytes.Equal(bytes.TrimSpace(back.Params), bytes.TrimSpace(c.params)) {
				t.Fatalf("params changed: %s -> %s", c.params, back.Params)
			}
			if c.id != nil {
				reply := appendReply(nil, c.id, &upstreamMessage{Result: json.RawMessage(`"ok"`)})
				if !json.Valid(reply) {
					t.Fatalf("reply %q is not JSON", reply)
				}
			}
		}
	})
}

// stdMethod is the "method" member of a request as encoding/json reads it (exact name, last
// one wins), to check the gateway's own scanner against.
func stdMethod(elem []byte) string {
	var members map[string]json.RawMessage
	var m string
	if json.Unmarshal(elem, &members) == nil {
		_ = json.Unmarshal(members["method"], &m)
	}
	return m
}
