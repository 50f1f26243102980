package cloudinit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/problem"
)

// UserData is what a machine's cloud-init gets (every driver sends the same; CloudStack
// takes it base64-encoded): a multipart/mixed document (cloud-init's own format for
// several parts) with the consumer's userData untouched, then the driver's #cloud-config.
// The driver's part comes last and merges into the consumer's with
// dict(recurse_array)+list(append): its host name and host key win, and its "dinfra"
// account is added to any users the consumer lists.
func UserData(r *Request, hostKeyPEM, hostKeyPublic string) ([]byte, error) {
	own := map[string]any{
		"hostname":        r.Name,
		"ssh_deletekeys":  true,
		"ssh_genkeytypes": []string{},
		"ssh_keys":        map[string]string{"ed25519_private": hostKeyPEM, "ed25519_public": hostKeyPublic},
		"users": []any{"default", map[string]any{
			"name": DefaultUser, "shell": "/bin/bash", "lock_passwd": true,
			"sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": r.AuthorizedKeys,
		}},
		"merge_how": "dict(recurse_array)+list(append)",
	}
	y, err := yaml.Marshal(own)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\nMIME-Version: 1.0\r\n\r\n", w.Boundary())
	type part struct{ typ, body string }
	var parts []part
	switch {
	case strings.HasPrefix(r.UserData, cloudConfigHeader):
		parts = append(parts, part{"text/cloud-config", r.UserData})
	case strings.HasPrefix(r.UserData, "#!"):
		parts = append(parts, part{"text/x-shellscript", r.UserData})
	}
	parts = append(parts, part{"text/cloud-config", cloudConfigHeader + "\n" + string(y)})
	for i, p := range parts {
		pw, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":        {p.typ + `; charset="utf-8"`},
			"Content-Disposition": {fmt.Sprintf(`attachment; filename="part-%d"`, i+1)},
		})
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write([]byte(p.body)); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

const cloudConfigHeader = "#cloud-config"

// CloudConfig returns the top-level keys of userData when it is a #cloud-config document
// (nil for a #! script or none). Other kinds cloud-init knows (#include, #cloud-boothook,
// MIME, gzip) are refused: the drivers send only these two, and cloud-init itself checks
// what the modules get (its schema warnings are in the machine's /var/log/cloud-init.log).
func CloudConfig(userData string) (map[string]json.RawMessage, problem.List) {
	bad := func(format string, args ...any) problem.List {
		return problem.List{{Field: "userData", Reason: fmt.Sprintf(format, args...)}}
	}
	switch {
	case userData == "", strings.HasPrefix(userData, "#!"):
		return nil, nil
	case !strings.HasPrefix(userData, cloudConfigHeader+"\n"):
		return nil, bad("want a #cloud-config document or a #! script (the first line says which)")
	}
	doc, err := yaml.YAMLToJSON([]byte(userData))
	if err != nil {
		return nil, bad("not a YAML document: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, bad("want a #cloud-config mapping")
	}
	return top, nil
}
