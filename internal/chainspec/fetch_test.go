package chainspec

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// serve runs a loopback HTTP server on addr ("127.0.0.1:0" unless given).
func serve(t *testing.T, addr string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func specHandler(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(minimalSpec)) }

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	good := serve(t, "127.0.0.1:0", specHandler)
	if data, err := Fetch(ctx, good.URL, Options{}); err != nil || string(data) != minimalSpec {
		t.Fatalf("Fetch = %q, %v", data, err)
	}
	// Servers that accept and never answer, or never finish, until the client hangs up.
	silent := serve(t, "127.0.0.1:0", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	trickle := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	redirect := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, good.URL+"/spec.json?token=secret", http.StatusFound)
	})
	big := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"name":"` + strings.Repeat("x", 4096) + `"}`))
	})
	html := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>maintenance</html>")) })
	missing := serve(t, "127.0.0.1:0", http.NotFound)

	short := 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		url  string
		opts Options
		want string
	}{
		{"no answer", silent.URL, Options{Timeout: short}, "no answer within 300ms"},
		{"body never ends", trickle.URL, Options{Timeout: short}, "body not received within 300ms"},
		{"redirect", redirect.URL, Options{}, "302 Found: redirects are not followed (to " + good.URL + "/spec.json?...)"},
		{"too large", big.URL, Options{MaxBytes: 1024}, "larger than the chain spec size limit of 1024 bytes"},
		{"not a chain spec", html.URL, Options{}, "not a chain spec"},
		{"404", missing.URL, Options{}, "404 Not Found"},
		{"file scheme", "file:///etc/shadow", Options{}, `want an http or https URL, got scheme "file"`},
		{"no host", "http:///spec.json", Options{}, "no host"},
		{"host not allowed", good.URL, Options{AllowHosts: []string{"chains.example.org"}}, `host "127.0.0.1" is not in the allowed hosts`},
		{"loopback denied", good.URL, Options{DenyPrivate: true}, "127.0.0.1 is not a public address"},
		{"localhost denied", strings.Replace(good.URL, "127.0.0.1", "localhost", 1), Options{DenyPrivate: true}, "is not a public address"},
		{"password redacted", strings.Replace(missing.URL, "http://", "http://user:hunter2@", 1), Options{}, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			data, err := Fetch(ctx, tc.url, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || data != nil {
				t.Fatalf("Fetch = %d bytes, %v; want an error containing %q", len(data), err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "token=secret") {
				t.Errorf("error shows a secret: %v", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}

	// Redirects, when followed, are checked hop by hop: 127.0.0.1 is allowed, 127.0.0.2 is not.
	if data, err := Fetch(ctx, redirect.URL, Options{FollowRedirects: true}); err != nil || string(data) != minimalSpec {
		t.Errorf("Fetch following a redirect = %q, %v", data, err)
	}
	other := serve(t, "127.0.0.2:0", specHandler)
	toOther := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusFound)
	})
	opts := Options{FollowRedirects: true, DenyPrivate: true, AllowPrefixes: loopback}
	if _, err := Fetch(ctx, good.URL, opts); err != nil {
		t.Errorf("Fetch from an allowed prefix: %v", err)
	}
	if _, err := Fetch(ctx, toOther.URL, opts); err == nil || !strings.Contains(err.Error(), "127.0.0.2 is not a public address") {
		t.Errorf("Fetch redirected to a denied address = %v", err)
	}
	opts = Options{FollowRedirects: true, AllowHosts: []string{"127.0.0.1"}}
	if _, err := Fetch(ctx, toOther.URL, opts); err == nil || !strings.Contains(err.Error(), `host "127.0.0.2" is not in the allowed hosts`) {
		t.Errorf("Fetch redirected to a host not allowed = %v", err)
	}
}

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "127.1.2.3": false, "::1": false, "0.0.0.0": false, "::": false,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "fd00::1": false,
		"169.254.169.254": false, "fe80::1": false, "100.64.0.1": false, "224.0.0.1": false,
		"ff02::1": false, "255.255.255.255": false, "64:ff9b::7f00:1": false, "2002:7f00:1::": false,
		"::ffff:127.0.0.1": false, "::127.0.0.1": false, "192.0.2.1": false,
	} {
		a := netip.MustParseAddr(addr).Unmap()
		if got := public(a); got != want {
			t.Errorf("public(%s) = %t, want %t", addr, got, want)
		}
	}
}
