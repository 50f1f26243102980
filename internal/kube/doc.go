// Package kube turns a SubstrateNetwork into the Kubernetes objects that run it. The builders
// are pure: a defaulted, validated network and its node keys go in, objects come out, so the
// operator (package kube/controller) and `onf render` produce exactly the same manifests.
//
// Every backend runs the same node plans (package network): the cluster facts (fixed ports,
// DNS names, mount paths, node keys from Secrets) are supplied through a network.Target, and a
// group's StatefulSet template is its first replica's plan with the per-pod values (the node
// name, the node key, the session key file) resolved per pod by the kubelet.
package kube
