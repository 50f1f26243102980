package reactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/problem"
	"github.com/dinfra/stack/internal/reactor/boundary"
)

// maxRequestBytes bounds a request body: a base64 descriptor of descriptor.MaxSize plus the
// rest of the request.
const maxRequestBytes = descriptor.MaxSize*4/3 + 64<<10

var deploymentID = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidDeploymentID says whether id is a deployment id the API accepts.
func ValidDeploymentID(id string) bool { return deploymentID.MatchString(id) }

// Config configures a Server.
type Config struct {
	Driver   Driver
	Registry *descriptor.Registry
	Auth     Auth
	// StateDir persists the book of deployments; empty keeps it in memory.
	StateDir string
	// Boundary is what consumers may ask for in substrate-network descriptors.
	Boundary boundary.Policy
	Logger   *slog.Logger
	// RetryMin and RetryMax bound the backoff between failed teardown attempts.
	RetryMin, RetryMax time.Duration
}

// Server implements the Chain Reactor API over a Driver.
type Server struct {
	cfg    Config
	log    *slog.Logger
	book   book
	types  []*descriptor.Type
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	records map[string]*record
}

var _ api.StrictServerInterface = (*Server)(nil)

// New returns a server for cfg. Deployments persisted in cfg.StateDir are resumed: the
// driver is asked again to deploy (or tear down) each of them, which converges on what runs.
func New(cfg Config) (*Server, error) {
	if cfg.Driver == nil || cfg.Registry == nil {
		return nil, errors.New("reactor: Driver and Registry are required")
	}
	if !cfg.Auth.enabled() {
		return nil, errors.New("reactor: authentication is required (a bearer token or client CAs)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = 30 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("reactor", cfg.Driver.Name()), book: book{cfg.StateDir}, records: map[string]*record{}}
	for _, name := range cfg.Driver.Types() {
		t, ok := cfg.Registry.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("reactor: driver %s serves %w %q", cfg.Driver.Name(), descriptor.ErrUnknownType, name)
		}
		s.types = append(s.types, t)
	}
	sort.Slice(s.types, func(i, j int) bool { return s.types[i].Name < s.types[j].Name })
	recs, err := s.book.load(s.log)
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.records[r.Deployment.ID] = r
		switch r.Phase {
		case api.Pending, api.Running:
			if why := s.resumable(r); why != "" {
				s.quarantine(r, why)
				continue
			}
			s.startDeploy(r)
		case api.Terminating:
			s.startTeardown(r)
		}
	}
	return s, nil
}

// maxUnfinishedDeploys is how many reactor runs may end while a deployment is being
// deployed before it is quarantined: something in it stops the reactor (a crash, the OOM
// killer), and replaying it would stop every run after.
const maxUnfinishedDeploys = 3

// resumable says why a booked deployment must not be deployed again ("" when it may): it
// no longer passes the checks at the door (booked by an older reactor, or edited), or
// deploying it has stopped the reactor too often.
func (s *Server) resumable(r *record) string {
	if err := s.validate(&r.Deployment); err != nil {
		s.log.Error("booked deployment fails the checks", "id", r.Deployment.ID, "err", err)
		return "the descriptor fails this provider's checks: " + PublicMessage(err)
	}
	if r.Attempts >= maxUnfinishedDeploys {
		return fmt.Sprintf("the reactor stopped %d times while deploying it", r.Attempts)
	}
	return ""
}

// quarantine marks a booked deployment Failed for good: it is never deployed again, the
// watcher reports it failed on chain (refunding the consumer) and tears it down. s.mu is
// held.
func (s *Server) quarantine(r *record, why string) {
	s.log.Error("deployment quarantined", "id", r.Deployment.ID, "why", why)
	r.Phase, r.Endpoints, r.Attempts = api.Failed, nil, 0
	r.Message = Truncate(ReasonQuarantined+": "+why, maxPublicMessage)
	if err := s.book.save(r); err != nil {
		s.log.Error("persist deployment", "id", r.Deployment.ID, "err", err)
	}
}

// Handler is the HTTP API, authentication included.
func (s *Server) Handler() http.Handler {
	strict := api.NewStrictHandlerWithOptions(s, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusBadRequest, api.ErrorCodeBadRequest, "malformed request: "+err.Error(), nil)
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			s.log.Error("request failed", "err", err)
			writeError(w, http.StatusInternalServerError, api.ErrorCodeInternal, "internal error", nil)
		},
	})
	h := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusBadRequest, api.ErrorCodeBadRequest, err.Error(), nil)
		},
	})
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		h.ServeHTTP(w, r)
	})
	return s.cfg.Auth.middleware(limited)
}

// Close stops background operations (deployments keep running) and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// GetHealth answers liveness checks.
func (s *Server) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return api.GetHealth200JSONResponse{Status: api.Ok}, nil
}

