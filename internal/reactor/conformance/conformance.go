// Package conformance checks that a Chain Reactor API implementation, in any language,
// behaves as api/reactor/openapi.yaml requires: authentication, idempotent deploy and
// teardown, rejections with the right status and reasons, and a list consistent with both.
package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
)

// Config says which reactor to check and how.
type Config struct {
	URL   string
	Token string
	HTTP  *http.Client
	// DeployTimeout bounds the wait for a deployment to run and to disappear after teardown.
	DeployTimeout time.Duration
	// Samples are candidate descriptors; the first whose type the reactor serves is used.
	// Empty: samples of the built-in types.
	Samples []Sample
	// Failing maps a type to a descriptor of it that the reactor accepts but cannot run
	// (what fails is the provider's: an image it lists whose template is gone, a size no
	// host has). Without one for the sample's type the Failed check is skipped.
	Failing map[string][]byte
}

// Result is the outcome of one check.
type Result struct {
	Name string
	Err  error
	// Skipped says why the check did not run (it neither passed nor failed).
	Skipped string
}

// Report lists every check in the order run.
type Report []Result

// Failed counts the checks that failed.
func (r Report) Failed() int {
	n := 0
	for _, c := range r {
		if c.Err != nil {
			n++
		}
	}
	return n
}

type suite struct {
	cfg    Config
	c      *api.ClientWithResponses // authenticated
	anon   *api.ClientWithResponses // no credentials
	sample Sample
	id     string // the deployment the suite creates; checks of rejections use fresh ids
	units  int64
	caps   api.Capabilities
}

// freshID is an id of its own for one check, so that what one check leaves behind never
// makes another fail.
func freshID() string { return "conformance-" + randomSuffix() }

// Run runs every check against the reactor. The error is for setup failures only.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.DeployTimeout <= 0 {
		cfg.DeployTimeout = 2 * time.Minute
	}
	if len(cfg.Samples) == 0 {
		cfg.Samples = builtinSamples
	}
	s := &suite{cfg: cfg, units: 1}
	var err error
	if s.c, err = reactor.NewClient(reactor.ClientConfig{URL: cfg.URL, Token: cfg.Token, HTTP: cfg.HTTP}); err != nil {
		return nil, err
	}
	if s.anon, err = reactor.NewClient(reactor.ClientConfig{URL: cfg.URL, HTTP: withoutClientCertificates(cfg.HTTP)}); err != nil {
		return nil, err
	}
	s.id = freshID()

	checks := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"health answers without credentials", s.health},
		{"authentication is enforced", s.auth},
		{"capabilities list served types and capacity", s.capabilities},
		{"unknown type is rejected with 422", s.unknownType},
		{"invalid descriptor is rejected with 400 and reasons", s.invalidDescriptor},
		{"CID mismatch is rejected", s.cidMismatch},
		{"malformed requests are rejected with 400", s.malformed},
		{"a deploy beyond the free capacity is rejected with 507", s.overCapacity},
		{"unknown id: 404 on get, 204 on delete", s.unknownID},
		{checkFailed, s.failed},
		{"deploy is accepted and idempotent", s.deploy},
		{"an id cannot be reused with another descriptor", s.conflict},
		{"list and capacity are consistent with the deployment", s.listConsistent},
		{"deployment reaches Running", s.running},
		{"teardown is idempotent, refuses a redeploy meanwhile (409), removes the deployment and frees its capacity", s.teardown},
	}
	var report Report
	skipRest := false
	for _, ch := range checks {
		if skipRest {
			report = append(report, Result{Name: ch.name, Err: errors.New("skipped: an earlier check it depends on failed")})
			continue
		}
		err := ch.fn(ctx)
		var sk skipped
		if errors.As(err, &sk) {
			report = append(report, Result{Name: ch.name, Skipped: string(sk)})
			continue
		}
		report = append(report, Result{Name: ch.name, Err: err})
		// Without capabilities there is no sample to deploy; everything after needs one.
		if err != nil && ch.name == "capabilities list served types and capacity" {
			skipRest = true
		}
	}
	return report, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// decoded is the body the client decoded, or the body decoded here when the reactor did not
// say it is JSON (the client decodes only then): a reactor must not crash the suite.
func decoded[T any](op string, parsed *T, body []byte) (*T, error) {
	if parsed != nil {
		return parsed, nil
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("%s: the body is not the JSON the API describes: %v: %s", op, err, bytes.TrimSpace(body))
	}
	return &v, nil
}

