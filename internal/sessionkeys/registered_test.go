package sessionkeys

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// A match is recorded (public keys only, 0600 in a 0700 directory made for it), read back,
// left out of the keystore's keys, and forgotten on a mismatch.
func TestRecordRegistered(t *testing.T) {
	ks := Keystore(filepath.Join(t.TempDir(), "validator-0"))
	if r, err := ks.Registered(); r != nil || err != nil {
		t.Fatalf("nothing recorded: %+v, %v", r, err)
	}
	if err := ks.Record(nil); err != nil {
		t.Fatalf("forgetting nothing: %v", err)
	}
	if _, err := os.Stat(string(ks)); !os.IsNotExist(err) {
		t.Fatalf("forgetting made the keystore: %v", err)
	}
	want := v1alpha1.RegisteredKeys{Validator: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", Keys: "0x0102", Session: 4}
	if err := ks.Record(&want); err != nil {
		t.Fatal(err)
	}
	if r, err := ks.Registered(); err != nil || r == nil || *r != want {
		t.Fatalf("recorded %+v, read %+v, %v", want, r, err)
	}
	for file, mode := range map[string]os.FileMode{string(ks): 0o700 | os.ModeDir, filepath.Join(string(ks), registeredFile): 0o600} {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", file, fi.Mode(), mode)
		}
	}
	if all, err := ks.All(); err != nil || len(all) != 0 {
		t.Errorf("the record counted as a key: %v, %v", all, err)
	}
	if err := ks.Record(nil); err != nil {
		t.Fatal(err)
	}
	if r, err := ks.Registered(); r != nil || err != nil {
		t.Errorf("after forgetting: %+v, %v", r, err)
	}
}
