package rootfs_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/rootfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withInit(t *testing.T, b *rootfs.Builder) *rootfs.Builder {
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\n")))
	return b
}

// Every validation failure is a typed error naming the path, and nothing
// is written.
func TestValidationErrors(t *testing.T) {
	long := "/" + strings.Repeat("a", 4096)
	tests := []struct {
		name  string
		build func(t *testing.T) (*rootfs.Builder, error) // error from Add, if any
		want  error
		path  string
	}{
		{"no init", func(t *testing.T) (*rootfs.Builder, error) {
			b := rootfs.New(nil)
			return b, b.Add(rootfs.Entry{Path: "/etc", Type: rootfs.TypeDir, Mode: 0o755})
		}, rootfs.ErrNoInit, "/init"},
		{"init not executable", func(t *testing.T) (*rootfs.Builder, error) {
			b := rootfs.New(nil)
			return b, b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o644}, []byte("x"))
		}, rootfs.ErrNoInit, "/init"},
		{"init is a directory", func(t *testing.T) (*rootfs.Builder, error) {
			b := rootfs.New(nil)
			return b, b.Add(rootfs.Entry{Path: "/init", Type: rootfs.TypeDir, Mode: 0o755})
		}, rootfs.ErrNoInit, "/init"},
		{"init dangling symlink", func(t *testing.T) (*rootfs.Builder, error) {
			b := rootfs.New(nil)
			return b, b.Add(rootfs.Entry{Path: "/init", Type: rootfs.TypeSymlink, Linkname: "bin/busybox"})
		}, rootfs.ErrNoInit, "/init"},
		{"dotdot path", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.AddFile(rootfs.Entry{Path: "/etc/../../x"}, nil)
		}, rootfs.ErrName, "/etc/../../x"},
		{"NUL in path", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.AddFile(rootfs.Entry{Path: "/a\x00b"}, nil)
		}, rootfs.ErrName, "/a\x00b"},
		{"empty path", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Type: rootfs.TypeDir})
		}, rootfs.ErrName, ""},
		{"name too long", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.AddFile(rootfs.Entry{Path: long}, nil)
		}, rootfs.ErrName, long[:64] + "…"},
		{"empty symlink target", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/l", Type: rootfs.TypeSymlink})
		}, rootfs.ErrName, "/l"},
		{"symlink target too long", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/l", Type: rootfs.TypeSymlink, Linkname: long})
		}, rootfs.ErrName, "/l"},
		{"file of 4 GiB", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.AddOpener(rootfs.Entry{Path: "/huge", Size: 4 << 30}, func() (io.ReadCloser, error) { return nil, io.EOF })
		}, rootfs.ErrTooLarge, "/huge"},
		{"hard link to missing", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/ln", Type: rootfs.TypeHardlink, Linkname: "/nope"})
		}, rootfs.ErrHardlink, "/ln"},
		{"hard link to directory", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			require.NoError(t, b.Add(rootfs.Entry{Path: "/d", Type: rootfs.TypeDir, Mode: 0o755}))
			return b, b.Add(rootfs.Entry{Path: "/ln", Type: rootfs.TypeHardlink, Linkname: "/d"})
		}, rootfs.ErrHardlink, "/ln"},
		{"hard link to symlink", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			require.NoError(t, b.Add(rootfs.Entry{Path: "/s", Type: rootfs.TypeSymlink, Linkname: "init"}))
			return b, b.Add(rootfs.Entry{Path: "/ln", Type: rootfs.TypeHardlink, Linkname: "/s"})
		}, rootfs.ErrHardlink, "/ln"},
		{"entry below a file", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			require.NoError(t, b.AddFile(rootfs.Entry{Path: "/etc", Mode: 0o644}, []byte("x")))
			return b, b.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("y"))
		}, rootfs.ErrNotDir, "/etc/motd"},
		{"major out of range", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/dev/x", Type: rootfs.TypeChar, Major: 4096})
		}, rootfs.ErrDevice, "/dev/x"},
		{"minor out of range", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/dev/x", Type: rootfs.TypeBlock, Minor: 1 << 20})
		}, rootfs.ErrDevice, "/dev/x"},
		{"unknown type", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/x", Type: 42})
		}, rootfs.ErrType, "/x"},
		{"regular file via Add with a size", func(t *testing.T) (*rootfs.Builder, error) {
			b := withInit(t, rootfs.New(nil))
			return b, b.Add(rootfs.Entry{Path: "/x", Size: 3})
		}, rootfs.ErrSizeMismatch, "/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build(t)
			if err == nil {
				var buf bytes.Buffer
				_, err = b.WriteTo(&buf)
				assert.Zero(t, buf.Len(), "nothing is written when validation fails")
				assert.Equal(t, err, b.Validate())
			}
			require.ErrorIs(t, err, tc.want)
			var pe *rootfs.PathError
			require.True(t, errors.As(err, &pe), "typed error: %T %v", err, err)
			assert.Equal(t, tc.path, pe.Path)
			assert.Contains(t, err.Error(), "rootfs: ")
		})
	}
}

