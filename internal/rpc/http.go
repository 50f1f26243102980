package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

type httpTransport struct {
	url     string
	header  http.Header
	client  *http.Client
	maxBody int64
}

func newHTTPTransport(endpoint string, o options) *httpTransport {
	c := o.httpClient
	if c == nil {
		c = &http.Client{Timeout: 60 * time.Second}
	}
	return &httpTransport{url: endpoint, header: o.header, client: c, maxBody: o.maxMessage}
}

func (t *httpTransport) roundTrip(ctx context.Context, msg []byte, ids int) ([]*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > t.maxBody {
		return nil, fmt.Errorf("response larger than %d bytes", t.maxBody)
	}
	resps, perr := parseResponses(body)
	if perr != nil {
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("http status %s: %s", resp.Status, snippet(body))
		}
		return nil, perr
	}
	if len(resps) == 0 || (ids == 1 && len(resps) != 1) {
		return nil, errors.New("unexpected number of responses")
	}
	return resps, nil
}

func (t *httpTransport) close() error {
	t.client.CloseIdleConnections()
	return nil
}

// snippet shortens a body for an error message.
func snippet(b []byte) string {
	const max = 200
	b = bytes.TrimSpace(b)
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
