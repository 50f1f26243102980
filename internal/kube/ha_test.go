package kube

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

const haSpec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev, namespace: chains}
spec:
  chain: {builtin: westend-dev}
  node: {image: gossamer:test, binary: /usr/local/bin/gossamer}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {standbys: 1, leaseTTL: 9s, safetyMargin: 3s}}
  - {name: rpc, role: rpc}
`

func haNetwork(t *testing.T, spec string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	n, err := network.Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An ha group renders as its identity's candidates: standbys+1 pods whose node container is
// `onf ha agent` with both command lines, no keystore volume or restore hook (no pod keeps
// keys), identity 0's secret URI for every pod, and a service account that may only get and
// update the identity's Lease (and create leases).
func TestHARendered(t *testing.T) {
	n := haNetwork(t, haSpec)
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	var sts *appsv1.StatefulSet
	var role *rbacv1.Role
	var binding *rbacv1.RoleBinding
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.StatefulSet:
			if o.Name == GroupName("dev", "validator") {
				sts = o
			}
		case *rbacv1.Role:
			role = o
		case *rbacv1.RoleBinding:
			binding = o
		}
	}
	if sts == nil || role == nil || binding == nil {
		t.Fatal("no validator StatefulSet, Role or RoleBinding")
	}
	if *sts.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2 (one identity, one standby)", *sts.Spec.Replicas)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("claims %d, want the data volume only (no keystore claim)", len(sts.Spec.VolumeClaimTemplates))
	}
	pod := sts.Spec.Template.Spec
	if pod.ServiceAccountName != HAAccessName("dev", "validator") || !*pod.AutomountServiceAccountToken {
		t.Errorf("service account %q automount %v", pod.ServiceAccountName, *pod.AutomountServiceAccountToken)
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Command, []string{"/onf/bin/onf"}) || c.Lifecycle != nil {
		t.Errorf("command %v lifecycle %v", c.Command, c.Lifecycle)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"ha agent --lease dev-validator-0 --namespace chains --lease-ttl 9s --safety-margin 3s --suri-file /onf/keys/suri",
		"--sign-arg=--key --sign-arg=alice", "--standby-arg=--babe-authority=false", "--sign-arg=$(POD_NAME)", "--standby-arg=$(POD_NAME)", "--binary /usr/local/bin/gossamer", "--gossamer"} {
		if !strings.Contains(args, want) {
			t.Errorf("agent args lack %q:\n%s", want, args)
		}
	}
	if strings.Contains(args, "--standby-arg=alice") {
		t.Errorf("the standby command line names the identity's key:\n%s", args)
	}
	var suri bool
	for _, m := range c.VolumeMounts {
		suri = suri || (m.MountPath == suriFile && m.SubPath == "0")
		if m.Name == volumeKeystore {
			t.Errorf("keystore mounted in an ha pod")
		}
	}
	if !suri {
		t.Errorf("identity 0's secret URI not mounted: %+v", c.VolumeMounts)
	}
	var install bool
	for _, ic := range pod.InitContainers {
		install = install || (ic.Name == onfInstall && ic.Image == "onf:test")
		for _, m := range ic.VolumeMounts {
			if m.Name == volumeKeys {
				t.Errorf("init step %s mounts the secret URI", ic.Name)
			}
		}
	}
	if !install {
		t.Error("no init step installs onf")
	}
	lease := HALeaseName("dev", "validator")
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{lease}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	}
	if len(role.Rules) != 2 || !slices.Equal(role.Rules[0].Verbs, want[0].Verbs) || !slices.Equal(role.Rules[0].ResourceNames, want[0].ResourceNames) ||
		!slices.Equal(role.Rules[1].Verbs, want[1].Verbs) || len(role.Rules[1].ResourceNames) != 0 {
		t.Errorf("role rules %+v, want %+v", role.Rules, want)
	}
	if binding.Subjects[0].Name != pod.ServiceAccountName || binding.RoleRef.Name != role.Name {
		t.Errorf("binding %+v", binding)
	}
}

// What an ha group cannot run in a cluster is refused with its field path.
func TestHARefusedInClusters(t *testing.T) {
	for _, c := range []struct{ group, opts, want string }{
		{`ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}`, "onf:test", "spec.groups[0].ha.etcd: "},
		{`ha: {}`, "", "spec.groups[0].ha: runs the onf image"},
		{`ha: {}, keys: {dev: ["//Alice", "//Bob"]}, node: {flavor: substrate, image: polkadot:test, binary: /polkadot}`, "onf:test", "spec.groups[0].keys: an ha group signs for one identity"},
	} {
		spec := strings.Replace(haSpec, `ha: {standbys: 1, leaseTTL: 9s, safetyMargin: 3s}`, c.group, 1)
		n, err := network.Parse([]byte(spec))
		if err != nil {
			t.Fatalf("%s: %v", c.group, err)
		}
		_, err = Desired(n, testKeys(t, n), Options{GatewayImage: c.opts})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.group, err, c.want)
		}
	}
}

// A polkadot-sdk relay validator ha group keeps its default session key types, BEEFY's
// beef:ecdsa among them: its agent is told to write all seven into the keystore.
func TestHAValidatorAllKeyTypes(t *testing.T) {
	spec := strings.Replace(haSpec, `ha: {standbys: 1, leaseTTL: 9s, safetyMargin: 3s}`, `ha: {}, node: {flavor: substrate, image: polkadot:test, binary: /polkadot}`, 1)
	n := haNetwork(t, spec)
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if sts, ok := o.(*appsv1.StatefulSet); ok && sts.Name == GroupName("dev", "validator") {
			args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
			for _, kt := range n.Spec.Groups[0].Keys.Types {
				if !strings.Contains(args, "--key-type "+string(kt)) {
					t.Errorf("agent args lack --key-type %s:\n%s", kt, args)
				}
			}
			if !strings.Contains(args, "--key-type beef:ecdsa") {
				t.Errorf("the default types lack beef:ecdsa:\n%s", args)
			}
			return
		}
	}
	t.Fatal("no validator StatefulSet")
}

// A collator ha group renders as its identity's candidates like a gossamer one, but the
// agent fills a polkadot-sdk keystore: --keystore and --key-type aura:sr25519 in its
// arguments, a memory-backed keystore volume, no key insert init step (the agent writes the
// keys only once it may sign), and --collator on the signing command line only.
func TestHACollatorGolden(t *testing.T) {
	const spec = "testdata/ha/collator.yaml"
	n := loadSpec(t, spec)
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := WriteYAML(&got, objs); err != nil {
		t.Fatal(err)
	}
	golden := strings.TrimSuffix(spec, ".yaml") + ".golden.yaml"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/kube -run TestHACollatorGolden -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("objects differ from %s (run with -update and review the diff):\n%s", golden, firstDiff(string(want), got.String()))
	}
	for _, o := range objs {
		sts, ok := o.(*appsv1.StatefulSet)
		if !ok || sts.Name != GroupName("paras", "collator") {
			continue
		}
		pod := sts.Spec.Template.Spec
		args := strings.Join(pod.Containers[0].Args, " ")
		for _, want := range []string{"--keystore /keystore --key-type aura:sr25519", "--sign-arg=--collator", "--sign-arg=--keystore-path --sign-arg=/keystore"} {
			if !strings.Contains(args, want) {
				t.Errorf("agent args lack %q:\n%s", want, args)
			}
		}
		if strings.Contains(args, "--standby-arg=--collator") || strings.Contains(args, "--standby-arg=--keystore-path") || strings.Contains(args, "--gossamer") {
			t.Errorf("the keyless command line collates or reads a keystore:\n%s", args)
		}
		for _, ic := range pod.InitContainers {
			if ic.Name == initName {
				t.Errorf("an init step inserts keys: %v", ic.Command)
			}
		}
		var memory bool
		for _, v := range pod.Volumes {
			memory = memory || (v.Name == volumeKeystore && v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory)
		}
		if !memory || len(sts.Spec.VolumeClaimTemplates) != 1 {
			t.Errorf("keystore not in memory, or claims %d (want the data volume only)", len(sts.Spec.VolumeClaimTemplates))
		}
		return
	}
	t.Fatal("no collator StatefulSet")
}
