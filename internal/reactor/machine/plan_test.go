package machine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
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

func aliceKey(t *testing.T) *string {
	t.Helper()
	p, err := keyring.Dev(keyring.Ed25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	k, err := p.SSHAuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	return &k
}

func deployment(t *testing.T, units int64, doc string) reactor.Deployment {
	return reactor.Deployment{ID: "m1", Type: descriptor.TypeCloudInit, Descriptor: []byte(doc), Units: units,
		Consumer: api.Consumer{Address: "5x", SshPublicKey: aliceKey(t)}}
}

// TestPlanRefusesWhatTheProviderDoesNotRun: every refusal names its field, before anything
// runs: images not offered, limits beyond the units paid for (a descriptor cannot raise its
// own limits), ports other than SSH, cloud-config modules that would reach the provider's
// machine (mounts, disk_setup) or that this driver does not apply, malformed entries.
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
		{"host mounts", `{` + base + `,"userData":"#cloud-config\nmounts:\n  - [/, /host]\n"}`, 1, []string{"userData.mounts: not supported by this provider (supported: packages, users, write_files, runcmd)"}},
		{"bootcmd and disk_setup", `{` + base + `,"userData":"#cloud-config\nbootcmd: [x]\ndisk_setup: {}\n"}`, 1, []string{"userData.bootcmd: not supported", "userData.disk_setup: not supported"}},
		{"bad entries", `{` + base + `,"userData":"#cloud-config\nusers:\n  - name: root\n  - name: ok\n    passwd: x\nwrite_files:\n  - path: etc/x\n    permissions: rw\n    encoding: gzip\npackages: [\"a b\"]\n"}`, 1, []string{
			"userData.users: unknown field \"passwd\""}},
		{"bad values", `{` + base + `,"userData":"#cloud-config\nusers:\n  - name: root\nwrite_files:\n  - path: etc/x\n    permissions: rw\n    encoding: gzip\npackages: [\"a b\"]\n"}`, 1, []string{
			`userData.packages[0]: "a b" is not a Debian package name`, "userData.users[0].name: root is the machine's own account",
			"userData.write_files[0].path: want a clean absolute path", "userData.write_files[0].encoding", "userData.write_files[0].permissions"}},
		{"not yaml", `{` + base + `,"userData":"#cloud-config\n[\n"}`, 1, []string{"userData: not a YAML document"}},
		{"bad key", `{` + base + `,"sshAuthorizedKeys":["ssh-ed25519 AAAA"]}`, 1, []string{"sshAuthorizedKeys[0]: not an OpenSSH public key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := d.Check(deployment(t, c.units, c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if ps := descriptor.Problems(err); ps == nil {
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
}

// TestCloudConfigScriptRuns renders write_files and runcmd and runs the script with bash
// in a temporary directory (users and packages need a machine: test/machines): the files
// land with their modes and encodings, runcmd runs in order in both its forms, a failing
// step does not stop the rest and makes the script fail.
func TestCloudConfigScriptRuns(t *testing.T) {
	dir := t.TempDir()
	doc := "#cloud-config\n" +
		"write_files:\n" +
		"  - path: " + dir + "/a/plain\n    content: \"it's plain\\n\"\n    permissions: '0640'\n" +
		"  - path: " + dir + "/b64\n    encoding: b64\n    content: aGVsbG8=\n" +
		"  - path: " + dir + "/b64\n    content: \" again\"\n    append: true\n" +
		"runcmd:\n  - echo one >> " + dir + "/order\n  - [sh, -c, 'echo two >> " + dir + "/order']\n  - exit 3\n  - echo three >> " + dir + "/order\n"
	script, ps := firstBoot(doc)
	if ps != nil {
		t.Fatal(ps)
	}
	out, err := exec.Command("bash", "-c", string(script)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cloud-config: runcmd[2]") {
		t.Fatalf("want the failing step reported and a non-zero exit: err=%v out=%s", err, out)
	}
	for file, want := range map[string]string{"a/plain": "it's plain\n", "b64": "hello again", "order": "one\ntwo\nthree\n"} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", file, got, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "a/plain")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode of a/plain: %v %v", st.Mode(), err)
	}
}
