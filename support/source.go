package support

import (
	"context"
	"io"
	"time"
)

// A Source is one collector, made by File, Glob, Command, KernelLog,
// SystemFacts, Reader or Bytes.
type Source struct {
	name string
	kind string
	run  func(ctx context.Context, c *collector) error
}

// Name is the source's name in the index.
func (s Source) Name() string { return s.name }

// File collects one file, stored as name.
func File(name, path string) Source { return Source{name: name, kind: "file"} }

// Glob collects every file matching pattern, stored as dir/<base name>.
func Glob(dir, pattern string) Source { return Source{name: dir, kind: "glob"} }

// Command collects argv's output.
func Command(name string, timeout time.Duration, argv ...string) Source {
	return Source{name: name, kind: "command"}
}

// KernelLog collects the kernel's log as system/kernel.log.
func KernelLog() Source { return Source{name: "system/kernel.log", kind: "kernel"} }

// SystemFacts returns the sources of system/*.
func SystemFacts() []Source { return nil }

// Reader collects what open returns, stored as name.
func Reader(name string, open func(context.Context) (io.ReadCloser, error)) Source {
	return Source{name: name, kind: "reader"}
}

// Bytes stores b as name.
func Bytes(name string, b []byte) Source { return Source{name: name, kind: "bytes"} }

type collector struct{}
