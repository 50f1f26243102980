package site

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/console/consoletest"
	"github.com/dinfra/stack/internal/testenv"
)

// A local network's firing alerts are its real Alertmanager's, as onf status prints them; a
// network without a stack has none, and an Alertmanager that stopped answering is an error
// naming it (the console notes it on the network).
func TestFiringAlerts(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	if got, err := FiringAlerts(ctx, home, "dev"); err != nil || got != nil {
		t.Fatalf("no stack: %v, %v", got, err)
	}
	am := consoletest.StartAlertmanager(t, home, "dev")
	am.Fire("dev", "rpc-0", "NodeDown", "critical", "rpc-0 is down")
	testenv.Eventually(t, 30*time.Second, "the alert firing", func() (bool, error) {
		got, err := FiringAlerts(ctx, home, "dev")
		return err == nil && len(got) == 1 && got[0].Name == "NodeDown" && got[0].Node == "rpc-0" &&
			got[0].Severity == "critical" && got[0].Summary == "rpc-0 is down", err
	})

	am.Stop()
	am.Record(home, "dev", os.Getpid()) // a running process that is no Alertmanager: nothing answers
	if _, err := FiringAlerts(ctx, home, "dev"); err == nil || !strings.Contains(err.Error(), "alertmanager "+am.URL) {
		t.Errorf("an Alertmanager that does not answer: %v", err)
	}
}
