// Package cloudstackfake is a FAKE of the Apache CloudStack API, for tests of the
// cloudstack reactor driver: no CloudStack can run here. It is a recorded contract, written
// from the API reference (cloudstack.apache.org/api, 4.19), of the commands the driver
// uses, with their real request and answer shapes:
//
//   - every request signed as the reference says (parameters sorted by name, values
//     URL-encoded, the whole string lower-cased, HMAC-SHA1 with the secret key, base64;
//     signatureversion 3 with an expires time), or refused with 401;
//   - listZones, listTemplates (templatefilter), listServiceOfferings, listVirtualMachines
//     (name matched as a substring, as CloudStack does), listSSHKeyPairs,
//     registerSSHKeyPair, deleteSSHKeyPair answered at once;
//   - deployVirtualMachine (POST, base64 userdata of at most 32768 bytes, key pairs,
//     root disk size), startVirtualMachine, destroyVirtualMachine (expunge),
//     expungeVirtualMachine and createTags as asynchronous jobs, polled with
//     queryAsyncJobResult (jobstatus 0 for JobPolls polls, then 1 or 2);
//   - errors as CloudStack sends them: HTTP 431 with errorcode/cserrorcode/errortext for
//     bad parameters, and failed jobs (533, insufficient capacity, when the zone's host
//     lacks the memory);
//   - the zone's one guest network is isolated (behind a virtual router, as in an advanced
//     zone): machines get addresses from 10.1.1.0/24 on it, reachable from outside only
//     through a public address of the network (associateIpAddress, async; from
//     203.0.113.0/24, never dialled) with a port forwarding rule (createPortForwardingRule,
//     async; openfirewall, true by default outside VPCs, adds the firewall's ingress rule
//     for the public port, otherwise the port stays closed) — listPublicIpAddresses (tags),
//     listPortForwardingRules, listFirewallRules, createTags on PublicIpAddress,
//     disassociateIpAddress (async: the address's rules go with it); expunging a machine
//     removes its forwarding rules. Route says where the virtual router would send a
//     connection.
//
// No machine boots: a deployed machine is Running with an address from 10.1.1.0/24.
package cloudstackfake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake is a CloudStack API with one zone, one account and one host.
type Fake struct {
	URL               string
	APIKey, SecretKey string
	// JobPolls is how many polls of a job answer "pending" before its result.
	JobPolls int
	// HostMemoryMiB is the memory of the zone's one host: deploys beyond it fail (533).
	HostMemoryMiB int

	mu        sync.Mutex
	zone      Zone
	templates map[string]string // id -> name
	offerings map[string]Offering
	keyPairs  map[string]string // name -> public key
	vms       map[string]*VM    // by id
	network   string            // the isolated guest network's id
	addresses map[string]*PublicIP
	forwards  map[string]*Forward // port forwarding rules by id
	firewall  map[string]*Forward // firewall ingress rules by id (PrivatePort unused)
	jobs      map[string]*job
	seq       int
	calls     []string
}

// Zone, Offering and VM are the fake's resources, as the API reports them.
type Zone struct{ ID, Name string }

type Offering struct {
	ID, Name        string
	CPUs, MemoryMiB int
}

type VM struct {
	ID, Name, DisplayName, State, Address string
	TemplateID, OfferingID, KeyPair       string
	RootDiskGiB                           int64
	UserData                              []byte // decoded
	Tags                                  map[string]string
	memoryMiB                             int
	network                               string
}

// PublicIP is a public address associated with the guest network.
type PublicIP struct {
	ID, Address, NetworkID string
	Tags                   map[string]string
}

// Forward is a port forwarding rule (or, without VMID, a firewall ingress rule).
type Forward struct {
	ID, IPID, VMID, Protocol string
	PublicPort, PrivatePort  int
	CIDRs                    string
}

type job struct {
	polls  int
	status int // 1 done, 2 failed
	result any
	apply  func() // the job's effect, applied when it ends
}

