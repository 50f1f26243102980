// Command versitygw is versitygw's S3 API server (github.com/versity/versitygw, Apache-2.0)
// on its POSIX backend with a single root account, and nothing else: the upstream command
// links every backend (Azure, S3 proxy, ScoutFS, plugins), and this one serves the tests'
// s3:// backups from a directory.
//
//	ROOT_ACCESS_KEY_ID=... ROOT_SECRET_ACCESS_KEY=... versitygw -listen 127.0.0.1:7070 \
//	    -root /tmp/gw -sidecar /tmp/gw-meta -bucket chain-backups
//
// The root keys come from the environment (versitygw's own variable names), never argv,
// which any user can read. It listens on a loopback address only, prints "ready" on stdout
// once it accepts connections, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/s3api"
	"github.com/versity/versitygw/s3api/middlewares"
)

const region = "us-east-1"

func main() {
	listen := flag.String("listen", "", "loopback host:port to serve S3 on (required)")
	root := flag.String("root", "", "directory whose subdirectories are the buckets (required)")
	sidecar := flag.String("sidecar", "", "directory for object metadata, outside -root (required: no extended attributes needed)")
	bucket := flag.String("bucket", "", "bucket to create at start if missing")
	flag.Parse()
	if err := run(*listen, *root, *sidecar, *bucket); err != nil {
		log.Fatalf("versitygw: %v", err)
	}
}

func run(listen, root, sidecar, bucket string) error {
	access, secret := os.Getenv("ROOT_ACCESS_KEY_ID"), os.Getenv("ROOT_SECRET_ACCESS_KEY")
	switch {
	case access == "" || secret == "":
		return errors.New("set ROOT_ACCESS_KEY_ID and ROOT_SECRET_ACCESS_KEY in the environment")
	case listen == "" || root == "" || sidecar == "":
		return errors.New("-listen, -root and -sidecar are required")
	}
	if host, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("-listen %s: %w", listen, err)
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %s: not a loopback address", listen)
	}
	ms, err := meta.NewSideCar(sidecar)
	if err != nil {
		return fmt.Errorf("-sidecar: %w", err)
	}
	be, err := posix.New(root, ms, posix.PosixOpts{SideCarDir: sidecar, Concurrency: 64})
	if err != nil {
		return fmt.Errorf("posix backend: %w", err)
	}
	defer be.Shutdown()
	if bucket != "" {
		// A bucket of the POSIX backend is a directory under the root.
		if err := os.Mkdir(filepath.Join(root, bucket), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("-bucket: %w", err)
		}
	}
	ready := func() { fmt.Println("ready") }
	srv, err := s3api.New(be, middlewares.RootUserConfig{Access: access, Secret: secret}, region,
		auth.NewIAMServiceSingle(auth.Account{Access: access, Secret: secret, Role: auth.RoleAdmin}), nil, nil, nil, nil,
		s3api.WithQuiet(), s3api.WithKeepAlive(), s3api.WithConcurrencyLimiter(256, 256),
		s3api.WithMpMaxParts(10000), s3api.WithOnListen(ready))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ServeMultiPort([]string{listen}) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		return srv.ShutDown()
	}
}
