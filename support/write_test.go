package support

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
)

// logTree writes a small log directory and returns its path.
func logTree(t *testing.T) string {
	dir := t.TempDir()
	for i, name := range []string{"b.log", "a.log", "c.log"} {
		var b strings.Builder
		for j := range 50 {
			fmt.Fprintf(&b, "2026-03-01T12:00:%02dZ INFO %s line %d user=u%d\n", j, name, j, i)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o600))
	}
	return dir
}

func sampleSources(t *testing.T) []Source {
	dir := logTree(t)
	return []Source{
		Bytes("agent/status.json", []byte(`{"state":"running","token":"FAKE-status-token"}`)),
		File("app/config.env", writeTemp(t, "API_KEY=FAKE-api-key\nMODE=prod\n")),
		Glob("logs", filepath.Join(dir, "*.log")),
	}
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// readTar lists a plain bundle's tar members with their contents.
func readTar(t *testing.T, bundle []byte) ([]*tar.Header, [][]byte) {
	tr := tar.NewReader(bytes.NewReader(decompress(t, bundle)))
	var hs []*tar.Header
	var ds [][]byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, ds
		}
		require.NoError(t, err)
		d, err := io.ReadAll(tr)
		require.NoError(t, err)
		hs, ds = append(hs, h), append(ds, d)
	}
}

func TestWriteDeterministic(t *testing.T) {
	for _, comp := range []string{"", CompressionGzip} {
		t.Run("compression="+comp, func(t *testing.T) {
			srcs := sampleSources(t)
			a, _ := writePlain(t, &Options{Sources: srcs, Compression: comp, Product: "p", Version: "1.0"})
			b, _ := writePlain(t, &Options{Sources: srcs, Compression: comp, Product: "p", Version: "1.0"})
			assert.Equal(t, a, b)
		})
	}
}

func TestWriteLayout(t *testing.T) {
	b, idx := writePlain(t, &Options{Sources: sampleSources(t), Product: "p", Version: "1.0", Sequence: 7})
	hs, ds := readTar(t, b)
	require.Len(t, hs, 6)
	var names []string
	for i, h := range hs {
		names = append(names, h.Name)
		assert.Equal(t, byte(tar.TypeReg), h.Typeflag, h.Name)
		assert.Equal(t, int64(0o644), h.Mode)
		assert.Zero(t, h.Uid)
		assert.Zero(t, h.Gid)
		assert.Empty(t, h.Uname)
		assert.Empty(t, h.Gname)
		assert.True(t, testNow().Equal(h.ModTime), h.ModTime)
		if i < len(idx.Files) {
			assert.Equal(t, idx.Files[i].Size, int64(len(ds[i])))
		}
	}
	// Sources in order, a glob's files sorted, index.json last.
	assert.Equal(t, []string{"agent/status.json", "app/config.env", "logs/a.log", "logs/b.log", "logs/c.log", IndexName}, names)
	assert.Contains(t, string(ds[5]), `"sha256"`)
	assert.Equal(t, 1, idx.Format)
	assert.Equal(t, uint64(7), idx.Sequence)
	assert.Equal(t, 2, idx.Redactions)
	assert.Equal(t, 1, idx.Files[0].Redactions)
	assert.Equal(t, `{"state":"running","token":"[REDACTED]"}`, string(ds[0]))
	for _, s := range idx.Sources {
		assert.Equal(t, StatusOK, s.Status, s.Name)
	}
	assert.Equal(t, 3, idx.Sources[2].Files)
}

// lines returns n numbered lines.
func lines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %05d\n", i)
	}
	return b.String()
}

func TestTailCaps(t *testing.T) {
	big := lines(1000) // 11000 bytes
	p := writeTemp(t, big)
	tests := []struct {
		name      string
		src       Source
		maxLines  int
		maxBytes  int64
		want      string
		truncated bool
	}{
		{"file under caps", File("f", p), 0, 0, big, false},
		{"file lines", File("f", p), 10, 0, lines(1000)[11*990:], true},
		{"file bytes (read from the end)", File("f", p), 0, 115, lines(1000)[11*990:], true},
		{"file bytes on a line boundary", File("f", p), 0, 110, lines(1000)[11*990:], true},
		{"stream lines", Bytes("f", []byte(big)), 10, 0, lines(1000)[11*990:], true},
		{"stream bytes", Bytes("f", []byte(big)), 0, 115, lines(1000)[11*990:], true},
		{"no final newline", Bytes("f", []byte("a\nb\nc")), 2, 0, "b\nc", true},
		{"long line cut", Bytes("f", []byte("x"+strings.Repeat("y", 200)+"\nz\n")), 0, 100, "z\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, idx := writePlain(t, &Options{Sources: []Source{tt.src}, MaxLines: tt.maxLines, MaxBytes: tt.maxBytes})
			_, ds := readTar(t, b)
			assert.Equal(t, tt.want, string(ds[0]))
			f := idx.Files[0]
			assert.Equal(t, tt.truncated, f.Truncated)
			assert.Equal(t, strings.Count(tt.want, "\n")+boolInt(!strings.HasSuffix(tt.want, "\n")), f.Lines)
			if tt.truncated {
				assert.Equal(t, StatusTruncated, idx.Sources[0].Status)
				assert.Equal(t, 1, idx.Truncated)
				assert.Positive(t, f.Dropped)
			}
			assert.Equal(t, "tail", idx.Limits.Keep)
		})
	}
}

