// Package machines tests the cloud-init/v1 machine driver on real podman containers from
// the machine image (scripts/images.sh build machine) with real sshd, logged into with
// golang.org/x/crypto/ssh and keys derived from Substrate ed25519 accounts; the image's own
// cloud-init (Debian's 22.4.2) applies the user data at first boot. Every machine
// joins an --internal podman network the test creates (machinetest): nothing leaves this
// host.
package machines

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring/keyringtest"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
	"github.com/dinfra/stack/internal/reactor/cloudstack"
	"github.com/dinfra/stack/internal/reactor/cloudstack/cloudstackfake"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/machine"
	"github.com/dinfra/stack/internal/reactor/machine/machinetest"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

// deploy runs doc for alice and returns its one endpoint; the machine is torn down when the
// test ends.
func deploy(t *testing.T, d *machine.Driver, id string, units int64, doc string) string {
	t.Helper()
	c, err := descriptor.CID([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	k := keyringtest.SSHKey(t, "alice")
	dep := reactor.Deployment{ID: id, Type: descriptor.TypeCloudInit, CID: c, Descriptor: []byte(doc), Units: units,
		Consumer: api.Consumer{Address: "alice", SshPublicKey: &k}}
	if err := d.Check(dep); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Teardown(context.Background(), id) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eps, err := d.Deploy(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || eps[0].Name != "ssh" {
		t.Fatalf("endpoints %+v", eps)
	}
	// Deploy converges: again, it finds the same machine.
	again, err := d.Deploy(ctx, dep)
	if err != nil || again[0].Url != eps[0].Url {
		t.Fatalf("second deploy: %v %v, want %s", again, err, eps[0].Url)
	}
	return eps[0].Url
}

// login connects to endpoint as user with the key of account, checking the host key
// against the endpoint's fingerprint.
func login(t *testing.T, endpoint, user, account string) (*ssh.Client, error) {
	t.Helper()
	addr, fp, err := cloudinit.ParseEndpoint(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(keyringtest.Signer(t, account))}, Timeout: 10 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(k); got != fp {
				return fmt.Errorf("host key %s, endpoint says %s", got, fp)
			}
			return nil
		}})
}

