package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// rpcGroup is a relay chain network whose second group is an rpc group with the pod options
// (and storage settings) in extra.
func rpcGroup(extra string) string {
	return relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - name: rpc
    role: rpc
` + extra
}

func TestPodOptionsAccepted(t *testing.T) {
	doc := rpcGroup(`    storageClassName: fast-ssd
    pod:
      nodeSelector: {node-role.example.org/validator: "true"}
      tolerations:
      - {key: dedicated, operator: Equal, value: validators, effect: NoSchedule}
      - {operator: Exists, effect: NoExecute, tolerationSeconds: 60}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [a, b]}]
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {onf.dinfra.dev/group: rpc}}}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
      priorityClassName: rpc-high
      labels: {team: infra}
      annotations: {example.org/owner: infra}
      serviceAnnotations: {external-dns.alpha.kubernetes.io/hostname: rpc.example.org}
`)
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func TestPodOptionsRejected(t *testing.T) {
	const at = "spec.groups[1]."
	cases := []struct {
		name, extra string
		want        problem.List
	}{
		{"onf's own labels and annotations", `    pod:
      labels: {onf.dinfra.dev/group: other, app.kubernetes.io/managed-by: me}
      annotations: {onf.dinfra.dev/keystore-restore: /x}
      serviceAnnotations: {onf.dinfra.dev/applied-hash: x}
`, problem.List{
			{Field: at + "pod.annotations[onf.dinfra.dev/keystore-restore]", Reason: "Forbidden: onf sets annotations under onf.dinfra.dev/ itself"},
			{Field: at + "pod.labels[app.kubernetes.io/managed-by]", Reason: "Forbidden: onf sets this label itself"},
			{Field: at + "pod.labels[onf.dinfra.dev/group]", Reason: "Forbidden: onf sets this label itself"},
			{Field: at + "pod.serviceAnnotations[onf.dinfra.dev/applied-hash]", Reason: "Forbidden: onf sets annotations under onf.dinfra.dev/ itself"},
		}},
		{"bad keys, values and names", `    storageClassName: Fast_SSD
    pod:
      nodeSelector: {"bad key!": x}
      labels: {team: "not a label value"}
      priorityClassName: High
