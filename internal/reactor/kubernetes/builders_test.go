package kubernetes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testDeployment(t *testing.T) reactor.Deployment {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "descriptors", "dev-network.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := descriptor.CID(doc)
	if err != nil {
		t.Fatal(err)
	}
	return reactor.Deployment{
		ID: "42", Type: descriptor.TypeSubstrateNetwork, CID: c, Descriptor: doc, Units: 2,
		Consumer: api.Consumer{Address: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
	}
}

func TestBuildersGolden(t *testing.T) {
	d := testDeployment(t)
	network, err := SubstrateNetwork(d)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, obj := range []runtime.Object{Namespace(d), ResourceQuota(d, DefaultUnitSize()), NetworkPolicy(d), network} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	golden := filepath.Join("testdata", "deployment.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("objects differ from %s (rerun with -update if intended):\n%s", golden, out.String())
	}
}

func TestSubstrateNetworkDefaultsNameAndDropsStatus(t *testing.T) {
	d := testDeployment(t)
	d.Descriptor = []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"namespace":"kube-system","labels":{"x":"y"}},"spec":{},"status":{"bestBlock":9}}`)
	u, err := SubstrateNetwork(d)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetName() != DefaultNetworkName || u.GetNamespace() != "dinfra-42" {
		t.Fatalf("name %q namespace %q; want %q in dinfra-42 (a descriptor never picks its namespace)", u.GetName(), u.GetNamespace(), DefaultNetworkName)
	}
	if _, ok := u.Object["status"]; ok {
		t.Fatal("status kept")
	}
	if u.GetLabels()["x"] != "" {
		t.Fatal("descriptor labels kept")
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		descriptor string // "" for examples/descriptors/dev-network.json
		want       []api.Endpoint
	}{
		{"gossamer rpc group: WebSocket on its own port", "", []api.Endpoint{
			{Name: "rpc-rpc", Url: "http://dev-rpc-rpc.dinfra-42.svc:9944"},
			{Name: "rpc-ws", Url: "ws://dev-rpc-rpc.dinfra-42.svc:9945"},
		}},
		{"polkadot-sdk full and archive groups, default network name", `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork",
"spec":{"chain":{"builtin":"westend-dev"},"node":{"flavor":"substrate","image":"parity/polkadot:stable2503"},
"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}},{"name":"full","role":"full"},{"name":"archive","role":"archive"}]}}`,
			[]api.Endpoint{
				{Name: "full-rpc", Url: "http://network-full-rpc.dinfra-42.svc:9944"},
				{Name: "full-ws", Url: "ws://network-full-rpc.dinfra-42.svc:9944"},
				{Name: "archive-rpc", Url: "http://network-archive-rpc.dinfra-42.svc:9944"},
				{Name: "archive-ws", Url: "ws://network-archive-rpc.dinfra-42.svc:9944"},
			}},
		{"validators keep their RPC private", `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"v"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`,
			[]api.Endpoint{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testDeployment(t)
			if tc.descriptor != "" {
				d.Descriptor = []byte(tc.descriptor)
			}
			got, err := Endpoints(d)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("endpoints %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEndpointsRejectUnplannableDescriptors(t *testing.T) {
	d := testDeployment(t)
	d.Descriptor = []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"a-network-name-long-enough-to-overflow"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validators-of-the-relay","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`)
	if _, err := Endpoints(d); err == nil || !strings.Contains(err.Error(), "spec.groups[0].name") {
		t.Fatalf("Endpoints: %v, want an error naming spec.groups[0].name", err)
	}
}