func TestModTimeOutOfRange(t *testing.T) {
	for _, mt := range []time.Time{time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)} {
		b := withInit(t, rootfs.New(&rootfs.Options{ModTime: mt}))
		_, err := b.WriteTo(io.Discard)
		require.ErrorIs(t, err, rootfs.ErrModTime)
	}
	b := withInit(t, rootfs.New(&rootfs.Options{ModTime: time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)}))
	_, err := b.WriteTo(io.Discard)
	require.NoError(t, err)
}

func TestAllowNoInit(t *testing.T) {
	b := rootfs.New(&rootfs.Options{AllowNoInit: true})
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("hi")))
	_, err := b.WriteTo(io.Discard)
	require.NoError(t, err)
}

func TestInitThroughSymlinkAndHardlink(t *testing.T) {
	b := rootfs.New(nil)
	require.NoError(t, b.AddFile(rootfs.Entry{Path: "/bin/busybox", Mode: 0o755}, []byte("elf")))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/bin/sh", Type: rootfs.TypeHardlink, Linkname: "/bin/busybox"}))
	require.NoError(t, b.Add(rootfs.Entry{Path: "/init", Type: rootfs.TypeSymlink, Linkname: "bin/sh"}))
	require.NoError(t, b.Validate())
}

func TestContentErrorsAtWrite(t *testing.T) {
	t.Run("short content", func(t *testing.T) {
		b := withInit(t, rootfs.New(nil))
		require.NoError(t, b.AddOpener(rootfs.Entry{Path: "/short", Size: 10},
			func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abc")), nil }))
		_, err := b.WriteTo(io.Discard)
		require.ErrorIs(t, err, rootfs.ErrSizeMismatch)
		var pe *rootfs.PathError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "/short", pe.Path)
	})
	t.Run("long content", func(t *testing.T) {
		b := withInit(t, rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip}))
		require.NoError(t, b.AddOpener(rootfs.Entry{Path: "/long", Size: 2},
			func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abc")), nil }))
		_, err := b.WriteTo(io.Discard)
		require.ErrorIs(t, err, rootfs.ErrSizeMismatch)
	})
	t.Run("reader used twice", func(t *testing.T) {
		b := withInit(t, rootfs.New(&rootfs.Options{Compression: rootfs.CompressZstd}))
		require.NoError(t, b.AddReader(rootfs.Entry{Path: "/once", Size: 3}, strings.NewReader("abc")))
		_, err := b.WriteTo(io.Discard)
		require.NoError(t, err)
		_, err = b.WriteTo(io.Discard)
		require.ErrorIs(t, err, rootfs.ErrSourceUsed)
	})
	t.Run("cancelled", func(t *testing.T) {
		b := withInit(t, rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip}))
		ctx, cancel := contextWithCancel(t)
		cancel()
		_, err := b.Write(ctx, io.Discard)
		require.Error(t, err)
	})
	t.Run("bad compression", func(t *testing.T) {
		b := withInit(t, rootfs.New(&rootfs.Options{Compression: "xz"}))
		_, err := b.WriteTo(io.Discard)
		require.ErrorIs(t, err, rootfs.ErrCompression)
		_, err = rootfs.ParseCompression("lzma")
		require.ErrorIs(t, err, rootfs.ErrCompression)
	})
}

