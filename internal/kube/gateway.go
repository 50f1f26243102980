package kube

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	gwconfig "github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/network"
)

// The gateway's ports and paths inside its container.
const (
	// GatewayPort serves JSON-RPC over HTTP and WebSocket.
	GatewayPort        = 8545
	gatewayMetricsPort = 9616
	portGateway        = "gateway"
	gatewayConfigDir   = "/etc/onf/gateway/config"
	gatewayConfigKey   = "gateway.yaml"
	// The API key Secret is mounted as a directory, never with subPath: the kubelet swaps
	// the directory's ..data symlink when the Secret changes, and the gateway, which
	// re-reads the file by its path, sees the new keys (a subPath mount never changes).
	gatewayKeysDir  = "/etc/onf/gateway/keys"
	gatewayKeysFile = "keys.yaml"
	// gatewayUID runs the gateway (the onf image's user) and owns its mounted files.
	gatewayUID = 65532
	// gatewayAppName labels the gateway's pods: node NetworkPolicies let pods with this
	// name reach private RPC ports.
	gatewayAppName = "onf-gateway"
	// AnnotationGatewayConfig is the hash of the config a gateway pod was started with: a
	// new config (the group scaled, say) rolls the pods; new API keys do not.
	AnnotationGatewayConfig = "onf.dinfra.dev/gateway-config"
	volumeGatewayConfig     = "config"
	volumeGatewayKeys       = "api-keys"
	gatewayGroupName        = "gateway" // a group of this name would share the gateway's object names
)

// defaultGatewayResources bound a gateway pod; limits too, so that it fits in namespaces
// whose ResourceQuota counts limits (DINFRA deployments).
var defaultGatewayResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
}

// GatewayName names the gateway's Deployment, Service, ConfigMap and NetworkPolicy.
func GatewayName(network string) string { return network + "-" + gatewayGroupName }

// GatewayURL is the gateway Service's address inside the cluster (HTTP; WebSocket clients
// use the same host and port with ws://).
func GatewayURL(n *v1alpha1.SubstrateNetwork, clusterDomain string) string {
	if clusterDomain == "" {
		clusterDomain = Options{}.withDefaults().ClusterDomain
	}
	return fmt.Sprintf("http://%s.%s.svc.%s:%d", GatewayName(n.Name), n.Namespace, clusterDomain, GatewayPort)
}

// GatewayLabels are the labels of the gateway's objects and pods.
func GatewayLabels(network string) map[string]string {
	l := NetworkLabels(network)
	l[LabelName] = gatewayAppName
	l[LabelComponent] = gatewayGroupName
	return l
}

// gatewaySelector selects a network's gateway pods.
func gatewaySelector(network string) map[string]string {
	return map[string]string{LabelNetwork: network, LabelName: gatewayAppName}
}

// gatewayBuilder builds the objects of a network's RPC gateway.
type gatewayBuilder struct {
	net   *v1alpha1.SubstrateNetwork
	gw    *v1alpha1.Gateway
	image string
	group *v1alpha1.NodeGroup
	plan  *network.NodePlan // the group's template node
	opts  Options
}

// gatewayObjects are the gateway's objects, or none when the network has no gateway. They
// are refused, with the field path, when the cluster cannot run the gateway as specified.
func gatewayObjects(n *v1alpha1.SubstrateNetwork, templates map[string]*network.NodePlan, opts Options) ([]client.Object, error) {
	gw := n.Spec.Gateway
	if gw == nil {
		return nil, nil
	}
	if gw.Config != "" {
		return nil, fmt.Errorf("spec.gateway.config: a local file is not read on Kubernetes; the operator builds the gateway's config (default role and limits; per-key roles and limits come from the key file): remove config and name the key file's Secret in spec.gateway.keysSecret")
	}
	if gw.KeysSecret == nil {
		return nil, fmt.Errorf("spec.gateway.keysSecret: required on Kubernetes: the Secret key holding the gateway's API key file")
	}
	image := gw.Image
	if image == "" {
		image = opts.GatewayImage
	}
	if image == "" {
		return nil, fmt.Errorf("spec.gateway.image: a container image is required on Kubernetes (set spec.gateway.image, or start the operator with --gateway-image)")
	}
	for i, g := range n.Spec.Groups {
		if g.Name == gatewayGroupName {
			return nil, fmt.Errorf("spec.groups[%d].name: %q names the gateway's objects on Kubernetes (%s); rename the group", i, g.Name, GatewayName(n.Name))
		}
	}
	group := network.FindGroup(&n.Spec, gw.Group)
	if group == nil { // network.Validate refuses this first
		return nil, fmt.Errorf("spec.gateway.group: no group named %q", gw.Group)
	}
	b := &gatewayBuilder{net: n, gw: gw, image: image, group: group, plan: templates[gw.Group], opts: opts}
	cm, err := b.configMap()
	if err != nil {
		return nil, err
	}
	objs := []client.Object{cm, b.deployment(cm), b.service(), b.networkPolicy()}
	if in := b.ingress(); in != nil {
		objs = append(objs, in)
	}
	return objs, nil
}

