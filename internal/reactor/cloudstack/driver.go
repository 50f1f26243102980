// Package cloudstack is a cloud-init/v1 reactor driver for Apache CloudStack, through the
// maintained Go SDK (github.com/apache/cloudstack-go/v2): each deployment is a virtual
// machine deployed in the provider's zone from the template of the image the descriptor
// names, on the smallest service offering of the provider's list that holds its CPUs and
// memory, with a root disk of its diskGiB. The consumer's key (derived from their chain
// account) is registered as an SSH key pair of the deployment; the descriptor's userData
// goes to cloud-init untouched, together with a part of the driver's own that sets the host
// name, a host key generated for the machine and the "dinfra" account with every key that
// may log in. The endpoint it reports carries the host key's fingerprint.
//
// On an isolated network (behind CloudStack's virtual router) a machine's own address is
// private: with PortForwarding each machine gets a public address of its network
// (associateIpAddress) whose port 22 is forwarded to it (createPortForwardingRule with
// openfirewall, which adds the firewall's ingress rule from SSHSources), and the endpoint
// on chain is that address.
//
// Deployments are found again by name (dinfra-ID; their public address by a tag), so Deploy
// and Teardown converge after a restart of the reactor; asynchronous jobs are polled under
// the caller's context. Teardown releases the public address (its rules go with it),
// destroys the machine with expunge (nothing is left to recover) and deletes the key pair.
package cloudstack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

// Config is the provider's side of the driver.
type Config struct {
	// APIURL is the CloudStack API endpoint (https://cloud.example.net/client/api); APIKey
	// and SecretKey the credentials of the account deployments are made in (read from a
	// file by the CLI: they never appear in arguments or logs).
	APIURL, APIKey, SecretKey string
	// Zone is the zone machines are deployed in (name or id).
	Zone string
	// Templates maps the image names consumers may ask for (debian-12) to templates of the
	// zone (names or ids).
	Templates map[string]string
	// Offerings are service offerings (names or ids) a machine may run on: the smallest
	// that holds a descriptor's CPUs and memory is used.
	Offerings []string
	// Networks are the network ids machines join (none: the zone's default).
	Networks []string
	// PortForwarding gives each machine a public address with SSH forwarded to it: for
	// isolated networks, whose machines' own addresses are private. SSHSources are the
	// CIDRs the firewall lets in (none: 0.0.0.0/0).
	PortForwarding bool
	SSHSources     []string
	// Capacity is the units offered; Unit what one of them buys.
	Capacity int64
	Unit     cloudinit.Unit
	// MaxUserData bounds the userData sent, base64-encoded, as CloudStack's
	// vm.userdata.max.length does (0: its default, 32768).
	MaxUserData int
	// PollInterval is the period of asynchronous job polls (0: 2 s); ReadyTimeout bounds a
	// deploy (0: 10 minutes).
	PollInterval, ReadyTimeout time.Duration
	// HTTP is the client of the API (nil: 30 s timeout, certificates verified).
	HTTP *http.Client
}

// Driver runs cloud-init/v1 deployments as CloudStack virtual machines.
type Driver struct {
	cfg       Config
	api       *cs.CloudStackClient
	zoneID    string
	templates map[string]string // image name -> template id
	offerings []offering        // smallest first
}

type offering struct {
	id        string
	cpus      int64
	memoryMiB int64
}

var (
	_ reactor.Driver  = (*Driver)(nil)
	_ reactor.Checker = (*Driver)(nil)
)

