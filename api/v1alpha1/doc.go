// Package v1alpha1 holds the SubstrateNetwork API: one Go type that is the spec users write for
// `onf up`, the Kubernetes custom resource the operator reconciles, and the DINFRA descriptor
// type `substrate-network/v1alpha1`. The JSON Schema in docs/schema is generated from it.
//
// +kubebuilder:object:generate=true
// +groupName=onf.dinfra.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "onf.dinfra.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Kind is the kind of a SubstrateNetwork object.
const Kind = "SubstrateNetwork"

func init() {
	SchemeBuilder.Register(&SubstrateNetwork{}, &SubstrateNetworkList{})
}