// Start serves a fake with zone "zone-1", templates "debian-12-template" and
// "debian-11-template", and offerings
// small (1 CPU, 1024 MiB) and large (2 CPUs, 4096 MiB), until the test ends.
func Start(t testing.TB) *Fake {
	f := &Fake{APIKey: "fake-api-key", SecretKey: "fake-secret-key", JobPolls: 2, HostMemoryMiB: 8192,
		zone:      Zone{ID: "3f1c5c1e-0000-4000-8000-000000000001", Name: "zone-1"},
		templates: map[string]string{"7a3e2f10-0000-4000-8000-000000000002": "debian-12-template", "7a3e2f10-0000-4000-8000-000000000005": "debian-11-template"},
		offerings: map[string]Offering{
			"b5d8c6a0-0000-4000-8000-000000000003": {ID: "b5d8c6a0-0000-4000-8000-000000000003", Name: "small", CPUs: 1, MemoryMiB: 1024},
			"b5d8c6a0-0000-4000-8000-000000000004": {ID: "b5d8c6a0-0000-4000-8000-000000000004", Name: "large", CPUs: 2, MemoryMiB: 4096},
		},
		keyPairs: map[string]string{}, vms: map[string]*VM{}, jobs: map[string]*job{},
		network: "9c0e4d2b-0000-4000-8000-000000000006", addresses: map[string]*PublicIP{}, forwards: map[string]*Forward{}, firewall: map[string]*Forward{}}
	hs := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(hs.Close)
	f.URL = hs.URL + "/client/api"
	return f
}

// AddVM plants a Running machine called name with no tags, as a deploy cut short before
// the driver tagged it leaves one.
func (f *Fake) AddVM(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vm := &VM{ID: f.id(), Name: name, State: "Running", Address: "10.1.1.250", Tags: map[string]string{}}
	f.vms[vm.ID] = vm
}

// DeleteTemplate removes a template, as an operator would while the driver runs.
func (f *Fake) DeleteTemplate(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, n := range f.templates {
		if n == name {
			delete(f.templates, id)
		}
	}
}

// VMs returns copies of the machines that exist, by name.
func (f *Fake) VMs() map[string]VM {
	return copies(f, f.vms, func(vm *VM) string { return vm.Name })
}

// KeyPairs returns the registered key pairs (name -> public key).
func (f *Fake) KeyPairs() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.keyPairs)
}

// Addresses returns copies of the public addresses associated, by address.
func (f *Fake) Addresses() map[string]PublicIP {
	return copies(f, f.addresses, func(ip *PublicIP) string { return ip.Address })
}

// Firewall returns copies of the firewall's ingress rules, by id.
func (f *Fake) Firewall() map[string]Forward {
	return copies(f, f.firewall, func(r *Forward) string { return r.ID })
}

// copies returns copies of the resources in m, by key.
func copies[R any](f *Fake, m map[string]*R, key func(*R) string) map[string]R {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]R{}
	for _, r := range m {
		out[key(r)] = *r
	}
	return out
}

// Route is where the network's virtual router sends a TCP connection to a public address
// and port: the machine's address and port of a forwarding rule, when a firewall rule
// opens the port ("" otherwise).
func (f *Fake) Route(address string, port int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	open := false
	for _, r := range f.firewall {
		if ip := f.addresses[r.IPID]; ip != nil && ip.Address == address && r.Protocol == "tcp" && r.PublicPort == port {
			open = true
		}
	}
	for _, r := range f.forwards {
		if ip, vm := f.addresses[r.IPID], f.vms[r.VMID]; open && ip != nil && vm != nil && ip.Address == address && r.Protocol == "tcp" && r.PublicPort == port {
			return fmt.Sprintf("%s:%d", vm.Address, r.PrivatePort)
		}
	}
	return ""
}

// Calls returns the commands served, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// apiError is CloudStack's error answer.
type apiError struct {
	status, csCode int
	text           string
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	params := r.Form
	cmd := params.Get("command")
	answer := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{strings.ToLower(cmd) + "response": body})
	}
	if e := f.authenticate(params); e != nil {
		answer(e.status, map[string]any{"errorcode": e.status, "cserrorcode": e.csCode, "errortext": e.text})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cmd)
	body, e := f.command(cmd, r.Method, params)
	if e != nil {
		answer(e.status, map[string]any{"errorcode": e.status, "cserrorcode": e.csCode, "errortext": e.text})
		return
	}
	answer(200, body)
}

