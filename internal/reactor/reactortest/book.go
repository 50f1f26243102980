package reactortest

import (
	"encoding/json"
	"os"
	"path/filepath"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/reactor"
)

// Book writes a deployment into a reactor's book in dir the way a reactor without today's
// checks booked it (a poisoned entry), with attempts deploys begun and never finished.
func Book(dir string, d reactor.Deployment, phase api.Phase, attempts int) error {
	data, err := json.Marshal(map[string]any{"deployment": d, "phase": phase, "attempts": attempts})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, d.ID+".json"), data, 0o600)
}
