package site

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/monitor"
)

func TestChainName(t *testing.T) {
	for _, tc := range []struct {
		chain v1alpha1.Chain
		want  string
	}{
		{v1alpha1.Chain{Builtin: "westend-dev"}, "westend-dev"},
		{v1alpha1.Chain{File: "/srv/specs/relay-raw.json"}, "relay-raw.json"},
		{v1alpha1.Chain{URL: "https://example.org/chains/para.json"}, "para.json"},
		{v1alpha1.Chain{ConfigMap: &v1alpha1.KeyReference{Name: "relay-spec", Key: "spec.json"}}, "configmap relay-spec"},
		{v1alpha1.Chain{}, ""},
	} {
		if got := ChainName(tc.chain); got != tc.want {
			t.Errorf("ChainName(%+v) = %q, want %q", tc.chain, got, tc.want)
		}
	}
}

func TestSessionKeysByNode(t *testing.T) {
	keys := &v1alpha1.RegisteredKeys{Validator: "5Grw", Keys: "0x01", Session: 3}
	n := &v1alpha1.SubstrateNetwork{}
	n.Name = "relay"
	n.Status.Nodes = []v1alpha1.NodeStatus{{Name: "relay-validator-0", SessionKeys: keys}, {Name: "relay-rpc-0"}}
	if got := sessionKeys(n); len(got) != 1 || got["validator-0"] != keys {
		t.Errorf("sessionKeys: %v", got)
	}
}

// The local site lists its backup destination at most once per interval, and again at once
// when a backup from the console made it stale.
func TestBackupListing(t *testing.T) {
	ctx := context.Background()
	store, err := backup.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "db"), []byte("chain data"), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(node string) {
		now := time.Now().UTC()
		if _, err := store.Create(ctx, src, backup.Manifest{ID: backup.NewID("dev", now), Network: "dev", Node: node, Created: now}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct IDs
	}
	l := NewLocal(nil, 0, store)
	create("rpc-0")
	if list, err := l.backups(ctx); err != nil || len(list) != 1 {
		t.Fatalf("first listing: %d, %v", len(list), err)
	}
	create("rpc-1")
	if list, _ := l.backups(ctx); len(list) != 1 {
		t.Errorf("listed again within the minute: %d backups", len(list))
	}
	l.listed.at = time.Time{} // what Backup does after a backup
	if list, _ := l.backups(ctx); len(list) != 2 {
		t.Errorf("after a backup: %d backups, want 2", len(list))
	}
}

// TestAlertsOf: a cluster's alerts are a network's when labelled with its name, and with its
// namespace where they carry one.
func TestAlertsOf(t *testing.T) {
	alerts := []monitor.Alert{
		{Name: "a", Labels: map[string]string{"network": "relay"}},
		{Name: "b", Labels: map[string]string{"network": "relay", "namespace": "chains"}},
		{Name: "c", Labels: map[string]string{"network": "relay", "namespace": "team-b"}},
		{Name: "d", Labels: map[string]string{"network": "para", "namespace": "chains"}},
	}
	var got []string
	for _, a := range alertsOf(alerts, "chains", "relay") {
		got = append(got, a.Name)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("alerts of chains/relay: %v, want a,b", got)
	}
}
