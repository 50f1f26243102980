package testenv

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// S3Server is a real S3 server on loopback: versitygw (VERSITYGW_BIN, built by
// scripts/tools.sh from tools/versitygw) on its POSIX backend in a temporary directory.
type S3Server struct {
	// Root is the POSIX backend's directory: object KEY of bucket B is the file Root/B/KEY,
	// so a test can look at or damage what the server stores.
	Root string
	// Addr is the loopback host:port it serves on.
	Addr           string
	access, secret string
}

// S3 starts versitygw with one bucket on a free loopback port and stops it when the test
// ends. Its root keys are made for the test and reach the server through its environment,
// never its argv.
func S3(t testing.TB, bucket string) *S3Server {
	t.Helper()
	bin := Binary(t, "VERSITYGW_BIN", "versitygw")
	s := &S3Server{Root: t.TempDir(), access: rand.Text(), secret: rand.Text()}
	meta := t.TempDir()
	// A port free a moment ago can be taken before the server binds it: try a few.
	var err error
	for range 3 {
		s.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		if err = s.start(t, bin, meta, bucket); err == nil {
			return s
		}
	}
	t.Fatal(err)
	return nil
}

// start runs the server and waits until it accepts connections or exits.
func (s *S3Server) start(t testing.TB, bin, meta, bucket string) error {
	logFile := filepath.Join(t.TempDir(), "versitygw.log")
	log, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(bin, "-listen", s.Addr, "-root", s.Root, "-sidecar", meta, "-bucket", bucket)
	cmd.Env = []string{"ROOT_ACCESS_KEY_ID=" + s.access, "ROOT_SECRET_ACCESS_KEY=" + s.secret}
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		for sc := bufio.NewScanner(out); sc.Scan(); {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }
	select {
	case <-ready:
		t.Cleanup(stop)
		return nil
	case <-exited:
		msg, _ := os.ReadFile(logFile)
		return fmt.Errorf("versitygw on %s exited: %s", s.Addr, strings.TrimSpace(string(msg)))
	case <-time.After(time.Minute):
		stop()
		return fmt.Errorf("versitygw on %s: not ready within a minute", s.Addr)
	}
}

// URL is the s3:// URL (gocloud.dev/blob) of a bucket on the server.
func (s *S3Server) URL(bucket string) string {
	return "s3://" + bucket + "?region=us-east-1&use_path_style=true&disable_https=true&endpoint=http://" + s.Addr
}

// UseCredentials gives the test process's AWS SDK the server's root keys the way a backup
// pod gets its keys, in a shared credentials file, and takes every other source away
// (keys in the environment, profiles, config files, instance metadata): nothing leaves
// loopback.
func (s *S3Server) UseCredentials(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s.access, s.secret)
	if err := os.WriteFile(file, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	for _, env := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(env, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
