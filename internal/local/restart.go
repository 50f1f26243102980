package local

import (
	"context"
	"fmt"
)

// Restart stops a node of a running network and starts it again (`onf restart`): the hold
// backups take, released at once, then a wait until the node answers RPC again. The node's
// data, keys and peer ID are kept.
func (r *Runtime) Restart(ctx context.Context, name, node string) error {
	if _, err := r.nodePlan(name, node); err != nil {
		return err
	}
	if r.supervisorPID(name) == 0 {
		return fmt.Errorf("network %s is not running: its nodes start with onf up", name)
	}
	release, err := r.Hold(ctx, name, node)
	if err != nil {
		return err
	}
	return r.restart(ctx, name, node, release, 0)
}
