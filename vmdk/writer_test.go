package vmdk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// expectedHeader builds the header sector FORMATS.md prescribes, by hand.
func expectedHeader(sectors, gdOffset uint64) []byte {
	h := make([]byte, 512)
	copy(h, "KDMV")
	le := binary.LittleEndian
	le.PutUint32(h[4:], 3)
	le.PutUint32(h[8:], 0x00030001)
	le.PutUint64(h[12:], sectors)
	le.PutUint64(h[20:], 128)
	le.PutUint64(h[28:], 1)
	le.PutUint64(h[36:], 20)
	le.PutUint32(h[44:], 512)
	le.PutUint64(h[48:], 0)
	le.PutUint64(h[56:], gdOffset)
	le.PutUint64(h[64:], 128)
	h[72] = 0
	copy(h[73:], "\n \r\n")
	le.PutUint16(h[77:], 1)
	return h
}

func TestHeaderAndTailBytes(t *testing.T) {
	raw := mixed(1, 3<<20+512)
	v, res := toVMDK(t, raw, nil)
	sectors := uint64(len(raw)+511) / 512
	require.Equal(t, int64(sectors*512), res.Capacity)
	require.Equal(t, expectedHeader(sectors, 0xFFFFFFFFFFFFFFFF), v[:512])

	// Descriptor in sectors 1-20, zeros up to sector 128.
	desc := string(bytes.TrimRight(v[512:21*512], "\x00"))
	require.Contains(t, desc, "CID="+res.CID+"\nparentCID=ffffffff\n")
	require.Contains(t, desc, `createType="streamOptimized"`)
	require.Contains(t, desc, "RW "+itoa(sectors)+` SPARSE "disk.vmdk"`)
	require.Contains(t, desc, `ddb.adapterType = "lsilogic"`)
	require.Contains(t, desc, `ddb.geometry.heads = "255"`)
	require.Contains(t, desc, `ddb.geometry.sectors = "63"`)
	require.Contains(t, desc, `ddb.geometry.cylinders = "1"`)
	require.Contains(t, desc, `ddb.toolsVersion = "2147483647"`)
	require.Contains(t, desc, `ddb.virtualHWVersion = "4"`)
	require.Contains(t, desc, `ddb.longContentID = "`+res.LongContentID+`"`)
	require.True(t, strings.HasSuffix(res.LongContentID, res.CID))
	require.Equal(t, make([]byte, (128-21)*512), v[21*512:128*512])

	// First grain marker at sector 128: LBA 0.
	require.Equal(t, uint64(0), u64(v, 128*512))
	require.NotZero(t, u32(v, 128*512+8))
	require.Equal(t, []byte{0x78}, v[128*512+12:128*512+13], "zlib header")

	// Tail: GD marker + GD, footer marker, footer, EOS.
	n := len(v) / 512
	require.Zero(t, len(v)%512)
	sec := func(i int) []byte { return v[i*512 : (i+1)*512] }
	marker := func(val uint64, typ uint32) []byte {
		m := make([]byte, 512)
		binary.LittleEndian.PutUint64(m, val)
		binary.LittleEndian.PutUint32(m[12:], typ)
		return m
	}
	require.Equal(t, make([]byte, 512), sec(n-1), "end-of-stream")
	require.Equal(t, marker(1, 3), sec(n-3), "footer marker")
	gdSectors := 1 // one GT entry fits one sector
	require.Equal(t, marker(uint64(gdSectors), 2), sec(n-3-gdSectors-1), "GD marker")
	gdPos := uint64(n - 3 - gdSectors)
	require.Equal(t, expectedHeader(sectors, gdPos), sec(n-2), "footer")
	gtData := u32(v, int(gdPos)*512)
	require.Equal(t, marker(4, 1), sec(int(gtData)-1), "GT marker")

	rep := verifyOK(t, v)
	require.Equal(t, res.Grains, rep.Grains)
	require.Equal(t, int64(1), rep.GrainTables)
	require.Equal(t, int64(1), rep.Directories)
	require.Equal(t, raw, readAll(t, v)[:len(raw)])
}

func itoa(v uint64) string { return strconvU(v) }