// A cut in the middle of a private key block keeps none of its lines.
func TestTailInsidePEM(t *testing.T) {
	var b strings.Builder
	b.WriteString(lines(100))
	b.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for i := range 40 {
		fmt.Fprintf(&b, "b3BlbnNzaC1rZXktdjEAAAAAFAKE%02d\n", i)
	}
	b.WriteString("-----END OPENSSH PRIVATE KEY-----\nafter\n")
	p := writeTemp(t, b.String())
	for _, src := range []Source{File("f", p), Bytes("f", []byte(b.String()))} {
		for _, cap := range []struct {
			lines int
			bytes int64
		}{{10, 0}, {0, 300}, {41, 0}} {
			out, idx := writePlain(t, &Options{Sources: []Source{src}, MaxLines: cap.lines, MaxBytes: cap.bytes})
			_, ds := readTar(t, out)
			assert.NotContains(t, string(ds[0]), "FAKE", "%s %v", src.kind, cap)
			assert.Contains(t, string(ds[0]), "after\n")
			assert.Positive(t, idx.Files[0].Redactions)
		}
	}
}

func TestTotalCap(t *testing.T) {
	srcs := []Source{
		Bytes("a", []byte(lines(1000))), // 11000 bytes
		Bytes("b", []byte(lines(1000))),
		Bytes("c", []byte(lines(1000))),
		Glob("g", filepath.Join(logTree(t), "*.log")),
	}
	b, idx := writePlain(t, &Options{Sources: srcs, MaxTotal: 16000})
	hs, _ := readTar(t, b)
	assert.Len(t, hs, 3) // a, b (truncated to the rest), index.json
	assert.LessOrEqual(t, idx.TotalBytes, int64(16000))
	assert.Equal(t, StatusOK, idx.Sources[0].Status)
	assert.Equal(t, StatusTruncated, idx.Sources[1].Status)
	assert.Equal(t, StatusSkipped, idx.Sources[2].Status)
	assert.Equal(t, "total cap reached", idx.Sources[2].Error)
	assert.Equal(t, StatusSkipped, idx.Sources[3].Status)
	assert.Equal(t, 2, idx.Skipped)
	assert.Equal(t, []string{"a", "b"}, []string{idx.Files[0].Path, idx.Files[1].Path})
}

func TestSourceFailures(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.log"), []byte("fine\n"), 0o600))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.log"), 0o600))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.log")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "fifo.log"), filepath.Join(dir, "tofifo.log")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.log"), 0o755))
	sh := testutil.RequireTool(t, "sh")
	srcs := []Source{
		File("missing", filepath.Join(dir, "nope")),
		File("fifo", filepath.Join(dir, "fifo.log")),
		Glob("logs", filepath.Join(dir, "*.log")),
		Glob("none", filepath.Join(dir, "*.none")),
		Command("cmd/notfound", time.Second, "/nonexistent/tool"),
		Command("cmd/exit", 10*time.Second, sh, "-c", "echo out; echo err >&2; exit 3"),
		Command("cmd/slow", 200*time.Millisecond, sh, "-c", "echo started; exec sleep 30"),
		Command("cmd/child", 200*time.Millisecond, sh, "-c", "echo started; sleep 30 & wait"),
		Reader("reader/open", func(context.Context) (io.ReadCloser, error) { return nil, errors.New("no such thing") }),
		Reader("reader/read", func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader("partial\n"), iotestErr{})), nil
		}),
		Bytes("last", []byte("still written\n")),
	}
	b, idx := writePlain(t, &Options{Sources: srcs})
	want := map[string]string{
		"missing": StatusSkipped, "fifo": StatusSkipped, "logs": StatusOK, "none": StatusSkipped,
		"cmd/notfound": StatusFailed, "cmd/exit": StatusFailed, "cmd/slow": StatusFailed, "cmd/child": StatusFailed,
		"reader/open": StatusFailed, "reader/read": StatusFailed, "last": StatusOK,
	}
	for _, s := range idx.Sources {
		assert.Equal(t, want[s.Name], s.Status, "%s: %s", s.Name, s.Error)
	}
	assert.Len(t, idx.Sources[2].SkippedFiles, 4) // fifo, sub, tofifo, zero
	assert.Contains(t, idx.Sources[6].Error, "timed out")
	bun, err := Open(t.Context(), bytes.NewReader(b), nil, &OpenOptions{Plain: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"logs/ok.log", "cmd/exit", "cmd/slow", "cmd/child", "reader/read", "last"}, bun.Files())
	out, _ := bun.ReadFile("cmd/exit")
	assert.Equal(t, "out\nerr\n", string(out))
	out, _ = bun.ReadFile("cmd/slow")
	assert.Equal(t, "started\n", string(out))
	assert.True(t, idx.Files[2].Truncated)
	out, _ = bun.ReadFile("reader/read")
	assert.Equal(t, "partial\n", string(out))
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("device went away") }

