package watcher

import (
	"reflect"
	"testing"

	api "github.com/dinfra/stack/api/reactor"
)

func dep(id string, phase api.Phase, msg string, eps ...string) api.Deployment {
	d := api.Deployment{Id: id, Phase: phase}
	if msg != "" {
		d.Message = &msg
	}
	if eps != nil {
		var list []api.Endpoint
		for _, e := range eps {
			list = append(list, api.Endpoint{Name: "n", Url: e})
		}
		d.Endpoints = &list
	}
	return d
}

func TestPlan(t *testing.T) {
	pending := func(id uint64) Order { return Order{ID: id} }
	active := func(id uint64) Order { return Order{ID: id, Reported: true} }
	tests := []struct {
		name     string
		live     []Order
		deployed []api.Deployment
		want     []Action
	}{
		{"nothing", nil, nil, nil},
		{"missing is deployed", []Order{pending(1)}, nil, []Action{{Kind: Deploy, ID: "1", Order: pending(1)}}},
		{"active but gone from the reactor is redeployed", []Order{active(2)}, nil, []Action{{Kind: Deploy, ID: "2", Order: active(2)}}},
		{"orphan is torn down", nil, []api.Deployment{dep("3", api.Running, "")}, []Action{{Kind: Teardown, ID: "3"}}},
		{"orphan already terminating is left alone", nil, []api.Deployment{dep("3", api.Terminating, "")}, nil},
		{"a deployment not named like an order is not the watcher's (conformance runs)", nil, []api.Deployment{dep("conformance-1a2b", api.Running, "")}, nil},
		{"running and unreported is reported", []Order{pending(4)}, []api.Deployment{dep("4", api.Running, "", "ws://a")},
			[]Action{{Kind: ReportDeployed, ID: "4", Order: pending(4), Endpoints: []string{"ws://a"}}}},
		{"running and reported: nothing", []Order{active(4)}, []api.Deployment{dep("4", api.Running, "", "ws://a")}, nil},
		{"pending on the reactor: wait", []Order{pending(5)}, []api.Deployment{dep("5", api.Pending, "")}, nil},
		{"failed and unreported is reported", []Order{pending(6)}, []api.Deployment{dep("6", api.Failed, "no gossamer")},
			[]Action{{Kind: ReportFailed, ID: "6", Order: pending(6), Reason: "no gossamer"}}},
		{"live order being torn down on the reactor: wait for it to go, then redeploy", []Order{active(7)}, []api.Deployment{dep("7", api.Terminating, "")}, nil},
		{"sorted by id", []Order{pending(9), pending(10)}, []api.Deployment{dep("1", api.Running, "")},
			[]Action{{Kind: Teardown, ID: "1"}, {Kind: Deploy, ID: "10", Order: pending(10)}, {Kind: Deploy, ID: "9", Order: pending(9)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plan(tt.live, tt.deployed); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Plan =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestNet(t *testing.T) {
	a := func(id uint64) Event { return Event{Kind: Awarded, Order: Order{ID: id}} }
	e := func(id uint64) Event { return Event{Kind: Ended, Order: Order{ID: id}} }
	got := Net([]Event{a(1), a(2), e(1), a(3), e(3)})
	want := []Event{a(2), e(1), e(3)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Net = %+v, want %+v", got, want)
	}
}
