package operator

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/testenv"
)

func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin := testenv.Binary(t, "HELM_BIN", "helm")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String()
}

// documents splits a YAML stream by kind and name.
func documents(t *testing.T, stream string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, doc := range strings.Split(stream, "\n---") {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("rendered document does not parse: %v\n%s", err, doc)
		}
		if head.Kind != "" {
			out[head.Kind+"/"+head.Metadata.Name] = []byte(doc)
		}
	}
	return out
}

func TestHelmChart(t *testing.T) {
	chart := repoPath("charts/onf-operator")
	helm(t, "lint", "--strict", chart)
	helm(t, "lint", "--strict", chart, "--set", "watchNamespace=chains,metrics.serviceMonitor=true")

	docs := documents(t, helm(t, "template", "onf", chart, "--namespace", "onf-system", "--include-crds", "--set", "watchNamespace=chains"))
	for _, want := range []string{
		"CustomResourceDefinition/substratenetworks.onf.dinfra.dev", "ServiceAccount/onf-onf-operator",
		"ClusterRole/onf-onf-operator", "ClusterRoleBinding/onf-onf-operator", "Role/onf-onf-operator-leader-election",
		"RoleBinding/onf-onf-operator-leader-election", "Deployment/onf-onf-operator", "Service/onf-onf-operator-metrics",
	} {
		if docs[want] == nil {
			t.Errorf("chart does not render %s", want)
		}
	}

	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(docs["Deployment/onf-onf-operator"], &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"operator", "--leader-elect", "--namespace=chains", "--leader-election-namespace=onf-system"} {
		if !strings.Contains(args, want) {
			t.Errorf("operator args %q lack %s", args, want)
		}
	}
	if got := dep.Spec.Template.Labels["app.kubernetes.io/name"]; got != "onf-operator" {
		t.Errorf("operator pods are labelled app.kubernetes.io/name=%q; node NetworkPolicies admit onf-operator", got)
	}

	// The chart grants exactly what the controller's RBAC markers ask for.
	var chartRole, generated rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(docs["ClusterRole/onf-onf-operator"], &chartRole); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(repoPath("config/rbac/role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &generated); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(chartRole.Rules, generated.Rules) {
		t.Errorf("chart ClusterRole rules differ from config/rbac/role.yaml (run scripts/generate.sh)")
	}
	for _, r := range generated.Rules {
		for _, res := range r.Resources {
			if res == "*" || (res == "secrets" && contains(r.Verbs, "*")) {
				t.Errorf("over-broad rule %+v", r)
			}
		}
		// Pods: read, annotated (a backup's hold), deleted (a pod adopted from a replaced
		// StatefulSet is made anew); never created, which is the StatefulSet controller's job.
		if contains(r.Resources, "pods") && !reflect.DeepEqual(r.Verbs, []string{"delete", "get", "list", "patch", "watch"}) {
			t.Errorf("the operator's verbs on pods: %v, want delete, get, list, patch, watch", r.Verbs)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestKustomizeBase checks the kustomize base without a kustomize binary: every listed
// resource exists and holds Kubernetes objects, and the generated role is the one used.
func TestKustomizeBase(t *testing.T) {
	var walk func(dir string)
	seen := map[string]bool{}
	walk = func(dir string) {
		raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(raw, &k); err != nil {
			t.Fatalf("%s/kustomization.yaml: %v", dir, err)
		}
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s lists %s: %v", dir, r, err)
				continue
			}
			if fi.IsDir() {
				walk(p)
				continue
			}
			b, _ := os.ReadFile(p)
			for name := range documents(t, string(b)) {
				seen[name] = true
			}
		}
	}
	walk(repoPath("config/default"))
	for _, want := range []string{
		"CustomResourceDefinition/substratenetworks.onf.dinfra.dev", "ClusterRole/onf-operator", "ClusterRoleBinding/onf-operator",
		"ServiceAccount/onf-operator", "Role/onf-operator-leader-election", "Namespace/onf-system", "Deployment/onf-operator",
	} {
		if !seen[want] {
			t.Errorf("config/default does not install %s", want)
		}
	}
}
