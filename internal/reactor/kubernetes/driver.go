package kubernetes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
)

// fieldOwner is the server-side apply manager of everything the reactor writes.
const fieldOwner = client.FieldOwner(ManagedBy)

// Driver runs substrate-network deployments in a cluster.
type Driver struct {
	client   client.Client
	units    int64
	unitSize UnitSize
}

// New returns a driver offering capacity units of unitSize through c.
func New(c client.Client, capacity int64, unitSize UnitSize) *Driver {
	return &Driver{client: c, units: capacity, unitSize: unitSize}
}

var _ reactor.Driver = (*Driver)(nil)

func (*Driver) Name() string      { return "kubernetes" }
func (*Driver) Types() []string   { return []string{descriptor.TypeSubstrateNetwork} }
func (k *Driver) Capacity() int64 { return k.units }

// Deploy applies the namespace, quota, network policy and SubstrateNetwork (server-side
// apply, so running it again converges). The network itself is the operator's job; the
// endpoint names the object it reconciles.
func (k *Driver) Deploy(ctx context.Context, d reactor.Deployment) ([]api.Endpoint, error) {
	network, err := SubstrateNetwork(d)
	if err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{}
	err = k.client.Get(ctx, client.ObjectKey{Name: NamespaceName(d.ID)}, ns)
	if err == nil && ns.DeletionTimestamp != nil {
		return nil, fmt.Errorf("namespace %s is still being deleted", ns.Name)
	}
	for _, obj := range []runtime.Object{Namespace(d), ResourceQuota(d, k.unitSize), NetworkPolicy(d)} {
		if err := k.apply(ctx, obj); err != nil {
			return nil, err
		}
	}
	if err := k.applyUnstructured(ctx, network); err != nil {
		return nil, err
	}
	return []api.Endpoint{{
		Name: "substratenetwork",
		Url:  fmt.Sprintf("kubernetes:///apis/onf.dinfra.dev/v1alpha1/namespaces/%s/substratenetworks/%s", network.GetNamespace(), network.GetName()),
	}}, nil
}

// Teardown deletes the namespace; Kubernetes removes everything in it.
func (k *Driver) Teardown(ctx context.Context, id string) error {
	ns := &corev1.Namespace{}
	ns.Name = NamespaceName(id)
	err := k.client.Delete(ctx, ns, client.PropagationPolicy("Background"))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
	}
	return nil
}

func (k *Driver) apply(ctx context.Context, obj runtime.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("convert %T: %w", obj, err)
	}
	return k.applyUnstructured(ctx, &unstructured.Unstructured{Object: m})
}

func (k *Driver) applyUnstructured(ctx context.Context, u *unstructured.Unstructured) error {
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	if err := k.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), fieldOwner, client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
