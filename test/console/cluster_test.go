package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/console/consoletest"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// TestConsoleClusterActions: a cluster site (an envtest API server, fake pods: no kubelet)
// with its Alertmanager (--alertmanager dc-1=URL, a real one) shows the network's firing
// alert; a node restarts from the console through `onf restart`'s cluster path (its pod
// deleted; the test plays the StatefulSet and makes it anew, Ready); a backup goes through
// `onf backup create`'s cluster path (BackupNow), which refuses a network without spec.backup
// with the reason.
func TestConsoleClusterActions(t *testing.T) {
	testenv.Short(t)
	ctx := context.Background()
	dc := startSite(t)
	dc.create(t, ctx, fakeNetwork{namespace: "chains", name: "relay", rpc: 1, ready: 1, best: 50, finalized: 48, peers: 2})
	am := consoletest.StartAlertmanager(t, t.TempDir(), "relay")
	am.Fire("relay", "relay-rpc-0", "OnfClusterTestAlert", "critical", "posted by the test")
	cli := onfcli.Build(t)
	keys, key := keyFile(t)
	url, _ := startConsole(t, cli.Bin, "--no-local", "--kubeconfig", kubeconfig(t, map[string]*site{"dc-1": dc}),
		"--context", "dc-1", "--api-keys", keys, "--alertmanager", "dc-1="+am.URL, "--interval", "1s", "--action-timeout", "2m")

	testenv.Eventually(t, 2*time.Minute, "the cluster network with its alert", func() (bool, error) {
		o, err := getOverview(url)
		if err != nil {
			return false, err
		}
		s := summaryOf(siteOf(o, "dc-1"), "chains/relay")
		return s != nil && s.Alerts == 1, nil
	})
	b := browser(t)
	do(t, b, 30*time.Second, chromedp.Navigate(url+"/#/n/dc-1/chains%2Frelay"))
	alert := waitFor[string](t, b, time.Minute, "the alert row and rpc-0's restart button", `(() => {
  const r = document.querySelector('#alerts tr[data-alert]');
  return r && document.querySelector('button[data-restart-button="rpc-0"]') ? r.cells[0].textContent + ' ' + r.cells[1].textContent : null;
})()`)
	if alert != "OnfClusterTestAlert relay-rpc-0" {
		t.Errorf("alert row %q", alert)
	}

	pod := types.NamespacedName{Namespace: "chains", Name: "relay-rpc-0"}
	var before corev1.Pod
	if err := dc.cl.Get(ctx, pod, &before); err != nil {
		t.Fatal(err)
	}
	if code, out := post(t, url+"/api/restart", "", `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`); code != http.StatusUnauthorized {
		t.Errorf("restart without a key: %d %s", code, out)
	}
	// The StatefulSet's part, which no controller plays here: the deleted pod is made anew.
	sts, stop := context.WithTimeout(ctx, 2*time.Minute)
	done := make(chan struct{})
	t.Cleanup(func() { stop(); <-done })
	go func() {
		defer close(done)
		for sts.Err() == nil {
			var p corev1.Pod
			if apierrors.IsNotFound(dc.cl.Get(sts, pod, &p)) && dc.fakePod(sts, "chains", "relay", pod.Name, true) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	code, out := post(t, url+"/api/restart", key, `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`)
	if code != http.StatusOK || out["result"] != "network chains/relay: rpc-0 restarted, its new pod is Ready" {
		t.Fatalf("restart: %d %v", code, out)
	}
	var after corev1.Pod
	if err := dc.cl.Get(ctx, pod, &after); err != nil || after.UID == before.UID {
		t.Errorf("rpc-0's pod after the restart: uid %s (was %s), %v", after.UID, before.UID, err)
	}

	code, out = post(t, url+"/api/backup", key, `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`)
	if want := "backup chains/relay node rpc-0: network relay has no spec.backup"; code != http.StatusConflict || len(out["error"]) < len(want) || out["error"][:len(want)] != want {
		t.Errorf("backup without spec.backup: %d %v, want 409 %q...", code, out, want)
	}
	var d console.Detail
	if err := getJSON(url+"/api/network?site=dc-1&id=chains/relay", &d); err != nil || len(d.Alerts) != 1 || d.Alerts[0].Severity != "critical" {
		t.Errorf("detail alerts %+v, %v", d.Alerts, err)
	}
}

// post sends an action with the key in X-Api-Key and returns the status and the JSON answer.
func post(t *testing.T, url, key, body string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}
