package controller

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/nodekey"
)

// nodeKeys reads the node keys kept in the groups' Secrets and generates the missing ones.
// Keys are generated once: the Secrets written from them keep them, so peer IDs (and every
// boot node address naming them) never change, across reconciles and operator restarts.
func (r *Reconciler) nodeKeys(ctx context.Context, n *v1alpha1.SubstrateNetwork) (kube.NodeKeys, error) {
	keys := kube.NodeKeys{}
	for _, g := range n.Spec.Groups {
		var s corev1.Secret
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: kube.NodeKeySecretName(n.Name, g.Name)}, &s)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("read node keys of group %s: %w", g.Name, err)
		default:
			for idx, content := range s.Data {
				i, err := strconv.Atoi(idx)
				if err != nil {
					continue
				}
				k, err := parseNodeKey(content)
				if err != nil {
					return nil, fmt.Errorf("secret %s key %s: %w", s.Name, idx, err)
				}
				keys[fmt.Sprintf("%s-%d", g.Name, i)] = k
			}
		}
	}
	for _, name := range kube.KeyNames(n) {
		if _, ok := keys[name]; ok {
			continue
		}
		k, err := nodekey.Generate()
		if err != nil {
			return nil, err
		}
		keys[name] = k
	}
	return keys, nil
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
