package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// TestGatewayNeedsConfigLocally: a spec written for a cluster (keysSecret, no config file)
// is refused by the local runtime with the field path, rather than a read of the working
// directory.
func TestGatewayNeedsConfigLocally(t *testing.T) {
	gw := &v1alpha1.Gateway{Group: "rpc", KeysSecret: &v1alpha1.KeyReference{Name: "keys", Key: "keys.yaml"}}
	err := absGatewayConfig(gw)
	if err == nil || !strings.HasPrefix(err.Error(), "spec.gateway.config: ") {
		t.Fatalf("absGatewayConfig: %v, want a spec.gateway.config error", err)
	}
}
