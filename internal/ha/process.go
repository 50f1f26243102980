package ha

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a Node run as a child process of the agent, as in a cluster pod where `onf ha
// agent` is the container's entrypoint: it starts the node with the standby command line,
// restarts it with the authority one on Promote, and on Fence kills its process group and
// removes its keys (Role) before it restarts keyless.
type Process struct {
	Binary      string
	SignArgs    []string // the command line while it signs
	StandbyArgs []string // the keyless command line
	// Role puts the keys in place before a signing start and removes them on Fence and
	// before a standby start (Gossamer, Keystore); nil for a node with nothing on disk.
	Role Role
	Log  *slog.Logger

	mu        sync.Mutex // held while the process starts, so a fence never misses it
	authority bool
	pid       int // the running process group, 0 when none
	unhealthy time.Time
	kick      chan struct{} // the agent stopped the node: restart it at once
}

// processStartupGrace is how long a starting node may take to answer before it counts as
// not answering.
const processStartupGrace = 2 * time.Minute

// Run keeps the node running until ctx ends (then its process group is killed), watching its
// health over url.
func (p *Process) Run(ctx context.Context, url string, poll time.Duration) {
	p.mu.Lock()
	p.kick = make(chan struct{}, 1)
	p.mu.Unlock()
	go WatchHealth(ctx, url, poll, processStartupGrace, p.current, p.report)
	for ctx.Err() == nil {
		cmd, err := p.start()
		if err != nil {
			p.Log.Error("ha: node start", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		case err := <-done:
			p.Log.Warn("ha: node exited", "err", err)
		}
		p.mu.Lock()
		p.pid = 0
		p.mu.Unlock()
		select { // an exit the agent caused restarts at once, any other after a second
		case <-p.kick:
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (p *Process) start() (*exec.Cmd, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select { // a kick before this start is spent
	case <-p.kick:
	default:
	}
	args := p.StandbyArgs
	if p.authority {
		args = p.SignArgs
	}
	if p.Role != nil {
		if err := p.Role.Prepare(p.authority); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(p.Binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.pid, p.unhealthy = cmd.Process.Pid, time.Time{}
	p.Log.Info("ha: node started", "authority", p.authority)
	return cmd, nil
}

// Fence kills the node's process group at once (SIGKILL: a node told to stop politely could
// still sign on its way out) and removes its keys; it restarts keyless.
func (p *Process) Fence(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authority = false
	p.stop(syscall.SIGKILL)
	if p.Role != nil {
		if err := p.Role.Fence(); err != nil {
			p.Log.Error("ha: removing the keys", "err", err)
		}
	}
	p.Log.Warn("ha: fenced", "reason", reason)
}

// Promote restarts the keyless node as the authority.
func (p *Process) Promote() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authority = true
	p.stop(syscall.SIGTERM)
}

// stop signals the running process group and asks for an immediate restart; p.mu is held.
func (p *Process) stop(sig syscall.Signal) {
	if p.pid == 0 {
		return
	}
	_ = syscall.Kill(-p.pid, sig)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *Process) Authority() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authority
}

func (p *Process) Unhealthy() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unhealthy
}

func (p *Process) current() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *Process) report(pid int, missed time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid == pid {
		p.unhealthy = missed
	}
}