// statusOf checks an HTTP status; body is shown on mismatch.
func statusOf(op string, resp *http.Response, body []byte, want ...int) error {
	if slices.Contains(want, resp.StatusCode) {
		return nil
	}
	return fmt.Errorf("%s: HTTP %d, want %v: %s", op, resp.StatusCode, want, bytes.TrimSpace(body))
}

// consumerSSHKey is the SSH key of the ed25519 account //Alice, which machines need to let
// anybody in.
var consumerSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjcNBfVBY7EtFA+DBLqGgqJviAP6YkiQj1DNAFPprDu"

func (s *suite) request(sample []byte, typ string) api.DeployRequest {
	c, _ := descriptor.CID(sample)
	return api.DeployRequest{
		Type: typ, DescriptorCid: c.String(), Descriptor: sample,
		Consumer:     api.Consumer{Address: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", SshPublicKey: &consumerSSHKey},
		Subscription: api.Subscription{Units: s.units},
	}
}

func (s *suite) health(ctx context.Context) error {
	r, err := s.anon.GetHealthWithResponse(ctx)
	if err != nil {
		return err
	}
	if err := statusOf("GET /v1/health", r.HTTPResponse, r.Body, 200); err != nil {
		return err
	}
	if h, err := decoded("GET /v1/health", r.JSON200, r.Body); err != nil || h.Status != api.Ok {
		return fmt.Errorf("GET /v1/health: body %s, want status ok", r.Body)
	}
	return nil
}

func (s *suite) auth(ctx context.Context) error {
	sample, id := builtinSamples[0], freshID()
	requests := []func(server string) (*http.Request, error){
		api.NewGetCapabilitiesRequest,
		api.NewListDeploymentsRequest,
		func(server string) (*http.Request, error) { return api.NewGetDeploymentRequest(server, id) },
		func(server string) (*http.Request, error) {
			return api.NewDeployRequest(server, id, s.request(sample.Valid, sample.Type))
		},
		func(server string) (*http.Request, error) { return api.NewTeardownRequest(server, id) },
	}
	hc := withoutClientCertificates(s.cfg.HTTP)
	for _, authorization := range []string{"", "Bearer " + s.cfg.Token + "-wrong", "Basic " + s.cfg.Token} {
		for _, build := range requests {
			req, err := build(strings.TrimSuffix(s.cfg.URL, "/"))
			if err != nil {
				return err
			}
			if authorization != "" {
				req.Header.Set("Authorization", authorization)
			}
			resp, err := hc.Do(req.WithContext(ctx))
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			who := "no credentials"
			if authorization != "" {
				who = "a wrong " + strings.Fields(authorization)[0] + " authorization"
			}
			if err := statusOf(req.Method+" "+req.URL.Path+" with "+who, resp, body, 401); err != nil {
				return err
			}
		}
	}
	return s.absent(ctx, id, "unauthenticated requests")
}

func (s *suite) capabilities(ctx context.Context) error {
	r, err := s.c.GetCapabilitiesWithResponse(ctx)
	if err != nil {
		return err
	}
	if err := statusOf("GET /v1/capabilities", r.HTTPResponse, r.Body, 200); err != nil {
		return err
	}
	caps, err := decoded("GET /v1/capabilities", r.JSON200, r.Body)
	if err != nil {
		return err
	}
	s.caps = *caps
	if s.caps.Capacity.Free > s.caps.Capacity.Total || s.caps.Capacity.Free < 0 {
		return fmt.Errorf("capacity free %d outside [0, total %d]", s.caps.Capacity.Free, s.caps.Capacity.Total)
	}
	builtin, err := descriptor.NewRegistry()
	if err != nil {
		return err
	}
	for _, t := range s.caps.Types {
		if _, err := descriptor.ParseCID(t.SchemaCid); err != nil {
			return fmt.Errorf("type %s: schemaCid: %w", t.Name, err)
		}
		if b, ok := builtin.Lookup(t.Name); ok && b.SchemaCID.String() != t.SchemaCid {
			return fmt.Errorf("type %s: schemaCid %s, but its schema is %s (the one registered on chain)", t.Name, t.SchemaCid, b.SchemaCID)
		}
	}
	for _, sample := range s.cfg.Samples {
		for _, t := range s.caps.Types {
			if t.Name == sample.Type {
				s.sample = sample
				if s.caps.Capacity.Free < s.units {
					return fmt.Errorf("the reactor needs %d free unit(s) for the checks, has %d", s.units, s.caps.Capacity.Free)
				}
				return nil
			}
		}
	}
	var served []string
	for _, t := range s.caps.Types {
		served = append(served, t.Name)
	}
	return fmt.Errorf("the reactor serves %v; the suite has sample descriptors for built-in types only (%s, %s)", served, descriptor.TypeSubstrateNetwork, descriptor.TypeCloudInit)
}

// rejected sends a deploy under a fresh id and checks it is refused with status and code
// and leaves nothing behind.
func (s *suite) rejected(ctx context.Context, op string, req api.DeployRequest, status int, code api.ErrorCode) (*api.Error, error) {
	id := freshID()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return s.rejectedRaw(ctx, op, id, body, status, code)
}

// rejectedRaw is rejected for any request body and id.
func (s *suite) rejectedRaw(ctx context.Context, op, id string, body []byte, status int, code api.ErrorCode) (*api.Error, error) {
	r, err := s.c.DeployWithBodyWithResponse(ctx, id, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if err := statusOf(op, r.HTTPResponse, r.Body, status); err != nil {
		return nil, err
	}
	var e api.Error
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Code != code {
		return &e, fmt.Errorf("%s: body %s, want error code %s", op, bytes.TrimSpace(r.Body), code)
	}
	if !reactor.ValidDeploymentID(id) {
		return &e, nil // GET of a malformed id is itself malformed
	}
	return &e, s.absent(ctx, id, op)
}

// absent checks that a rejected request left nothing behind.
func (s *suite) absent(ctx context.Context, id, after string) error {
	r, err := s.c.GetDeploymentWithResponse(ctx, id)
	if err != nil {
		return err
	}
	if r.StatusCode() != 404 {
		return fmt.Errorf("after %s: GET /v1/deployments/%s is HTTP %d, want 404 (a rejected deploy must create nothing)", after, id, r.StatusCode())
	}
	return nil
}

// malformed sends requests the API's schema refuses: not JSON, an id that is not one, no
// units, no consumer.
func (s *suite) malformed(ctx context.Context) error {
	valid, err := json.Marshal(s.request(s.sample.Valid, s.sample.Type))
	if err != nil {
		return err
	}
	noUnits := s.request(s.sample.Valid, s.sample.Type)
	noUnits.Subscription.Units = 0
	noConsumer := s.request(s.sample.Valid, s.sample.Type)
	noConsumer.Consumer.Address = ""
	for _, c := range []struct {
		op, id string
		body   any
	}{
		{"deploy with a body that is not JSON", freshID(), []byte(`{"type": `)},
		{"deploy under an id with capitals and underscores", "Not_An_Id", valid},
		{"deploy of 0 units", freshID(), noUnits},
		{"deploy without a consumer address", freshID(), noConsumer},
	} {
		body, ok := c.body.([]byte)
		if !ok {
			if body, err = json.Marshal(c.body); err != nil {
				return err
			}
		}
		if _, err := s.rejectedRaw(ctx, c.op, c.id, body, 400, api.ErrorCodeBadRequest); err != nil {
			return err
		}
	}
	return nil
}

// overCapacity asks for one unit more than the reactor has in all.
func (s *suite) overCapacity(ctx context.Context) error {
	req := s.request(s.sample.Valid, s.sample.Type)
	req.Subscription.Units = s.caps.Capacity.Total + 1
	_, err := s.rejected(ctx, fmt.Sprintf("deploy of %d units (total capacity + 1)", req.Subscription.Units), req, 507, api.ErrorCodeInsufficientCapacity)
	return err
}

func (s *suite) unknownType(ctx context.Context) error {
	_, err := s.rejected(ctx, "deploy of type unknown-type/v1", s.request(s.sample.Valid, "unknown-type/v1"), 422, api.ErrorCodeUnknownType)
	return err
}

func (s *suite) invalidDescriptor(ctx context.Context) error {
	e, err := s.rejected(ctx, "deploy of an invalid descriptor", s.request(s.sample.Invalid, s.sample.Type), 400, api.ErrorCodeInvalidDescriptor)
	if err != nil {
		return err
	}
	if e.Problems == nil || len(*e.Problems) == 0 {
		return errors.New("invalid descriptor: no problems listed")
	}
	for _, p := range *e.Problems {
		if p.Path == "" || p.Reason == "" {
			return fmt.Errorf("invalid descriptor: problem %+v lacks a path or a reason", p)
		}
	}
	return nil
}

func (s *suite) cidMismatch(ctx context.Context) error {
	req := s.request(s.sample.Valid, s.sample.Type)
	other, _ := descriptor.CID(s.sample.Other)
	req.DescriptorCid = other.String()
	_, err := s.rejected(ctx, "deploy with the CID of other content", req, 400, api.ErrorCodeCidMismatch)
	return err
}

func (s *suite) unknownID(ctx context.Context) error {
	id := "conformance-absent-" + randomSuffix()
	g, err := s.c.GetDeploymentWithResponse(ctx, id)
	if err != nil {
		return err
	}
	if err := statusOf("GET unknown id", g.HTTPResponse, g.Body, 404); err != nil {
		return err
	}
	d, err := s.c.TeardownWithResponse(ctx, id)
	if err != nil {
		return err
	}
	return statusOf("DELETE unknown id", d.HTTPResponse, d.Body, 204)
}

func (s *suite) deploy(ctx context.Context) error {
	req := s.request(s.sample.Valid, s.sample.Type)
	first, err := s.c.DeployWithResponse(ctx, s.id, req)
	if err != nil {
		return err
	}
	if err := statusOf("first deploy", first.HTTPResponse, first.Body, 202); err != nil {
		return err
	}
	d, err := decoded("first deploy", first.JSON202, first.Body)
	if err != nil {
		return err
	}
	if err := sameDeployment(d, s.id, req); err != nil {
		return fmt.Errorf("first deploy: %w", err)
	}
	again, err := s.c.DeployWithResponse(ctx, s.id, req)
	if err != nil {
		return err
	}
	if err := statusOf("repeated deploy", again.HTTPResponse, again.Body, 200); err != nil {
		return err
	}
	if d, err = decoded("repeated deploy", again.JSON200, again.Body); err != nil {
		return err
	}
	return sameDeployment(d, s.id, req)
}

func sameDeployment(d *api.Deployment, id string, req api.DeployRequest) error {
	switch {
	case d == nil:
		return errors.New("no deployment in the response")
	case d.Id != id || d.DescriptorCid != req.DescriptorCid || d.Type != req.Type || d.Units != req.Subscription.Units:
		return fmt.Errorf("deployment %+v does not echo id %s, type %s, CID %s, units %d", *d, id, req.Type, req.DescriptorCid, req.Subscription.Units)
	}
	return nil
}

func (s *suite) conflict(ctx context.Context) error {
	r, err := s.c.DeployWithResponse(ctx, s.id, s.request(s.sample.Other, s.sample.Type))
	if err != nil {
		return err
	}
	return statusOf("deploy of another descriptor under the same id", r.HTTPResponse, r.Body, 409)
}

func (s *suite) listConsistent(ctx context.Context) error {
	// With a second deployment whose id sorts first, an unsorted list shows (when the
	// reactor has room for it; it is torn down at once).
	if s.caps.Capacity.Free >= 2*s.units {
		second := "conformance-0-" + randomSuffix()
		r, err := s.c.DeployWithResponse(ctx, second, s.request(s.sample.Other, s.sample.Type))
		if err != nil {
			return err
		}
		if err := statusOf("deploy of a second deployment", r.HTTPResponse, r.Body, 202); err != nil {
			return err
		}
		defer func() { _, _ = s.c.TeardownWithResponse(context.WithoutCancel(ctx), second) }()
	}
	l, err := s.c.ListDeploymentsWithResponse(ctx)
	if err != nil {
		return err
	}
	if err := statusOf("list", l.HTTPResponse, l.Body, 200); err != nil {
		return err
	}
	list, err := decoded("GET /v1/deployments", l.JSON200, l.Body)
	if err != nil {
		return err
	}
	g, err := s.c.GetDeploymentWithResponse(ctx, s.id)
	if err != nil {
		return err
	}
	if err := statusOf("get", g.HTTPResponse, g.Body, 200); err != nil {
		return err
	}
	got, err := decoded("GET /v1/deployments/"+s.id, g.JSON200, g.Body)
	if err != nil {
		return err
	}
	found := false
	for i, d := range list.Items {
		if i > 0 && list.Items[i-1].Id >= d.Id {
			return fmt.Errorf("list is not sorted by id: %s before %s", list.Items[i-1].Id, d.Id)
		}
		if d.Id == s.id {
			found = true
			if d.DescriptorCid != got.DescriptorCid || d.Type != got.Type {
				return fmt.Errorf("list shows %+v, get shows %+v", d, *got)
			}
		}
	}
	if !found {
		return fmt.Errorf("list does not contain %s", s.id)
	}
	caps, err := s.capacity(ctx)
	if err != nil {
		return err
	}
	if want := s.caps.Capacity.Free - s.units; caps.Capacity.Free > want {
		return fmt.Errorf("free capacity %d after deploying %d unit(s), want at most %d", caps.Capacity.Free, s.units, want)
	}
	return nil
}

// poll calls check until it reports done, an error, or the deploy timeout passes.
func (s *suite) poll(ctx context.Context, what string, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DeployTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %s", what, s.cfg.DeployTimeout)
		case <-tick.C:
		}
	}
}

