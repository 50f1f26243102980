package local

// MonitorPrometheus is the supervisor's address of the network's monitoring Prometheus, for
// the external test that checks it against internal/monitor's state file.
func MonitorPrometheus(home, name string) string {
	dir, err := NetworkDir(home, name)
	if err != nil {
		return ""
	}
	return (&Supervisor{home: home, dir: dir}).monitorPrometheus()
}