func TestAllZeroDisk(t *testing.T) {
	const size = 100<<20 + 512 // 1601 grains: 4 GD entries
	var empty bytes.Buffer
	res, err := vmdk.WriteEmpty(t.Context(), &empty, size, nil)
	require.NoError(t, err)
	require.Zero(t, res.Grains)
	require.Zero(t, res.GrainTables)
	// header + descriptor + padding, GD marker + 1 GD sector, footer marker, footer, EOS.
	require.Equal(t, int64((128+1+1+3)*512), res.Size)
	v := empty.Bytes()
	rep := verifyOK(t, v)
	require.Zero(t, rep.Grains)
	require.Zero(t, rep.GrainTables)
	require.Equal(t, int64(1), rep.Directories)

	// Write of an all-zero image gives the same bytes, from a file with a
	// hole and from explicit zeros.
	zeros := make([]byte, size)
	v2, res2 := toVMDK(t, zeros, nil)
	require.Equal(t, v, v2)
	require.Equal(t, res, res2)
	f, err := os.Create(filepath.Join(t.TempDir(), "zero.raw"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	var v3 bytes.Buffer
	_, err = vmdk.Write(t.Context(), &v3, f, size, nil)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, v, v3.Bytes())
	require.Equal(t, zeros, readAll(t, v)[:size])
}

func TestWorkersAndRunsIdentical(t *testing.T) {
	raw := mixed(2, 9<<20+64<<10+512) // crosses several batches and two GT blocks (32 MiB each)? no: ~9 MiB
	raw = append(raw, make([]byte, 30<<20)...)
	raw = append(raw, mixed(3, 2<<20)...) // second block
	var first []byte
	var firstRes *vmdk.Result
	for _, workers := range []int{1, 2, 8, 1, 8} {
		v, res := toVMDK(t, raw, &vmdk.Options{Workers: workers})
		if first == nil {
			first, firstRes = v, res
			continue
		}
		require.Equal(t, first, v, "workers=%d", workers)
		require.Equal(t, firstRes, res)
	}
	rep := verifyOK(t, first)
	require.Equal(t, int64(2), rep.GrainTables)
	require.Equal(t, firstRes.Grains, rep.Grains)
	sum := sha256.Sum256(first)
	require.Equal(t, hex.EncodeToString(sum[:]), firstRes.SHA256.String())
	require.Equal(t, raw, readAll(t, first)[:len(raw)])

	// WriteStream with the same ContentID as Write gives the same bytes.
	opts := &vmdk.Options{ContentID: "abc", Workers: 3}
	a, _ := toVMDK(t, raw, opts)
	var b bytes.Buffer
	_, err := vmdk.WriteStream(t.Context(), &b, bytes.NewReader(raw), int64(len(raw)), opts)
	require.NoError(t, err)
	require.Equal(t, a, b.Bytes())
}

func TestLevels(t *testing.T) {
	raw := mixed(4, 2<<20)
	var prev int64
	for _, l := range []int{1, 6, 9} {
		v, res := toVMDK(t, raw, &vmdk.Options{Level: l})
		verifyOK(t, v)
		require.Equal(t, raw, readAll(t, v))
		if l == 1 {
			prev = res.Size
		} else {
			require.LessOrEqual(t, res.Size, prev)
		}
	}
}

func TestContentDerivedIDs(t *testing.T) {
	a := mixed(5, 1<<20)
	b := bytes.Clone(a)
	b[12345] ^= 1
	_, ra := toVMDK(t, a, nil)
	_, ra2 := toVMDK(t, a, nil)
	_, rb := toVMDK(t, b, nil)
	require.Equal(t, ra.CID, ra2.CID)
	require.NotEqual(t, ra.CID, rb.CID)
	require.NotEqual(t, ra.LongContentID, rb.LongContentID)
	require.Len(t, ra.LongContentID, 32)
	require.NotEqual(t, "ffffffff", ra.CID)
}

// pipeWriter is a writer that is not an io.Seeker or anything else.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

func TestNonSeekablePipe(t *testing.T) {
	raw := mixed(6, 3<<20)
	want, wantRes := toVMDK(t, raw, nil)

	// io.Pipe
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var res *vmdk.Result
	go func() {
		var err error
		res, err = vmdk.Write(context.Background(), onlyWriter{pw}, bytes.NewReader(raw), int64(len(raw)), nil)
		pw.CloseWithError(err)
		done <- err
	}()
	got, err := io.ReadAll(pr)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, want, got)
	require.Equal(t, wantRes, res)

	// os.Pipe, into a file checked with sha256sum.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	go func() {
		var err error
		res, err = vmdk.Write(context.Background(), w, bytes.NewReader(raw), int64(len(raw)), nil)
		w.Close()
		done <- err
	}()
	path := filepath.Join(t.TempDir(), "out.vmdk")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = io.Copy(f, r)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, <-done)
	require.Equal(t, wantRes, res)

	sha := testutil.RequireTool(t, "sha256sum")
	out := testutil.MustRun(t, "", nil, sha, path)
	require.Equal(t, res.SHA256.String(), strings.Fields(string(out))[0])
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, res.Size, st.Size())
}

