// Package templates holds the ready SubstrateNetwork specs `onf init` writes: one embedded
// file per deployment mode, each with comments explaining its choices. A template renders for
// this machine (gossamer where gossamer can run it, for `onf up`) or for Kubernetes
// (polkadot-sdk images, for the operator and `onf render`).
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"
)

//go:embed files/*.yaml
var files embed.FS

// Names are the templates in the order `onf init --list` shows them.
var Names = []string{"boot", "api", "simulation", "validator", "parachain", "archive"}

// Target is where a rendered spec runs.
type Target string

const (
	Local      Target = "local"
	Kubernetes Target = "kubernetes"
)

// Options fill in a template.
type Options struct {
	// Name is metadata.name.
	Name   string
	Target Target
	// GatewayConfig is the path spec.gateway.config names (the api template, locally).
	GatewayConfig string
	// KeysFile is the API key file the gateway config names.
	KeysFile string
}

// Describe is a template's one-line description: its file's first comment.
func Describe(name string) (string, error) {
	data, err := source(name)
	if err != nil {
		return "", err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	_, desc, _ := strings.Cut(strings.TrimPrefix(string(line), "# "), ": ")
	return desc, nil
}

// Render returns the spec of a template.
func Render(name string, o Options) ([]byte, error) {
	data, err := source(name)
	if err != nil {
		return nil, err
	}
	return execute(name, data, o)
}

// GatewayConfig returns the gateway config the api template's local spec names.
func GatewayConfig(o Options) ([]byte, error) {
	data, err := files.ReadFile("files/gateway.yaml")
	if err != nil {
		return nil, err
	}
	return execute("gateway", data, o)
}

// NeedsGateway says whether a template's spec, for that target, names a gateway config file.
func NeedsGateway(name string, t Target) bool { return name == "api" && t == Local }

func source(name string) ([]byte, error) {
	if !slices.Contains(Names, name) {
		return nil, fmt.Errorf("no template %q; templates: %s", name, strings.Join(Names, ", "))
	}
	return files.ReadFile("files/" + name + ".yaml")
}

func execute(name string, data []byte, o Options) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(string(data))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = t.Execute(&out, struct {
		Options
		Kubernetes bool
	}{o, o.Target == Kubernetes})
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
