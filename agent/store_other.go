//go:build !linux

package agent

// dataStatus reports nothing outside Linux, where the agent does not run.
func dataStatus(dir string) DataStatus { return DataStatus{} }
