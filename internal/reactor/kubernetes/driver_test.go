package kubernetes_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/kubernetes"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

func startCluster(t *testing.T) *kubetest.Cluster {
	return kubetest.Start(t, kubetest.Options{CRDPaths: []string{filepath.Join("..", "..", "..", "config", "crd", "bases")}})
}

func TestKubernetesReactorConformance(t *testing.T) {
	cluster := startCluster(t)
	reactortest.Conformance(t, kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize()), 30*time.Second)
}

func TestKubernetesDriverObjects(t *testing.T) {
	cluster := startCluster(t)
	ctx := context.Background()
	drv := kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize())
	doc := []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"dev"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`)
	c, _ := descriptor.CID(doc)
	d := reactor.Deployment{ID: "7", Type: descriptor.TypeSubstrateNetwork, CID: c, Descriptor: doc, Units: 3}

	for range 2 { // the second call converges on what the first created
		eps, err := drv.Deploy(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) != 1 {
			t.Fatalf("endpoints %v", eps)
		}
	}
	ns := "dinfra-7"
	quota := &corev1.ResourceQuota{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dinfra-quota"}, quota); err != nil {
		t.Fatal(err)
	}
	if got := quota.Spec.Hard[corev1.ResourcePods]; got.Value() != 12 {
		t.Fatalf("quota pods %s, want 12 (3 units × 4)", got.String())
	}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dinfra-isolation"}, &networkingv1.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	network := &unstructured.Unstructured{}
	network.SetAPIVersion("onf.dinfra.dev/v1alpha1")
	network.SetKind("SubstrateNetwork")
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev"}, network); err != nil {
		t.Fatal(err)
	}
	if network.GetAnnotations()[kubernetes.AnnotationCID] != c.String() {
		t.Fatalf("annotations %v", network.GetAnnotations())
	}

	for range 2 { // idempotent teardown
		if err := drv.Teardown(ctx, "7"); err != nil {
			t.Fatal(err)
		}
	}
	got := &corev1.Namespace{}
	err := cluster.Client.Get(ctx, client.ObjectKey{Name: ns}, got)
	if err == nil && got.DeletionTimestamp == nil {
		t.Fatalf("namespace %s not being deleted", ns)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// TestKubernetesRejectsWhatTheCRDRejects: the apiserver's CRD schema is a second line of
// defence; a descriptor that passed the reactor's schema but not the CRD fails the deploy.
func TestKubernetesDeployFailsOnInvalidObject(t *testing.T) {
	cluster := startCluster(t)
	drv := kubernetes.New(cluster.Client, 4, kubernetes.DefaultUnitSize())
	doc := []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"Bad Name","role":"validator"}]}}`)
	c, _ := descriptor.CID(doc)
	_, err := drv.Deploy(context.Background(), reactor.Deployment{ID: "8", Type: descriptor.TypeSubstrateNetwork, CID: c, Descriptor: doc, Units: 1})
	if err == nil {
		t.Fatal("the apiserver accepted an invalid SubstrateNetwork")
	}
}
