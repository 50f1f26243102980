// Package cloudinit is what every cloud-init/v1 driver shares: the descriptor, what a unit
// buys, the checks of a deployment against the provider's offer (images, sizes within the
// units paid for, SSH only, the keys that may log in), the machine's host key and the SSH
// endpoint that carries its fingerprint on chain. The drivers (machine: podman; cloudstack)
// add how a machine is made.
package cloudinit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor"
)

// DefaultUser is the account consumers log into; it has passwordless sudo.
const DefaultUser = "dinfra"

// Unit is what one unit of a subscription buys.
type Unit struct {
	CPUs      int64
	MemoryMiB int64
	DiskGiB   int64
}

// DefaultUnit is one CPU, 1 GiB of memory and 10 GiB of disk.
func DefaultUnit() Unit { return Unit{CPUs: 1, MemoryMiB: 1024, DiskGiB: 10} }

// Valid says whether every size of u is positive.
func (u Unit) Valid() error {
	if u.CPUs < 1 || u.MemoryMiB < 1 || u.DiskGiB < 1 {
		return fmt.Errorf("unit %+v: every size must be positive", u)
	}
	return nil
}

// Spec is a cloud-init/v1 descriptor (its schema has been checked).
type Spec struct {
	Name              string   `json:"name"`
	Image             string   `json:"image"`
	CPUs              int64    `json:"cpus"`
	MemoryMiB         int64    `json:"memoryMiB"`
	DiskGiB           int64    `json:"diskGiB"`
	UserData          string   `json:"userData"`
	SSHAuthorizedKeys []string `json:"sshAuthorizedKeys"`
	Ports             []int    `json:"ports"`
}

// Offer is what a provider runs: the images consumers may name (name -> the driver's
// reference: a podman image, a CloudStack template) and what one unit buys.
type Offer struct {
	Images map[string]string
	Unit   Unit
}

// Request is a deployment checked against an Offer.
type Request struct {
	Spec
	// Image is the driver's reference of the image asked for.
	Image string
	// AuthorizedKeys are the consumer's key (from the chain) and the descriptor's.
	AuthorizedKeys []string
}

// Check decodes dep's descriptor and checks it against o; every problem names its field.
func (o Offer) Check(dep reactor.Deployment) (*Request, problem.List) {
	var r Request
	if err := json.Unmarshal(dep.Descriptor, &r.Spec); err != nil {
		return nil, problem.List{{Field: problem.Document, Reason: err.Error()}}
	}
	var ps problem.List
	bad := ps.Add
	r.Image = o.Images[r.Spec.Image]
	if r.Image == "" {
		bad("image", "%q is not offered by this provider (offered: %s)", r.Spec.Image, strings.Join(o.ImageNames(), ", "))
	}
	u := o.Unit
	for _, s := range []struct {
		path       string
		want, unit int64
	}{{"cpus", r.CPUs, u.CPUs}, {"memoryMiB", r.MemoryMiB, u.MemoryMiB}, {"diskGiB", r.DiskGiB, u.DiskGiB}} {
		if s.want > dep.Units*s.unit {
			bad(s.path, "%d needs %d unit(s) (one buys %d); the subscription pays for %d", s.want, (s.want+s.unit-1)/s.unit, s.unit, dep.Units)
		}
	}
	if len(r.Ports) > 0 {
		bad("ports", "this provider publishes only SSH (port 22); reach other ports through it (ssh -L)")
	}
	if k := dep.Consumer.SshPublicKey; k != nil && *k != "" {
		if !authorizedKey(*k) {
			bad("consumer.sshPublicKey", "not an OpenSSH public key")
		}
		r.AuthorizedKeys = append(r.AuthorizedKeys, *k)
	}
	for i, k := range r.SSHAuthorizedKeys {
		if !authorizedKey(k) {
			bad(fmt.Sprintf("sshAuthorizedKeys[%d]", i), "not an OpenSSH public key")
		}
		r.AuthorizedKeys = append(r.AuthorizedKeys, k)
	}
	if _, ups := CloudConfig(r.UserData); ups != nil {
		ps = append(ps, ups...)
	}
	if len(r.AuthorizedKeys) == 0 {
		bad("sshAuthorizedKeys", "nobody could log in: the consumer has no SSH key on chain and the descriptor lists none")
	}
	return &r, ps
}

// authorizedKey says whether k is one OpenSSH public key line.
func authorizedKey(k string) bool {
	_, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
	return err == nil && !strings.Contains(k, "\n")
}

// ImageNames are the offered image names, sorted.
func (o Offer) ImageNames() []string {
	names := make([]string, 0, len(o.Images))
	for n := range o.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Invalid is the error refusing a cloud-init/v1 descriptor for ps, nil for none.
func Invalid(ps problem.List) error { return descriptor.Invalid(descriptor.TypeCloudInit, ps) }

// HostKey returns a new ed25519 host key (OpenSSH PEM), its public key (authorized_keys
// form) and its SHA256 fingerprint.
func HostKey() (privPEM []byte, public, fingerprint string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, "", "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, "", "", err
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), ssh.FingerprintSHA256(sshPub), nil
}

// EndpointURL is the SSH endpoint of a machine: ssh://HOST:PORT?fingerprint=SHA256:...
func EndpointURL(host string, port int, fingerprint string) string {
	u := url.URL{Scheme: "ssh", Host: net.JoinHostPort(host, strconv.Itoa(port)), RawQuery: url.Values{"fingerprint": {fingerprint}}.Encode()}
	return u.String()
}

// ParseEndpoint returns the address and host key fingerprint of an SSH endpoint URL.
func ParseEndpoint(raw string) (addr, fingerprint string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "ssh" || u.Hostname() == "" {
		return "", "", fmt.Errorf("%q is not an ssh:// endpoint", raw)
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	fingerprint = u.Query().Get("fingerprint")
	if !strings.HasPrefix(fingerprint, "SHA256:") {
		return "", "", fmt.Errorf("endpoint %s carries no SHA256 host key fingerprint", raw)
	}
	return net.JoinHostPort(u.Hostname(), port), fingerprint, nil
}