// authenticate checks the API key, the expiry and the signature.
func (f *Fake) authenticate(params url.Values) *apiError {
	denied := &apiError{401, 4325, "unable to verify user credentials and/or request signature"}
	if params.Get("apiKey") != f.APIKey {
		return denied
	}
	if params.Get("signatureversion") == "3" {
		exp, err := time.Parse(time.RFC3339, params.Get("expires"))
		if err != nil || time.Now().After(exp) {
			return denied
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range params[k] {
			pairs = append(pairs, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	mac := hmac.New(sha1.New, []byte(f.SecretKey))
	mac.Write([]byte(strings.ToLower(strings.Join(pairs, "&"))))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(params.Get("signature")), []byte(want)) {
		return denied
	}
	return nil
}

func bad(format string, args ...any) *apiError {
	return &apiError{431, 4350, fmt.Sprintf(format, args...)}
}

func (f *Fake) id() string {
	f.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", f.seq, f.seq)
}

// list is a list answer: {"count": n, key: items}, or {} when empty.
func list(key string, items []any) map[string]any {
	if len(items) == 0 {
		return map[string]any{}
	}
	return map[string]any{"count": len(items), key: items}
}

// async starts a job and answers with its id (and the id of the resource it makes).
func (f *Fake) async(j *job, resourceID string) map[string]any {
	id := f.id()
	f.jobs[id] = j
	out := map[string]any{"jobid": id}
	if resourceID != "" {
		out["id"] = resourceID
	}
	return out
}

func (f *Fake) command(cmd, method string, p url.Values) (any, *apiError) {
	switch cmd {
	case "listZones":
		if n := p.Get("name"); n != "" && n != f.zone.Name {
			return list("zone", nil), nil
		}
		return list("zone", []any{map[string]any{"id": f.zone.ID, "name": f.zone.Name, "allocationstate": "Enabled"}}), nil
	case "listTemplates":
		if p.Get("templatefilter") == "" {
			return nil, bad("Unable to execute API command listtemplates due to missing parameter templatefilter")
		}
		var items []any
		for id, n := range f.templates {
			if (p.Get("name") == "" || p.Get("name") == n) && (p.Get("id") == "" || p.Get("id") == id) {
				items = append(items, map[string]any{"id": id, "name": n, "zoneid": f.zone.ID, "isready": true})
			}
		}
		return list("template", items), nil
	case "listServiceOfferings":
		var items []any
		for _, o := range f.offerings {
			if (p.Get("name") == "" || p.Get("name") == o.Name) && (p.Get("id") == "" || p.Get("id") == o.ID) {
				items = append(items, map[string]any{"id": o.ID, "name": o.Name, "cpunumber": o.CPUs, "memory": o.MemoryMiB})
			}
		}
		return list("serviceoffering", items), nil
	case "listSSHKeyPairs":
		var items []any
		for n, k := range f.keyPairs {
			if p.Get("name") == "" || p.Get("name") == n {
				items = append(items, map[string]any{"name": n, "fingerprint": fmt.Sprintf("%x", sha1.Sum([]byte(k)))})
			}
		}
		return list("sshkeypair", items), nil
	case "registerSSHKeyPair":
		n, k := p.Get("name"), p.Get("publickey")
		switch {
		case n == "" || k == "":
			return nil, bad("Unable to execute API command registersshkeypair due to missing parameter name or publickey")
		case f.keyPairs[n] != "":
			return nil, bad("A key pair with name '%s' already exists.", n)
		case !strings.HasPrefix(k, "ssh-"):
			return nil, bad("Public key is invalid")
		}
		f.keyPairs[n] = k
		return map[string]any{"keypair": map[string]any{"name": n}}, nil
	case "deleteSSHKeyPair":
		if f.keyPairs[p.Get("name")] == "" {
			return nil, bad("A key pair with name '%s' does not exist for account", p.Get("name"))
		}
		delete(f.keyPairs, p.Get("name"))
		return map[string]any{"success": "true"}, nil
	case "listVirtualMachines":
		var items []any
		for _, vm := range f.vms {
			if strings.Contains(vm.Name, p.Get("name")) && (p.Get("id") == "" || p.Get("id") == vm.ID) {
				items = append(items, vm.view())
			}
		}
		sort.Slice(items, func(i, j int) bool {
			return items[i].(map[string]any)["name"].(string) < items[j].(map[string]any)["name"].(string)
		})
		return list("virtualmachine", items), nil
	case "deployVirtualMachine":
		return f.deploy(method, p)
	case "startVirtualMachine", "destroyVirtualMachine", "expungeVirtualMachine":
		vm := f.vms[p.Get("id")]
		if vm == nil {
			return nil, bad("Unable to execute API command %s due to invalid value. Invalid parameter id value=%s due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.", strings.ToLower(cmd), p.Get("id"))
		}
		j := &job{status: 1, result: map[string]any{"virtualmachine": vm.view()}}
		switch {
		case cmd == "startVirtualMachine":
			j.apply = func() { vm.State = "Running" }
		case cmd == "expungeVirtualMachine" && vm.State != "Destroyed":
			return nil, bad("Unable to expunge VM %s: it is not Destroyed", vm.ID)
		case cmd == "expungeVirtualMachine" || p.Get("expunge") == "true":
			vm.State = "Expunging"
			j.apply = func() {
				delete(f.vms, vm.ID)
				for id, r := range f.forwards {
					if r.VMID == vm.ID {
						delete(f.forwards, id)
					}
				}
			}
		default:
			vm.State = "Destroyed"
		}
		return f.async(j, ""), nil
	case "createTags":
		var on map[string]string
		switch id := p.Get("resourceids"); {
		case p.Get("resourcetype") == "UserVm" && f.vms[id] != nil:
			on = f.vms[id].Tags
		case p.Get("resourcetype") == "PublicIpAddress" && f.addresses[id] != nil:
			on = f.addresses[id].Tags
		default:
			return nil, bad("Unable to find resource by id %s and type %s", id, p.Get("resourcetype"))
		}
		tags := tagsOf(p)
		return f.async(&job{status: 1, result: map[string]any{"success": true}, apply: func() {
			for k, v := range tags {
				on[k] = v
			}
		}}, ""), nil
	case "associateIpAddress":
		if p.Get("networkid") != f.network {
			return nil, bad("Unable to find network by id %s", p.Get("networkid"))
		}
		ip := &PublicIP{ID: f.id(), NetworkID: f.network, Tags: map[string]string{}}
		ip.Address = fmt.Sprintf("203.0.113.%d", 1+len(f.addresses)%250)
		j := &job{status: 1}
		j.apply = func() {
			f.addresses[ip.ID] = ip
			j.result = map[string]any{"ipaddress": ip.view()}
		}
		return f.async(j, ip.ID), nil
	case "listPublicIpAddresses":
		want := tagsOf(p)
		var items []any
	ips:
		for _, ip := range f.addresses {
			for k, v := range want {
				if ip.Tags[k] != v {
					continue ips
				}
			}
			if (p.Get("id") == "" || p.Get("id") == ip.ID) && (p.Get("associatednetworkid") == "" || p.Get("associatednetworkid") == ip.NetworkID) {
				items = append(items, ip.view())
			}
		}
		return list("publicipaddress", items), nil
	case "disassociateIpAddress":
		ip := f.addresses[p.Get("id")]
		if ip == nil {
			return nil, bad("Unable to find ip address by id=%s", p.Get("id"))
		}
		return f.async(&job{status: 1, result: map[string]any{"success": true}, apply: func() {
			delete(f.addresses, ip.ID)
			for _, rules := range []map[string]*Forward{f.forwards, f.firewall} {
				for id, r := range rules {
					if r.IPID == ip.ID {
						delete(rules, id)
					}
				}
			}
		}}, ""), nil
	case "createPortForwardingRule":
		return f.forward(p)
	case "listPortForwardingRules", "listFirewallRules":
		rules, key := f.forwards, "portforwardingrule"
		if cmd == "listFirewallRules" {
			rules, key = f.firewall, "firewallrule"
		}
		var items []any
		for _, r := range rules {
			if p.Get("ipaddressid") == "" || p.Get("ipaddressid") == r.IPID {
				items = append(items, r.view(f.addresses[r.IPID]))
			}
		}
		return list(key, items), nil
	case "queryAsyncJobResult":
		j := f.jobs[p.Get("jobid")]
		if j == nil {
			return nil, bad("Unable to find job by id %s", p.Get("jobid"))
		}
		if j.polls < f.JobPolls {
			j.polls++
			return map[string]any{"jobid": p.Get("jobid"), "jobstatus": 0, "jobprocstatus": 0, "jobresultcode": 0}, nil
		}
		if j.apply != nil {
			j.apply()
			j.apply = nil
		}
		code := 0
		if j.status == 2 {
			code = 530
		}
		return map[string]any{"jobid": p.Get("jobid"), "jobstatus": j.status, "jobresultcode": code, "jobresulttype": "object", "jobresult": j.result}, nil
	}
	return nil, &apiError{432, 9999, "The given command does not exist or it is not available for the user"}
}

func (f *Fake) deploy(method string, p url.Values) (any, *apiError) {
	if method != http.MethodPost && len(p.Get("userdata")) > 2048 {
		return nil, bad("Userdata is too long for an HTTP GET request")
	}
	if p.Get("zoneid") != f.zone.ID {
		return nil, bad("Unable to find zone by id %s", p.Get("zoneid"))
	}
	if _, ok := f.templates[p.Get("templateid")]; !ok {
		return nil, bad("Unable to use template %s as it may be removed or not ready", p.Get("templateid"))
	}
	o, ok := f.offerings[p.Get("serviceofferingid")]
	if !ok {
		return nil, bad("Unable to find service offering: %s", p.Get("serviceofferingid"))
	}
	name := p.Get("name")
	for _, vm := range f.vms {
		if vm.Name == name {
			return nil, bad("The vm with hostName %s already exists in the network domain", name)
		}
	}
	var ud []byte
	if u := p.Get("userdata"); u != "" {
		if len(u) > 32768 {
			return nil, bad("User data is too long. Max allowed length is 32768 but provided %d", len(u))
		}
		var err error
		if ud, err = base64.StdEncoding.DecodeString(u); err != nil {
			return nil, bad("User data is not base64 encoded")
		}
	}
	kp := p.Get("keypairs")
	if kp == "" {
		kp = p.Get("keypair")
	}
	if kp != "" && f.keyPairs[kp] == "" {
		return nil, bad("A key pair with name '%s' was not found for account", kp)
	}
	disk, _ := strconv.ParseInt(p.Get("rootdisksize"), 10, 64)
	vm := &VM{ID: f.id(), Name: name, DisplayName: p.Get("displayname"), State: "Starting", TemplateID: p.Get("templateid"),
		OfferingID: o.ID, KeyPair: kp, RootDiskGiB: disk, UserData: ud, Tags: map[string]string{}, memoryMiB: o.MemoryMiB, network: f.network}
	used := 0
	for _, other := range f.vms {
		used += other.memoryMiB
	}
	f.vms[vm.ID] = vm
	j := &job{status: 1, result: map[string]any{"virtualmachine": nil}}
	if used+o.MemoryMiB > f.HostMemoryMiB {
		// As CloudStack: the job fails and the machine is left in Error.
		j.status = 2
		j.result = map[string]any{"errorcode": 533, "errortext": fmt.Sprintf("Unable to create a deployment for VM instance {\"id\":%q}: Insufficient capacity", vm.ID)}
		j.apply = func() { vm.State = "Error" }
	} else {
		j.apply = func() {
			vm.State = "Running"
			vm.Address = fmt.Sprintf("10.1.1.%d", 10+f.seq%200)
			j.result = map[string]any{"virtualmachine": vm.view()}
		}
	}
	return f.async(j, vm.ID), nil
}

// view is a machine as listVirtualMachines reports it.
func (vm *VM) view() map[string]any {
	tags := []any{}
	keys := make([]string, 0, len(vm.Tags))
	for k := range vm.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, map[string]any{"key": k, "value": vm.Tags[k], "resourcetype": "UserVm", "resourceid": vm.ID})
	}
	v := map[string]any{"id": vm.ID, "name": vm.Name, "displayname": vm.DisplayName, "state": vm.State,
		"templateid": vm.TemplateID, "serviceofferingid": vm.OfferingID, "keypairs": vm.KeyPair, "tags": tags, "nic": []any{}}
	if vm.Address != "" {
		v["nic"] = []any{map[string]any{"id": vm.ID + "-nic", "ipaddress": vm.Address, "isdefault": true, "networkid": vm.network}}
	}
	return v
}

// tagsOf is the tags[i].key/tags[i].value parameters.
func tagsOf(p url.Values) map[string]string {
	tags := map[string]string{}
	for i := 0; p.Has(fmt.Sprintf("tags[%d].key", i)); i++ {
		tags[p.Get(fmt.Sprintf("tags[%d].key", i))] = p.Get(fmt.Sprintf("tags[%d].value", i))
	}
	return tags
}

// forward creates a port forwarding rule (and, with openfirewall, its firewall rule).
func (f *Fake) forward(p url.Values) (any, *apiError) {
	ip, vm := f.addresses[p.Get("ipaddressid")], f.vms[p.Get("virtualmachineid")]
	private, err1 := strconv.Atoi(p.Get("privateport"))
	public, err2 := strconv.Atoi(p.Get("publicport"))
	proto := strings.ToLower(p.Get("protocol"))
	switch {
	case ip == nil:
		return nil, bad("Unable to create port forwarding rule; ip id=%s doesn't exist in the system", p.Get("ipaddressid"))
	case vm == nil:
		return nil, bad("Unable to find virtual machine by id %s", p.Get("virtualmachineid"))
	case vm.network != ip.NetworkID:
		return nil, bad("Unable to create port forwarding rule; vm id=%s is not in the network of the ip address", vm.ID)
	case err1 != nil || err2 != nil || private < 1 || private > 65535 || public < 1 || public > 65535:
		return nil, bad("Unable to create port forwarding rule: invalid port")
	case proto != "tcp" && proto != "udp":
		return nil, bad("Unable to create port forwarding rule: protocol %s is not supported", proto)
	}
	for _, r := range f.forwards {
		if r.IPID == ip.ID && r.Protocol == proto && r.PublicPort == public {
			return nil, bad("The range specified, %d-%d, conflicts with rule %s which has %d-%d", public, public, r.ID, r.PublicPort, r.PublicPort)
		}
	}
	cidrs := p.Get("cidrlist")
	if cidrs == "" {
		cidrs = "0.0.0.0/0"
	}
	r := &Forward{ID: f.id(), IPID: ip.ID, VMID: vm.ID, Protocol: proto, PublicPort: public, PrivatePort: private, CIDRs: cidrs}
	j := &job{status: 1, result: map[string]any{"portforwardingrule": r.view(ip)}}
	j.apply = func() {
		f.forwards[r.ID] = r
		// Outside VPCs openfirewall defaults to true.
		if p.Get("openfirewall") != "false" {
			f.firewall[r.ID+"-fw"] = &Forward{ID: r.ID + "-fw", IPID: ip.ID, Protocol: proto, PublicPort: public, CIDRs: cidrs}
		}
	}
	return f.async(j, r.ID), nil
}

func (ip *PublicIP) view() map[string]any {
	tags := []any{}
	for k, v := range ip.Tags {
		tags = append(tags, map[string]any{"key": k, "value": v, "resourcetype": "PublicIpAddress", "resourceid": ip.ID})
	}
	return map[string]any{"id": ip.ID, "ipaddress": ip.Address, "associatednetworkid": ip.NetworkID, "state": "Allocated", "issourcenat": false, "tags": tags}
}

func (r *Forward) view(ip *PublicIP) map[string]any {
	v := map[string]any{"id": r.ID, "ipaddressid": r.IPID, "protocol": r.Protocol, "cidrlist": r.CIDRs, "state": "Active",
		"startport": r.PublicPort, "endport": r.PublicPort}
	if ip != nil {
		v["ipaddress"] = ip.Address
	}
	if r.VMID != "" {
		v["virtualmachineid"] = r.VMID
		v["publicport"], v["publicendport"] = strconv.Itoa(r.PublicPort), strconv.Itoa(r.PublicPort)
		v["privateport"], v["privateendport"] = strconv.Itoa(r.PrivatePort), strconv.Itoa(r.PrivatePort)
	}
	return v
}
