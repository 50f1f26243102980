package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/api/v1alpha1"
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
	wait     Wait
}

// New returns a driver offering capacity units of unitSize through c, waiting for networks
// as DefaultWait says.
func New(c client.Client, capacity int64, unitSize UnitSize) *Driver {
	return &Driver{client: c, units: capacity, unitSize: unitSize, wait: DefaultWait()}
}

// WithWait sets how Deploy follows the operator's status; call it before the driver is used.
func (k *Driver) WithWait(w Wait) *Driver {
	k.wait = w
	return k
}

var (
	_ reactor.Driver  = (*Driver)(nil)
	_ reactor.Checker = (*Driver)(nil)
)

// Check plans the network as the operator will (schema, semantic checks, object names),
// before the deployment is booked.
func (k *Driver) Check(d reactor.Deployment) error {
	_, err := Endpoints(d)
	return err
}

func (*Driver) Name() string      { return "kubernetes" }
func (*Driver) Types() []string   { return []string{descriptor.TypeSubstrateNetwork} }
func (k *Driver) Capacity() int64 { return k.units }

// Deploy applies the namespace, quota, network policy and SubstrateNetwork (server-side
// apply, so running it again converges), then waits until the onf operator reports the
// network Ready and returns its RPC endpoints (see Endpoints). Until then the deployment is
// Pending; it fails when the operator reports it Degraded for Wait.DegradedFor, or at once
// for an invalid spec, with the operator's message. A descriptor the operator could not
// plan fails before anything is applied.
func (k *Driver) Deploy(ctx context.Context, d reactor.Deployment) ([]api.Endpoint, error) {
	network, err := SubstrateNetwork(d)
	if err != nil {
		return nil, err
	}
	eps, err := Endpoints(d)
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
	if err := k.awaitReady(ctx, client.ObjectKeyFromObject(network)); err != nil {
		return nil, err
	}
	return eps, nil
}

// awaitReady reads the network's status every Wait.Interval until readiness decides. Errors
// reading it are retried: the API server may be briefly unavailable.
func (k *Driver) awaitReady(ctx context.Context, key client.ObjectKey) error {
	tick := time.NewTicker(k.wait.Interval)
	defer tick.Stop()
	for {
		n, err := k.getNetwork(ctx, key)
		if err == nil {
			ready, failed := readiness(n, time.Now(), k.wait.DegradedFor)
			if ready || failed != nil {
				return failed
			}
		} else if ctx.Err() == nil {
			slog.Warn("read SubstrateNetwork status, retrying", "network", key.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for SubstrateNetwork %s to become ready: %w", key, ctx.Err())
		case <-tick.C:
		}
	}
}

func (k *Driver) getNetwork(ctx context.Context, key client.ObjectKey) (*v1alpha1.SubstrateNetwork, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind(v1alpha1.Kind)
	if err := k.client.Get(ctx, key, u); err != nil {
		return nil, fmt.Errorf("get SubstrateNetwork %s: %w", key, err)
	}
	n := &v1alpha1.SubstrateNetwork{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, n); err != nil {
		return nil, fmt.Errorf("decode SubstrateNetwork %s: %w", key, err)
	}
	return n, nil
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