// A malformed spec line gives a *SpecError naming the line.
func TestSpecErrors(t *testing.T) {
	tests := []struct {
		line string
		want error
	}{
		{"frob /x 0755 0 0", rootfs.ErrSpec},
		{"dir /x 0755 0", rootfs.ErrSpec},
		{"dir /x 0755 0 0 extra", rootfs.ErrSpec},
		{"dir /x 0955 0 0", rootfs.ErrSpec},
		{"dir /x 17777 0 0", rootfs.ErrSpec},
		{"dir /x 0755 root 0", rootfs.ErrSpec},
		{"dir /x 0755 0 -1", rootfs.ErrSpec},
		{"nod /dev/x 0600 0 0 x 1 3", rootfs.ErrSpec},
		{"nod /dev/x 0600 0 0 c 4096 3", rootfs.ErrSpec},
		{"nod /dev/x 0600 0 0 c 1", rootfs.ErrSpec},
		{"slink /x 0777 0 0", rootfs.ErrSpec},
		{"file /x ${NOPE}/f 0644 0 0", rootfs.ErrSpec},
		{"file /x ${UNTERMINATED/f 0644 0 0", rootfs.ErrSpec},
		{"file /x /f 0644 0 0 /../y", rootfs.ErrSpec},
		{"pipe /../x 0644 0 0", rootfs.ErrSpec},
		{"sock /x 0644 0", rootfs.ErrSpec},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			spec := "# header\n\ndir /ok 0755 0 0\n" + tc.line + "\ndir /ok2 0755 0 0\n"
			_, err := rootfs.ParseSpec(strings.NewReader(spec), &rootfs.SpecOptions{Expand: lookup(nil)})
			require.ErrorIs(t, err, tc.want)
			var se *rootfs.SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, 4, se.Line)
			assert.Contains(t, err.Error(), "line 4")
		})
	}
	t.Run("line too long", func(t *testing.T) {
		spec := "dir /a 0755 0 0\ndir /" + strings.Repeat("x", 70000) + " 0755 0 0\n"
		_, err := rootfs.ParseSpec(strings.NewReader(spec), nil)
		var se *rootfs.SpecError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 2, se.Line)
	})
	t.Run("missing location", func(t *testing.T) {
		b := rootfs.New(nil)
		err := b.AddSpec(t.Context(), strings.NewReader("dir /a 0755 0 0\nfile /init /nonexistent/init 0755 0 0\n"), nil)
		var se *rootfs.SpecError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 2, se.Line)
	})
}

func TestReaderRejectsBadInput(t *testing.T) {
	good := buildSpec(t, &rootfs.Options{ModTime: epoch})
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, rootfs.ErrFormat},
		{"bad magic", []byte("hello world, not a cpio archive at all"), rootfs.ErrFormat},
		{"truncated", good[:300], rootfs.ErrFormat},
		{"bad hex", append([]byte("070701ZZZZZZZZ"), good[14:]...), rootfs.ErrFormat},
		{"gzip garbage", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 2, 3}, rootfs.ErrCompression},
		{"zstd garbage", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, rootfs.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rootfs.List(bytes.NewReader(tc.in), nil)
			require.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("limits", func(t *testing.T) {
		_, err := rootfs.List(bytes.NewReader(good), &rootfs.ReaderOptions{MaxEntries: 3})
		require.ErrorIs(t, err, rootfs.ErrLimit)
		_, err = rootfs.List(bytes.NewReader(good), &rootfs.ReaderOptions{MaxBytes: 1000})
		require.ErrorIs(t, err, rootfs.ErrLimit)
	})
}

func TestSourceDateEpochStrict(t *testing.T) {
	for _, bad := range []string{"0x10", "12abc", "-1", "1e3", " 5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		_, _, err := rootfs.SourceDateEpoch()
		require.ErrorIs(t, err, rootfs.ErrModTime, bad)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	tm, ok, err := rootfs.SourceDateEpoch()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1700000000), tm.Unix())
}
