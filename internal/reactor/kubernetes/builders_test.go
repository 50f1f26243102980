package kubernetes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
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
