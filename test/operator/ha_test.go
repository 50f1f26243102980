package operator

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

const haNetSpec = `
apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev, namespace: chains}
spec:
  chain: {builtin: westend-dev}
  node: {image: gossamer:test, binary: /usr/local/bin/gossamer}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {leaseTTL: 9s, safetyMargin: 3s}}
`

// The operator runs an ha group as its identity's two candidate pods (kwok's fake pods:
// Running without containers) with a service account whose Role lets an agent take, renew
// and release the identity's Lease, and nothing else: another Lease, deleting it, or a
// Secret is forbidden. The operator's own ClusterRole (config/rbac/role.yaml) holds what
// it grants, so the API server lets it create that Role.
func TestHALeaseAccess(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "chains", "onf-system")
	ctx := context.Background()
	operator := asServiceAccount(t, cluster, cl, "onf-system", "onf-operator", operatorClusterRole(t))
	startOperator(t, cluster, controller.Config{Workers: 2, Builders: kube.Options{GatewayImage: "onf:test"}})
	createNetwork(t, cl, haNetSpec)
	name := kube.HAAccessName("dev", "validator")
	testenv.Eventually(t, 60*time.Second, "two candidate pods of the ha group running as its service account", func() (bool, error) {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("chains"), client.MatchingLabels(kube.Selector("dev", "validator"))); err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Spec.ServiceAccountName != name {
				return false, errorf("pod %s runs as %q", p.Name, p.Spec.ServiceAccountName)
			}
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 2, nil
	})
	var role rbacv1.Role
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: name}, &role); err != nil {
		t.Fatal(err)
	}
	// The operator's ClusterRole suffices to create the Role it renders.
	role.ObjectMeta = metav1.ObjectMeta{Name: "copy", Namespace: "chains"}
	if _, err := operator.RbacV1().Roles("chains").Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the operator's ClusterRole cannot create the ha Role: %v", err)
	}

	agent := impersonate(t, cluster, "chains", name)
	lease := kube.HALeaseName("dev", "validator")
	a, b := ha.NewKubeLease(agent.CoordinationV1(), "chains", lease), ha.NewKubeLease(agent.CoordinationV1(), "chains", lease)
	l, err := a.Acquire(ctx, "dev-validator-0", 9*time.Second)
	if err != nil {
		t.Fatalf("the agent cannot create its Lease: %v", err)
	}
	if l, err = a.Renew(ctx, l); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if _, err := b.Acquire(ctx, "dev-validator-1", 9*time.Second); !errors.Is(err, ha.ErrHeld) {
		t.Fatalf("second candidate: err = %v, want held", err)
	}
	if err := a.Release(ctx, l); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := b.Acquire(ctx, "dev-validator-1", 9*time.Second); err != nil {
		t.Fatalf("the second candidate cannot take the released Lease: %v", err)
	}
	forbidden := map[string]error{}
	_, forbidden["get another Lease"] = agent.CoordinationV1().Leases("chains").Get(ctx, "other", metav1.GetOptions{})
	forbidden["delete its Lease"] = agent.CoordinationV1().Leases("chains").Delete(ctx, lease, metav1.DeleteOptions{})
	_, forbidden["list leases"] = agent.CoordinationV1().Leases("chains").List(ctx, metav1.ListOptions{})
	_, forbidden["get a Secret"] = agent.CoreV1().Secrets("chains").Get(ctx, kube.DevKeySecretName("dev", "validator"), metav1.GetOptions{})
	_, forbidden["get its Lease in another namespace"] = agent.CoordinationV1().Leases("onf-system").Get(ctx, lease, metav1.GetOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: err = %v, want forbidden", what, err)
		}
	}
}

// operatorClusterRole is the operator's ClusterRole as generated from its RBAC markers.
func operatorClusterRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(repoPath("config/rbac/role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var r rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// asServiceAccount binds role to the service account ns/name and returns a client acting
// as it.
func asServiceAccount(t *testing.T, cluster *kubetest.Cluster, cl client.Client, ns, name string, role *rbacv1.ClusterRole) *kubernetes.Clientset {
	t.Helper()
	ctx := context.Background()
	if err := cl.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := cl.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}}); err != nil {
		t.Fatal(err)
	}
	return impersonate(t, cluster, ns, name)
}

// impersonate is a client acting as the service account ns/name.
func impersonate(t *testing.T, cluster *kubetest.Cluster, ns, name string) *kubernetes.Clientset {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
