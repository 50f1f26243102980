package kube

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
)

// withPodOptions applies the group's pod options (spec.groups[].pod) and data claim options
// (shapeDataClaim) to its StatefulSet, and its Service annotations to the Services among
// objs. onf's own labels and annotations win over the user's (validation refuses the
// clashes before this). It runs after
// every other step has shaped the pod, so that the extra env, volumes, mounts and containers
// are checked against everything onf renders, and the extra init containers run last, just
// before the node.
func (b *groupBuilder) withPodOptions(sts *appsv1.StatefulSet, objs []client.Object) error {
	for i := range sts.Spec.VolumeClaimTemplates {
		if t := &sts.Spec.VolumeClaimTemplates[i]; t.Name == volumeData {
			b.shapeDataClaim(t)
		}
	}
	o := b.group.Pod
	if o == nil {
		return nil
	}
	t := &sts.Spec.Template
	t.Labels = merged(o.Labels, t.Labels)
	t.Annotations = merged(o.Annotations, t.Annotations)
	p := &t.Spec
	p.NodeSelector = o.NodeSelector
	p.Tolerations = o.Tolerations
	p.Affinity = o.Affinity
	p.PriorityClassName = o.PriorityClassName
	for _, c := range o.TopologySpreadConstraints {
		if c.LabelSelector == nil {
			// The constraint the user most likely means: spread this group's pods.
			c.LabelSelector = &metav1.LabelSelector{MatchLabels: Selector(b.net.Name, b.group.Name)}
		}
		p.TopologySpreadConstraints = append(p.TopologySpreadConstraints, c)
	}
	for _, obj := range objs {
		if s, ok := obj.(*corev1.Service); ok {
			s.Annotations = merged(o.ServiceAnnotations, s.Annotations)
		}
	}
	p.ImagePullSecrets = o.ImagePullSecrets
	if o.ServiceAccountName != "" { // validation refuses it with ha, which names its own
		p.ServiceAccountName = o.ServiceAccountName
	}
	if o.TerminationGracePeriodSeconds != nil {
		p.TerminationGracePeriodSeconds = o.TerminationGracePeriodSeconds
	}
	if sc := o.SecurityContext; sc != nil {
		own := p.SecurityContext
		p.SecurityContext = sc.DeepCopy()
		if p.SecurityContext.FSGroup == nil && own != nil {
			p.SecurityContext.FSGroup = own.FSGroup
		}
	}
	b.tightenNodeContainers(p, o.ContainerSecurityContext)
	return b.withExtras(p, sts.Spec.VolumeClaimTemplates, o)
}

// tightenNodeContainers lays sc over the security context of every container that runs the
// node image (the node, its init and node-port wait steps), so that they keep running as one
// user. Validation refuses whatever would loosen it.
func (b *groupBuilder) tightenNodeContainers(p *corev1.PodSpec, sc *corev1.SecurityContext) {
	if sc == nil {
		return
	}
	for _, list := range [][]corev1.Container{p.InitContainers, p.Containers} {
		for i := range list {
			c := &list[i]
			if c.Image != b.plan.Image {
				continue
			}
			own := c.SecurityContext
			c.SecurityContext = sc.DeepCopy()
			if own == nil {
				continue
			}
			c.SecurityContext.AllowPrivilegeEscalation = own.AllowPrivilegeEscalation
			c.SecurityContext.Capabilities = own.Capabilities
		}
	}
}

// withExtras adds the extra env and mounts to the node container and the extra volumes and
// containers to the pod, refusing by field path the names, paths and ports onf's own pod
// already uses.
func (b *groupBuilder) withExtras(p *corev1.PodSpec, claims []corev1.PersistentVolumeClaim, o *v1alpha1.PodOptions) error {
	at := b.field("pod")
	node := &p.Containers[0]
	env := map[string]bool{}
	for _, e := range node.Env {
		env[e.Name] = true
	}
	for i, e := range o.Env {
		if env[e.Name] {
			return fmt.Errorf("%s.env[%d].name: %s is set by onf itself", at, i, e.Name)
		}
	}
	volumes := map[string]bool{}
	for _, c := range claims {
		volumes[c.Name] = true
	}
	for _, v := range p.Volumes {
		volumes[v.Name] = true
	}
	for i, v := range o.Volumes {
		if volumes[v.Name] {
			return fmt.Errorf("%s.volumes[%d].name: %s is a volume of onf's own", at, i, v.Name)
		}
	}
	for i, m := range o.VolumeMounts {
		for _, own := range node.VolumeMounts {
			if overlaps(m.MountPath, own.MountPath) {
				return fmt.Errorf("%s.volumeMounts[%d].mountPath: %s overlaps onf's %s at %s", at, i, m.MountPath, own.Name, own.MountPath)
			}
		}
	}
	containers := map[string]bool{}
	for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
		containers[c.Name] = true
	}
	ports := map[int32]bool{}
	portNames := map[string]bool{}
	for _, port := range node.Ports {
		ports[port.ContainerPort], portNames[port.Name] = true, true
	}
	for _, list := range []struct {
		name       string
		containers []corev1.Container
	}{{"initContainers", o.InitContainers}, {"containers", o.Containers}} {
		for i, c := range list.containers {
			cat := fmt.Sprintf("%s.%s[%d]", at, list.name, i)
			if containers[c.Name] {
				return fmt.Errorf("%s.name: %s is a container of onf's own", cat, c.Name)
			}
			for j, port := range c.Ports {
				if ports[port.ContainerPort] || (port.Name != "" && portNames[port.Name]) {
					return fmt.Errorf("%s.ports[%d]: %s/%d is the node's port: sidecars share its network", cat, j, port.Name, port.ContainerPort)
				}
			}
		}
	}
	node.Env = append(node.Env, o.Env...)
	node.VolumeMounts = append(node.VolumeMounts, o.VolumeMounts...)
	p.Volumes = append(p.Volumes, o.Volumes...)
	p.InitContainers = append(p.InitContainers, o.InitContainers...)
	p.Containers = append(p.Containers, o.Containers...)
	return nil
}

// sidecarPorts are the ports the group's extra containers declare, reachable as its RPC is
// (networkPolicy).
func (b *groupBuilder) sidecarPorts() []networkingv1.NetworkPolicyPort {
	if b.group.Pod == nil {
		return nil
	}
	var out []networkingv1.NetworkPolicyPort
	for _, c := range b.group.Pod.Containers {
		for _, p := range c.Ports {
			port := intstr.FromInt32(p.ContainerPort)
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: ptr(cmp.Or(p.Protocol, corev1.ProtocolTCP)), Port: &port})
		}
	}
	return out
}

// overlaps says whether one of two absolute paths is the other or inside it.
func overlaps(a, b string) bool {
	a, b = path.Clean(a), path.Clean(b)
	inside := func(x, y string) bool { return x == y || strings.HasPrefix(x, strings.TrimSuffix(y, "/")+"/") }
	return inside(a, b) || inside(b, a)
}

// merged is user with own laid over it, nil when both are empty.
func merged(user, own map[string]string) map[string]string {
	if len(user)+len(own) == 0 {
		return nil
	}
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out
}
