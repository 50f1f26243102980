package templates

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// TestTemplatesAreValid: every template, for both targets, is a spec Parse accepts (schema and
// semantic rules), named as asked, with comments kept.
func TestTemplatesAreValid(t *testing.T) {
	for _, name := range Names {
		for _, target := range []Target{Local, Kubernetes} {
			t.Run(name+"/"+string(target), func(t *testing.T) {
				o := Options{Name: "my-" + name, Target: target, GatewayConfig: "/tmp/gw.yaml", KeysFile: "/tmp/keys.yaml"}
				doc, err := Render(name, o)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(doc), "\n\n") {
					t.Errorf("blank lines left by template actions:\n%s", doc)
				}
				n, err := network.Parse(doc)
				if err != nil {
					t.Fatalf("%v\n%s", err, doc)
				}
				if n.Name != o.Name {
					t.Errorf("metadata.name = %q, want %q", n.Name, o.Name)
				}
				if !strings.HasPrefix(string(doc), "# "+name+": ") {
					t.Errorf("no description comment first:\n%s", doc)
				}
				if d, _ := Describe(name); d == "" {
					t.Errorf("no description")
				}
			})
		}
	}
	if _, err := Render("zombie", Options{Name: "x"}); err == nil || !strings.Contains(err.Error(), "templates: boot, api") {
		t.Fatalf("unknown template: %v", err)
	}
}
