// Package chainspec loads and checks Substrate chain spec files before anything uses them:
// `onf up` before it stores a network, `onf render` before it embeds a file in a ConfigMap,
// and DINFRA reactors before they fetch a consumer's URL.
//
// A chain spec is accepted when it is at most a size cap (Options.MaxBytes, DefaultMaxBytes
// by default) and parses as a JSON object with a non-empty "name" and "id" and a "genesis"
// object, the fields every polkadot-sdk and gossamer chain spec has. Anything else (a
// directory, /etc/shadow, an HTML error page, a truncated download) is refused with the
// reason, and nothing of it is returned.
//
// The API:
//
//	Check(data) (Header, error)              // is this a chain spec?
//	ReadFile(path, opts) ([]byte, error)     // a regular file, capped, checked
//	Fetch(ctx, url, opts) ([]byte, error)    // an http(s) URL, timed out, capped, checked
//	FetchFile(ctx, url, opts) ([]byte, error) // another file (a runtime), checked by opts.SHA256
//	Pack(data, partSize) [][]byte            // gzip, split in parts that fit in ConfigMaps
//	Unpack(parts, opts) ([]byte, error)      // joined, gunzipped, capped, checked
//
// With Options.SHA256 set, content whose sha256 differs is refused before anything else.
//
// Fetch bounds the whole request by Options.Timeout (DefaultTimeout) and the caller's ctx,
// refuses redirects unless Options.FollowRedirects, and with Options.DenyPrivate refuses to
// connect to loopback, private, link-local, CGNAT, unspecified, multicast and other
// non-public addresses: the check runs in net.Dialer.Control on the address actually
// dialled, after DNS resolution, so neither a name resolving to 127.0.0.1 nor a redirect
// nor DNS rebinding gets past it. Options.AllowPrefixes exempts chosen destination ranges
// (a provider's own mirror) and Options.AllowHosts, when set, is the only host names Fetch
// will ask. A reactor fetching a consumer-supplied URL uses
//
//	chainspec.Fetch(ctx, url, chainspec.Options{DenyPrivate: true})
package chainspec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// DefaultMaxBytes caps a chain spec: real raw relay chain specs are 2 to 10 MiB.
const DefaultMaxBytes = 64 << 20

// Header is what Check read from a chain spec.
type Header struct {
	Name      string `json:"name"`
	ID        string `json:"id"`
	ChainType string `json:"chainType,omitempty"`
}

// Check says whether data is a chain spec: a JSON object with a non-empty name and id and a
// genesis object.
func Check(data []byte) (Header, error) {
	var spec struct {
		Header
		Genesis json.RawMessage `json:"genesis"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return Header{}, fmt.Errorf("not a chain spec: %w", jsonError(err))
	}
	var missing []string
	if spec.Name == "" {
		missing = append(missing, `"name"`)
	}
	if spec.ID == "" {
		missing = append(missing, `"id"`)
	}
	if g := bytes.TrimSpace(spec.Genesis); len(g) == 0 || g[0] != '{' {
		missing = append(missing, `"genesis" object`)
	}
	if len(missing) > 0 {
		return Header{}, fmt.Errorf("not a chain spec: no %v", missing)
	}
	return spec.Header, nil
}

// jsonError keeps the reason of a JSON error and drops the Go type names it may carry.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("%s where a chain spec has an object or string (offset %d)", typeErr.Value, typeErr.Offset)
	}
	return err
}

// ReadFile reads a chain spec file: it must be a regular file (symbolic links are followed)
// of at most opts.MaxBytes that Check accepts.
func ReadFile(path string, opts Options) ([]byte, error) {
	// Non-blocking, so that a FIFO named as a chain spec is refused instead of waited on.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, info.Mode().Type())
	}
	data, err := readCapped(f, opts.maxBytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := accept(data, opts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// accept is what makes data a usable chain spec: the checksum opts names (if any), then Check.
func accept(data []byte, opts Options) error {
	if err := verifySum(data, opts); err != nil {
		return err
	}
	_, err := Check(data)
	return err
}

// verifySum refuses data whose sha256 is not opts.SHA256 (when set).
func verifySum(data []byte, opts Options) error {
	if opts.SHA256 == "" {
		return nil
	}
	if got := SHA256(data); got != opts.SHA256 {
		return fmt.Errorf("sha256 is %s, want %s: the file changed or was tampered with", got, opts.SHA256)
	}
	return nil
}

// SHA256 is data's sha256 in lower-case hex, the form spec fields hold.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// readCapped reads r to its end, refusing more than max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than the chain spec size limit of %d bytes", max)
	}
	return data, nil
}
