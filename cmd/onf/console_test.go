package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// onf console refuses what it cannot serve safely or usefully before it listens.
func TestConsoleRefusesBadFlags(t *testing.T) {
	t.Setenv("ONF_HOME", t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:8080"}, "--listen: 0.0.0.0 is not a loopback address"},
		{[]string{"--listen", "example.org:8080"}, "--listen: example.org is not a loopback address"},
		{[]string{"--listen", "8080"}, "--listen: address 8080: missing port"},
		{[]string{"--no-local", "--listen", "127.0.0.1:0"}, "no site"},
		{[]string{"--kubeconfig", "/nonexistent/kubeconfig", "--context", "eu-1", "--listen", "[::1]:0"}, "--context eu-1: kubeconfig"},
		{[]string{"--api-keys", "/nonexistent/keys.yaml", "--listen", "localhost:0"}, "--api-keys: read API key file"},
		{[]string{"--jwt-issuer", "https://idp.example", "--listen", "localhost:0"}, "--jwt-issuer and --jwt-audience need"},
		{[]string{"--jwt-hs256-secret-file", "/nonexistent/secret", "--listen", "localhost:0"}, "--jwt: auth.jwt.hs256SecretFile"},
	} {
		resetFlags(t, "console")
		rootCmd.SetOut(&bytes.Buffer{})
		rootCmd.SetErr(&bytes.Buffer{})
		rootCmd.SetArgs(append([]string{"console"}, tc.args...))
		if err := rootCmd.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("onf console %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// resetFlags sets a command's flags back to their defaults: cobra keeps the values of the
// previous Execute.
func resetFlags(t *testing.T, name string) {
	t.Helper()
	cmd, _, err := rootCmd.Find([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(nil)
		} else {
			err = f.Value.Set(f.DefValue)
		}
		if err != nil {
			t.Fatalf("reset --%s: %v", f.Name, err)
		}
		f.Changed = false
	})
}
