package operator

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// The API server stores a network with every pod customisation field set (the kube golden
// spec testdata/sidecar.yaml: pull secrets, service account, security contexts, grace
// period, env, volumes and mounts, a sidecar and an init container) and admits the
// StatefulSets and NetworkPolicy the operator renders from it: its own validation of pod
// templates, not only ours.
func TestPodCustomisationAdmitted(t *testing.T) {
	doc, err := os.ReadFile(repoPath("internal/kube/testdata/sidecar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster, cl := startCluster(t, kubetest.Options{}, "relay")
	startOperator(t, cluster, controller.Config{})
	n := createNetwork(t, cl, string(doc))
	ctx := context.Background()
	var validator, rpc appsv1.StatefulSet
	var policy networkingv1.NetworkPolicy
	testenv.Eventually(t, 60*time.Second, "both StatefulSets and the rpc group's NetworkPolicy", func() (bool, error) {
		key := func(group string) types.NamespacedName {
			return types.NamespacedName{Namespace: "relay", Name: kube.GroupName(n.Name, group)}
		}
		for _, get := range []error{cl.Get(ctx, key("validator"), &validator), cl.Get(ctx, key("rpc"), &rpc), cl.Get(ctx, key("rpc"), &policy)} {
			if get != nil {
				return false, get
			}
		}
		return true, nil
	})
	v := validator.Spec.Template.Spec
	node := v.Containers[0]
	switch {
	case len(v.ImagePullSecrets) != 1 || v.ImagePullSecrets[0].Name != "registry-example-org":
		t.Errorf("imagePullSecrets %v", v.ImagePullSecrets)
	case v.ServiceAccountName != "validators" || *v.AutomountServiceAccountToken:
		t.Errorf("service account %q, automount %v", v.ServiceAccountName, *v.AutomountServiceAccountToken)
	case v.SecurityContext == nil || *v.SecurityContext.RunAsUser != 1000 || *v.SecurityContext.FSGroup != 1000:
		t.Errorf("pod security context %+v", v.SecurityContext)
	case !*node.SecurityContext.ReadOnlyRootFilesystem || *node.SecurityContext.AllowPrivilegeEscalation:
		t.Errorf("node security context %+v", node.SecurityContext)
	case *v.TerminationGracePeriodSeconds != 300:
		t.Errorf("terminationGracePeriodSeconds %d", *v.TerminationGracePeriodSeconds)
	case !hasEnv(node.Env, "RUST_LOG") || !hasEnv(node.Env, "NODE_IP"):
		t.Errorf("node env %v", node.Env)
	case !hasMount(node.VolumeMounts, "extra-config", "/etc/validator") || !hasMount(node.VolumeMounts, "tmp", "/tmp"):
		t.Errorf("node mounts %v", node.VolumeMounts)
	}
	r := rpc.Spec.Template.Spec
	if len(r.Containers) != 2 || r.Containers[0].Name != "node" || r.Containers[1].Name != "api-sidecar" {
		t.Errorf("rpc containers %v, want the node, then the sidecar", names(r.Containers))
	}
	if last := r.InitContainers[len(r.InitContainers)-1]; last.Name != "fetch-config" {
		t.Errorf("rpc init containers %v, want fetch-config last", names(r.InitContainers))
	}
	sidecarOpen := false
	for _, rule := range policy.Spec.Ingress {
		for _, p := range rule.Ports {
			sidecarOpen = sidecarOpen || p.Port != nil && p.Port.IntVal == 8080
		}
	}
	if !sidecarOpen {
		t.Errorf("the rpc group's NetworkPolicy does not let the sidecar's port in: %+v", policy.Spec.Ingress)
	}
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func hasMount(ms []corev1.VolumeMount, volume, path string) bool {
	for _, m := range ms {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
