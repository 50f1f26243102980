package machine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

// cloudConfig is the part of cloud-init's #cloud-config this driver applies. Every other
// module (bootcmd, mounts, disk_setup, ...) is refused by name: the machine would silently
// differ from what the consumer asked for, and some reach for the provider's machine.
type cloudConfig struct {
	Packages   []string    `json:"packages"`
	Users      []user      `json:"users"`
	WriteFiles []writeFile `json:"write_files"`
	Runcmd     []command   `json:"runcmd"`
}

var cloudConfigKeys = []string{"packages", "users", "write_files", "runcmd"}

// user is one entry of users: "default" (the machine's dinfra user, always created) or an
// account to add.
type user struct {
	Default           bool
	Name              string      `json:"name"`
	Gecos             string      `json:"gecos"`
	Shell             string      `json:"shell"`
	Groups            stringOrSeq `json:"groups"`
	Sudo              stringOrSeq `json:"sudo"`
	SSHAuthorizedKeys []string    `json:"ssh_authorized_keys"`
	LockPasswd        *bool       `json:"lock_passwd"`
}

type writeFile struct {
	Path        string `json:"path"`
	Content     string `json:"content"`
	Encoding    string `json:"encoding"`
	Permissions string `json:"permissions"`
	Owner       string `json:"owner"`
	Append      bool   `json:"append"`
	Defer       bool   `json:"defer"`
}

// command is a runcmd entry: a string run by sh, or an argument list run as is.
type command struct {
	Shell string
	Argv  []string
}

// stringOrSeq is cloud-init's "a string or a list of strings" (groups: "a, b" or [a, b]).
type stringOrSeq []string

func (s *stringOrSeq) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		for _, p := range strings.Split(one, ",") {
			if p = strings.TrimSpace(p); p != "" {
				*s = append(*s, p)
			}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*s = many
	return nil
}

func (u *user) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		if name != "default" {
			return fmt.Errorf("want \"default\" or a user object, got %q", name)
		}
		u.Default = true
		return nil
	}
	type plain user
	return strictDecode(b, (*plain)(u))
}

func (w *writeFile) UnmarshalJSON(b []byte) error {
	type plain writeFile
	return strictDecode(b, (*plain)(w))
}

