package operator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/testenv"
)

const onfTestImage = "ghcr.io/dinfra/onf:test"

// A real raw chain spec over the 1 MiB ConfigMap limit (gossamer's westend-dev, 2.3 MiB):
// the API server refuses it in one ConfigMap, and admits what `onf render` makes of it
// (gzip parts in several ConfigMaps and a join step); the parts read back from the API
// server join into the very file. The operator renders chain.url, runtimeOverride and
// database into StatefulSets the API server admits, and the CRD refuses a checksum without
// a URL and an unknown database.
func TestChainSpecsOnAPIServer(t *testing.T) {
	raw := filepath.Join(filepath.Dir(testenv.Binary(t, "GOSSAMER_BIN")), "chain", "westend-dev", "westend-dev-spec-raw.json")
	spec, err := chainspec.ReadFile(raw, chainspec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cluster, cl := startCluster(t, kubetest.Options{}, "chains")
	ctx := context.Background()

	whole := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "whole", Namespace: "chains"}, Data: map[string]string{"spec.json": string(spec)}}
	if err := cl.Create(ctx, whole); err == nil || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("a %d-byte chain spec in one ConfigMap: %v, want the API server's size refusal", len(spec), err)
	}

	doc := strings.Replace(polkadotNetwork("big", "chains", polkadotImage, `
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: rpc, role: rpc, database: paritydb}
`), "builtin: rococo-local", "file: "+raw, 1)
	n, err := network.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kube.PlaceholderKeys(n)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Desired(n, keys, kube.Options{GatewayImage: onfTestImage, ReadFile: func(p string) ([]byte, error) { return chainspec.ReadFile(p, chainspec.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	var rpc *appsv1.StatefulSet
	for _, o := range objs {
		if err := cl.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
		if s, ok := o.(*appsv1.StatefulSet); ok && s.Name == kube.GroupName("big", "rpc") {
			rpc = s
		}
	}
	// Join the parts as the step does, from the ConfigMaps as the API server stored them.
	pod := rpc.Spec.Template.Spec
	step := pod.InitContainers[slices.IndexFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "chain-spec-0" })]
	var parts []io.Reader
	for _, m := range step.VolumeMounts[1:] {
		vol := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })]
		var cm corev1.ConfigMap
		if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: vol.ConfigMap.Name}, &cm); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, bytes.NewReader(cm.BinaryData["part"]))
	}
	if len(parts) < 2 {
		t.Errorf("%d parts: want the spec split across several ConfigMaps", len(parts))
	}
	got, err := chainspec.Unpack(parts, chainspec.Options{SHA256: chainspec.SHA256(spec)})
	if err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("joining the stored parts = %d bytes, %v", len(got), err)
	}
	t.Logf("%d-byte chain spec stored as %d ConfigMaps", len(spec), len(parts))

	// The operator: a downloaded chain spec, a runtime override and database backends.
	startOperator(t, cluster, controller.Config{Builders: kube.Options{GatewayImage: onfTestImage}})
	sum := chainspec.SHA256(spec)
	createNetwork(t, cl, strings.Replace(polkadotNetwork("fetched", "chains", polkadotImage, fmt.Sprintf(`
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - name: rpc
      role: rpc
      database: paritydb
      runtimeOverride: {url: "https://runtimes.example.org/westend.wasm", sha256: %q}
`, sum)), "builtin: rococo-local", fmt.Sprintf("url: \"https://specs.example.org/westend-dev-raw.json\", sha256: %q", sum), 1))
	var sts appsv1.StatefulSet
	testenv.Eventually(t, 60*time.Second, "the rpc StatefulSet", func() (bool, error) {
		err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: kube.GroupName("fetched", "rpc")}, &sts)
		return err == nil, client.IgnoreNotFound(err)
	})
	var steps []string
	for _, c := range sts.Spec.Template.Spec.InitContainers {
		steps = append(steps, c.Name+": "+strings.Join(c.Args, " "))
	}
	all := strings.Join(steps, "\n")
	args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(all, "chainspec fetch --url https://specs.example.org/westend-dev-raw.json --sha256 "+sum) ||
		!strings.Contains(all, "chainspec fetch --runtime --url https://runtimes.example.org/westend.wasm") ||
		!strings.Contains(args, "--database paritydb --wasm-runtime-overrides /onf/runtime") {
		t.Errorf("admitted StatefulSet: init steps\n%s\nnode args %s", all, args)
	}

	// The CRD's own checks.
	for _, tc := range []struct{ name, from, to, want string }{
		{"checksum without a URL", "builtin: rococo-local", "builtin: rococo-local, sha256: " + sum, "sha256 is the checksum of url"},
		{"unknown database", "role: rpc", "role: rpc, database: mysql", `spec.groups[1].database: Unsupported value: "mysql"`},
	} {
		n := parseNetwork(t, strings.Replace(polkadotNetwork("bad", "chains", polkadotImage, `
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: rpc, role: rpc}
`), tc.from, tc.to, 1))
		if err := cl.Create(ctx, n); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: create = %v, want Invalid naming %q", tc.name, err, tc.want)
		}
	}
}