// New checks cfg against the CloudStack API (the zone, each template and offering must
// exist) and returns the driver.
func New(cfg Config) (*Driver, error) {
	switch {
	case cfg.APIURL == "" || cfg.APIKey == "" || cfg.SecretKey == "":
		return nil, errors.New("cloudstack driver: the API URL, API key and secret key are required")
	case cfg.Zone == "":
		return nil, errors.New("cloudstack driver: no zone")
	case len(cfg.Templates) == 0:
		return nil, errors.New("cloudstack driver: no images offered")
	case len(cfg.Offerings) == 0:
		return nil, errors.New("cloudstack driver: no service offerings")
	}
	if err := cfg.Unit.Valid(); err != nil {
		return nil, fmt.Errorf("cloudstack driver: %w", err)
	}
	for _, c := range cfg.SSHSources {
		if _, _, err := net.ParseCIDR(c); err != nil || !cfg.PortForwarding {
			return nil, fmt.Errorf("cloudstack driver: SSH source %q: want a CIDR, with port forwarding on", c)
		}
	}
	if cfg.MaxUserData <= 0 {
		cfg.MaxUserData = 32768
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Minute
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	d := &Driver{cfg: cfg, api: cs.NewClient(cfg.APIURL, cfg.APIKey, cfg.SecretKey, true, cs.WithHTTPClient(cfg.HTTP)), templates: map[string]string{}}
	var err error
	if d.zoneID, _, err = d.api.Zone.GetZoneID(cfg.Zone); err != nil {
		return nil, fmt.Errorf("cloudstack driver: zone %q: %w", cfg.Zone, err)
	}
	for name, t := range cfg.Templates {
		if d.templates[name], _, err = d.api.Template.GetTemplateID(t, "executable", d.zoneID); err != nil {
			return nil, fmt.Errorf("cloudstack driver: image %s: template %q: %w", name, t, err)
		}
	}
	for _, o := range cfg.Offerings {
		so, _, err := d.api.ServiceOffering.GetServiceOfferingByName(o)
		if err != nil {
			if so, _, err = d.api.ServiceOffering.GetServiceOfferingByID(o); err != nil {
				return nil, fmt.Errorf("cloudstack driver: service offering %q: %w", o, err)
			}
		}
		d.offerings = append(d.offerings, offering{id: so.Id, cpus: int64(so.Cpunumber), memoryMiB: int64(so.Memory)})
	}
	slices.SortFunc(d.offerings, func(a, b offering) int {
		if a.cpus != b.cpus {
			return int(a.cpus - b.cpus)
		}
		return int(a.memoryMiB - b.memoryMiB)
	})
	return d, nil
}

func (*Driver) Name() string      { return "cloudstack" }
func (*Driver) Types() []string   { return []string{descriptor.TypeCloudInit} }
func (d *Driver) Capacity() int64 { return d.cfg.Capacity }

// vmName is the CloudStack name (and key pair name) of deployment id.
func vmName(id string) string { return "dinfra-" + id }

// tagHostKey is the tag on a machine holding its host key's fingerprint: set once the
// deploy finished, so that a machine without it is one a stopped reactor left half-made.
// tagDeployment marks the public address of a deployment.
const (
	tagHostKey    = "dinfra-host-key-sha256"
	tagDeployment = "dinfra-deployment"
)

// machine is a deployment checked and ready to deploy.
type machine struct {
	*cloudinit.Request
	offering offering
}

// Check refuses, before booking, what this provider does not run.
func (d *Driver) Check(dep reactor.Deployment) error {
	_, err := d.plan(dep)
	return err
}

func (d *Driver) plan(dep reactor.Deployment) (*machine, error) {
	r, ps := cloudinit.Offer{Images: d.templates, Unit: d.cfg.Unit}.Check(dep)
	if r == nil {
		return nil, cloudinit.Invalid(ps)
	}
	m := &machine{Request: r}
	i := slices.IndexFunc(d.offerings, func(o offering) bool { return o.cpus >= r.CPUs && o.memoryMiB >= r.MemoryMiB })
	if i < 0 {
		ps.Add("cpus", "no offering of this provider has %d CPUs and %d MiB of memory", r.CPUs, r.MemoryMiB)
	} else {
		m.offering = d.offerings[i]
	}
	// The size of what is sent, with a host key of the real size.
	if ud, err := cloudinit.UserData(r, strings.Repeat("k", 400), strings.Repeat("k", 80)); err == nil && base64.StdEncoding.EncodedLen(len(ud)) > d.cfg.MaxUserData {
		ps.Add("userData", "%d bytes base64-encoded with the provider's part; this provider takes at most %d", base64.StdEncoding.EncodedLen(len(ud)), d.cfg.MaxUserData)
	}
	if err := cloudinit.Invalid(ps); err != nil {
		return nil, err
	}
	return m, nil
}

// Deploy deploys the deployment's machine (converging on one that exists) and returns its
// SSH endpoint once CloudStack reports it Running.
func (d *Driver) Deploy(ctx context.Context, dep reactor.Deployment) ([]api.Endpoint, error) {
	m, err := d.plan(dep)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
	defer cancel()
	vm, err := d.find(dep.ID)
	if err != nil {
		return nil, err
	}
	if vm != nil && tag(vm, tagHostKey) == "" {
		// Left half-made by a reactor that stopped: its host key is unknown. Start afresh.
		if err := d.Teardown(ctx, dep.ID); err != nil {
			return nil, err
		}
		vm = nil
	}
	if vm == nil {
		if vm, err = d.create(ctx, dep.ID, m); err != nil {
			return nil, err
		}
	}
	for vm.State != "Running" {
		switch vm.State {
		case "Stopped":
			if _, err := d.job(ctx, "start", func() (string, error) {
				r, err := d.api.VirtualMachine.StartVirtualMachine(d.api.VirtualMachine.NewStartVirtualMachineParams(vm.Id))
				return jobID(r, err)
			}); err != nil {
				return nil, err
			}
		case "Starting", "Migrating":
			if err := d.sleep(ctx); err != nil {
				return nil, fmt.Errorf("machine %s stays %s: %w", vm.Name, vm.State, err)
			}
		default: // Error, Destroyed, Expunging, Stopping, Unknown: not ours to repair
			return nil, fmt.Errorf("machine %s is %s", vm.Name, vm.State)
		}
		if vm, err = d.find(dep.ID); err != nil {
			return nil, err
		}
		if vm == nil {
			return nil, fmt.Errorf("machine %s disappeared while deploying", vmName(dep.ID))
		}
	}
	if len(vm.Nic) == 0 || vm.Nic[0].Ipaddress == "" {
		return nil, fmt.Errorf("machine %s has no address", vm.Name)
	}
	host := vm.Nic[0].Ipaddress
	if d.cfg.PortForwarding {
		if host, err = d.forwardSSH(ctx, dep.ID, vm); err != nil {
			return nil, err
		}
	}
	return []api.Endpoint{{Name: "ssh", Url: cloudinit.EndpointURL(host, 22, tag(vm, tagHostKey))}}, nil
}

// forwardSSH gives the machine of deployment id a public address of its network, tagged
// with the deployment, whose port 22 is forwarded to the machine's through the firewall;
// it returns the address. What exists already is kept.
func (d *Driver) forwardSSH(ctx context.Context, id string, vm *cs.VirtualMachine) (string, error) {
	ip, err := d.publicAddress(id)
	if err != nil {
		return "", err
	}
	if ip == nil {
		p := d.api.Address.NewAssociateIpAddressParams()
		p.SetNetworkid(vm.Nic[0].Networkid)
		res, err := d.job(ctx, "associate a public address", func() (string, error) {
			r, err := d.api.Address.AssociateIpAddress(p)
			return jobID(r, err)
		})
		if err != nil {
			return "", err
		}
		var out struct {
			IP cs.PublicIpAddress `json:"ipaddress"`
		}
		if err := json.Unmarshal(res, &out); err != nil || out.IP.Id == "" {
			return "", fmt.Errorf("associate a public address: unexpected job result %.200s", res)
		}
		if _, err := d.job(ctx, "tag the public address", func() (string, error) {
			r, err := d.api.Resourcetags.CreateTags(d.api.Resourcetags.NewCreateTagsParams([]string{out.IP.Id}, "PublicIpAddress", map[string]string{tagDeployment: id}))
			return jobID(r, err)
		}); err != nil {
			return "", errors.Join(err, d.release(context.WithoutCancel(ctx), out.IP.Id))
		}
		ip = &out.IP
	}
	l := d.api.Firewall.NewListPortForwardingRulesParams()
	l.SetIpaddressid(ip.Id)
	rules, err := d.api.Firewall.ListPortForwardingRules(l)
	if err != nil {
		return "", fmt.Errorf("list port forwarding rules: %w", err)
	}
	for _, r := range rules.PortForwardingRules {
		if r.Virtualmachineid == vm.Id && r.Publicport == "22" && r.Privateport == "22" {
			return ip.Ipaddress, nil
		}
	}
	p := d.api.Firewall.NewCreatePortForwardingRuleParams(ip.Id, 22, "tcp", 22, vm.Id)
	p.SetOpenfirewall(true)
	if len(d.cfg.SSHSources) > 0 {
		p.SetCidrlist(d.cfg.SSHSources)
	}
	if _, err := d.job(ctx, "forward SSH", func() (string, error) {
		r, err := d.api.Firewall.CreatePortForwardingRule(p)
		return jobID(r, err)
	}); err != nil {
		return "", err
	}
	return ip.Ipaddress, nil
}

// publicAddress returns the public address of deployment id, or nil.
func (d *Driver) publicAddress(id string) (*cs.PublicIpAddress, error) {
	p := d.api.Address.NewListPublicIpAddressesParams()
	p.SetTags(map[string]string{tagDeployment: id})
	l, err := d.api.Address.ListPublicIpAddresses(p)
	if err != nil {
		return nil, fmt.Errorf("list public addresses: %w", err)
	}
	for _, ip := range l.PublicIpAddresses {
		for _, t := range ip.Tags {
			if t.Key == tagDeployment && t.Value == id {
				return ip, nil
			}
		}
	}
	return nil, nil
}

// release disassociates a public address; its rules go with it.
func (d *Driver) release(ctx context.Context, ipID string) error {
	_, err := d.job(ctx, "release the public address", func() (string, error) {
		r, err := d.api.Address.DisassociateIpAddress(d.api.Address.NewDisassociateIpAddressParams(ipID))
		return jobID(r, err)
	})
	return err
}

// create registers the consumer's key pair, deploys the machine and tags it with its host
// key's fingerprint.
func (d *Driver) create(ctx context.Context, id string, m *machine) (*cs.VirtualMachine, error) {
	name := vmName(id)
	priv, pub, fp, err := cloudinit.HostKey()
	if err != nil {
		return nil, err
	}
	ud, err := cloudinit.UserData(m.Request, string(priv), pub)
	if err != nil {
		return nil, err
	}
	p := d.api.VirtualMachine.NewDeployVirtualMachineParams(m.offering.id, m.Image, d.zoneID)
	p.SetName(name)
	p.SetDisplayname(m.Name)
	p.SetRootdisksize(m.DiskGiB)
	p.SetUserdata(base64.StdEncoding.EncodeToString(ud))
	if len(d.cfg.Networks) > 0 {
		p.SetNetworkids(d.cfg.Networks)
	}
	if len(m.AuthorizedKeys) > 0 && m.AuthorizedKeys[0] != "" {
		if err := d.keyPair(name, m.AuthorizedKeys[0]); err != nil {
			return nil, err
		}
		p.SetKeypairs([]string{name})
	}
	res, err := d.job(ctx, "deploy", func() (string, error) {
		r, err := d.api.VirtualMachine.DeployVirtualMachine(p)
		return jobID(r, err)
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		VM cs.VirtualMachine `json:"virtualmachine"`
	}
	if err := json.Unmarshal(res, &out); err != nil || out.VM.Id == "" {
		return nil, fmt.Errorf("deploy %s: unexpected job result %.200s", name, res)
	}
	if _, err := d.job(ctx, "tag", func() (string, error) {
		r, err := d.api.Resourcetags.CreateTags(d.api.Resourcetags.NewCreateTagsParams([]string{out.VM.Id}, "UserVm", map[string]string{tagHostKey: fp}))
		return jobID(r, err)
	}); err != nil {
		return nil, err
	}
	vm, err := d.find(id)
	if err == nil && vm == nil {
		err = fmt.Errorf("machine %s is not listed after its deploy", name)
	}
	return vm, err
}

// keyPair registers key under name unless a key pair of that name exists.
func (d *Driver) keyPair(name, key string) error {
	l := d.api.SSH.NewListSSHKeyPairsParams()
	l.SetName(name)
	have, err := d.api.SSH.ListSSHKeyPairs(l)
	if err != nil {
		return fmt.Errorf("list key pairs: %w", err)
	}
	for _, k := range have.SSHKeyPairs {
		if k.Name == name {
			return nil
		}
	}
	if _, err := d.api.SSH.RegisterSSHKeyPair(d.api.SSH.NewRegisterSSHKeyPairParams(name, key)); err != nil {
		return fmt.Errorf("register key pair %s: %w", name, err)
	}
	return nil
}

// find returns the machine of deployment id, or nil. CloudStack matches names by
// substring, so the list is filtered for the exact name.
func (d *Driver) find(id string) (*cs.VirtualMachine, error) {
	p := d.api.VirtualMachine.NewListVirtualMachinesParams()
	p.SetName(vmName(id))
	p.SetZoneid(d.zoneID)
	l, err := d.api.VirtualMachine.ListVirtualMachines(p)
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	for _, vm := range l.VirtualMachines {
		if vm.Name == vmName(id) {
			return vm, nil
		}
	}
	return nil, nil
}

func tag(vm *cs.VirtualMachine, key string) string {
	for _, t := range vm.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// Teardown destroys and expunges the deployment's machine and deletes its key pair;
// nothing there is torn down already.
func (d *Driver) Teardown(ctx context.Context, id string) error {
	ip, err := d.publicAddress(id)
	if err != nil {
		return err
	}
	if ip != nil {
		if err := d.release(ctx, ip.Id); err != nil {
			return err
		}
	}
	vm, err := d.find(id)
	if err != nil {
		return err
	}
	if vm != nil {
		switch vm.State {
		case "Expunging":
		case "Destroyed": // destroyed without expunge (by hand): finish it
			if _, err := d.job(ctx, "expunge", func() (string, error) {
				r, err := d.api.VirtualMachine.ExpungeVirtualMachine(d.api.VirtualMachine.NewExpungeVirtualMachineParams(vm.Id))
				return jobID(r, err)
			}); err != nil {
				return err
			}
		default:
			if _, err := d.job(ctx, "destroy", func() (string, error) {
				p := d.api.VirtualMachine.NewDestroyVirtualMachineParams(vm.Id)
				p.SetExpunge(true)
				r, err := d.api.VirtualMachine.DestroyVirtualMachine(p)
				return jobID(r, err)
			}); err != nil {
				return err
			}
		}
	}
	l := d.api.SSH.NewListSSHKeyPairsParams()
	l.SetName(vmName(id))
	have, err := d.api.SSH.ListSSHKeyPairs(l)
	if err != nil {
		return fmt.Errorf("list key pairs: %w", err)
	}
	for _, k := range have.SSHKeyPairs {
		if k.Name == vmName(id) {
			if _, err := d.api.SSH.DeleteSSHKeyPair(d.api.SSH.NewDeleteSSHKeyPairParams(k.Name)); err != nil {
				return fmt.Errorf("delete key pair %s: %w", k.Name, err)
			}
		}
	}
	return nil
}

// jobID is the job id of an asynchronous command's response.
func jobID[R any](r *R, err error) (string, error) {
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	var j struct {
		JobID string `json:"jobid"`
	}
	if err := json.Unmarshal(b, &j); err != nil || j.JobID == "" {
		return "", fmt.Errorf("no job id in %.200s", b)
	}
	return j.JobID, nil
}

// job starts an asynchronous command and polls its job until it ends (or ctx does); it
// returns the job's result.
func (d *Driver) job(ctx context.Context, what string, start func() (string, error)) (json.RawMessage, error) {
	id, err := start()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for {
		r, err := d.api.Asyncjob.QueryAsyncJobResult(d.api.Asyncjob.NewQueryAsyncJobResultParams(id))
		if err != nil {
			return nil, fmt.Errorf("%s: job %s: %w", what, id, err)
		}
		switch r.Jobstatus {
		case 1:
			return r.Jobresult, nil
		case 2:
			return nil, fmt.Errorf("%s: job %s failed: %s", what, id, r.Jobresult)
		}
		if err := d.sleep(ctx); err != nil {
			return nil, fmt.Errorf("%s: job %s: %w", what, id, err)
		}
	}
}

func (d *Driver) sleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d.cfg.PollInterval):
		return nil
	}
}
