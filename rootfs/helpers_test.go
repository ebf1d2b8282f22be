package rootfs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/require"
)

// specFixture writes host files into dir and returns a gen_init_cpio list
// using every line type, hard links, a comment and ${VAR} expansion.
func specFixture(t testing.TB, dir string) (spec string, env map[string]string) {
	t.Helper()
	files := map[string][]byte{
		"init.sh":  []byte("#!/bin/sh\necho hello from init\n"),
		"data.bin": testutil.RandomBytes(1, 5000),
		"motd":     []byte("welcome to the fog\n"),
		"empty":    {},
	}
	for n, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o600))
	}
	spec = `# every gen_init_cpio line type
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/sda 0660 0 6 b 8 0
dir /etc 0755 0 0
file /etc/motd ${SRC}/motd 0644 0 0
dir /tmp 1777 0 0
dir /home/user 0700 1000 1000
file /home/user/data.bin ${SRC}/data.bin 0640 1000 100 /home/user/data.link /data.root
file /empty ${SRC}/empty 0600 0 0
slink /bin/sh /init 0777 0 0
file /init ${SRC}/init.sh 0755 0 0
pipe /run/fifo 0620 0 0
sock /run/sock 0755 0 0

# setuid and a deep symlink target
file /usr/bin/su ${SRC}/motd 4755 0 0
slink /usr/lib/lib.so ../../lib/lib.so.1 0777 0 0
`
	return spec, map[string]string{"SRC": dir}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// buildSpec returns the archive of the spec fixture with opts.
func buildSpec(t testing.TB, opts *rootfs.Options) []byte {
	t.Helper()
	dir := t.TempDir()
	spec, env := specFixture(t, dir)
	b := rootfs.New(opts)
	require.NoError(t, b.AddSpec(t.Context(), strings.NewReader(spec), &rootfs.SpecOptions{Expand: lookup(env)}))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// render prints headers one per line, as a stable listing for goldens.
func render(hs []rootfs.Header) string {
	var sb strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&sb, "%-8s %04o %d:%d nlink=%d ino=%d size=%d mtime=%s", h.Type, h.Mode, h.UID, h.GID,
			h.Nlink, h.Ino, h.Size, h.ModTime.Format(time.RFC3339))
		if h.Type == rootfs.TypeChar || h.Type == rootfs.TypeBlock {
			fmt.Fprintf(&sb, " rdev=%d,%d", h.Major, h.Minor)
		}
		fmt.Fprintf(&sb, " %s", h.Path)
		if h.Linkname != "" {
			fmt.Fprintf(&sb, " -> %s", h.Linkname)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// readAll returns every entry with its data.
func readAll(t testing.TB, archive []byte) ([]rootfs.Header, map[string][]byte) {
	t.Helper()
	r := rootfs.NewReader(bytes.NewReader(archive), nil)
	var hs []rootfs.Header
	data := map[string][]byte{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		hs = append(hs, *h)
		if h.Type == rootfs.TypeFile && len(b) > 0 {
			data[h.Path] = b
		}
	}
	return hs, data
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
