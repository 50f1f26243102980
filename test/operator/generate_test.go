package operator

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

// TestGeneratedUpToDate regenerates the CRD, deepcopy code and RBAC role and compares them with the committed files: scripts/generate.sh was run after
// the last change of the API types or the RBAC markers.
func TestGeneratedUpToDate(t *testing.T) {
	bin := testenv.Binary(t, "CONTROLLER_GEN_BIN", "controller-gen")
	// Each generator writes to standard output: the test never touches the source tree.
	for _, tc := range []struct{ generator, paths, committed string }{
		{"object", "./api/...", "api/v1alpha1/zz_generated.deepcopy.go"},
		{"crd:crdVersions=v1", "./api/...", "config/crd/bases/onf.dinfra.dev_substratenetworks.yaml"},
		{"rbac:roleName=onf-operator", "./internal/kube/controller/...", "config/rbac/role.yaml"},
	} {
		name, _, _ := strings.Cut(tc.generator, ":")
		cmd := exec.Command(bin, tc.generator, "output:"+name+":stdout", "paths="+tc.paths)
		cmd.Dir = repoPath("")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("controller-gen %s: %v\n%s", tc.generator, err, stderr.String())
		}
		got, err := os.ReadFile(repoPath(tc.committed))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(strings.TrimPrefix(string(got), "---\n")) != strings.TrimSpace(strings.TrimPrefix(string(want), "---\n")) {
			t.Errorf("%s is stale: run scripts/generate.sh", tc.committed)
		}
	}
	schema := filepath.Join(t.TempDir(), "schema.json")
	cmd := exec.Command("go", "run", "./scripts/crdschema", "-opaque", "scripts/crdschema/opaque.txt", "config/crd/bases/onf.dinfra.dev_substratenetworks.yaml", schema)
	cmd.Dir = repoPath("")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crdschema: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(schema)
	got, err := os.ReadFile(repoPath("api/v1alpha1/substratenetwork.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("api/v1alpha1/substratenetwork.schema.json is stale: run scripts/generate.sh")
	}
	chartCRD, err := os.ReadFile(repoPath("charts/onf-operator/crds/onf.dinfra.dev_substratenetworks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd, _ := os.ReadFile(repoPath("config/crd/bases/onf.dinfra.dev_substratenetworks.yaml"))
	if string(chartCRD) != string(crd) {
		t.Error("charts/onf-operator/crds differs from config/crd/bases: run scripts/generate.sh")
	}
}
