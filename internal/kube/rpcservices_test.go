package kube

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestRPCServices(t *testing.T) {
	tests := []struct {
		spec string
		want []RPCService
	}{
		// gossamer serves WebSocket on a port of its own.
		{"testdata/dev.yaml", []RPCService{{Group: "rpc", Name: "dev-rpc-rpc", HTTPPort: 9944, WSPort: 9945}}},
		// polkadot-sdk serves both on one port; validators, boot nodes and collators get none.
		{"testdata/rococo.yaml", []RPCService{
			{Group: "rpc", Name: "rococo-rpc-rpc", HTTPPort: 9944, WSPort: 9944},
			{Group: "archive", Name: "rococo-archive-rpc", HTTPPort: 9944, WSPort: 9944},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			n := loadSpec(t, tc.spec)
			got, err := RPCServices(n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("RPCServices = %+v\nwant %+v", got, tc.want)
			}
			// The same Services, names and ports as the ones Desired creates.
			objs, err := Desired(n, testKeys(t, n), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var built []RPCService
			for _, o := range objs {
				svc, ok := o.(*corev1.Service)
				if !ok || svc.Labels[LabelService] != "rpc" {
					continue
				}
				built = append(built, rpcServiceOf(svc.Labels[LabelGroup], svc))
			}
			if !reflect.DeepEqual(got, built) {
				t.Fatalf("RPCServices = %+v\nDesired builds %+v", got, built)
			}
		})
	}
}

// TestRPCServicesNeedNoImage: names and ports do not depend on the image, which only the
// StatefulSets need.
func TestRPCServicesNeedNoImage(t *testing.T) {
	n := loadSpec(t, "testdata/dev.yaml")
	n.Spec.Node.Image = ""
	got, err := RPCServices(n)
	if err != nil || len(got) != 1 {
		t.Fatalf("RPCServices = %+v, %v", got, err)
	}
}

func TestRPCServicesRejectsWhatCannotBePlanned(t *testing.T) {
	n := loadSpec(t, "testdata/dev.yaml")
	n.Name = strings.Repeat("d", 50)
	if _, err := RPCServices(n); err == nil || !strings.Contains(err.Error(), "spec.groups[0].name") {
		t.Fatalf("RPCServices with a too long name: %v", err)
	}
}