func mustLogin(t *testing.T, endpoint, user, account string) *ssh.Client {
	t.Helper()
	c, err := login(t, endpoint, user, account)
	if err != nil {
		t.Fatalf("%s as %s: %v", account, user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs cmd on c and returns its output and whether it succeeded.
func run(t *testing.T, c *ssh.Client, cmd string) (string, bool) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if _, exit := err.(*ssh.ExitError); err != nil && !exit {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSpace(string(out)), err == nil
}

func mustRun(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, ok := run(t, c, cmd)
	if !ok {
		t.Fatalf("%s failed: %s", cmd, out)
	}
	return out
}

const cloudConfig = `#cloud-config
packages: [sudo, hello]
users:
  - default
  - name: ops
    groups: [adm]
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys: [%q]
write_files:
  - path: /etc/dinfra-test/motd
    content: "rented with DINFRA\n"
    permissions: "0640"
    owner: ops:ops
    defer: true
runcmd:
  - echo "runcmd as $(id -un)" > /tmp/runcmd
  - [touch, /tmp/argv form]
`

// TestMachineFromCloudConfig: the machine's cloud-init runs its #cloud-config (packages
// from the image's local repository, with no mirror reachable; users; write_files, one
// deferred until its owner exists; runcmd in both forms), the consumer's derived key
// and the descriptor's sshAuthorizedKeys log in as dinfra, another account's key is
// refused, the host key is the one in the endpoint, the CPU and memory limits are set in
// the machine's cgroups and the machine cannot raise them, reach the host's loopback
// services, leave its network, or see the host's files; teardown removes the container.
func TestMachineFromCloudConfig(t *testing.T) {
	t.Parallel()
	e := machinetest.Start(t, 4)
	id := "cc-" + machinetest.RandHex(t)
	userData := fmt.Sprintf(cloudConfig, keyringtest.SSHKey(t, "eve"))
	doc, _ := json.Marshal(map[string]any{"name": "builder", "image": "debian-12", "cpus": 1, "memoryMiB": 512, "diskGiB": 10,
		"userData": userData, "sshAuthorizedKeys": []string{keyringtest.SSHKey(t, "charlie")}})
	// A loopback service of the provider's, which the machine must not reach.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var reached atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	ep := deploy(t, e.Driver, id, 1, string(doc))

	c := mustLogin(t, ep, cloudinit.DefaultUser, "alice")
	if got := mustRun(t, c, "id -un && hostname && sudo -n id -un"); got != "dinfra\nbuilder\nroot" {
		t.Errorf("whoami = %q", got)
	}
	if got := mustRun(t, mustLogin(t, ep, cloudinit.DefaultUser, "charlie"), "id -un"); got != "dinfra" {
		t.Errorf("sshAuthorizedKeys login as %q", got)
	}
	if _, err := login(t, ep, cloudinit.DefaultUser, "bob"); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("bob's key: %v, want refused", err)
	}
	ops := mustLogin(t, ep, "ops", "eve")
	if got := mustRun(t, ops, "id -Gn && sudo -n true && echo sudo"); !strings.Contains(got, "adm") || !strings.HasSuffix(got, "sudo") {
		t.Errorf("ops: %q", got)
	}
	if got := mustRun(t, ops, "stat -c '%a %U:%G' /etc/dinfra-test/motd && cat /etc/dinfra-test/motd"); got != "640 ops:ops\nrented with DINFRA" {
		t.Errorf("write_files: %q", got)
	}
	if got := mustRun(t, c, "cat /tmp/runcmd && ls '/tmp/argv form'"); got != "runcmd as root\n/tmp/argv form" {
		t.Errorf("runcmd: %q", got)
	}
	if got := mustRun(t, c, "hello"); got != "Hello, world!" {
		t.Errorf("hello (from packages) = %q", got)
	}
	// No mirror is reachable from the machine: apt-get update fails for Debian's archive
	// (cloud-init's one error) and hello comes from the image's local repository.
	if status, _ := run(t, c, "cloud-init status --long"); strings.Count(status, "('") != 1 ||
		!strings.Contains(status, "('package-update-upgrade-install'") || !strings.Contains(status, "'update']") {
		t.Errorf("cloud-init status:\n%s", status)
	}

	t.Run("limits", func(t *testing.T) {
		if got := mustRun(t, c, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/pids/pids.max"); got != fmt.Sprint(512<<20)+"\n100000\n100000\n1024" {
			t.Errorf("cgroup limits (memory, cpu quota, period, pids) = %q", got)
		}
		// root in the machine cannot raise them: the cgroup file system is read-only.
		if out, ok := run(t, c, "sudo sh -c 'echo 4294967296 > /sys/fs/cgroup/memory/memory.limit_in_bytes'"); ok || !strings.Contains(out, "Read-only file system") {
			t.Errorf("raising the memory limit: ok=%v %s", ok, out)
		}
		if got := mustRun(t, c, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"); got != fmt.Sprint(512<<20) {
			t.Errorf("memory limit after the attempt: %s", got)
		}
	})
	t.Run("network", func(t *testing.T) {
		host, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRun(t, c, "readlink /proc/self/ns/net"); got == host {
			t.Errorf("the machine shares the host's network namespace %s", host)
		}
		if got := mustRun(t, c, "ls /sys/class/net"); got != "eth0\nlo" {
			t.Errorf("interfaces: %q", got)
		}
		if got := mustRun(t, c, "awk 'NR>1 && $2==\"00000000\"' /proc/net/route | wc -l"); got != "0" {
			t.Errorf("the machine has a default route: %s", got)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		for _, host := range []string{"127.0.0.1", e.Gateway} {
			if out, ok := run(t, c, fmt.Sprintf("timeout 3 bash -c 'echo > /dev/tcp/%s/%d'", host, port)); ok {
				t.Errorf("the machine reached the provider's loopback service at %s:%d: %s", host, port, out)
			}
		}
		if n := reached.Load(); n != 0 {
			t.Errorf("the provider's loopback service saw %d connections", n)
		}
	})
	t.Run("host files", func(t *testing.T) {
		// Only podman's own files (/etc/hosts, ...) are bound in; nothing of the host's.
		mounts := mustRun(t, c, "awk '{print $5}' /proc/self/mountinfo")
		for _, m := range strings.Fields(mounts) {
			switch {
			case m == "/", strings.HasPrefix(m, "/proc"), strings.HasPrefix(m, "/dev"), strings.HasPrefix(m, "/sys"),
				m == "/etc/hosts", m == "/etc/hostname", m == "/etc/resolv.conf", m == "/run/.containerenv",
				m == "/run/podman-init": // podman's init (catatonit), read-only
			default:
				t.Errorf("mount %s in the machine", m)
			}
		}
	})

	if err := e.Driver.Teardown(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if machinetest.Exists(t, id) {
		t.Error("container left after teardown")
	}
	if err := e.Driver.Teardown(context.Background(), id); err != nil {
		t.Errorf("second teardown: %v", err)
	}
}

// TestMachineFromScript: a #! userData runs once at first boot; a machine that stopped
// (the provider's host rebooted) is started again by Deploy with the same host key,
// without running its first boot again.
func TestMachineFromScript(t *testing.T) {
	t.Parallel()
	e := machinetest.Start(t, 4)
	id := "sh-" + machinetest.RandHex(t)
	doc := `{"name":"scripted","image":"debian-12","cpus":1,"memoryMiB":256,"diskGiB":1,"userData":"#!/bin/sh\necho boot >> /var/tmp/boots\n"}`
	ep := deploy(t, e.Driver, id, 1, doc)
	if got := mustRun(t, mustLogin(t, ep, cloudinit.DefaultUser, "alice"), "cat /var/tmp/boots"); got != "boot" {
		t.Errorf("boots = %q", got)
	}
	machinetest.Run(t, "stop", "--time", "1", machine.ContainerName(id))
	ep2 := deploy(t, e.Driver, id, 1, doc)
	_, fp, _ := cloudinit.ParseEndpoint(ep)
	if _, fp2, _ := cloudinit.ParseEndpoint(ep2); fp2 != fp {
		t.Errorf("host key after a restart: %s, was %s", fp2, fp)
	}
	if got := mustRun(t, mustLogin(t, ep2, cloudinit.DefaultUser, "alice"), "cat /var/tmp/boots"); got != "boot" {
		t.Errorf("after a restart, boots = %q (the first boot ran again?)", got)
	}
}

// TestMachineDriverConformance: the machine driver passes the conformance suite through the
// reactor framework (with its cloud-init/v1 sample), on real containers; a machine of an
// offered image podman does not have is Failed.
func TestMachineDriverConformance(t *testing.T) {
	t.Parallel()
	e := machinetest.Start(t, 2)
	failing := []byte(`{"name":"failing","image":"` + machinetest.MissingImage + `","cpus":1,"memoryMiB":512,"diskGiB":5}`)
	reactortest.Conformance(t, e.Driver, conformance.Config{DeployTimeout: 4 * time.Minute,
		Failing: map[string][]byte{descriptor.TypeCloudInit: failing}})
}

// TestCloudStackUserDataInMachine: exactly what the cloudstack driver sends — its user data
// (decoded from deployVirtualMachine's base64 userdata, as the fake CloudStack recorded it)
// and the SSH key pair it registers — boots the machine image's real cloud-init, and the
// consumer logs in with their derived key, checking the host key fingerprint the cloudstack
// driver reported. CloudStack's datasource needs its metadata server, which cannot run
// here: the same user data goes through NoCloud, with the key pair as meta-data
// public-keys, which is what the CloudStack datasource hands cloud-init.
func TestCloudStackUserDataInMachine(t *testing.T) {
	t.Parallel()
	e := machinetest.Start(t, 1)
	f := cloudstackfake.Start(t)
	cd, err := cloudstack.New(cloudstack.Config{APIURL: f.URL, APIKey: f.APIKey, SecretKey: f.SecretKey, Zone: "zone-1",
		Templates: map[string]string{"debian-12": "debian-12-template"}, Offerings: []string{"small"},
		Capacity: 1, Unit: cloudinit.DefaultUnit(), PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id := "cs-" + machinetest.RandHex(t)
	doc := `{"name":"stacked","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5,` +
		`"userData":"#cloud-config\nwrite_files:\n  - path: /etc/stacked\n    content: from CloudStack\nruncmd:\n  - [touch, /tmp/ran]\n"}`
	k := keyringtest.SSHKey(t, "alice")
	dep := reactor.Deployment{ID: id, Type: descriptor.TypeCloudInit, Descriptor: []byte(doc), Units: 1,
		Consumer: api.Consumer{Address: "alice", SshPublicKey: &k}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eps, err := cd.Deploy(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	_, fp, err := cloudinit.ParseEndpoint(eps[0].Url)
	if err != nil {
		t.Fatal(err)
	}
	vm := f.VMs()["dinfra-"+id]
	md, err := json.Marshal(map[string]any{"instance-id": vm.ID, "local-hostname": vm.DisplayName, "public-keys": []string{f.KeyPairs()[vm.KeyPair]}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Driver.Teardown(context.Background(), id) })
	booted, err := e.Driver.Boot(ctx, id, &machine.Seed{Image: e.Image, Hostname: vm.DisplayName, CPUs: 1, MemoryMiB: 512,
		UserData: vm.UserData, MetaData: md, HostKey: fp})
	if err != nil {
		t.Fatal(err)
	}
	c := mustLogin(t, booted[0].Url, cloudinit.DefaultUser, "alice")
	if got := mustRun(t, c, "hostname && cat /etc/stacked && echo && ls /tmp/ran && sudo -n id -un"); got != "stacked\nfrom CloudStack\n/tmp/ran\nroot" {
		t.Errorf("machine from CloudStack's user data: %q", got)
	}
	if _, err := login(t, booted[0].Url, cloudinit.DefaultUser, "bob"); err == nil {
		t.Error("bob's key logged in")
	}
}
