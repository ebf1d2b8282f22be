package agent

import (
	"context"
	"io"
	"time"
)

// Updater installs update packages beside the running system and reports
// what became of the last one. The admin API calls it; the ESP updater in
// this package is fogkit's implementation, and a vendor may bring another.
type Updater interface {
	// Install verifies the package and installs it as the next boot's
	// version without touching the running one. It returns once the new
	// version is bootable; an error leaves the appliance as it was.
	Install(ctx context.Context, pkg io.ReaderAt, size int64) (*Installed, error)
	// Status reports the running and pending versions and the last update.
	Status() UpdateStatus
}

// Installed is what Install put in place.
type Installed struct {
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	Slot     string `json:"slot"`
}

// UpdateStatus is the update half of the appliance's status.
type UpdateStatus struct {
	RunningSlot    string        `json:"runningSlot"`
	RunningVersion string        `json:"runningVersion"`
	PendingSlot    string        `json:"pendingSlot,omitempty"`
	Last           *UpdateResult `json:"lastUpdate,omitempty"`
	// History is the updates this appliance took, oldest first, one entry
	// per update with its final result (at most MaxUpdateHistory).
	History []UpdateResult `json:"history,omitempty"`
}

// UpdateResult is the outcome of one update.
type UpdateResult struct {
	Version  string    `json:"version"`
	Sequence uint64    `json:"sequence"`
	Result   string    `json:"result"` // one of the Result* constants
	Error    string    `json:"error,omitempty"`
	Time     time.Time `json:"time"`
}

// Update results.
const (
	ResultInstalled = "installed" // on the ESP, waiting for the reboot
	ResultBlessed   = "blessed"   // booted and passed its health check
	ResultFailed    = "failed"    // never blessed: the loader fell back
)
