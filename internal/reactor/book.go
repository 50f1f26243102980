package reactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	api "github.com/dinfra/stack/api/reactor"
)

// record is what the reactor knows about one deployment; it is persisted so that a
// restarted reactor resumes (and never forgets) what it runs.
type record struct {
	Deployment Deployment     `json:"deployment"`
	Phase      api.Phase      `json:"phase"`
	Endpoints  []api.Endpoint `json:"endpoints,omitempty"`
	Message    string         `json:"message,omitempty"`
	// Attempts counts deploys begun and not finished (see maxUnfinishedDeploys).
	Attempts int `json:"attempts,omitempty"`

	op *operation // the background deploy or teardown in progress, if any
}

// operation is a background call into the driver.
type operation struct {
	cancel func()
	done   chan struct{}
}

func (r *record) status() api.Deployment {
	d := api.Deployment{
		Id:            r.Deployment.ID,
		Type:          r.Deployment.Type,
		DescriptorCid: r.Deployment.CID.String(),
		Units:         r.Deployment.Units,
		Phase:         r.Phase,
	}
	if len(r.Endpoints) > 0 {
		eps := append([]api.Endpoint(nil), r.Endpoints...)
		d.Endpoints = &eps
	}
	if r.Message != "" {
		msg := r.Message
		d.Message = &msg
	}
	return d
}

// book persists records as one JSON file per deployment in dir; an empty dir keeps them in
// memory only.
type book struct{ dir string }

func (b book) save(r *record) error {
	if b.dir == "" {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode deployment %s: %w", r.Deployment.ID, err)
	}
	tmp := b.path(r.Deployment.ID) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save deployment %s: %w", r.Deployment.ID, err)
	}
	if err := os.Rename(tmp, b.path(r.Deployment.ID)); err != nil {
		return fmt.Errorf("save deployment %s: %w", r.Deployment.ID, err)
	}
	return nil
}

func (b book) remove(id string) error {
	if b.dir == "" {
		return nil
	}
	if err := os.Remove(b.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget deployment %s: %w", id, err)
	}
	return nil
}

// load returns every persisted record, sorted by id. A file that cannot be read as a record
// is moved aside (NAME.json.quarantined) and logged: the watcher deploys its order anew if
// it is still live, through every check at the door.
func (b book) load(log *slog.Logger) ([]*record, error) {
	if b.dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("reactor state directory: %w", err)
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("reactor state directory: %w", err)
	}
	var out []*record
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("load deployment: %w", err)
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil || r.Deployment.ID+".json" != e.Name() {
			log.Error("unreadable deployment record moved aside", "file", e.Name(), "err", err)
			if err := os.Rename(filepath.Join(b.dir, e.Name()), filepath.Join(b.dir, e.Name()+".quarantined")); err != nil {
				return nil, fmt.Errorf("quarantine deployment record: %w", err)
			}
			continue
		}
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Deployment.ID < out[j].Deployment.ID })
	return out, nil
}

func (b book) path(id string) string { return filepath.Join(b.dir, id+".json") }