func (s *suite) running(ctx context.Context) error {
	return s.poll(ctx, "deployment reaches Running", func() (bool, error) {
		g, err := s.c.GetDeploymentWithResponse(ctx, s.id)
		if err != nil {
			return false, err
		}
		if err := statusOf("get", g.HTTPResponse, g.Body, 200); err != nil {
			return false, err
		}
		d, err := decoded("GET /v1/deployments/"+s.id, g.JSON200, g.Body)
		if err != nil {
			return false, err
		}
		switch d.Phase {
		case api.Running:
			return true, nil
		case api.Failed:
			msg := ""
			if d.Message != nil {
				msg = *d.Message
			}
			return false, fmt.Errorf("deployment failed: %s", msg)
		}
		return false, nil
	})
}

// checkFailed names the check of the Failed phase.
const checkFailed = "a deployment that cannot run reaches Failed with a public reason, keeps its units until torn down, and is torn down"

// skipped is a check that did not run, and why.
type skipped string

func (s skipped) Error() string { return string(s) }

// publicReason is the form of a failed deployment's message: a stable reason code, then a
// short text (it goes on chain, at most 256 bytes there).
var publicReason = regexp.MustCompile(`^[a-z][a-z0-9_]*: \S`)

// failed deploys the provider's failing descriptor: it must end Failed (never Running) with
// a public message, hold its units while it is listed, and tear down like any other.
func (s *suite) failed(ctx context.Context) error {
	doc := s.cfg.Failing[s.sample.Type]
	if doc == nil {
		return skipped("no descriptor that fails on this reactor was given for " + s.sample.Type + " (--failing-descriptor TYPE=FILE)")
	}
	id := freshID()
	req := s.request(doc, s.sample.Type)
	r, err := s.c.DeployWithResponse(ctx, id, req)
	if err != nil {
		return err
	}
	if err := statusOf("deploy of the failing descriptor", r.HTTPResponse, r.Body, 202); err != nil {
		return err
	}
	defer func() { _, _ = s.c.TeardownWithResponse(context.WithoutCancel(ctx), id) }()
	var last *api.Deployment
	err = s.poll(ctx, "the failing deployment reaches Failed", func() (bool, error) {
		g, err := s.c.GetDeploymentWithResponse(ctx, id)
		if err != nil {
			return false, err
		}
		if err := statusOf("get", g.HTTPResponse, g.Body, 200); err != nil {
			return false, err
		}
		if last, err = decoded("GET /v1/deployments/"+id, g.JSON200, g.Body); err != nil {
			return false, err
		}
		switch last.Phase {
		case api.Running:
			return false, errors.New("a deployment that cannot run reports Running")
		case api.Failed:
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if last != nil {
			err = fmt.Errorf("%w (last seen: phase %s)", err, last.Phase)
		}
		return err
	}
	switch {
	case last.Message == nil || !publicReason.MatchString(*last.Message):
		return fmt.Errorf("Failed without a public reason: message %q, want \"reason_code: text\"", ptrString(last.Message))
	case len(*last.Message) > 256:
		return fmt.Errorf("Failed with a message of %d bytes; the chain takes at most 256", len(*last.Message))
	case last.Endpoints != nil && len(*last.Endpoints) > 0:
		return fmt.Errorf("Failed with endpoints %v", *last.Endpoints)
	}
	caps, err := s.capacity(ctx)
	if err != nil {
		return err
	}
	if caps.Capacity.Free > s.caps.Capacity.Free-s.units {
		return fmt.Errorf("free capacity %d (was %d) while a failed deployment of %d unit(s) is listed: a Failed deployment keeps its units until torn down", caps.Capacity.Free, s.caps.Capacity.Free, s.units)
	}
	return s.gone(ctx, id, "the failed deployment")
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// gone tears id down and waits until it is no longer known.
func (s *suite) gone(ctx context.Context, id, what string) error {
	d, err := s.c.TeardownWithResponse(ctx, id)
	if err != nil {
		return err
	}
	if err := statusOf("teardown of "+what, d.HTTPResponse, d.Body, 202, 204); err != nil {
		return err
	}
	return s.disappears(ctx, id, what)
}

// disappears waits until id, being torn down, is no longer known.
func (s *suite) disappears(ctx context.Context, id, what string) error {
	return s.poll(ctx, what+" disappears after teardown", func() (bool, error) {
		g, err := s.c.GetDeploymentWithResponse(ctx, id)
		if err != nil {
			return false, err
		}
		return g.StatusCode() == 404, nil
	})
}

// capacity reads the reactor's capabilities.
func (s *suite) capacity(ctx context.Context) (*api.Capabilities, error) {
	c, err := s.c.GetCapabilitiesWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return decoded("GET /v1/capabilities", c.JSON200, c.Body)
}

func (s *suite) teardown(ctx context.Context) error {
	for i := range 2 {
		d, err := s.c.TeardownWithResponse(ctx, s.id)
		if err != nil {
			return err
		}
		want := []int{202}
		if i > 0 {
			want = []int{202, 204} // the first teardown may already be done
		}
		if err := statusOf(fmt.Sprintf("teardown #%d", i+1), d.HTTPResponse, d.Body, want...); err != nil {
			return err
		}
	}
	// A deploy of the same id while it is being torn down is a conflict; once it is gone, a
	// new deployment (torn down again here).
	req := s.request(s.sample.Valid, s.sample.Type)
	r, err := s.c.DeployWithResponse(ctx, s.id, req)
	if err != nil {
		return err
	}
	if r.StatusCode() == 202 {
		if _, err := s.c.TeardownWithResponse(ctx, s.id); err != nil {
			return err
		}
	} else if err := statusOf("deploy of a deployment being torn down", r.HTTPResponse, r.Body, 409); err != nil {
		return err
	}
	if err := s.disappears(ctx, s.id, "deployment"); err != nil {
		return err
	}
	err = s.poll(ctx, "capacity freed after teardown", func() (bool, error) {
		caps, err := s.capacity(ctx)
		if err != nil {
			return false, err
		}
		return caps.Capacity.Free >= s.caps.Capacity.Free, nil
	})
	if err != nil {
		return fmt.Errorf("%w (free before the checks: %d)", err, s.caps.Capacity.Free)
	}
	l, err := s.c.ListDeploymentsWithResponse(ctx)
	if err != nil {
		return err
	}
	list, err := decoded("GET /v1/deployments", l.JSON200, l.Body)
	if err != nil {
		return err
	}
	for _, d := range list.Items {
		if d.Id == s.id {
			return fmt.Errorf("list still contains %s after teardown", s.id)
		}
	}
	d, err := s.c.TeardownWithResponse(ctx, s.id)
	if err != nil {
		return err
	}
	return statusOf("teardown after it completed", d.HTTPResponse, d.Body, 204)
}

// withoutClientCertificates returns hc without its TLS client certificates, so that
// "no credentials" also means no mutual TLS.
func withoutClientCertificates(hc *http.Client) *http.Client {
	if hc == nil {
		return http.DefaultClient
	}
	t, ok := hc.Transport.(*http.Transport)
	if !ok || t.TLSClientConfig == nil || len(t.TLSClientConfig.Certificates) == 0 {
		return hc
	}
	t = t.Clone()
	t.TLSClientConfig.Certificates = nil
	return &http.Client{Timeout: hc.Timeout, Transport: t}
}