func TestSparseFileMatchesDense(t *testing.T) {
	dir := t.TempDir()
	const size = 40 << 20
	f, err := os.Create(filepath.Join(dir, "sparse.raw"))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size))
	dense := make([]byte, size)
	for i, off := range []int64{0, 4096, 1 << 20, 5<<20 + 100, 33<<20 - 10, size - 4096} {
		d := mixed(uint64(i), 6000)
		_, err := f.WriteAt(d, off)
		require.NoError(t, err)
		copy(dense[off:], d)
	}
	_, err = f.Seek(777, io.SeekStart)
	require.NoError(t, err)
	var a bytes.Buffer
	res, err := vmdk.Write(t.Context(), &a, f, size, &vmdk.Options{Workers: 2})
	require.NoError(t, err)
	cur, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(777), cur, "file offset restored")
	b, resB := toVMDK(t, dense, &vmdk.Options{Workers: 2})
	require.Equal(t, b, a.Bytes())
	require.Equal(t, resB, res)
	require.Equal(t, dense, readAll(t, b))
}

func TestUnalignedSize(t *testing.T) {
	raw := testutil.RandomBytes(7, 1000)
	v, res := toVMDK(t, raw, nil)
	require.Equal(t, int64(1024), res.Capacity)
	got := readAll(t, v)
	require.Len(t, got, 1024)
	require.Equal(t, raw, got[:1000])
	require.Equal(t, make([]byte, 24), got[1000:])
	verifyOK(t, v)
}

func TestShortInput(t *testing.T) {
	raw := mixed(8, 1<<20)
	_, err := vmdk.WriteStream(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, nil)
	require.ErrorIs(t, err, vmdk.ErrShortInput)
	_, err = vmdk.Write(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, &vmdk.Options{ContentID: "x"})
	require.ErrorIs(t, err, vmdk.ErrShortInput)
	_, err = vmdk.Write(t.Context(), io.Discard, bytes.NewReader(raw), 2<<20, nil)
	require.ErrorIs(t, err, vmdk.ErrShortInput)
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []*vmdk.Options{
		{Level: 10}, {Level: -1}, {Workers: -1}, {Workers: 100000}, {AdapterType: "nvme"},
		{FileName: `a"b`}, {FileName: "a/b"}, {FileName: "a\nb"}, {HardwareVersion: -3},
	} {
		_, err := vmdk.WriteEmpty(t.Context(), io.Discard, 1<<20, o)
		require.ErrorIs(t, err, vmdk.ErrInvalid, "%+v", o)
	}
	_, err := vmdk.WriteEmpty(t.Context(), io.Discard, 0, nil)
	require.ErrorIs(t, err, vmdk.ErrInvalid)
	_, err = vmdk.WriteEmpty(t.Context(), io.Discard, vmdk.MaxCapacity+1, nil)
	require.ErrorIs(t, err, vmdk.ErrTooLarge)
}

