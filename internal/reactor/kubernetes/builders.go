// Package kubernetes is the reference reactor for clusters: each deployment gets its own
// namespace holding a SubstrateNetwork object (reconciled by the onf operator), a
// NetworkPolicy that isolates it from other tenants and a ResourceQuota sized by the
// subscription's units. Builders here are pure; driver.go applies them and waits for the
// operator to report the network Ready.
package kubernetes

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/reactor"
)

// Labels and annotations put on every object of a deployment.
const (
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	ManagedBy           = "dinfra-reactor"
	LabelDeployment     = "dinfra.dev/deployment"
	AnnotationCID       = "dinfra.dev/descriptor-cid"
	AnnotationConsumer  = "dinfra.dev/consumer"
	LabelIngressAllowed = "dinfra.dev/ingress"
	// DefaultNetworkName names the SubstrateNetwork when the descriptor has no metadata.name.
	DefaultNetworkName = "network"
)

// UnitSize is what one unit of capacity buys in a cluster.
type UnitSize struct {
	CPU     resource.Quantity
	Memory  resource.Quantity
	Storage resource.Quantity
	Pods    int64
}

// DefaultUnitSize is 1 CPU, 4 GiB of memory, 50 GiB of storage and 4 pods per unit.
func DefaultUnitSize() UnitSize {
	return UnitSize{CPU: resource.MustParse("1"), Memory: resource.MustParse("4Gi"), Storage: resource.MustParse("50Gi"), Pods: 4}
}

// NamespaceName is the namespace of deployment id.
func NamespaceName(id string) string { return "dinfra-" + id }

func objectMeta(d reactor.Deployment, name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   namespace,
		Labels:      map[string]string{LabelManagedBy: ManagedBy, LabelDeployment: d.ID},
		Annotations: map[string]string{AnnotationCID: d.CID.String(), AnnotationConsumer: d.Consumer.Address},
	}
}

// Namespace is the deployment's namespace.
func Namespace(d reactor.Deployment) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: objectMeta(d, NamespaceName(d.ID), ""),
	}
}

// ResourceQuota caps the namespace at units × size.
func ResourceQuota(d reactor.Deployment, size UnitSize) *corev1.ResourceQuota {
	times := func(q resource.Quantity) resource.Quantity {
		out := q.DeepCopy()
		out.Mul(d.Units)
		return out
	}
	cpu, mem := times(size.CPU), times(size.Memory)
	return &corev1.ResourceQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
		ObjectMeta: objectMeta(d, "dinfra-quota", NamespaceName(d.ID)),
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourceRequestsCPU:     cpu,
			corev1.ResourceLimitsCPU:       cpu,
			corev1.ResourceRequestsMemory:  mem,
			corev1.ResourceLimitsMemory:    mem,
			corev1.ResourceRequestsStorage: times(size.Storage),
			corev1.ResourcePods:            *resource.NewQuantity(size.Pods*d.Units, resource.DecimalSI),
		}},
	}
}

// NetworkPolicy lets pods of the deployment talk to each other and be reached from
// namespaces the provider labels dinfra.dev/ingress=true (its gateway or ingress
// controller); every other tenant is shut out. Egress is left open: nodes need their peers.
func NetworkPolicy(d reactor.Deployment) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(d, "dinfra-isolation", NamespaceName(d.ID)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: &metav1.LabelSelector{}},
					{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelIngressAllowed: "true"}}},
				},
			}},
		},
	}
}

// SubstrateNetwork is the descriptor as a SubstrateNetwork object in the deployment's
// namespace. Fields the schema allows are kept as they are; namespace, labels and
// annotations are the reactor's; status is dropped.
func SubstrateNetwork(d reactor.Deployment) (*unstructured.Unstructured, error) {
	var doc map[string]any
	if err := json.Unmarshal(d.Descriptor, &doc); err != nil {
		return nil, fmt.Errorf("descriptor of %s: %w", d.ID, err)
	}
	u := &unstructured.Unstructured{Object: doc}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind("SubstrateNetwork")
	name := u.GetName()
	if name == "" {
		name = DefaultNetworkName
	}
	meta := objectMeta(d, name, NamespaceName(d.ID))
	u.Object["metadata"] = map[string]any{}
	u.SetName(meta.Name)
	u.SetNamespace(meta.Namespace)
	u.SetLabels(meta.Labels)
	u.SetAnnotations(meta.Annotations)
	delete(u.Object, "status")
	return u, nil
}

// Endpoints are the RPC URLs of the deployment's rpc, full and archive groups: the
// load-balanced RPC Services the operator creates for them (names and ports from
// kube.RPCServices, the operator's own builder), as http:// and ws:// URLs on their
// in-cluster DNS names <service>.<namespace>.svc. They resolve inside the cluster only (the
// provider's gateway or ingress reaches them); a network without such groups has none.
func Endpoints(d reactor.Deployment) ([]api.Endpoint, error) {
	obj, err := SubstrateNetwork(d)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, fmt.Errorf("descriptor of %s: %w", d.ID, err)
	}
	n, err := network.Parse(doc) // the object the operator gets: its name and namespace set
	if err != nil {
		return nil, fmt.Errorf("descriptor of %s: %w", d.ID, err)
	}
	services, err := kube.RPCServices(n)
	if err != nil {
		return nil, fmt.Errorf("descriptor of %s: %w", d.ID, err)
	}
	eps := []api.Endpoint{}
	for _, s := range services {
		host := s.Name + "." + n.Namespace + ".svc"
		eps = append(eps,
			api.Endpoint{Name: s.Group + "-rpc", Url: fmt.Sprintf("http://%s:%d", host, s.HTTPPort)},
			api.Endpoint{Name: s.Group + "-ws", Url: fmt.Sprintf("ws://%s:%d", host, s.WSPort)})
	}
	return eps, nil
}
