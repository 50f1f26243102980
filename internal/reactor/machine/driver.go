// Package machine is the cloud-init/v1 reactor driver: each deployment is a machine, a
// podman container started from a provider image with sshd (images/machine), limited to
// the CPUs and memory the descriptor asks for (within what its units pay for), with the
// consumer's SSH key (derived from their chain account) and the descriptor's
// sshAuthorizedKeys installed for the user "dinfra", and its SSH port published on the
// provider's address. The machine's own cloud-init (Debian's, in the image) applies it all
// at first boot from a NoCloud seed the driver writes: the same user data the cloudstack
// driver sends (cloudinit.UserData: the descriptor's userData untouched, then the driver's
// part with the host name, the host key and the keys). The endpoint it reports carries the
// machine's SSH host key fingerprint, so consumers check whom they log into.
//
// What a descriptor may ask for is checked before a deployment is booked: only the
// provider's images, no host paths, no host network, no limits beyond its units, no
// cloud-config modules that manage disks or mounts (a container's are the provider's).
package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

// Config is the provider's side of the driver.
type Config struct {
	// Podman is the podman command line, such as {"podman", "--runtime", "/usr/sbin/runc"}.
	Podman []string
	// Images maps the image names consumers may ask for (debian-12) to podman images.
	Images map[string]string
	// Capacity is the units offered; Unit what one of them buys.
	Capacity int64
	Unit     cloudinit.Unit
	// Network is the podman network machines join ("": podman's default network). A
	// network created with --internal keeps machines off every other network.
	Network string
	// PublishAddress is the host address SSH ports are published on; PublicHost the host
	// name consumers reach it by (default PublishAddress).
	PublishAddress string
	PublicHost     string
	// PidsLimit bounds the processes of one machine (0: 1024).
	PidsLimit int64
	// ReadyTimeout bounds a first boot, userData included (0: 5 minutes).
	ReadyTimeout time.Duration
}

// Driver runs cloud-init/v1 deployments as podman containers.
type Driver struct {
	cfg Config

	mu  sync.Mutex
	fwd map[string]*forwarder // by deployment id
}

var (
	_ reactor.Driver  = (*Driver)(nil)
	_ reactor.Checker = (*Driver)(nil)
)

// New returns a driver for cfg.
func New(cfg Config) (*Driver, error) {
	if len(cfg.Podman) == 0 {
		cfg.Podman = []string{"podman"}
	}
	if len(cfg.Images) == 0 {
		return nil, errors.New("machine driver: no images offered")
	}
	if err := cfg.Unit.Valid(); err != nil {
		return nil, fmt.Errorf("machine driver: %w", err)
	}
	if net.ParseIP(cfg.PublishAddress) == nil {
		return nil, fmt.Errorf("machine driver: publish address %q is not an IP address", cfg.PublishAddress)
	}
	if cfg.PublicHost == "" {
		cfg.PublicHost = cfg.PublishAddress
	}
	if cfg.PidsLimit <= 0 {
		cfg.PidsLimit = 1024
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 5 * time.Minute
	}
	return &Driver{cfg: cfg, fwd: map[string]*forwarder{}}, nil
}

func (*Driver) Name() string      { return "machine" }
func (*Driver) Types() []string   { return []string{descriptor.TypeCloudInit} }
func (d *Driver) Capacity() int64 { return d.cfg.Capacity }

// Seed is what a machine boots with: its cloud-init's NoCloud seed, the host key its user
// data installs and the size of its container.
type Seed struct {
	// Image is the podman image; Hostname the container's.
	Image, Hostname string
	CPUs, MemoryMiB int64
	// UserData and MetaData are the seed's user-data and meta-data files
	// (/var/lib/cloud/seed/nocloud): secrets (the host key), copied in as files.
	UserData, MetaData []byte
	// HostKey is the SHA256 fingerprint of the host key the user data installs.
	HostKey string
}

// Check refuses, before booking, what this provider does not run (see plan).
func (d *Driver) Check(dep reactor.Deployment) error {
	_, err := d.plan(dep)
	return err
}

// containerModules are cloud-config modules that manage disks, mounts and power: a
// machine's are its container's, which are the provider's.
var containerModules = []string{"disk_setup", "fs_setup", "growpart", "mounts", "power_state", "resize_rootfs", "swap"}

