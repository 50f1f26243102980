package cloudstack

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

// userData is what the machine's cloud-init gets, base64-encoded as CloudStack takes it: a
// multipart/mixed document (cloud-init's own format for several parts) with the consumer's
// userData untouched, then the driver's #cloud-config. The driver's part comes last and
// merges into the consumer's with dict(recurse_array)+list(append): its host name and host
// key win, and its "dinfra" account is added to any users the consumer lists.
func userData(r *cloudinit.Request, hostKeyPEM, hostKeyPublic string) (string, error) {
	own := map[string]any{
		"hostname":        r.Name,
		"ssh_deletekeys":  true,
		"ssh_genkeytypes": []string{},
		"ssh_keys":        map[string]string{"ed25519_private": hostKeyPEM, "ed25519_public": hostKeyPublic},
		"users": []any{"default", map[string]any{
			"name": cloudinit.DefaultUser, "shell": "/bin/bash", "lock_passwd": true,
			"sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": r.AuthorizedKeys,
		}},
		"merge_how": "dict(recurse_array)+list(append)",
	}
	y, err := yaml.Marshal(own)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\nMIME-Version: 1.0\r\n\r\n", w.Boundary())
	type part struct{ typ, body string }
	var parts []part
	switch {
	case strings.HasPrefix(r.UserData, "#cloud-config"):
		parts = append(parts, part{"text/cloud-config", r.UserData})
	case strings.HasPrefix(r.UserData, "#!"):
		parts = append(parts, part{"text/x-shellscript", r.UserData})
	}
	parts = append(parts, part{"text/cloud-config", "#cloud-config\n" + string(y)})
	for i, p := range parts {
		pw, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":        {p.typ + `; charset="utf-8"`},
			"Content-Disposition": {fmt.Sprintf(`attachment; filename="part-%d"`, i+1)},
		})
		if err != nil {
			return "", err
		}
		if _, err := pw.Write([]byte(p.body)); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), nil
}
