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
		{[]string{"--prometheus", "eu-9=http://127.0.0.1:9090", "--listen", "localhost:0"}, `--prometheus eu-9=http://127.0.0.1:9090: no site "eu-9" (the sites: local)`},
		{[]string{"--prometheus", "local=127.0.0.1:9090", "--listen", "localhost:0"}, "--prometheus local=127.0.0.1:9090: must be an http:// or https:// URL"},
		{[]string{"--alertmanager", "local=http://127.0.0.1:9093", "--listen", "localhost:0"}, "--alertmanager local=http://127.0.0.1:9093: local is not a cluster site"},
		{[]string{"--alertmanager", "http://127.0.0.1:9093", "--listen", "localhost:0"}, "must be SITE=URL"},
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