`, problem.List{
			{Field: at + "pod.labels", Reason: `Invalid value: "not a label value": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
			{Field: at + "pod.nodeSelector", Reason: `Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
			{Field: at + "pod.priorityClassName", Reason: `Invalid value: "High": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: at + "storageClassName", Reason: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		}},
		{"tolerations, spread and affinity", `    pod:
      tolerations:
      - {operator: Equal, value: x}
      - {key: k, operator: Exists, value: v, effect: Sometimes, tolerationSeconds: 5}
      topologySpreadConstraints:
      - {maxSkew: 0, topologyKey: "", whenUnsatisfiable: Maybe}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: zone, operator: Near}]
        podAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {topologyKey: "", labelSelector: {matchExpressions: [{key: a, operator: In}]}}
`, problem.List{
			{Field: at + "pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator", Reason: `Unsupported value: "Near": supported values: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"`},
			{Field: at + "pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values", Reason: "Required value: must be specified when `operator` is 'In' or 'NotIn'"},
			{Field: at + "pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", Reason: "Required value: the node label that names a topology domain, e.g. kubernetes.io/hostname"},
			{Field: at + "pod.tolerations[0].operator", Reason: `Invalid value: "Equal": an empty key needs operator Exists`},
			{Field: at + "pod.tolerations[1].effect", Reason: `Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
			{Field: at + "pod.tolerations[1].tolerationSeconds", Reason: "Invalid value: 5: only with effect NoExecute"},
			{Field: at + "pod.tolerations[1].value", Reason: `Invalid value: "v": must be empty with operator Exists`},
			{Field: at + "pod.topologySpreadConstraints[0].maxSkew", Reason: "Invalid value: 0: must be at least 1"},
			{Field: at + "pod.topologySpreadConstraints[0].topologyKey", Reason: "Required value: the node label that names a topology domain, e.g. topology.kubernetes.io/zone"},
			{Field: at + "pod.topologySpreadConstraints[0].whenUnsatisfiable", Reason: `Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"`},
		}},
		{"secrets in env", `    pod:
      env:
      - {name: KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}
      - {name: 1BAD, value: x}
      - {name: KEY, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      containers:
      - name: shipper
        image: x
        envFrom: [{secretRef: {name: s}}]
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: s, key: k}}}]
`, problem.List{
			{Field: at + "pod.containers[0].envFrom[0].secretRef", Reason: "Forbidden: " + secretEnvReason},
			{Field: at + "pod.containers[0].env[0].valueFrom.secretKeyRef", Reason: "Forbidden: " + secretEnvReason},
			{Field: at + "pod.env[0].valueFrom.secretKeyRef", Reason: "Forbidden: " + secretEnvReason},
			{Field: at + "pod.env[1].name", Reason: `Invalid value: "1BAD": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`},
			{Field: at + "pod.env[2].name", Reason: `Duplicate value: "KEY"`},
			{Field: at + "pod.env[2].valueFrom", Reason: `Invalid value: "": set value or valueFrom, not both`},
		}},
		{"privileges", `    pod:
      securityContext: {seccompProfile: {type: Unconfined}}
      containerSecurityContext:
        privileged: true
        allowPrivilegeEscalation: true
        capabilities: {add: [NET_ADMIN]}
        procMount: Unmasked
        seccompProfile: {type: Unconfined}
        appArmorProfile: {type: Unconfined}
      initContainers:
      - {name: setup, image: x, securityContext: {privileged: true}}
`, problem.List{
			{Field: at + "pod.containerSecurityContext.allowPrivilegeEscalation", Reason: "Forbidden: onf's containers never escalate privileges"},
			{Field: at + "pod.containerSecurityContext.appArmorProfile.type", Reason: "Forbidden: Unconfined would loosen the container's confinement"},
			{Field: at + "pod.containerSecurityContext.capabilities.add", Reason: "Forbidden: onf's containers drop every capability"},
			{Field: at + "pod.containerSecurityContext.privileged", Reason: "Forbidden: a privileged container can read every Secret on its node, the pod's keys included"},
			{Field: at + "pod.containerSecurityContext.procMount", Reason: "Forbidden: Unmasked would loosen the container's confinement"},
			{Field: at + "pod.containerSecurityContext.seccompProfile.type", Reason: "Forbidden: Unconfined would loosen the container's confinement"},
			{Field: at + "pod.initContainers[0].securityContext.privileged", Reason: "Forbidden: a privileged container can read every Secret on its node, the pod's keys included"},
			{Field: at + "pod.securityContext.seccompProfile.type", Reason: "Forbidden: Unconfined would loosen the pods' confinement"},
		}},
		{"names, volumes and mounts", `    pod:
      imagePullSecrets: [{name: Registry}]
      serviceAccountName: "bad name"
      volumes:
      - {name: cfg, configMap: {name: c}}
      - {name: cfg, emptyDir: {}}
      - {name: nothing}
      - {name: both, emptyDir: {}, secret: {secretName: s}}
      volumeMounts:
      - {name: keystore, mountPath: /steal}
      - {name: cfg, mountPath: relative}
      containers:
      - {name: side, image: x, volumeMounts: [{name: data, mountPath: /data}], ports: [{containerPort: 70000, name: bad_name}]}
      - {name: side}
`, problem.List{
			{Field: at + "pod.containers[0].ports[0].containerPort", Reason: "Invalid value: 70000: must be between 1 and 65535, inclusive"},
			{Field: at + "pod.containers[0].ports[0].name", Reason: `Invalid value: "bad_name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`},
			{Field: at + "pod.containers[0].volumeMounts[0].name", Reason: `Not found: "data"`},
			{Field: at + "pod.containers[1].image", Reason: "Required value: a container image"},
			{Field: at + "pod.containers[1].name", Reason: `Duplicate value: "side"`},
			{Field: at + "pod.imagePullSecrets[0].name", Reason: `Invalid value: "Registry": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: at + "pod.serviceAccountName", Reason: `Invalid value: "bad name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
			{Field: at + "pod.volumeMounts[0].name", Reason: `Not found: "keystore"`},
			{Field: at + "pod.volumeMounts[1].mountPath", Reason: `Invalid value: "relative": must be an absolute path`},
			{Field: at + "pod.volumes[1].name", Reason: `Duplicate value: "cfg"`},
			{Field: at + "pod.volumes[2]", Reason: `Invalid value: "nothing": sets 0 volume sources, want exactly one (configMap, secret, emptyDir, ...)`},
			{Field: at + "pod.volumes[3]", Reason: `Invalid value: "both": sets 2 volume sources, want exactly one (configMap, secret, emptyDir, ...)`},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(rpcGroup(tc.extra)))
			var got problem.List
			if !errors.As(err, &got) {
				t.Fatalf("Parse = %v; want problems", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(tc.want))
			}
		})
	}
}