// GetCapabilities lists the served types and the capacity.
func (s *Server) GetCapabilities(context.Context, api.GetCapabilitiesRequestObject) (api.GetCapabilitiesResponseObject, error) {
	caps := api.Capabilities{Reactor: s.cfg.Driver.Name(), Types: []api.ServedType{}}
	for _, t := range s.types {
		caps.Types = append(caps.Types, api.ServedType{Name: t.Name, SchemaCid: t.SchemaCID.String()})
	}
	s.mu.Lock()
	caps.Capacity = api.Capacity{Total: s.cfg.Driver.Capacity(), Free: s.freeLocked()}
	s.mu.Unlock()
	return api.GetCapabilities200JSONResponse(caps), nil
}

// ListDeployments lists every known deployment, sorted by id.
func (s *Server) ListDeployments(context.Context, api.ListDeploymentsRequestObject) (api.ListDeploymentsResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := api.DeploymentList{Items: []api.Deployment{}}
	for _, r := range s.records {
		list.Items = append(list.Items, r.status())
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Id < list.Items[j].Id })
	return api.ListDeployments200JSONResponse(list), nil
}

// GetDeployment reports one deployment.
func (s *Server) GetDeployment(_ context.Context, req api.GetDeploymentRequestObject) (api.GetDeploymentResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[req.Id]
	if !ok {
		return api.GetDeployment404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse{Code: api.ErrorCodeNotFound, Message: fmt.Sprintf("no deployment %q", req.Id)}}, nil
	}
	return api.GetDeployment200JSONResponse(r.status()), nil
}

