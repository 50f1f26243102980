package controller

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/nodekey"
)

// nodeKeys reads the node keys kept in the groups' Secrets and generates the missing ones.
// Keys are generated once: the Secrets written from them keep them, so peer IDs (and every
// boot node address naming them) never change, across reconciles and operator restarts.
// Before generating, the Secret is read from the API server itself: the cache may not show a
// Secret written by the previous reconcile yet. A group with its own Secret
// (p2p.nodeKeySecret) takes its keys from there, and never a generated one.
func (r *Reconciler) nodeKeys(ctx context.Context, n *v1alpha1.SubstrateNetwork) (kube.NodeKeys, error) {
	keys := kube.NodeKeys{}
	var generated []string // groups whose keys onf keeps
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.P2P != nil && g.P2P.NodeKeySecret != "" {
			if err := r.ownNodeKeys(ctx, n, i, keys); err != nil {
				return nil, err
			}
			continue
		}
		generated = append(generated, g.Name)
	}
	for _, g := range generated {
		if err := r.readNodeKeys(ctx, r.Client, n, g, keys); err != nil {
			return nil, err
		}
	}
	missing := missingKeys(n, keys)
	if len(missing) > 0 && r.APIReader != nil {
		for _, g := range generated {
			if err := r.readNodeKeys(ctx, r.APIReader, n, g, keys); err != nil {
				return nil, err
			}
		}
		missing = missingKeys(n, keys)
	}
	for _, name := range missing {
		k, err := nodekey.Generate()
		if err != nil {
			return nil, err
		}
		keys[name] = k
	}
	return keys, nil
}

func missingKeys(n *v1alpha1.SubstrateNetwork, keys kube.NodeKeys) []string {
	var out []string
	for _, name := range kube.KeyNames(n) {
		if _, ok := keys[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// ownSecretRecheck is how often a network waiting for its own node key Secret (not cached,
// so not watched) looks again.
const ownSecretRecheck = 30 * time.Second

// recheckError is an invalid spec that names something the operator does not watch (a
// user's Secret): it looks again after ownSecretRecheck.
type recheckError struct{ err error }

func (e *recheckError) Error() string { return e.err.Error() }

// ownNodeKeys adds the keys of group i's own node key Secret, one for every replica the group
// may run; a missing Secret, a missing key or one that is no node key refuses the spec (and
// is looked at again, ownSecretRecheck). Errors name keys, never their contents.
func (r *Reconciler) ownNodeKeys(ctx context.Context, n *v1alpha1.SubstrateNetwork, i int, keys kube.NodeKeys) error {
	g := &n.Spec.Groups[i]
	field := fmt.Sprintf("spec.groups[%d].p2p.nodeKeySecret", i)
	reader := r.APIReader // the cache holds onf's own Secrets only
	if reader == nil {
		reader = r.Client
	}
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: g.P2P.NodeKeySecret}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return &invalidError{&recheckError{fmt.Errorf("%s: Secret %s not found in namespace %s", field, g.P2P.NodeKeySecret, n.Namespace)}}
	case err != nil:
		return fmt.Errorf("%s: read Secret %s: %w", field, g.P2P.NodeKeySecret, err)
	}
	for idx := range kube.KeyedReplicas(g) {
		content, ok := s.Data[strconv.Itoa(idx)]
		if !ok {
			return &invalidError{&recheckError{fmt.Errorf("%s: Secret %s has no key %q for node %s (one key per replica the group may run: %d)",
				field, s.Name, strconv.Itoa(idx), kube.PodName(n.Name, g.Name, idx), kube.KeyedReplicas(g))}}
		}
		k, err := parseNodeKey(content)
		if err != nil {
			return &invalidError{&recheckError{fmt.Errorf("%s: Secret %s key %q is not a node key (a hex ed25519 seed, or a hex 64-byte private key)", field, s.Name, strconv.Itoa(idx))}}
		}
		keys[fmt.Sprintf("%s-%d", g.Name, idx)] = k
	}
	return nil
}

// readNodeKeys adds the keys of a group's node key Secret to keys.
func (r *Reconciler) readNodeKeys(ctx context.Context, reader client.Reader, n *v1alpha1.SubstrateNetwork, group string, keys kube.NodeKeys) error {
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: kube.NodeKeySecretName(n.Name, group)}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read node keys of group %s: %w", group, err)
	}
	for idx, content := range s.Data {
		i, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		k, err := parseNodeKey(content)
		if err != nil {
			return fmt.Errorf("secret %s key %s: %w", s.Name, idx, err)
		}
		keys[fmt.Sprintf("%s-%d", group, i)] = k
	}
	return nil
}

// parseNodeKey reads a node key file in any flavor's format: a hex ed25519 seed
// (polkadot-sdk) or a hex 64-byte private key, seed first (gossamer).
func parseNodeKey(content []byte) (nodekey.Key, error) {
	raw, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(content)), "0x"))
	if err != nil {
		return nodekey.Key{}, fmt.Errorf("node key is not hex: %w", err)
	}
	if len(raw) == ed25519.PrivateKeySize {
		raw = raw[:ed25519.SeedSize]
	}
	return nodekey.FromSeed(raw)
}