// endless is a reader that never ends: /dev/zero or a chatty log.
type endless struct{ line []byte }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		if len(e.line) == 0 {
			p[i] = 0
		} else {
			p[i] = e.line[i%len(e.line)]
		}
	}
	return len(p), nil
}

// Huge and endless inputs finish within the caps in bounded memory.
func TestCapsHugeInputs(t *testing.T) {
	yes := testutil.RequireTool(t, "yes")
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 256 << 20, CPU: 120 * time.Second}, func(t *testing.T) {
		dir := t.TempDir()
		// A 64 MiB log, sparse but for its last lines.
		p := filepath.Join(dir, "huge.log")
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(64<<20))
		_, err = f.Seek(0, io.SeekEnd)
		require.NoError(t, err)
		_, err = f.WriteString("\n" + lines(20000) + "last line password=hunter2\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())

		line := []byte("chatty line token=abc\n")
		srcs := []Source{
			File("huge.log", p),
			Command("yes", time.Minute, yes, "password=hunter2"),
			Reader("zero", func(context.Context) (io.ReadCloser, error) { return io.NopCloser(endless{}), nil }),
			Reader("chatty", func(context.Context) (io.ReadCloser, error) { return io.NopCloser(endless{line}), nil }),
			Bytes("late", []byte("no room left\n")),
		}
		var buf bytes.Buffer
		o := &Options{Sources: srcs, Recipients: nil, Plain: true, MaxBytes: 1 << 20, MaxTotal: 400 << 10}
		idx, err := Write(t.Context(), &buf, o)
		require.NoError(t, err)
		assert.LessOrEqual(t, idx.TotalBytes, int64(400<<10))
		for i, f := range idx.Files {
			assert.True(t, f.Truncated, f.Path)
			assert.LessOrEqual(t, f.Size, int64(1<<20), f.Path)
			assert.LessOrEqual(t, f.Lines, DefaultMaxLines, f.Path)
			assert.Equal(t, StatusTruncated, idx.Sources[i].Status, f.Path)
		}
		assert.Equal(t, 10000, idx.Files[0].Lines)
		require.Len(t, idx.Files, 4)
		assert.Equal(t, StatusSkipped, idx.Sources[4].Status) // total cap
		bun, err := Open(t.Context(), &buf, nil, &OpenOptions{Plain: true})
		require.NoError(t, err)
		h, _ := bun.ReadFile("huge.log")
		assert.True(t, bytes.HasSuffix(h, []byte("last line password=[REDACTED]\n")))
		y, _ := bun.ReadFile("yes")
		assert.NotContains(t, string(y), "hunter2")
	})
}

func TestWriteErrors(t *testing.T) {
	ok := []Source{Bytes("a", []byte("x"))}
	tests := []struct {
		name string
		o    *Options
		want error
	}{
		{"nil options", nil, ErrNoRecipients},
		{"no recipients", &Options{Sources: ok}, ErrNoRecipients},
		{"bad name", &Options{Plain: true, Sources: []Source{Bytes("../a", nil)}}, ErrInvalid},
		{"absolute name", &Options{Plain: true, Sources: []Source{Bytes("/a", nil)}}, ErrInvalid},
		{"index name", &Options{Plain: true, Sources: []Source{Bytes(IndexName, nil)}}, ErrInvalid},
		{"duplicate", &Options{Plain: true, Sources: []Source{Bytes("a", nil), File("a", "/x")}}, ErrInvalid},
		{"file and dir", &Options{Plain: true, Sources: []Source{Bytes("a", nil), Bytes("a/b", nil)}}, ErrInvalid},
		{"file and glob dir", &Options{Plain: true, Sources: []Source{Bytes("a", nil), Glob("a", "/x*")}}, ErrInvalid},
		{"zero source", &Options{Plain: true, Sources: []Source{{}}}, ErrInvalid},
		{"compression", &Options{Plain: true, Sources: ok, Compression: "xz"}, ErrInvalid},
		{"pattern", &Options{Plain: true, Sources: ok, Redact: &RedactOptions{Patterns: []string{"a("}}}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Write(t.Context(), io.Discard, tt.o)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Write(ctx, io.Discard, &Options{Plain: true, Sources: ok})
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("writer error", func(t *testing.T) {
		for _, plain := range []bool{true, false} {
			errW := errors.New("disk full")
			o := &Options{Plain: plain, Sources: []Source{Bytes("a", testutil.TextBytes(1, 1<<20))}, MaxLines: 1 << 20}
			if !plain {
				o.Recipients = []*sign.OpenPGPPublicKey{supportKey().Public()}
			}
			_, err := Write(t.Context(), failWriter{errW}, o)
			assert.ErrorIs(t, err, errW, "plain=%v", plain)
		}
	})
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