// upstreams are the group's pods by their stable DNS names: every pod the group may run
// (the autoscaler's maximum included; pods not running are kept out by the health checks),
// at least the first, so a group scaled to zero leaves a gateway that answers "no healthy
// upstream" rather than one that cannot start.
func (b *gatewayBuilder) upstreams() []gwconfig.Upstream {
	t := &target{net: b.net, clusterDomain: b.opts.ClusterDomain}
	p := b.plan.Ports
	ws := p.WS
	if ws == 0 { // polkadot-sdk serves WebSocket on the RPC port
		ws = p.RPC
	}
	var out []gwconfig.Upstream
	for i := range max(replicasOrMax(b.group), 1) {
		host := t.Host(network.NodeRef{Group: b.group.Name, Index: i})
		out = append(out, gwconfig.Upstream{
			Name: PodName(b.net.Name, b.group.Name, i),
			HTTP: fmt.Sprintf("http://%s:%d", host, p.RPC),
			WS:   fmt.Sprintf("ws://%s:%d", host, ws),
		})
	}
	return out
}

// configMap holds the gateway's config: every listen address on the pod's interfaces, the
// group's pods as upstreams and the mounted API key file; roles and limits are the defaults.
func (b *gatewayBuilder) configMap() (*corev1.ConfigMap, error) {
	doc, err := yaml.Marshal(map[string]any{
		"listen":        fmt.Sprintf("0.0.0.0:%d", GatewayPort),
		"metricsListen": fmt.Sprintf("0.0.0.0:%d", gatewayMetricsPort),
		"upstreams":     b.upstreams(),
		"auth":          map[string]any{"apiKeys": map[string]any{"file": path.Join(gatewayKeysDir, gatewayKeysFile)}},
	})
	if err != nil {
		return nil, fmt.Errorf("spec.gateway: encode config: %w", err)
	}
	// What the gateway will read, checked as it will check it.
	if _, err := gwconfig.Parse(doc); err != nil {
		return nil, fmt.Errorf("spec.gateway: %w", err)
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(b.net, GatewayName(b.net.Name), GatewayLabels(b.net.Name)),
		Data:       map[string]string{gatewayConfigKey: string(doc)},
	}, nil
}