// Deploy checks a deploy request and starts it, or reports the existing deployment.
func (s *Server) Deploy(_ context.Context, req api.DeployRequestObject) (api.DeployResponseObject, error) {
	d, rejection := s.check(req)
	if rejection != nil {
		return rejection, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[d.ID]; ok {
		switch {
		case r.Deployment.Type != d.Type || !r.Deployment.CID.Equals(d.CID):
			return api.Deploy409JSONResponse{Code: api.ErrorCodeConflict, Message: fmt.Sprintf("deployment %s exists with %s descriptor %s", d.ID, r.Deployment.Type, r.Deployment.CID)}, nil
		case r.Phase == api.Terminating:
			return api.Deploy409JSONResponse{Code: api.ErrorCodeConflict, Message: fmt.Sprintf("deployment %s is being torn down", d.ID)}, nil
		}
		return api.Deploy200JSONResponse(r.status()), nil
	}
	if free := s.freeLocked(); d.Units > free {
		return api.Deploy507JSONResponse{Code: api.ErrorCodeInsufficientCapacity, Message: fmt.Sprintf("%d units requested, %d free", d.Units, free)}, nil
	}
	r := &record{Deployment: d, Phase: api.Pending}
	if err := s.book.save(r); err != nil {
		return nil, err
	}
	s.records[d.ID] = r
	s.log.Info("deployment accepted", "id", d.ID, "type", d.Type, "cid", d.CID.String(), "units", d.Units)
	s.startDeploy(r)
	return api.Deploy202JSONResponse(r.status()), nil
}

// check turns a request into a Deployment, or into the response that rejects it.
func (s *Server) check(req api.DeployRequestObject) (Deployment, api.DeployResponseObject) {
	bad := func(code api.ErrorCode, format string, args ...any) api.DeployResponseObject {
		return api.Deploy400JSONResponse{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	if !deploymentID.MatchString(req.Id) {
		return Deployment{}, bad(api.ErrorCodeBadRequest, "id %q: want lower-case letters, digits and dashes, at most 40 characters", req.Id)
	}
	b := req.Body
	if b == nil {
		return Deployment{}, bad(api.ErrorCodeBadRequest, "missing request body")
	}
	t := s.served(b.Type)
	if t == nil {
		return Deployment{}, api.Deploy422JSONResponse{Code: api.ErrorCodeUnknownType, Message: fmt.Sprintf("type %q is not served by this reactor", b.Type)}
	}
	if b.Subscription.Units < 1 {
		return Deployment{}, bad(api.ErrorCodeBadRequest, "subscription.units: must be >= 1")
	}
	if b.Consumer.Address == "" {
		return Deployment{}, bad(api.ErrorCodeBadRequest, "consumer.address: required")
	}
	c, err := descriptor.ParseCID(b.DescriptorCid)
	if err != nil {
		return Deployment{}, bad(api.ErrorCodeBadRequest, "descriptorCid: %v", err)
	}
	d := Deployment{
		ID: req.Id, Type: b.Type, CID: c, Descriptor: b.Descriptor, Units: b.Subscription.Units,
		Consumer: b.Consumer, Subscription: b.Subscription,
	}
	if err := s.validate(&d); err != nil {
		if errors.Is(err, descriptor.ErrCIDMismatch) {
			return Deployment{}, bad(api.ErrorCodeCidMismatch, "descriptor: %v", err)
		}
		resp := api.Deploy400JSONResponse{Code: api.ErrorCodeInvalidDescriptor, Message: err.Error()}
		if ps := problem.Of(err); ps != nil {
			out := make([]api.Problem, len(ps))
			for i, p := range ps {
				out[i] = api.Problem{Path: p.Field, Reason: p.Reason}
			}
			resp.Problems = &out
		}
		return Deployment{}, resp
	}
	return d, nil
}

// validate runs every check on what a deployment asks for, before it is booked and again
// when a booked one is loaded: its bytes against its CID, its type's schema, the consumer
// boundary (substrate-network: allowed fields, nodes within the units, chain URLs) and the
// driver's own checks. It sets d.Network.
func (s *Server) validate(d *Deployment) error {
	t := s.served(d.Type)
	if t == nil {
		return fmt.Errorf("%w %q", descriptor.ErrUnknownType, d.Type)
	}
	if err := descriptor.Verify(d.CID, d.Descriptor); err != nil {
		return err
	}
	if err := t.Validate(d.Descriptor); err != nil {
		return err
	}
	if d.Type == descriptor.TypeSubstrateNetwork {
		n, err := boundary.Network(d.Descriptor, d.Units, s.cfg.Boundary)
		if err != nil {
			return err
		}
		d.Network = n
	}
	if c, ok := s.cfg.Driver.(Checker); ok {
		return c.Check(*d)
	}
	return nil
}

func (s *Server) served(name string) *descriptor.Type {
	for _, t := range s.types {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Teardown starts tearing a deployment down; nothing to tear down is success too.
func (s *Server) Teardown(_ context.Context, req api.TeardownRequestObject) (api.TeardownResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[req.Id]
	if !ok {
		return api.Teardown204Response{}, nil
	}
	if r.Phase != api.Terminating {
		r.Phase = api.Terminating
		r.Message = ""
		if err := s.book.save(r); err != nil {
			return nil, err
		}
		s.log.Info("teardown requested", "id", r.Deployment.ID)
		s.startTeardown(r)
	}
	return api.Teardown202JSONResponse(r.status()), nil
}

// freeLocked is the capacity not reserved by any known deployment.
func (s *Server) freeLocked() int64 {
	free := s.cfg.Driver.Capacity()
	for _, r := range s.records {
		free -= r.Deployment.Units
	}
	return max(free, 0)
}

// startDeploy runs the driver's Deploy in the background; s.mu is held.
func (s *Server) startDeploy(r *record) {
	ctx, cancel := context.WithCancel(s.ctx)
	op := &operation{cancel: cancel, done: make(chan struct{})}
	r.op = op
	d := r.Deployment
	// Counted before the driver runs, so that a deploy that stops the reactor is seen by the
	// next run (resumable).
	r.Attempts++
	if err := s.book.save(r); err != nil {
		s.log.Error("persist deployment", "id", d.ID, "err", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(op.done)
		eps, err := s.deploy(ctx, d)
		s.mu.Lock()
		defer s.mu.Unlock()
		if ctx.Err() != nil || r.op != op {
			if s.ctx.Err() != nil && r.op == op {
				// A clean shutdown is not a deploy that stopped the reactor.
				r.Attempts--
				if err := s.book.save(r); err != nil {
					s.log.Error("persist deployment", "id", d.ID, "err", err)
				}
			}
			return // torn down or shutting down meanwhile
		}
		if err != nil {
			// The full error may hold provider-internal text (paths, files, addresses): it goes
			// to the log; the record, the API and the chain get the public message.
			r.Phase, r.Message, r.Endpoints = api.Failed, PublicMessage(err), nil
			s.log.Warn("deployment failed", "id", d.ID, "err", err)
		} else {
			r.Phase, r.Message, r.Endpoints = api.Running, "", eps
			s.log.Info("deployment running", "id", d.ID, "endpoints", len(eps))
		}
		r.Attempts = 0
		if err := s.book.save(r); err != nil {
			s.log.Error("persist deployment", "id", d.ID, "err", err)
		}
	}()
}

// deploy calls the driver, turning a panic into the deployment's failure: one descriptor
// must not take the reactor down.
func (s *Server) deploy(ctx context.Context, d Deployment) (eps []api.Endpoint, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("driver panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return s.cfg.Driver.Deploy(ctx, d)
}

// startTeardown cancels any deploy in progress and tears down with backoff until the
// driver succeeds; then the deployment is forgotten. s.mu is held.
func (s *Server) startTeardown(r *record) {
	prev := r.op
	ctx, cancel := context.WithCancel(s.ctx)
	op := &operation{cancel: cancel, done: make(chan struct{})}
	r.op = op
	id := r.Deployment.ID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(op.done)
		if prev != nil {
			prev.cancel()
			<-prev.done
		}
		wait := s.cfg.RetryMin
		for {
			err := s.cfg.Driver.Teardown(ctx, id)
			if err == nil {
				break
			}
			s.log.Warn("teardown failed, retrying", "id", id, "err", err, "in", wait)
			s.mu.Lock()
			r.Message = "teardown failed, retrying (the reason is in the provider's log)"
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, s.cfg.RetryMax)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.book.remove(id); err != nil {
			s.log.Error("forget deployment", "id", id, "err", err)
		}
		delete(s.records, id)
		s.log.Info("deployment torn down", "id", id)
	}()
}

func writeError(w http.ResponseWriter, status int, code api.ErrorCode, msg string, problems []api.Problem) {
	e := api.Error{Code: code, Message: msg}
	if problems != nil {
		e.Problems = &problems
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
