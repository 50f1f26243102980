// Command kube-apiserver is the upstream Kubernetes API server, built from a wrapper module
// so tests (envtest) can run a real control plane without downloading release binaries.
package main

import (
	"os"
	_ "time/tzdata" // time zones for CronJob validation, as upstream

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
