package support

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/internal/testutil"
)

// hostileLines are long lines built to make a backtracking or restarting
// redactor quadratic.
func hostileLines() []byte {
	var b bytes.Buffer
	for _, unit := range []string{"a=", "pass=", "a: ", "token: ", "password=\"", "x://a:", "Authorization: ", "eyJa.", "-----BEGIN RSA PRIVATE KEY-----",
		"key=true ", "secret=null ", "pw", "cookie:", "AKIA"} {
		b.WriteString(strings.Repeat(unit, maxLineLen/len(unit)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Redaction costs linear time on hostile lines: the CPU ceiling is far
// above what this takes (well under a second) and far below quadratic.
func TestRedactHostileLines(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 60 * time.Second}, func(t *testing.T) {
		data := bytes.Repeat(hostileLines(), 5)
		b, idx := writePlain(t, &Options{Sources: []Source{Bytes("h", data)}, MaxBytes: 8 << 20})
		require.Len(t, idx.Files, 1)
		_, ds := readTar(t, b)
		assert.NotContains(t, string(ds[0]), "pass=pass=")
	})
}
