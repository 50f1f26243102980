// Command coredns is CoreDNS with only the plugins the real-pod integration tests need: it
// answers the test cluster's DNS (Services and StatefulSet pod names) from the API server,
// as a cluster's DNS add-on does.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func init() {
	// The order the server chains its plugins in (upstream's list, cut to what is built).
	dnsserver.Directives = []string{"bind", "errors", "kubernetes"}
}

func main() { coremain.Run() }
