package controller

// The pods of an ha group take their identity's Lease as the group's service account (the
// Role kube renders for it); the API server lets the operator grant only what it holds.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;update;create