func (c *command) UnmarshalJSON(b []byte) error {
	if json.Unmarshal(b, &c.Shell) == nil {
		return nil
	}
	if err := json.Unmarshal(b, &c.Argv); err != nil || len(c.Argv) == 0 {
		return errors.New("want a command string or a non-empty list of arguments")
	}
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

var (
	userName   = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	fileMode   = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	fileOwner  = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?$`)
	pkgName    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	reserved   = map[string]bool{"root": true, cloudinit.DefaultUser: true}
	shellPaths = regexp.MustCompile(`^/[A-Za-z0-9/_.-]+$`)
)

// firstBoot turns a descriptor's userData into the script the machine runs at first boot:
// a #! script as it is, a #cloud-config document rendered into a bash script. Problems are
// reported with paths under userData.
func firstBoot(userData string) ([]byte, []descriptor.Problem) {
	if userData == "" || strings.HasPrefix(userData, "#!") {
		return []byte(userData), nil
	}
	var ps []descriptor.Problem
	bad := func(p, format string, args ...any) {
		ps = append(ps, descriptor.Problem{Path: "userData" + p, Reason: fmt.Sprintf(format, args...)})
	}
	doc, err := yaml.YAMLToJSON([]byte(userData))
	if err != nil {
		bad("", "not a YAML document: %v", err)
		return nil, ps
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		bad("", "want a #cloud-config mapping")
		return nil, ps
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cc cloudConfig
	fields := map[string]any{"packages": &cc.Packages, "users": &cc.Users, "write_files": &cc.WriteFiles, "runcmd": &cc.Runcmd}
	for _, k := range keys {
		dst, ok := fields[k]
		if !ok {
			bad("."+k, "not supported by this provider (supported: %s)", strings.Join(cloudConfigKeys, ", "))
			continue
		}
		if err := json.Unmarshal(top[k], dst); err != nil {
			bad("."+k, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	for i, p := range cc.Packages {
		if !pkgName.MatchString(p) {
			bad(fmt.Sprintf(".packages[%d]", i), "%q is not a Debian package name", p)
		}
	}
	for i, u := range cc.Users {
		at := fmt.Sprintf(".users[%d]", i)
		switch {
		case u.Default:
		case !userName.MatchString(u.Name):
			bad(at+".name", "want a user name of lower-case letters, digits, _ and - (at most 32)")
		case reserved[u.Name]:
			bad(at+".name", "%s is the machine's own account", u.Name)
		}
		if u.Shell != "" && !shellPaths.MatchString(u.Shell) {
			bad(at+".shell", "want an absolute path")
		}
		for j, g := range u.Groups {
			if !userName.MatchString(g) {
				bad(fmt.Sprintf("%s.groups[%d]", at, j), "%q is not a group name", g)
			}
		}
		for j, s := range u.Sudo {
			if strings.ContainsAny(s, "\n\\") {
				bad(fmt.Sprintf("%s.sudo[%d]", at, j), "one sudoers rule per entry, without backslashes")
			}
		}
		for j, k := range u.SSHAuthorizedKeys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil || strings.Contains(k, "\n") {
				bad(fmt.Sprintf("%s.ssh_authorized_keys[%d]", at, j), "not an OpenSSH public key")
			}
		}
	}
	for i, f := range cc.WriteFiles {
		at := fmt.Sprintf(".write_files[%d]", i)
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			bad(at+".path", "want a clean absolute path")
		}
		switch f.Encoding {
		case "", "text/plain":
		case "b64", "base64":
			if _, err := base64.StdEncoding.DecodeString(f.Content); err != nil {
				bad(at+".content", "not base64: %v", err)
			}
		default:
			bad(at+".encoding", "%q: want b64 or text/plain (gzip is not supported)", f.Encoding)
		}
		if f.Permissions != "" && !fileMode.MatchString(f.Permissions) {
			bad(at+".permissions", "want an octal mode such as 0644")
		}
		if f.Owner != "" && !fileOwner.MatchString(f.Owner) {
			bad(at+".owner", "want user or user:group")
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return cc.script(), nil
}

// script renders the cloud-config in cloud-init's order (packages, users, files, runcmd).
// A failed step is logged and the next one runs, as cloud-init does; the script exits
// non-zero when any step failed.
func (cc *cloudConfig) script() []byte {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# Rendered from #cloud-config by the DINFRA machine driver.\nstatus=0\nfail() { echo \"cloud-config: $*\" >&2; status=1; }\n")
	if len(cc.Packages) > 0 {
		// Packages already in the image are there; others need the machine's package
		// mirror, which a machine without outbound network does not reach.
		fmt.Fprintf(&b, "missing=()\nfor p in %s; do dpkg-query -W -f '${Status}' \"$p\" 2>/dev/null | grep -q 'ok installed' || missing+=(\"$p\"); done\n", quoteAll(cc.Packages))
		b.WriteString("if ((${#missing[@]})); then\n  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \"${missing[@]}\"; } || fail \"packages: could not install ${missing[*]}\"\nfi\n")
	}
	for _, u := range cc.Users {
		if u.Default {
			continue
		}
		shell := u.Shell
		if shell == "" {
			shell = "/bin/bash"
		}
		n := quote(u.Name)
		for _, g := range u.Groups {
			fmt.Fprintf(&b, "getent group %s >/dev/null || groupadd %s || fail 'users: group %s'\n", quote(g), quote(g), g)
		}
		groups := ""
		if len(u.Groups) > 0 {
			groups = " --groups " + quote(strings.Join(u.Groups, ","))
		}
		fmt.Fprintf(&b, "id %s >/dev/null 2>&1 || useradd --create-home --password '*' --shell %s --comment %s%s %s || fail 'users: %s'\n", n, quote(shell), quote(u.Gecos), groups, n, u.Name)
		if len(u.Sudo) > 0 {
			var rules strings.Builder
			for _, s := range u.Sudo {
				fmt.Fprintf(&rules, "%s %s\n", u.Name, s)
			}
			fmt.Fprintf(&b, "install -m 0440 /dev/null /etc/sudoers.d/90-user-%s && printf %%s %s >/etc/sudoers.d/90-user-%s\n", u.Name, quote(rules.String()), u.Name)
		}
		if len(u.SSHAuthorizedKeys) > 0 {
			fmt.Fprintf(&b, "install -d -m 0700 -o %s -g %s ~%s/.ssh && printf '%%s\\n' %s >>~%s/.ssh/authorized_keys && chown %s: ~%s/.ssh/authorized_keys && chmod 0600 ~%s/.ssh/authorized_keys || fail 'users: keys of %s'\n",
				n, n, u.Name, quoteAll(u.SSHAuthorizedKeys), u.Name, n, u.Name, u.Name, u.Name)
		}
	}
	for _, f := range cc.WriteFiles {
		content := f.Content
		if f.Encoding == "" || f.Encoding == "text/plain" {
			content = base64.StdEncoding.EncodeToString([]byte(f.Content))
		}
		redirect := ">"
		if f.Append {
			redirect = ">>"
		}
		p := quote(f.Path)
		fmt.Fprintf(&b, "{ mkdir -p \"$(dirname %s)\" && printf %%s %s | base64 -d %s%s", p, quote(content), redirect, p)
		if f.Permissions != "" {
			fmt.Fprintf(&b, " && chmod %s %s", f.Permissions, p)
		}
		if f.Owner != "" {
			fmt.Fprintf(&b, " && chown %s %s", quote(f.Owner), p)
		}
		fmt.Fprintf(&b, "; } || fail %s\n", quote("write_files: "+f.Path))
	}
	for i, c := range cc.Runcmd {
		line := quoteAll(c.Argv)
		if c.Argv == nil {
			line = "sh -c " + quote(c.Shell)
		}
		fmt.Fprintf(&b, "%s || fail 'runcmd[%d]'\n", line, i)
	}
	b.WriteString("exit $status\n")
	return []byte(b.String())
}

// quote makes s one shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func quoteAll(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return strings.Join(out, " ")
}
