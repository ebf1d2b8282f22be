package ext4_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// mem is an in-memory disk: a WriterAt and ReaderAt over a fixed size
// that reads as zeros where nothing was written.
type mem struct{ b []byte }

func newMem(size int64) *mem { return &mem{b: make([]byte, size)} }

func (m *mem) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.b)) {
		return 0, io.ErrShortWrite
	}
	return copy(m.b[off:], p), nil
}

func (m *mem) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// counter counts what Format writes.
type counter struct {
	w             io.WriterAt
	bytes, writes int64
}

func (c *counter) WriteAt(p []byte, off int64) (int, error) {
	c.bytes += int64(len(p))
	c.writes++
	if c.w == nil {
		return len(p), nil
	}
	return c.w.WriteAt(p, off)
}

// sparseFile creates a sparse file of size bytes in a temp dir.
func sparseFile(t testing.TB, size int64) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "disk.img"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	require.NoError(t, f.Truncate(size))
	return f
}
