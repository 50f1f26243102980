package local

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

func TestNetworkFromDescriptor(t *testing.T) {
	bins := Binaries{v1alpha1.FlavorGossamer: "/opt/gossamer"}
	n, err := network("12", []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"mine","namespace":"x"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","keys":{"dev":["//Alice"]}},{"name":"r","role":"rpc","node":{"flavor":"gossamer"}}]}}`), bins)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "dinfra-12" || n.Namespace != "" {
		t.Fatalf("name %q namespace %q", n.Name, n.Namespace)
	}
	if n.Spec.Node.Binary != "/opt/gossamer" || n.Spec.Groups[1].Node.Binary != "/opt/gossamer" {
		t.Fatalf("binaries not the provider's: %+v %+v", n.Spec.Node, n.Spec.Groups[1].Node)
	}
}

func TestNetworkRefusesProviderLocalFields(t *testing.T) {
	bins := Binaries{v1alpha1.FlavorGossamer: "/opt/gossamer"}
	tests := []struct{ name, spec, want string }{
		{"binary", `{"chain":{"builtin":"westend-dev"},"node":{"binary":"/bin/sh"},"groups":[{"name":"v","role":"validator"}]}`, "spec.node.binary: chosen by the provider"},
		{"group binary", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","node":{"binary":"/bin/sh"}}]}`, "spec.groups[0].node.binary"},
		{"chain file", `{"chain":{"file":"/etc/passwd"},"groups":[{"name":"v","role":"validator"}]}`, "spec.chain.file"},
		{"args", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","args":["--base-path=/"]}]}`, "spec.groups[0].args"},
		{"key files", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","keys":{"files":["/root/key"]}}]}`, "spec.groups[0].keys"},
		{"unserved flavor", `{"chain":{"builtin":"dev"},"node":{"flavor":"substrate"},"groups":[{"name":"v","role":"validator"}]}`, "runs no substrate nodes"},
		{"unknown field", `{"chain":{"builtin":"westend-dev"},"groups":[],"extra":1}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := network("1", []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","spec":`+tt.spec+`}`), bins)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
