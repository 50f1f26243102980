package problem

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestErrSortsByField(t *testing.T) {
	ps := List{
		{"spec.parachains[0]", "c"}, {"spec.groups[10].name", "b"}, {"spec.groups[2].name", "a"},
		{"spec.groups", "g"}, {"spec.groups[2]", "f"}, {"metadata.name", "e"}, {"spec.groups[2].name", "d"},
	}
	var got []string
	for _, p := range Of(ps.Err("network spec")) {
		got = append(got, p.Reason)
	}
	if want := []string{"e", "g", "f", "a", "d", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestErrorText(t *testing.T) {
	var ps List
	if err := ps.Err("gateway config"); err != nil {
		t.Fatalf("no problems: %v, want nil", err)
	}
	ps.Add("upstreams[1].url", "scheme must be %s", "ws")
	ps.Add("listen", "must be host:port")
	err := fmt.Errorf("load x.yaml: %w", ps.Err("gateway config"))
	if want := "load x.yaml: invalid gateway config:\n  listen: must be host:port\n  upstreams[1].url: scheme must be ws"; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	var l List
	if !errors.As(err, &l) || len(l) != 2 || !slices.Equal(l, Of(err)) {
		t.Errorf("errors.As found %v, Of %v", l, Of(err))
	}
	if want := "listen: must be host:port; upstreams[1].url: scheme must be ws"; l.Error() != want {
		t.Errorf("one-line text %q, want %q", l.Error(), want)
	}
	if Of(errors.New("disk full")) != nil {
		t.Error("Of found problems in a plain error")
	}
}

func TestFieldPath(t *testing.T) {
	doc := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/name": 1}},
		"spec":     map[string]any{"groups": []any{map[string]any{}, map[string]any{"0": 1}}},
	}
	for _, c := range []struct {
		tokens []string
		want   string
	}{
		{nil, Document},
		{[]string{"metadata", "labels", "app.kubernetes.io/name"}, `metadata.labels["app.kubernetes.io/name"]`},
		{[]string{"spec", "groups", "1", "replicas"}, "spec.groups[1].replicas"},
		{[]string{"spec", "groups", "1", "0"}, `spec.groups[1]["0"]`}, // a key that looks like an index
	} {
		if got := FieldPath(doc, c.tokens); got != c.want {
			t.Errorf("FieldPath(%q) = %s, want %s", c.tokens, got, c.want)
		}
	}
}
