package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dinfra/stack/internal/network"
)

// A hold stops one node and keeps it stopped, across reconciles and supervisor restarts,
// until it is released: `onf backup` copies or replaces a node's database while no process
// has it open. The hold is a file in the state directory, so it survives a crash of the
// command that took it (remove the file to release such a node by hand).

// Hold is the file that holds a node stopped.
func (d Dir) Hold(node string) string { return d.path("holds", node) }

// holdWait bounds how long taking a hold waits for the node to stop.
const holdWait = stopTimeout + 15*time.Second

// Hold stops the node and keeps it stopped until release is called; release starts it again
// (without waiting for it). A network whose supervisor is not running is held by the file
// alone. Only one hold per node: a second one is refused, unless the process that took it is
// gone.
func (r *Runtime) Hold(ctx context.Context, name, node string) (release func() error, err error) {
	dir, err := r.Dir(name)
	if err != nil {
		return nil, err
	}
	if err := network.CheckName(node); err != nil {
		return nil, fmt.Errorf("node name: %w", err)
	}
	file := dir.Hold(node)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, err
	}
	if holder := holdPID(file); holder != 0 && !alive(holder) {
		_ = os.Remove(file) // left by a command that died: take it over
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("node %s is already held by another backup or restore (remove %s if none runs)", node, file)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Close()
	release = func() error {
		err := os.Remove(file)
		if pid := r.supervisorPID(name); pid != 0 {
			err = errors.Join(err, syscall.Kill(pid, syscall.SIGHUP))
		}
		return err
	}
	if err := r.waitHeld(ctx, dir, name, node); err != nil {
		return nil, errors.Join(err, release())
	}
	return release, nil
}

// holdPID is the process that took the hold in file, or 0.
func holdPID(file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// waitHeld signals the supervisor and waits until it reports the node held and stopped, and
// the node's last process is gone.
func (r *Runtime) waitHeld(ctx context.Context, dir Dir, name, node string) error {
	pid := r.supervisorPID(name)
	if pid == 0 {
		return nil // nothing runs, and a supervisor that starts now sees the hold
	}
	var before Status
	if _, err := readJSON(dir.Status(), &before); err != nil {
		return err
	}
	last := before.Nodes[node].PID
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal supervisor: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, holdWait)
	defer cancel()
	for {
		var st Status
		_, err := readJSON(dir.Status(), &st)
		if ns := st.Nodes[node]; err == nil && ns.Held && !ns.Running && (last == 0 || !alive(last)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s did not stop: %w", node, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// held reports whether a node is held (Runtime.Hold).
func (s *Supervisor) held(node string) bool {
	_, err := os.Stat(s.dir.Hold(node))
	return err == nil
}

// applyHold stops a held node and marks it so; it reports whether the node is held.
func (s *Supervisor) applyHold(pr *proc) bool {
	pr.held = s.held(pr.plan.Name)
	if pr.held {
		if pr.cmd != nil {
			s.log.Info("stopping node held for a backup or restore", "node", pr.plan.Name)
			s.stop(pr)
		}
		pr.pending = false
	}
	return pr.held
}
