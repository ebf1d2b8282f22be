package rootfs_test

import (
	"bytes"
	"testing"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Importing an archive and writing it again with the same options gives
// the same bytes, hard links, devices and all.
func TestAddArchiveReproducesArchive(t *testing.T) {
	for _, c := range []rootfs.Compression{rootfs.CompressNone, rootfs.CompressZstd} {
		opts := &rootfs.Options{ModTime: epoch, Compression: c}
		orig := buildSpec(t, opts)
		b := rootfs.New(opts)
		require.NoError(t, b.AddArchive(t.Context(), bytes.NewReader(orig), nil))
		var buf bytes.Buffer
		_, err := b.WriteTo(&buf)
		require.NoError(t, err)
		assert.Equal(t, sum(orig), sum(buf.Bytes()), "compression %s", c)
	}
}

// A base plus an overlay imported as one: the overlay's file wins, and
// progress is reported per entry.
func TestAddArchiveLayers(t *testing.T) {
	base := buildSpec(t, &rootfs.Options{Compression: rootfs.CompressGzip})
	ov := rootfs.New(&rootfs.Options{AllowNoInit: true, OmitParents: true})
	require.NoError(t, ov.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o600}, []byte("new")))
	var ob, all bytes.Buffer
	_, err := ov.WriteTo(&ob)
	require.NoError(t, err)
	_, err = rootfs.Concat(&all, bytes.NewReader(base), &ob)
	require.NoError(t, err)

	var events []rootfs.Event
	b := rootfs.New(&rootfs.Options{Progress: func(e rootfs.Event) { events = append(events, e) }})
	require.NoError(t, b.AddArchive(t.Context(), &all, nil))
	var out bytes.Buffer
	st, err := b.Write(t.Context(), &out)
	require.NoError(t, err)
	_, data := readAll(t, out.Bytes())
	assert.Equal(t, "new", string(data["/etc/motd"]))
	require.Len(t, events, st.Entries)
	last := events[len(events)-1]
	assert.Equal(t, int64(st.Entries), last.Done)
	assert.Equal(t, int64(st.Entries), last.Total)
}

func TestInspect(t *testing.T) {
	base := buildSpec(t, &rootfs.Options{Compression: rootfs.CompressZstd})
	ov := rootfs.New(&rootfs.Options{AllowNoInit: true, OmitParents: true})
	require.NoError(t, ov.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o600}, []byte("new")))
	require.NoError(t, ov.AddFile(rootfs.Entry{Path: "/nowhere/file", Mode: 0o600}, []byte("lost")))
	var ob, all bytes.Buffer
	_, err := ov.WriteTo(&ob)
	require.NoError(t, err)
	overlay := bytes.Clone(ob.Bytes())
	_, err = rootfs.Concat(&all, bytes.NewReader(base), &ob)
	require.NoError(t, err)
	rep, err := rootfs.Inspect(&all, nil)
	require.NoError(t, err)
	assert.Equal(t, []rootfs.Compression{rootfs.CompressZstd, rootfs.CompressNone}, rep.Members)
	assert.True(t, rep.Init)
	assert.Equal(t, []string{"/nowhere/file"}, rep.Orphans)
	assert.Equal(t, 25, rep.Entries)
	assert.Equal(t, 23, rep.Paths)

	rep, err = rootfs.Inspect(bytes.NewReader(overlay), nil)
	require.NoError(t, err)
	assert.False(t, rep.Init)
}
