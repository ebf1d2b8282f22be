package benchutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
)

// Workspace is where a comparison runs.
type Workspace struct {
	Dir   string   // a new temporary directory
	Self  string   // this program, run again as a child for fogkit's side
	Image string   // the input image, Dir/disk.raw
	Peers []string // the peer tools' paths, in the order Start was given them
}

// NewWorkspace makes a temporary directory named for the program. remove,
// called when the comparison ends, deletes it unless keep.
func NewWorkspace(name string, keep bool) (w *Workspace, remove func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, nil, err
	}
	remove = func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}
	return &Workspace{Dir: dir, Self: self, Image: filepath.Join(dir, "disk.raw")}, remove, nil
}

// Start begins a disk format comparison: it finds the peer tools on PATH,
// makes the workspace (NewWorkspace) and builds the input image in it
// (BuildImage, with no arguments).
func Start(name string, keep bool, peers ...string) (w *Workspace, remove func(), err error) {
	var paths []string
	for _, p := range peers {
		path, err := exec.LookPath(p)
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, path)
	}
	if w, remove, err = NewWorkspace(name, keep); err != nil {
		return nil, nil, err
	}
	w.Peers = paths
	if _, err := w.BuildImage(); err != nil {
		remove()
		return nil, nil, err
	}
	return w, remove, nil
}

// BuildImage writes the input image by running this program again as
// `-build-image IMAGE ARGS...`, so that this process stays small (Linux can
// carry a parent's peak RSS into the rusage of the children it starts),
// and returns what the child printed.
func (w *Workspace) BuildImage(args ...string) ([]byte, error) {
	cmd := exec.Command(w.Self, append([]string{"-build-image", w.Image}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("building the image: %v\n%s", err, stderr.Bytes())
	}
	return out, nil
}

// Convert is the child side of a disk format comparison: it opens the raw
// image in, creates out and runs write over them, removing out again when
// write fails.
func Convert(in, out string, write func(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64) error) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	err = write(context.Background(), dst, src, st.Size())
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return err
}

// StartCPUProfile writes a CPU profile to path until stop is called.
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
