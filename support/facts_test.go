package support

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The system sources never fail the bundle; on Linux the basic facts are
// there.
func TestSystemFactsAndKernelLog(t *testing.T) {
	srcs := append(SystemFacts(), KernelLog())
	b, idx := writePlain(t, &Options{Sources: srcs})
	require.Len(t, idx.Sources, len(srcs))
	for _, s := range idx.Sources {
		assert.Contains(t, []string{StatusOK, StatusTruncated, StatusSkipped, StatusFailed}, s.Status, s.Name)
		t.Logf("%-20s %-9s %d bytes %s", s.Name, s.Status, s.Bytes, s.Error)
	}
	bun, err := Open(t.Context(), bytes.NewReader(b), nil, &OpenOptions{Plain: true})
	require.NoError(t, err)
	if runtime.GOOS != "linux" {
		return
	}
	for _, name := range []string{"system/uname", "system/uptime", "system/meminfo", "system/mounts", "system/df", "system/network", "system/processes"} {
		d, err := bun.ReadFile(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, d, name)
	}
	u, _ := bun.ReadFile("system/uname")
	assert.Contains(t, string(u), "sysname: Linux\n")
	df, _ := bun.ReadFile("system/df")
	assert.True(t, strings.HasPrefix(string(df), "filesystem"))
	p, _ := bun.ReadFile("system/processes")
	assert.Contains(t, string(p), "support.test")
}

func TestFormatKmsg(t *testing.T) {
	got := formatKmsg(nil, []byte("6,1234,5123456,-;usb 1-1: new device\n SUBSYSTEM=usb\n"))
	assert.Equal(t, "[    5.123456] usb 1-1: new device\n", string(got))
	assert.Equal(t, "no header\n", string(formatKmsg(nil, []byte("no header\n"))))
}

func TestProgressAndTokenizeAcrossFiles(t *testing.T) {
	var events []Event
	_, idx := writePlain(t, &Options{
		Sources:  []Source{Bytes("a", []byte("password=same\n")), Bytes("b", []byte("token: same\nsecret=other\n"))},
		Redact:   &RedactOptions{Tokenize: true},
		Progress: func(e Event) { events = append(events, e) },
		Rand:     bytes.NewReader(make([]byte, 64)),
	})
	require.NotEmpty(t, events)
	assert.Equal(t, "collect", events[0].Stage)
	assert.Equal(t, "a", events[0].File)
	assert.Equal(t, "done", events[len(events)-1].Stage)
	var writes []string
	for _, e := range events {
		if e.Stage == "write" {
			writes = append(writes, e.File)
		}
	}
	assert.Equal(t, []string{"a", "b"}, writes)
	assert.Equal(t, 3, idx.Redactions)

	// With a fixed Rand, the tokenized bundle is reproducible too.
	o := &Options{Sources: []Source{Bytes("a", []byte("password=same\n")), Bytes("b", []byte("token: same\nsecret=other\n"))},
		Redact: &RedactOptions{Tokenize: true}}
	o.Rand = bytes.NewReader(make([]byte, 64))
	x, _ := writePlain(t, o)
	o.Rand = bytes.NewReader(make([]byte, 64))
	y, _ := writePlain(t, o)
	assert.Equal(t, x, y)
	hs, ds := readTar(t, x)
	require.Len(t, hs, 3)
	a := strings.TrimPrefix(strings.TrimSpace(string(ds[0])), "password=")
	lines := strings.Split(strings.TrimSpace(string(ds[1])), "\n")
	assert.Regexp(t, `^\[REDACTED-[0-9a-f]{8}\]$`, a)
	assert.Equal(t, "token: "+a, lines[0])
	assert.NotEqual(t, "secret="+a, lines[1])
}