// plan checks a deployment against the provider's offer (cloudinit.Offer) and returns its
// seed, with a new host key. Every problem names its field.
func (d *Driver) plan(dep reactor.Deployment) (*Seed, error) {
	r, ps := cloudinit.Offer{Images: d.cfg.Images, Unit: d.cfg.Unit}.Check(dep)
	if r == nil {
		return nil, cloudinit.Invalid(ps)
	}
	cc, _ := cloudinit.CloudConfig(r.UserData)
	for _, k := range containerModules {
		if _, ok := cc[k]; ok {
			ps.Add("userData."+k, "not supported by this provider: a machine's disks, mounts and power are its container's")
		}
	}
	if err := cloudinit.Invalid(ps); err != nil {
		return nil, err
	}
	priv, pub, fp, err := cloudinit.HostKey()
	if err != nil {
		return nil, err
	}
	ud, err := cloudinit.UserData(r, string(priv), pub)
	if err != nil {
		return nil, err
	}
	md, err := json.Marshal(map[string]string{"instance-id": dep.ID, "local-hostname": r.Name})
	if err != nil {
		return nil, err
	}
	return &Seed{Image: r.Image, Hostname: r.Name, CPUs: r.CPUs, MemoryMiB: r.MemoryMiB, UserData: ud, MetaData: md, HostKey: fp}, nil
}

// ContainerName is the podman container of deployment id.
func ContainerName(id string) string { return "dinfra-machine-" + id }

// Labels on a machine's container.
const (
	labelDeployment = "dev.dinfra.deployment"
	labelHostKey    = "dev.dinfra.host-key-sha256"
	labelSSHPort    = "dev.dinfra.ssh-port"
)

// Deploy creates and starts the deployment's machine (converging on one that exists) and
// returns its SSH endpoint once sshd answers with the machine's host key.
func (d *Driver) Deploy(ctx context.Context, dep reactor.Deployment) ([]api.Endpoint, error) {
	s, err := d.plan(dep)
	if err != nil {
		return nil, err
	}
	return d.Boot(ctx, dep.ID, s)
}

// Boot creates and starts the machine of deployment id from s (converging on one that
// exists: s is then unused) and returns its SSH endpoint once sshd answers with its host
// key, after its cloud-init's first boot.
func (d *Driver) Boot(ctx context.Context, id string, s *Seed) ([]api.Endpoint, error) {
	name := ContainerName(id)
	c, err := d.inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if c != nil && !c.State.Running && c.State.StartedAt.IsZero() {
		// Created but never started: its seed may be missing. Start afresh.
		if err := d.Teardown(ctx, id); err != nil {
			return nil, err
		}
		c = nil
	}
	if c == nil {
		if err := d.create(ctx, id, s); err != nil {
			return nil, err
		}
	}
	if c == nil || !c.State.Running {
		if _, err := d.podman(ctx, "start", name); err != nil {
			return nil, err
		}
	}
	if c, err = d.inspect(ctx, name); err != nil || c == nil {
		return nil, fmt.Errorf("machine %s: %v", name, err)
	}
	f, err := d.publish(id, c)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	fp := c.Config.Labels[labelHostKey]
	if err := d.waitSSH(ctx, name, net.JoinHostPort(d.cfg.PublishAddress, strconv.Itoa(f.port())), fp); err != nil {
		return nil, err
	}
	return []api.Endpoint{{Name: "ssh", Url: cloudinit.EndpointURL(d.cfg.PublicHost, f.port(), fp)}}, nil
}

// publish forwards the machine's port on the provider's address (the one in its label,
// so the endpoint on chain stays right when the reactor restarts) to its sshd.
func (d *Driver) publish(id string, c *container) (*forwarder, error) {
	ip := c.address()
	if ip == "" {
		return nil, errors.New("the machine has no network address")
	}
	target := net.JoinHostPort(ip, "22")
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.fwd[id]; f != nil {
		f.setTarget(target)
		return f, nil
	}
	f, err := listenForward(net.JoinHostPort(d.cfg.PublishAddress, c.Config.Labels[labelSSHPort]), target)
	if err != nil {
		return nil, fmt.Errorf("publish SSH: %w", err)
	}
	d.fwd[id] = f
	return f, nil
}

