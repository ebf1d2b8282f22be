package support

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLog is a log of n lines, one in fifty with a secret.
func benchLog(n int) string {
	var b strings.Builder
	for i := range n {
		if i%50 == 49 {
			fmt.Fprintf(&b, "2026-03-01T12:00:00.%06dZ INFO  auth      login token=FAKEtok%d accepted\n", i, i)
			continue
		}
		fmt.Fprintf(&b, "2026-03-01T12:00:00.%06dZ INFO  api       request completed method=GET path=/api/v1/status status=200 bytes=%d\n", i, i)
	}
	return b.String()
}

// BenchmarkWrite writes a plain bundle of 4 logs of 10000 lines (the
// default line cap): reading, redacting, tar and zstd.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	log := benchLog(10000)
	for i := range 4 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.log", i)), []byte(log), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	o := &Options{Sources: []Source{Glob("logs", filepath.Join(dir, "*.log"))}, Plain: true}
	b.SetBytes(int64(4 * len(log)))
	for b.Loop() {
		if _, err := Write(b.Context(), io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedact redacts the lines of one log.
func BenchmarkRedact(b *testing.B) {
	lines := strings.Split(benchLog(10000), "\n")
	r, err := newRedactor(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(strings.Join(lines, "\n"))))
	for b.Loop() {
		lr := &lineRedactor{r: r}
		for _, l := range lines {
			lr.line([]byte(l))
		}
	}
}
