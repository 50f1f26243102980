package descriptor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/ipfs/go-cid"
)

// KuboStore keeps descriptors on an IPFS node through its Kubo RPC API (`/api/v0`). Put
// uses `add` with the options that make IPFS's CID equal to ours and refuses the result if
// the node computes a different CID; Get fetches the raw block and verifies it.
type KuboStore struct {
	api           *url.URL
	client        *http.Client
	authorization string
}

// KuboOption configures a KuboStore.
type KuboOption func(*KuboStore)

// WithHTTPClient sets the HTTP client (timeouts, TLS).
func WithHTTPClient(c *http.Client) KuboOption { return func(s *KuboStore) { s.client = c } }

// WithAuthorization sets the Authorization header value sent with every call, for nodes
// that protect their RPC API with API.Authorizations. It is never logged.
func WithAuthorization(v string) KuboOption { return func(s *KuboStore) { s.authorization = v } }

// NewKuboStore returns a store for the Kubo RPC API at apiURL (e.g. http://127.0.0.1:5001).
func NewKuboStore(apiURL string, opts ...KuboOption) (*KuboStore, error) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kubo API URL %q: want http(s)://host:port", apiURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v0/"
	s := &KuboStore{api: u, client: http.DefaultClient}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Put adds data as a single raw block, pinned.
func (s *KuboStore) Put(ctx context.Context, data []byte) (cid.Cid, error) {
	want, err := CID(data)
	if err != nil {
		return cid.Undef, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", want.String())
	if err != nil {
		return cid.Undef, fmt.Errorf("kubo add: %w", err)
	}
	if _, err := fw.Write(data); err != nil {
		return cid.Undef, fmt.Errorf("kubo add: %w", err)
	}
	if err := mw.Close(); err != nil {
		return cid.Undef, fmt.Errorf("kubo add: %w", err)
	}
	q := url.Values{"cid-version": {"1"}, "raw-leaves": {"true"}, "pin": {"true"}, "hash": {"sha2-256"}}
	resp, err := s.call(ctx, "add", q, mw.FormDataContentType(), &body)
	if err != nil {
		return cid.Undef, err
	}
	defer resp.Body.Close()
	var added struct{ Hash string }
	if err := json.NewDecoder(resp.Body).Decode(&added); err != nil {
		return cid.Undef, fmt.Errorf("kubo add: decode response: %w", err)
	}
	if added.Hash != want.String() {
		return cid.Undef, fmt.Errorf("kubo add: %w: node says %s, computed %s", ErrCIDMismatch, added.Hash, want)
	}
	return want, nil
}

// Get fetches the block named by c. It never asks the network: a node running with
// --offline answers from its own blocks, an online node may search for it.
func (s *KuboStore) Get(ctx context.Context, c cid.Cid) ([]byte, error) {
	resp, err := s.call(ctx, "block/get", url.Values{"arg": {c.String()}}, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("kubo block/get %s: %w", c, err)
	}
	if err := Verify(c, data); err != nil {
		return nil, fmt.Errorf("kubo block/get: %w", err)
	}
	return data, nil
}

// call POSTs to an RPC command and returns the response when it is 200 OK.
func (s *KuboStore) call(ctx context.Context, cmd string, q url.Values, contentType string, body io.Reader) (*http.Response, error) {
	u := s.api.JoinPath(cmd)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("kubo %s: %w", cmd, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.authorization != "" {
		req.Header.Set("Authorization", s.authorization)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("kubo %s: %w", cmd, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var kerr struct{ Message string }
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(raw, &kerr) != nil || kerr.Message == "" {
		kerr.Message = strings.TrimSpace(string(raw))
	}
	if isNotFound(kerr.Message) {
		return nil, fmt.Errorf("%w: kubo %s: %s", ErrNotFound, cmd, kerr.Message)
	}
	return nil, fmt.Errorf("kubo %s: HTTP %d: %s", cmd, resp.StatusCode, kerr.Message)
}

// isNotFound recognises kubo's answers for a block it does not have while offline.
func isNotFound(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "not found") || strings.Contains(msg, "offline mode")
}