func (b *gatewayBuilder) deployment(cm *corev1.ConfigMap) *appsv1.Deployment {
	labels := GatewayLabels(b.net.Name)
	sum := sha256.Sum256([]byte(cm.Data[gatewayConfigKey]))
	readOnly := int32(0o440) // the gateway's group (fsGroup) reads, nobody writes
	resources := defaultGatewayResources
	if b.gw.Resources != nil {
		resources = *b.gw.Resources
	}
	probe := func(h corev1.ProbeHandler, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: h, PeriodSeconds: period, TimeoutSeconds: 3, FailureThreshold: 3}
	}
	container := corev1.Container{
		Name:  gatewayGroupName,
		Image: b.image,
		Args:  []string{"gateway", "run", "--config", path.Join(gatewayConfigDir, gatewayConfigKey), "--log-format", "json"},
		Ports: []corev1.ContainerPort{
			{Name: portGateway, ContainerPort: GatewayPort, Protocol: corev1.ProtocolTCP},
			{Name: portMetrics, ContainerPort: gatewayMetricsPort, Protocol: corev1.ProtocolTCP},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: volumeGatewayConfig, MountPath: gatewayConfigDir, ReadOnly: true},
			{Name: volumeGatewayKeys, MountPath: gatewayKeysDir, ReadOnly: true},
		},
		Resources: resources,
		// Ready while at least one upstream is healthy (/healthz); alive while it accepts
		// connections, so a node outage does not restart the gateway.
		ReadinessProbe: probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(portGateway)}}, 5),
		LivenessProbe:  probe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(portGateway)}}, 20),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			RunAsUser:                ptr(int64(gatewayUID)),
			RunAsGroup:               ptr(int64(gatewayUID)),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(b.net, GatewayName(b.net.Name), labels),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(ptrOr(b.gw.Replicas, 1)),
			Selector: &metav1.LabelSelector{MatchLabels: gatewaySelector(b.net.Name)},
			// A new pod is ready before an old one goes: a new config never leaves the
			// Service without a gateway.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromInt32(1)),
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{AnnotationGatewayConfig: hex.EncodeToString(sum[:16])},
				},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: volumeGatewayConfig, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name},
						}}},
						{Name: volumeGatewayKeys, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName:  b.gw.KeysSecret.Name,
							Items:       []corev1.KeyToPath{{Key: b.gw.KeysSecret.Key, Path: gatewayKeysFile}},
							DefaultMode: &readOnly,
						}}},
					},
					AutomountServiceAccountToken: ptr(false),
					EnableServiceLinks:           ptr(false),
					SecurityContext:              &corev1.PodSecurityContext{FSGroup: ptr(int64(gatewayUID))},
				},
			},
		},
	}
}

// service is the gateway's one address in the cluster (GatewayURL).
func (b *gatewayBuilder) service() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(b.net, GatewayName(b.net.Name), GatewayLabels(b.net.Name)),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: gatewaySelector(b.net.Name),
			Ports: []corev1.ServicePort{
				{Name: portGateway, Port: GatewayPort, TargetPort: intstr.FromString(portGateway), Protocol: corev1.ProtocolTCP},
				{Name: portMetrics, Port: gatewayMetricsPort, TargetPort: intstr.FromString(portMetrics), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// ingress routes spec.gateway.ingress's hosts and path to the gateway's Service (HTTP and
// WebSocket share its port); the gateway checks every caller's API key behind it.
func (b *gatewayBuilder) ingress() *networkingv1.Ingress {
	in := b.gw.Ingress
	if in == nil {
		return nil
	}
	prefix := networkingv1.PathTypePrefix
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: GatewayName(b.net.Name), Port: networkingv1.ServiceBackendPort{Name: portGateway},
	}}
	paths := []networkingv1.HTTPIngressPath{{Path: cmp.Or(in.Path, "/"), PathType: &prefix, Backend: backend}}
	spec := networkingv1.IngressSpec{}
	if in.ClassName != "" {
		spec.IngressClassName = &in.ClassName
	}
	for _, h := range in.Hosts {
		spec.Rules = append(spec.Rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths},
		}})
	}
	if in.TLSSecretName != "" {
		spec.TLS = []networkingv1.IngressTLS{{Hosts: in.Hosts, SecretName: in.TLSSecretName}}
	}
	meta := objectMeta(b.net, GatewayName(b.net.Name), GatewayLabels(b.net.Name))
	meta.Annotations = merged(in.Annotations, nil)
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: meta,
		Spec:       spec,
	}
}

// networkPolicy opens the gateway's ports: callers are checked by their credentials.
func (b *gatewayBuilder) networkPolicy() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(b.net, GatewayName(b.net.Name), GatewayLabels(b.net.Name)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: gatewaySelector(b.net.Name)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{tcpPort(portGateway), tcpPort(portMetrics)}}},
		},
	}
}

// gatewayPeer is the network's own gateway, the one client of its group's RPC ports besides
// the operator.
func gatewayPeer(network string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: gatewaySelector(network)}}
}

func tcpPort(name string) networkingv1.NetworkPolicyPort {
	p := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: &p}
}
