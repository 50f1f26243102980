// Command etcd is the upstream etcd server, built from a wrapper module as the storage of the
// test control plane (envtest).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
