package cloudstack_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring/keyringtest"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
	"github.com/dinfra/stack/internal/reactor/cloudstack"
	"github.com/dinfra/stack/internal/reactor/cloudstack/cloudstackfake"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

// driver returns a driver over f offering debian-12 on offerings small and large.
func driver(t *testing.T, f *cloudstackfake.Fake, capacity int64) *cloudstack.Driver {
	t.Helper()
	d, err := cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: f.SecretKey, Zone: "zone-1",
		Templates: map[string]string{"debian-12": "debian-12-template"}, Offerings: []string{"large", "small"},
		Capacity: capacity, Unit: cloudinit.DefaultUnit(), PollInterval: 5 * time.Millisecond, ReadyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deployment(t *testing.T, id string, units int64, doc string) reactor.Deployment {
	k := keyringtest.SSHKey(t, "alice")
	c, _ := descriptor.CID([]byte(doc))
	return reactor.Deployment{ID: id, Type: descriptor.TypeCloudInit, CID: c, Descriptor: []byte(doc), Units: units,
		Consumer: api.Consumer{Address: "5x", SshPublicKey: &k}}
}

// TestCloudStackConformance: the driver passes the conformance suite through the reactor
// framework against the fake CloudStack, the Failed phase included (an offered image whose
// template was deleted after the reactor started).
func TestCloudStackConformance(t *testing.T) {
	f := cloudstackfake.Start(t)
	d, err := cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: f.SecretKey, Zone: "zone-1",
		Templates: map[string]string{"debian-12": "debian-12-template", "debian-gone": "debian-11-template"},
		Offerings: []string{"small"}, Capacity: 2, Unit: cloudinit.DefaultUnit(), PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	failing := []byte(`{"name":"failing","image":"debian-gone","cpus":1,"memoryMiB":512,"diskGiB":5}`)
	// Deleted once the driver resolved it: every deploy of that image now fails in CloudStack.
	f.DeleteTemplate("debian-11-template")
	reactortest.Conformance(t, d, conformance.Config{DeployTimeout: 10 * time.Second,
		Failing: map[string][]byte{descriptor.TypeCloudInit: failing}})
	if vms := f.VMs(); len(vms) != 0 {
		t.Errorf("machines left after the suite: %v", vms)
	}
	if kps := f.KeyPairs(); len(kps) != 0 {
		t.Errorf("key pairs left after the suite: %v", kps)
	}
}

// TestDeployAndTeardown: a machine is deployed on the smallest offering that holds it,
// with its disk, the consumer's key pair and the driver's cloud-config after the consumer's
// userData; its endpoint names its address and the fingerprint of the host key it was given.
// A second Deploy converges on it (no second deployVirtualMachine), a machine whose name
// only contains another's is not mistaken for it, and Teardown expunges the machine and
// deletes the key pair, twice without error.
func TestDeployAndTeardown(t *testing.T) {
	f := cloudstackfake.Start(t)
	d := driver(t, f, 4)
	ctx := context.Background()
	other := deployment(t, "m1-2", 1, `{"name":"other","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`)
	if _, err := d.Deploy(ctx, other); err != nil {
		t.Fatal(err)
	}
	const doc = `{"name":"box","image":"debian-12","cpus":2,"memoryMiB":2048,"diskGiB":20,
"userData":"#cloud-config\npackages: [htop]\n","sshAuthorizedKeys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3r1DVb4+zhxGCnOnnvUj8yq5X1U7mr3mFdGQGm8Hoi bob"]}`
	dep := deployment(t, "m1", 2, doc)
	eps, err := d.Deploy(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	vm, ok := f.VMs()["dinfra-m1"]
	if !ok || vm.State != "Running" || vm.DisplayName != "box" || vm.RootDiskGiB != 20 || vm.KeyPair != "dinfra-m1" {
		t.Fatalf("machine %+v", vm)
	}
	if got := f.KeyPairs()["dinfra-m1"]; got != keyringtest.SSHKey(t, "alice") {
		t.Errorf("key pair dinfra-m1 = %q, want the consumer's key", got)
	}
	addr, fp, err := cloudinit.ParseEndpoint(eps[0].Url)
	if err != nil || addr != vm.Address+":22" {
		t.Fatalf("endpoint %s: %s %v (machine at %s)", eps[0].Url, addr, err, vm.Address)
	}
	parts := mimeParts(t, vm.UserData)
	if len(parts) != 2 || parts[0].typ != "text/cloud-config" || parts[0].body != "#cloud-config\npackages: [htop]\n" || parts[1].typ != "text/cloud-config" {
		t.Fatalf("user data parts %+v", parts)
	}
	var own struct {
		Hostname string            `json:"hostname"`
		SSHKeys  map[string]string `json:"ssh_keys"`
		Users    []any             `json:"users"`
		MergeHow string            `json:"merge_how"`
	}
	if err := yaml.Unmarshal([]byte(strings.TrimPrefix(parts[1].body, "#cloud-config\n")), &own); err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(own.SSHKeys["ed25519_public"]))
	if err != nil || ssh.FingerprintSHA256(pub) != fp {
		t.Errorf("host key %q does not match the endpoint's fingerprint %s (%v)", own.SSHKeys["ed25519_public"], fp, err)
	}
	if signer, err := ssh.ParsePrivateKey([]byte(own.SSHKeys["ed25519_private"])); err != nil || ssh.FingerprintSHA256(signer.PublicKey()) != fp {
		t.Errorf("host private key does not match: %v", err)
	}
	if own.Hostname != "box" || own.MergeHow == "" || len(own.Users) != 2 || !strings.Contains(parts[1].body, "bob") || !strings.Contains(parts[1].body, keyringtest.SSHKey(t, "alice")) {
		t.Errorf("the driver's cloud-config: %s", parts[1].body)
	}

	deploys := count(f.Calls(), "deployVirtualMachine")
	again, err := d.Deploy(ctx, dep)
	if err != nil || again[0].Url != eps[0].Url || count(f.Calls(), "deployVirtualMachine") != deploys {
		t.Fatalf("second deploy: %v %v; deploys %d -> %d", again, err, deploys, count(f.Calls(), "deployVirtualMachine"))
	}
	for range 2 {
		if err := d.Teardown(ctx, "m1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := f.VMs()["dinfra-m1"]; ok {
		t.Error("machine left after teardown")
	}
	if _, ok := f.KeyPairs()["dinfra-m1"]; ok {
		t.Error("key pair left after teardown")
	}
	if _, ok := f.VMs()["dinfra-m1-2"]; !ok {
		t.Error("teardown of m1 removed m1-2")
	}
}

// TestPortForwardingOnAnIsolatedNetwork: with PortForwarding, a machine on the fake's
// isolated network gets a public address of its network, tagged with its deployment, whose
// port 22 the virtual router forwards to the machine's through a firewall rule from the
// provider's SSH sources; the endpoint on chain is that address (the machine's own is
// private); no other port is routed. A second Deploy adds nothing; Teardown releases the
// address and its rules.
func TestPortForwardingOnAnIsolatedNetwork(t *testing.T) {
	f := cloudstackfake.Start(t)
	d, err := cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: f.SecretKey, Zone: "zone-1",
		Templates: map[string]string{"debian-12": "debian-12-template"}, Offerings: []string{"small"},
		PortForwarding: true, SSHSources: []string{"198.51.100.0/24"},
		Capacity: 4, Unit: cloudinit.DefaultUnit(), PollInterval: 5 * time.Millisecond, ReadyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dep := deployment(t, "pf1", 1, `{"name":"fwd","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`)
	eps, err := d.Deploy(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	vm := f.VMs()["dinfra-pf1"]
	addr, _, err := cloudinit.ParseEndpoint(eps[0].Url)
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(addr, ":")
	ip, ok := f.Addresses()[host]
	if !ok || host == vm.Address || ip.Tags["dinfra-deployment"] != "pf1" {
		t.Fatalf("endpoint %s: not a public address of the deployment (addresses %+v, machine at %s)", eps[0].Url, f.Addresses(), vm.Address)
	}
	if got := f.Route(host, 22); got != vm.Address+":22" {
		t.Errorf("the virtual router sends %s:22 to %q, want the machine's %s:22", host, got, vm.Address)
	}
	if got := f.Route(host, 2222); got != "" {
		t.Errorf("port 2222 is routed to %q", got)
	}
	fw := slices.Collect(maps.Values(f.Firewall()))
	if len(fw) != 1 || fw[0].PublicPort != 22 || fw[0].CIDRs != "198.51.100.0/24" {
		t.Errorf("firewall rules %+v, want port 22 from the provider's SSH sources", fw)
	}
	calls := len(f.Calls())
	if again, err := d.Deploy(ctx, dep); err != nil || again[0].Url != eps[0].Url ||
		count(f.Calls()[calls:], "associateIpAddress")+count(f.Calls()[calls:], "createPortForwardingRule") != 0 {
		t.Fatalf("second deploy: %v %v, calls %v", again, err, f.Calls()[calls:])
	}
	if err := d.Teardown(ctx, "pf1"); err != nil {
		t.Fatal(err)
	}
	if len(f.Addresses()) != 0 || f.Route(host, 22) != "" || len(f.VMs()) != 0 {
		t.Errorf("left after teardown: addresses %v, route %q, machines %v", f.Addresses(), f.Route(host, 22), f.VMs())
	}
}

// TestHalfMadeMachineIsReplaced: a machine left without its host key tag (the reactor
// stopped between deploy and tag) is expunged and deployed again, so the fingerprint on
// chain is never a guess.
func TestHalfMadeMachineIsReplaced(t *testing.T) {
	f := cloudstackfake.Start(t)
	d := driver(t, f, 4)
	f.AddVM("dinfra-h1")
	eps, err := d.Deploy(context.Background(), deployment(t, "h1", 1, `{"name":"h","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`))
	if err != nil {
		t.Fatal(err)
	}
	vm := f.VMs()["dinfra-h1"]
	if vm.Address == "10.1.1.250" || !strings.Contains(eps[0].Url, vm.Address) || count(f.Calls(), "destroyVirtualMachine") != 1 {
		t.Fatalf("machine %+v, endpoint %s, calls %v", vm, eps[0].Url, f.Calls())
	}
}

// TestFailuresAndRefusals: a deploy CloudStack cannot place (its job fails, 533) is an
// error whose public message says nothing of the provider's, and teardown removes the
// machine left in Error; what no offering holds, or userData too long for CloudStack, is
// refused before booking with its field; a wrong secret key fails at start (401), and so do
// SSH sources that are not CIDRs or come without port forwarding.
func TestFailuresAndRefusals(t *testing.T) {
	f := cloudstackfake.Start(t)
	f.HostMemoryMiB = 3000
	d := driver(t, f, 8)
	ctx := context.Background()
	_, err := d.Deploy(ctx, deployment(t, "big", 4, `{"name":"big","image":"debian-12","cpus":2,"memoryMiB":4096,"diskGiB":5}`))
	if err == nil || !strings.Contains(err.Error(), "Insufficient capacity") {
		t.Fatalf("deploy beyond the host: %v", err)
	}
	if msg := reactor.PublicMessage(err); msg != reactor.ReasonDeployFailed+": the provider could not deploy this descriptor" {
		t.Errorf("public message %q", msg)
	}
	if vm := f.VMs()["dinfra-big"]; vm.State != "Error" {
		t.Fatalf("machine after a failed job: %+v", vm)
	}
	if err := d.Teardown(ctx, "big"); err != nil || len(f.VMs()) != 0 {
		t.Fatalf("teardown of a machine in Error: %v, left %v", err, f.VMs())
	}

	for _, c := range []struct{ doc, want string }{
		{`{"name":"x","image":"debian-12","cpus":3,"memoryMiB":512,"diskGiB":5}`, "cpus: no offering of this provider has 3 CPUs"},
		{`{"name":"x","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5,"userData":"#!/bin/sh\n` + strings.Repeat("echo 0123456789abcdef; ", 1500) + `"}`, "userData: "},
		{`{"name":"x","image":"ubuntu-24.04","cpus":1,"memoryMiB":512,"diskGiB":5}`, `image: "ubuntu-24.04" is not offered`},
		{`{"name":"x","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5,"userData":"#include\nhttps://example.net/x\n"}`, "userData: want a #cloud-config document or a #! script"},
	} {
		err := d.Check(deployment(t, "c", 8, c.doc))
		if problem.Of(err) == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check: %v, want %q", err, c.want)
		}
	}

	_, err = cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: "not-the-secret", Zone: "zone-1",
		Templates: map[string]string{"debian-12": "debian-12-template"}, Offerings: []string{"small"}, Capacity: 1, Unit: cloudinit.DefaultUnit()})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a wrong secret key: %v", err)
	}
	for _, c := range []struct {
		forward bool
		sources []string
	}{{true, []string{"198.51.100.0"}}, {false, []string{"198.51.100.0/24"}}} {
		_, err = cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: f.SecretKey, Zone: "zone-1", PortForwarding: c.forward, SSHSources: c.sources,
			Templates: map[string]string{"debian-12": "debian-12-template"}, Offerings: []string{"small"}, Capacity: 1, Unit: cloudinit.DefaultUnit()})
		if err == nil || !strings.Contains(err.Error(), "want a CIDR, with port forwarding on") {
			t.Errorf("SSH sources %v (forwarding %v): %v", c.sources, c.forward, err)
		}
	}
}

type part struct{ typ, body string }

// mimeParts reads a multipart/mixed user data document.
func mimeParts(t *testing.T, doc []byte) []part {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("user data type %q: %v", mt, err)
	}
	var out []part
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out = append(out, part{typ, string(body)})
	}
}

func count(calls []string, cmd string) int {
	return len(slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return c != cmd }))
}
