package watcher

import (
	"sort"
	"strconv"

	api "github.com/dinfra/stack/api/reactor"
)

// ActionKind is what the watcher does for one deployment.
type ActionKind int

const (
	// Deploy the order on the reactor (it is live on chain, the reactor does not have it).
	Deploy ActionKind = iota + 1
	// Teardown the deployment (the reactor has it, the chain no longer wants it).
	Teardown
	// ReportDeployed tells the chain the order runs, with its endpoints.
	ReportDeployed
	// ReportFailed tells the chain the order could not be deployed.
	ReportFailed
)

func (k ActionKind) String() string {
	return [...]string{"", "deploy", "teardown", "report-deployed", "report-failed"}[k]
}

// Action is one step towards the desired state.
type Action struct {
	Kind      ActionKind
	ID        string // the deployment id (the subscription id in decimal)
	Order     Order  // Deploy, ReportDeployed, ReportFailed
	Endpoints []string
	Reason    string
}

// DeploymentID is the reactor id of an order.
func DeploymentID(id uint64) string { return strconv.FormatUint(id, 10) }

// Plan compares the chain's live orders with the reactor's deployments and returns the
// actions that converge them, sorted by deployment id. Deployments the reactor is already
// tearing down are left alone, and so are those whose id is not an order's (decimal); a
// running deployment is never torn down while its order is live.
func Plan(live []Order, deployed []api.Deployment) []Action {
	have := make(map[string]api.Deployment, len(deployed))
	for _, d := range deployed {
		have[d.Id] = d
	}
	want := make(map[string]bool, len(live))
	var out []Action
	for _, o := range live {
		id := DeploymentID(o.ID)
		want[id] = true
		d, ok := have[id]
		switch {
		case !ok:
			out = append(out, Action{Kind: Deploy, ID: id, Order: o})
		case d.Phase == api.Running && !o.Reported:
			out = append(out, Action{Kind: ReportDeployed, ID: id, Order: o, Endpoints: urls(d.Endpoints)})
		case d.Phase == api.Failed && !o.Reported:
			out = append(out, Action{Kind: ReportFailed, ID: id, Order: o, Reason: message(d)})
		}
	}
	for _, d := range deployed {
		// Only deployments named like orders are the watcher's: others (a conformance run
		// against the same reactor, the provider's own) are not orphans of the chain.
		if _, err := strconv.ParseUint(d.Id, 10, 64); err == nil && !want[d.Id] && d.Phase != api.Terminating {
			out = append(out, Action{Kind: Teardown, ID: d.Id})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Net reduces a run of events (catch-up over many blocks) to the last event per order, so
// that an order awarded and ended while the watcher was down is never deployed.
func Net(events []Event) []Event {
	last := map[uint64]int{}
	for i, e := range events {
		last[e.Order.ID] = i
	}
	var out []Event
	for i, e := range events {
		if last[e.Order.ID] == i {
			out = append(out, e)
		}
	}
	return out
}

func urls(eps *[]api.Endpoint) []string {
	if eps == nil {
		return nil
	}
	out := make([]string, len(*eps))
	for i, e := range *eps {
		out[i] = e.Url
	}
	return out
}

func message(d api.Deployment) string {
	if d.Message != nil && *d.Message != "" {
		return *d.Message
	}
	return "deployment failed"
}
