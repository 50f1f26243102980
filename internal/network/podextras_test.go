package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

func TestPodExtrasAccepted(t *testing.T) {
	doc := rpcGroup(`    pod:
      imagePullSecrets: [{name: registry-example-org}]
      serviceAccountName: rpc-nodes
      securityContext: {runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}
      containerSecurityContext: {readOnlyRootFilesystem: true, privileged: false, allowPrivilegeEscalation: false}
      terminationGracePeriodSeconds: 300
      env:
      - {name: RUST_LOG, value: info}
      - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
      - {name: MODE, valueFrom: {configMapKeyRef: {name: rpc, key: mode}}}
      volumes:
      - {name: tls, secret: {secretName: rpc-tls}}
      - {name: token, projected: {sources: [{serviceAccountToken: {path: token, expirationSeconds: 3600}}]}}
      volumeMounts:
      - {name: tls, mountPath: /etc/tls, readOnly: true}
      containers:
      - name: api-sidecar
        image: docker.io/parity/substrate-api-sidecar:v20.3.1
        env: [{name: SAS_SUBSTRATE_URL, value: "ws://127.0.0.1:9944"}]
        ports: [{containerPort: 8080}]
        volumeMounts: [{name: token, mountPath: /var/run/secrets/tokens}]
      initContainers:
      - {name: wait-dns, image: busybox:1.37, command: [sh, -c, "until nslookup example.org; do sleep 1; done"]}
`)
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}

// An ha group's pods run as the ServiceAccount onf makes for them.
func TestPodServiceAccountRefusedWithHA(t *testing.T) {
	doc := relayHead + `  groups:
  - name: validator
    role: validator
    keys: {dev: ["//Alice"]}
    ha: {}
    pod: {serviceAccountName: mine}
`
	_, err := Parse([]byte(doc))
	var got problem.List
	if !errors.As(err, &got) || !slices.Contains(got, problem.Problem{Field: "spec.groups[0].pod.serviceAccountName",
		Reason: "Forbidden: an ha group's pods run as the ServiceAccount onf makes for them (it may touch the identity's Lease only): remove it or ha"}) {
		t.Fatalf("Parse = %v", err)
	}
}
