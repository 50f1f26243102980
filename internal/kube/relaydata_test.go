package kube

import (
	"testing"
)

// The relay-data claim takes the group's storageClassName when relay.storageClassName is
// unset, and only parachain groups whose parachain sets relay.storage get one.
func TestRelayDataClaimClass(t *testing.T) {
	n := loadSpec(t, "testdata/collators.yaml")
	n.Spec.Parachains[0].Relay.StorageClassName = ""
	n.Spec.Groups[1].StorageClassName = "standard"
	objs, err := Desired(n, testKeys(t, n), Options{})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(name string) map[string]string {
		out := map[string]string{}
		for _, c := range findStatefulSet(t, objs, name).Spec.VolumeClaimTemplates {
			class := ""
			if c.Spec.StorageClassName != nil {
				class = *c.Spec.StorageClassName
			}
			out[c.Name] = class
		}
		return out
	}
	if got := claims(GroupName("paras", "collator")); got[volumeRelayData] != "standard" {
		t.Errorf("collator claim templates (name: class) %v, want relay-data of class standard", got)
	}
	if got := claims(GroupName("paras", "validator")); len(got) != 2 {
		t.Errorf("validator claim templates %v, want data and keystore only (no relay-data)", got)
	}
}
