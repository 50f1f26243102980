package cluster

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/kube"
)

// The last backups of a cluster network are what its backup Job pods' copy steps reported:
// the newest per node; failed steps, other networks' manifests and other pods do not count.
func TestBackupsOf(t *testing.T) {
	pod := func(name string, labels map[string]string, exit int32, m backup.Manifest) corev1.Pod {
		report, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "copy", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: string(report)}}}}}}
	}
	of := func(id, node string) backup.Manifest {
		return backup.Manifest{ID: id, Network: "relay", Node: node, Best: backup.Block{Number: 7}}
	}
	job := kube.BackupPodLabels("relay", "rpc")
	pods := []corev1.Pod{
		pod("b", job, 0, of("relay-20261205t030000.000z", "rpc-0")),
		pod("c", job, 0, of("relay-20261206t030000.000z", "rpc-0")),
		pod("d", job, 1, of("relay-20261207t030000.000z", "rpc-0")), // the step failed
		pod("e", job, 0, of("relay-20261204t030000.000z", "rpc-1")), // another node
		pod("f", job, 0, backup.Manifest{ID: "other-20261208t030000.000z", Network: "other", Node: "rpc-0"}),
		pod("relay-rpc-0", kube.NetworkLabels("relay"), 0, of("relay-20261209t030000.000z", "rpc-0")), // a node's pod
	}
	got := backupsOf("relay", pods)
	if len(got) != 2 || got[0].ID != "relay-20261206t030000.000z" || got[1].ID != "relay-20261204t030000.000z" {
		t.Errorf("backups %+v, want rpc-0's of 2026-12-06 then rpc-1's", got)
	}
}
