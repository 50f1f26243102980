package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

const token = "conformance-token"

// breakage rewrites a real reactor's answer to one request: a deliberately broken reactor.
type breakage func(r *http.Request, status int, body []byte) (int, []byte)

// serve runs the reactor framework over an in-memory driver behind brk.
func serve(t *testing.T, d *reactortest.Driver, brk breakage) string {
	t.Helper()
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: d, Registry: reg, Auth: reactor.Auth{Token: token},
		Logger: slog.New(slog.DiscardHandler), RetryMin: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		status, body := brk(r, rec.Code, rec.Body.Bytes())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs.URL
}

// rewrite decodes body into v, lets edit change it and encodes it again.
func rewrite[T any](body []byte, edit func(*T)) []byte {
	var v T
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	edit(&v)
	out, _ := json.Marshal(v)
	return out
}

// failing is a descriptor of the suite's sample type (substrate-network, the first
// built-in sample the in-memory driver serves) whose deploys that driver fails.
var failing = []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"failing"},
"spec":{"chain":{"builtin":"westend-dev"},"node":{"flavor":"gossamer"},
"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`)

func capabilities(r *http.Request) bool { return r.Method == "GET" && r.URL.Path == "/v1/capabilities" }
func getDeployment(r *http.Request) bool {
	return r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/deployments/")
}
func deploy(r *http.Request) bool {
	return r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/deployments/")
}

// TestOneLeakDoesNotCascade: a reactor that keeps a deployment for a request it rejected
// (unknown type, 422) fails that check, and the last one (its unit is never freed), but no
// check in between: every check uses an id of its own. The suite also survives answers
// without a JSON content type (it decodes them itself).
func TestOneLeakDoesNotCascade(t *testing.T) {
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: reactortest.NewDriver(3), Registry: reg, Auth: reactor.Auth{Token: token}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	valid := []byte(`{"name":"leak","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`)
	c, _ := descriptor.CID(valid)
	leak, _ := json.Marshal(api.DeployRequest{Type: descriptor.TypeCloudInit, DescriptorCid: c.String(), Descriptor: valid,
		Consumer: api.Consumer{Address: "5x"}, Subscription: api.Subscription{Units: 1}})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if deploy(r) && rec.Code == 422 {
			// The broken part: the rejected id is booked anyway.
			req := httptest.NewRequest("PUT", r.URL.Path, bytes.NewReader(leak))
			req.Header = r.Header.Clone()
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	report, err := conformance.Run(context.Background(), conformance.Config{URL: hs.URL, Token: token, DeployTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The leak is seen where it is made, and at the end, where its unit is still taken.
	leakSeen := map[string]bool{"unknown type is rejected with 422": true,
		"teardown is idempotent, refuses a redeploy meanwhile (409), removes the deployment and frees its capacity": true}
	for _, r := range report {
		if failed, want := r.Err != nil, leakSeen[r.Name]; failed != want {
			t.Errorf("%s: failed=%v (%v), want failed=%v", r.Name, failed, r.Err, want)
		}
	}
}

// TestConformanceFailsBrokenReactors: for each gap the suite once had, a reactor broken in
// that one way fails the check that covers it (and the unbroken one passes everything:
// internal/reactor's TestConformanceOfTheFramework).
func TestConformanceFailsBrokenReactors(t *testing.T) {
	const failedCheck = "a deployment that cannot run reaches Failed with a public reason, keeps its units until torn down, and is torn down"
	var leaked atomic.Int64
	for _, c := range []struct {
		name, check string
		brk         breakage
		// slowTeardowns: the first teardowns fail (and are retried), so deployments stay
		// Terminating long enough for the suite to see it.
		slowTeardowns int
	}{
		{"never frees capacity", "teardown is idempotent, refuses a redeploy meanwhile (409), removes the deployment and frees its capacity",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if deploy(r) && status == 202 {
					leaked.Add(1)
				}
				if capabilities(r) {
					body = rewrite(body, func(c *api.Capabilities) { c.Capacity.Free = max(c.Capacity.Free-leaked.Load(), 0) })
				}
				return status, body
			}, 0},
		{"never answers 507", "a deploy beyond the free capacity is rejected with 507",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if status == 507 {
					return 202, []byte(`{}`)
				}
				return status, body
			}, 0},
		{"sorts its list wrong", "list and capacity are consistent with the deployment",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if r.Method == "GET" && r.URL.Path == "/v1/deployments" {
					body = rewrite(body, func(l *api.DeploymentList) { slices.Reverse(l.Items) })
				}
				return status, body
			}, 0},
		{"advertises a wrong schema CID", "capabilities list served types and capacity",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if capabilities(r) {
					other, _ := descriptor.CID([]byte("another schema"))
					body = rewrite(body, func(c *api.Capabilities) {
						for i := range c.Types {
							c.Types[i].SchemaCid = other.String()
						}
					})
				}
				return status, body
			}, 0},
		{"accepts malformed requests", "malformed requests are rejected with 400",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if deploy(r) && bytes.Contains(body, []byte(`"bad_request"`)) {
					return 500, []byte(`{"code":"internal","message":"oops"}`)
				}
				return status, body
			}, 0},
		{"never reaches Failed", failedCheck,
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if getDeployment(r) {
					body = rewrite(body, func(d *api.Deployment) {
						if d.Phase == api.Failed {
							d.Phase, d.Message = api.Pending, nil
						}
					})
				}
				return status, body
			}, 0},
		{"publishes a provider-internal error", failedCheck,
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if getDeployment(r) {
					body = rewrite(body, func(d *api.Deployment) {
						if d.Phase == api.Failed {
							msg := "open /var/lib/reactor/hosts.json: permission denied"
							d.Message = &msg
						}
					})
				}
				return status, body
			}, 0},
		{"frees a failed deployment's units at once", failedCheck,
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if capabilities(r) {
					body = rewrite(body, func(c *api.Capabilities) { c.Capacity.Free = c.Capacity.Total })
				}
				return status, body
			}, 0},
		{"redeploys while tearing down", "teardown is idempotent, refuses a redeploy meanwhile (409), removes the deployment and frees its capacity",
			func(r *http.Request, status int, body []byte) (int, []byte) {
				if deploy(r) && status == 409 && bytes.Contains(body, []byte("being torn down")) {
					return 200, []byte(`{}`)
				}
				return status, body
			}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			leaked.Store(0)
			d := reactortest.NewDriver(3)
			d.FailTeardowns(c.slowTeardowns)
			cfg := conformance.Config{URL: serve(t, d, c.brk), Token: token, DeployTimeout: 2 * time.Second}
			if c.check == failedCheck {
				// Only here: its teardown would take the failures meant for slowTeardowns.
				fc, _ := descriptor.CID(failing)
				d.FailDeploysOf(fc)
				cfg.Failing = map[string][]byte{descriptor.TypeSubstrateNetwork: failing}
			}
			report, err := conformance.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range report {
				names = append(names, r.Name)
				if r.Name == c.check {
					if r.Err == nil {
						t.Fatalf("%q passed", c.check)
					}
					t.Logf("%s: %v", r.Name, r.Err)
					return
				}
			}
			t.Fatalf("no check %q in %q", c.check, names)
		})
	}
}