func TestDescriptorOptions(t *testing.T) {
	var b bytes.Buffer
	_, err := vmdk.WriteEmpty(t.Context(), &b, 1<<30, &vmdk.Options{AdapterType: "ide", HardwareVersion: 7,
		ToolsVersion: 12345, FileName: "data-disk.vmdk"})
	require.NoError(t, err)
	desc := string(b.Bytes()[512 : 21*512])
	for _, s := range []string{`ddb.adapterType = "ide"`, `ddb.geometry.heads = "16"`, `ddb.geometry.cylinders = "2081"`,
		`ddb.virtualHWVersion = "7"`, `ddb.toolsVersion = "12345"`, `RW 2097152 SPARSE "data-disk.vmdk"`} {
		require.Contains(t, desc, s)
	}
	verifyOK(t, b.Bytes())
	d, err := vmdk.Open(bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	require.Equal(t, "ide", d.Descriptor().DDB["ddb.adapterType"])
	require.Equal(t, int64(1<<30), d.Size())

	b.Reset()
	_, err = vmdk.WriteEmpty(t.Context(), &b, 20<<30, &vmdk.Options{AdapterType: "buslogic"})
	require.NoError(t, err)
	require.Contains(t, string(b.Bytes()[512:21*512]), `ddb.geometry.cylinders = "2611"`)
	verifyOK(t, b.Bytes())
}

func TestProgressAndCancel(t *testing.T) {
	raw := mixed(9, 4<<20)
	var events []vmdk.Event
	_, res := toVMDK(t, raw, &vmdk.Options{Progress: func(e vmdk.Event) { events = append(events, e) }})
	require.NotEmpty(t, events)
	for i := 1; i < len(events); i++ {
		require.GreaterOrEqual(t, events[i].Done, events[i-1].Done)
		require.GreaterOrEqual(t, events[i].Written, events[i-1].Written)
	}
	last := events[len(events)-1]
	require.Equal(t, res.Capacity, last.Done)
	require.Equal(t, res.Size, last.Written)
	require.Equal(t, res.Grains, last.Grains)

	// Cancel after the first batch: the partial output is not a VMDK
	// anyone accepts as complete.
	ctx, cancel := context.WithCancel(t.Context())
	var out bytes.Buffer
	_, err := vmdk.Write(ctx, &out, bytes.NewReader(raw), int64(len(raw)), &vmdk.Options{
		ContentID: "x", Progress: func(vmdk.Event) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)
	_, err = vmdk.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	require.ErrorIs(t, err, vmdk.ErrTruncated)
	_, err = vmdk.Verify(t.Context(), bytes.NewReader(out.Bytes()), nil)
	require.Error(t, err)
}

type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDisk
	}
	f.n -= len(p)
	return len(p), nil
}

func TestFailedWrite(t *testing.T) {
	raw := mixed(10, 4<<20)
	v, _ := toVMDK(t, raw, nil)
	for _, limit := range []int{0, 100, 70000, 1 << 20, len(v) - 600, len(v) - 1} {
		var got bytes.Buffer
		fw := &failWriter{n: limit}
		_, err := vmdk.Write(t.Context(), io.MultiWriter(fw, &got), bytes.NewReader(raw), int64(len(raw)), nil)
		require.ErrorIs(t, err, errDisk, "limit %d", limit)
		_, err = vmdk.Open(bytes.NewReader(got.Bytes()), int64(got.Len()))
		require.Error(t, err, "limit %d", limit)
	}
}

func TestShortFile(t *testing.T) {
	p := testutil.WriteFile(t, t.TempDir(), "short.raw", mixed(13, 1<<20))
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	_, err = vmdk.Write(t.Context(), io.Discard, f, 2<<20, nil)
	require.ErrorIs(t, err, vmdk.ErrShortInput)
	// A size below the file's converts the first size bytes.
	var out bytes.Buffer
	_, err = vmdk.Write(t.Context(), &out, f, 512<<10, nil)
	require.NoError(t, err)
	raw, _ := os.ReadFile(p)
	require.Equal(t, raw[:512<<10], readAll(t, out.Bytes()))
}

// The digest is raw bytes (what ova.File takes) and hex in JSON.
func TestResultDigestJSON(t *testing.T) {
	r := vmdk.Result{SHA256: vmdk.Digest{0xab, 0x01}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"sha256":"ab01"`)
	var back vmdk.Result
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r.SHA256, back.SHA256)
	require.Equal(t, "ab01", back.SHA256.String())
	var raw []byte = r.SHA256
	require.Len(t, raw, 2)
	require.Error(t, json.Unmarshal([]byte(`{"sha256":"xyz"}`), &back))
}