// create makes the machine's container and copies in its cloud-init seed (files, never
// arguments or environment: the user data holds the host key).
func (d *Driver) create(ctx context.Context, id string, s *Seed) error {
	port, err := freePort(d.cfg.PublishAddress)
	if err != nil {
		return err
	}
	name := ContainerName(id)
	// --pull never: machines run the provider's own images; a deploy never reaches a registry.
	args := []string{"create", "--pull", "never", "--name", name, "--init", "--hostname", s.Hostname,
		"--label", labelDeployment + "=" + id, "--label", labelHostKey + "=" + s.HostKey, "--label", labelSSHPort + "=" + strconv.Itoa(port),
		"--cpus", strconv.FormatInt(s.CPUs, 10),
		"--memory", fmt.Sprintf("%dm", s.MemoryMiB), "--memory-swap", fmt.Sprintf("%dm", s.MemoryMiB),
		"--pids-limit", strconv.FormatInt(d.cfg.PidsLimit, 10)}
	if d.cfg.Network != "" {
		args = append(args, "--network", d.cfg.Network)
	}
	if _, err := d.podman(ctx, append(args, s.Image)...); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "dinfra-machine-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for file, data := range map[string][]byte{"user-data": s.UserData, "meta-data": s.MetaData} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
			return err
		}
		// The image has the seed directory (images/machine).
		if _, err := d.podman(ctx, "cp", filepath.Join(dir, file), name+":/var/lib/cloud/seed/nocloud/"+file); err != nil {
			return errors.Join(err, d.Teardown(context.WithoutCancel(ctx), id))
		}
	}
	return nil
}

// freePort picks the port a machine's SSH is published on.
func freePort(addr string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("publish SSH: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitSSH waits until sshd at addr presents the host key with fingerprint fp.
func (d *Driver) waitSSH(ctx context.Context, name, addr, fp string) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
	defer cancel()
	for {
		var seen string
		cfg := &ssh.ClientConfig{User: cloudinit.DefaultUser, Timeout: 2 * time.Second,
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
				seen = ssh.FingerprintSHA256(k)
				return errors.New("host key seen")
			}}
		// ssh's Timeout bounds the TCP connect only; the deadline bounds the handshake.
		if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if c, _, _, err := ssh.NewClientConn(conn, addr, cfg); err == nil {
				c.Close()
			}
			conn.Close()
		}
		switch {
		case seen == fp:
			return nil
		case seen != "":
			return fmt.Errorf("machine %s: sshd at %s presents host key %s, want %s", name, addr, seen, fp)
		}
		if c, err := d.inspect(ctx, name); err == nil && c != nil && !c.State.Running {
			logs, _ := d.podman(context.WithoutCancel(ctx), "logs", "--tail", "20", name)
			return fmt.Errorf("machine %s stopped while booting (exit code %d): %s", name, c.State.ExitCode, logs)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("machine %s: sshd did not answer at %s: %w", name, addr, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Teardown removes the machine's container, its processes and file system; a machine that
// does not exist is torn down already.
func (d *Driver) Teardown(ctx context.Context, id string) error {
	d.mu.Lock()
	if f := d.fwd[id]; f != nil {
		f.close()
		delete(d.fwd, id)
	}
	d.mu.Unlock()
	_, err := d.podman(ctx, "rm", "--force", "--ignore", "--volumes", "--time", "2", ContainerName(id))
	return err
}

// container is what podman inspect reports that the driver uses.
type container struct {
	State struct {
		Running   bool
		ExitCode  int
		StartedAt time.Time
	}
	Config struct {
		Labels map[string]string
	}
	NetworkSettings struct {
		IPAddress string
		Networks  map[string]struct{ IPAddress string }
	}
}

// address is the machine's address on its network.
func (c *container) address() string {
	for _, n := range c.NetworkSettings.Networks {
		if n.IPAddress != "" {
			return n.IPAddress
		}
	}
	return c.NetworkSettings.IPAddress
}

// inspect returns the container called name, or nil when there is none.
func (d *Driver) inspect(ctx context.Context, name string) (*container, error) {
	if _, err := d.podman(ctx, "container", "exists", name); err != nil {
		var ee *podmanError
		if errors.As(err, &ee) && ee.code == 1 {
			return nil, nil
		}
		return nil, err
	}
	out, err := d.podman(ctx, "container", "inspect", name)
	if err != nil {
		return nil, err
	}
	var cs []container
	if err := json.Unmarshal(out, &cs); err != nil || len(cs) != 1 {
		return nil, fmt.Errorf("podman inspect %s: unexpected answer: %v", name, err)
	}
	return &cs[0], nil
}

// podmanError is a podman command that exited non-zero.
type podmanError struct {
	args   []string
	code   int
	stderr string
}

func (e *podmanError) Error() string {
	return fmt.Sprintf("podman %s: exit %d: %s", strings.Join(e.args, " "), e.code, strings.TrimSpace(e.stderr))
}

// podman runs one podman command and returns its standard output.
func (d *Driver) podman(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.cfg.Podman[0], append(slices.Clone(d.cfg.Podman[1:]), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return nil, &podmanError{args: args, code: code, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}
