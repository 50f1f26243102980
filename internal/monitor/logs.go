package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// LogShipper pushes the node output a local network's supervisor captures (one file per
// node) to a Loki push API, one stream per network, group, node and level (the labels the
// cluster collector config, monitoring/logs/fluent-bit.yaml, gives pods' logs), and
// remembers how far it got in each file so a restarted shipper sends nothing twice.
type LogShipper struct {
	// URL is the push endpoint: /loki/api/v1/push of Loki, /insert/loki/api/v1/push of
	// VictoriaLogs.
	URL     string
	Network string
	// Logs is the network's log directory; State holds the shipper's offsets.
	Logs, State string
	// Spec is the network's applied spec, read at every pass for each node's group (nodes
	// come and go with scaling); empty: no group label.
	Spec string
	// MaxBatch bounds the bytes of log lines in one push (default 1 MiB).
	MaxBatch int
}

// Run ships new lines every interval until ctx ends.
func (s *LogShipper) Run(ctx context.Context, interval time.Duration) error {
	for {
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "ship logs:", err) // kept in the shipper's own log
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Once pushes every complete line written since the last push.
func (s *LogShipper) Once(ctx context.Context) error {
	offsets := map[string]int64{}
	if data, err := os.ReadFile(s.State); err == nil {
		if err := json.Unmarshal(data, &offsets); err != nil {
			return fmt.Errorf("%s: %w", s.State, err)
		}
	}
	groups, err := s.groups()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(s.Logs, "*.log"))
	if err != nil {
		return err
	}
	for _, file := range files {
		node := strings.TrimSuffix(filepath.Base(file), ".log")
		for {
			lines, next, err := readLines(file, offsets[node], cmpOr(s.MaxBatch, 1<<20))
			if err != nil || len(lines) == 0 {
				break
			}
			if err := s.push(ctx, groups[node], node, lines); err != nil {
				return err
			}
			offsets[node] = next
			data, _ := json.Marshal(offsets)
			if err := writeFile(s.State, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// groups maps each node of the applied spec to its group.
func (s *LogShipper) groups() (map[string]string, error) {
	out := map[string]string{}
	if s.Spec == "" {
		return out, nil
	}
	data, err := os.ReadFile(s.Spec)
	if err != nil {
		return nil, err
	}
	var n v1alpha1.SubstrateNetwork
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Spec, err)
	}
	network.Default(&n)
	for _, ref := range network.Nodes(&n) {
		out[ref.Name] = ref.Group
	}
	return out, nil
}

// streamLabels are a log stream's labels; "" values are left out.
func streamLabels(network, group, node, level string) map[string]string {
	l := map[string]string{"network": network, "group": group, "node": node, "level": level}
	maps.DeleteFunc(l, func(_, v string) bool { return v == "" })
	return l
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// readLines reads the complete lines of file from offset, at most max bytes of them (at least
// one line). A file shorter than offset was truncated or replaced: it is read from the start.
func readLines(file string, offset int64, max int) ([]string, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, offset, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < offset {
		offset = 0
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, err
	}
	buf := make([]byte, max)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, offset, err
	}
	buf = buf[:n]
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		return nil, offset, nil
	}
	var lines []string
	for _, l := range strings.Split(string(buf[:end]), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, offset + int64(end) + 1, nil
}

// levels maps the level words of gossamer (INFO, EROR, ...) and polkadot-sdk (INFO, WARN, ...)
// logs to Loki's level names.
var levels = map[string]string{
	"TRACE": "trace", "TRCE": "trace", "DEBUG": "debug", "DBUG": "debug", "INFO": "info",
	"WARN": "warn", "WARNING": "warn", "ERROR": "error", "EROR": "error", "CRIT": "critical",
}

// Level finds a node log line's level among its first words; "unknown" when it has none
// (the database's own lines, panics).
func Level(line string) string {
	for i, w := range strings.Fields(line) {
		if i == 4 {
			break
		}
		if l, ok := levels[w]; ok {
			return l
		}
	}
	return "unknown"
}

// push sends lines of one node, one stream per level, stamped with the time they are sent
// (the lines' own time formats differ by flavor and version).
func (s *LogShipper) push(ctx context.Context, group, node string, lines []string) error {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	byLevel := map[string]*stream{}
	var streams []*stream
	now := time.Now().UnixNano()
	for i, l := range lines {
		lv := Level(l)
		st := byLevel[lv]
		if st == nil {
			st = &stream{Stream: streamLabels(s.Network, group, node, lv)}
			byLevel[lv] = st
			streams = append(streams, st)
		}
		// One nanosecond apart, so lines keep their order.
		st.Values = append(st.Values, [2]string{strconv.FormatInt(now+int64(i), 10), l})
	}
	body, err := json.Marshal(map[string]any{"streams": streams})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("push to %s: %s: %s", s.URL, resp.Status, msg)
	}
	return nil
}
