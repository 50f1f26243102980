package machine

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring/keyringtest"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

func testDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(Config{Images: map[string]string{"debian-12": "localhost/dinfra/machine:x"}, Capacity: 4, Unit: cloudinit.DefaultUnit(), PublishAddress: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deployment(t *testing.T, units int64, doc string) reactor.Deployment {
	k := keyringtest.SSHKey(t, "alice")
	return reactor.Deployment{ID: "m1", Type: descriptor.TypeCloudInit, Descriptor: []byte(doc), Units: units,
		Consumer: api.Consumer{Address: "5x", SshPublicKey: &k}}
}

// TestPlanRefusesWhatTheProviderDoesNotRun: every refusal names its field, before anything
// runs: images not offered, limits beyond the units paid for (a descriptor cannot raise its
// own limits), ports other than SSH, cloud-config modules that manage a container's disks,
// mounts or power (the provider's), user data cloud-init would not get as it is.
func TestPlanRefusesWhatTheProviderDoesNotRun(t *testing.T) {
	d := testDriver(t)
	const base = `"name":"m","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5`
	for _, c := range []struct {
		name, doc string
		units     int64
		want      []string
	}{
		{"image", `{"name":"m","image":"ubuntu-24.04","cpus":1,"memoryMiB":512,"diskGiB":5}`, 1, []string{`image: "ubuntu-24.04" is not offered by this provider (offered: debian-12)`}},
		{"limits beyond units", `{"name":"m","image":"debian-12","cpus":3,"memoryMiB":4096,"diskGiB":25}`, 2, []string{
			"cpus: 3 needs 3 unit(s) (one buys 1); the subscription pays for 2",
			"memoryMiB: 4096 needs 4 unit(s) (one buys 1024); the subscription pays for 2",
			"diskGiB: 25 needs 3 unit(s) (one buys 10); the subscription pays for 2"}},
		{"ports", `{` + base + `,"ports":[80]}`, 1, []string{"ports: this provider publishes only SSH"}},
		{"host mounts", `{` + base + `,"userData":"#cloud-config\nmounts:\n  - [/, /host]\n"}`, 1, []string{"userData.mounts: not supported by this provider: a machine's disks, mounts and power are its container's"}},
		{"disks and power", `{` + base + `,"userData":"#cloud-config\nbootcmd: [x]\ndisk_setup: {}\npower_state: {mode: poweroff}\n"}`, 1, []string{"userData.disk_setup: not supported", "userData.power_state: not supported"}},
		{"not yaml", `{` + base + `,"userData":"#cloud-config\n[\n"}`, 1, []string{"userData: not a YAML document"}},
		{"not a mapping", `{` + base + `,"userData":"#cloud-config\n- a\n"}`, 1, []string{"userData: want a #cloud-config mapping"}},
		{"other kinds", `{` + base + `,"userData":"#include\nhttps://example.net/x\n"}`, 1, []string{"userData: want a #cloud-config document or a #! script"}},
		{"bad key", `{` + base + `,"sshAuthorizedKeys":["ssh-ed25519 AAAA"]}`, 1, []string{"sshAuthorizedKeys[0]: not an OpenSSH public key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := d.Check(deployment(t, c.units, c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if ps := problem.Of(err); ps == nil {
				t.Fatalf("not an invalid descriptor: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
	t.Run("no key at all", func(t *testing.T) {
		dep := deployment(t, 1, `{`+base+`}`)
		dep.Consumer.SshPublicKey = nil
		if err := d.Check(dep); err == nil || !strings.Contains(err.Error(), "sshAuthorizedKeys: nobody could log in") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("accepted at the unit bound", func(t *testing.T) {
		if err := d.Check(deployment(t, 2, `{"name":"m","image":"debian-12","cpus":2,"memoryMiB":2048,"diskGiB":20,"userData":"#!/bin/sh\ntrue\n"}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("modules cloud-init applies in a container", func(t *testing.T) {
		if err := d.Check(deployment(t, 1, `{`+base+`,"userData":"#cloud-config\nbootcmd: [x]\napt: {}\nntp: {}\n"}`)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSeedIsTheSharedUserData: a machine's NoCloud seed is the user data every cloud-init/v1
// driver sends (the descriptor's userData untouched, then the driver's part with the host
// key whose fingerprint the seed carries) and meta-data naming the instance by deployment.
func TestSeedIsTheSharedUserData(t *testing.T) {
	d := testDriver(t)
	const ud = "#cloud-config\nruncmd: [[touch, /tmp/x]]\n"
	s, err := d.plan(deployment(t, 1, `{"name":"seeded","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5,"userData":`+strconv.Quote(ud)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Image != "localhost/dinfra/machine:x" || s.Hostname != "seeded" || s.CPUs != 1 || s.MemoryMiB != 512 {
		t.Errorf("seed %+v", s)
	}
	if string(s.MetaData) != `{"instance-id":"m1","local-hostname":"seeded"}` {
		t.Errorf("meta-data %s", s.MetaData)
	}
	if !strings.Contains(string(s.UserData), "Content-Type: multipart/mixed") || !strings.Contains(string(s.UserData), ud) {
		t.Errorf("user data lacks the multipart header or the consumer's part:\n%s", s.UserData)
	}
	i := strings.Index(string(s.UserData), "ed25519_public: ")
	if i < 0 {
		t.Fatalf("no host key in the user data:\n%s", s.UserData)
	}
	line, _, _ := strings.Cut(string(s.UserData[i+len("ed25519_public: "):]), "\n")
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil || ssh.FingerprintSHA256(pub) != s.HostKey {
		t.Errorf("host key %q: %v, want fingerprint %s", line, err, s.HostKey)
	}
}
