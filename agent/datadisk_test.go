package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/internal/testutil"
)

// labelProbe is a fake probe: a device "is" ext4 with the label written
// at its first bytes as "LABEL:<label>".
func labelProbe(r io.ReaderAt) (*ext4.Info, error) {
	var b [32]byte
	n, _ := r.ReadAt(b[:], 0)
	s := string(b[:n])
	if len(s) < 6 || s[:6] != "LABEL:" {
		return nil, ext4.ErrNotExt4
	}
	l := s[6:]
	for i, c := range l {
		if c == 0 {
			l = l[:i]
			break
		}
	}
	return &ext4.Info{Label: l, UUID: "uuid-" + l}, nil
}

// espDisk is a disk image with a GPT whose one partition is an ESP, and
// (to prove it is skipped anyway) the data label where the fake probe
// looks.
func espDisk() []byte {
	b := make([]byte, 64<<10)
	copy(b, "LABEL:fogkit-data")
	copy(b[512:], "EFI PART")
	binary.LittleEndian.PutUint64(b[512+72:], 2)
	binary.LittleEndian.PutUint32(b[512+80:], 128)
	binary.LittleEndian.PutUint32(b[512+84:], 128)
	copy(b[1024:], espGUID)
	return b
}

type mountRec struct {
	calls []mountCall
	flags uintptr
}

func (m *mountRec) mount(source, target, fstype string, flags uintptr, data string) error {
	m.calls = append(m.calls, mountCall{source, target, fstype, data})
	m.flags = flags
	return nil
}

func dataOpts(ft fakeTree, m *mountRec) *DataOptions {
	return &DataOptions{SysRoot: ft.sys, DevRoot: ft.dev, ProcRoot: ft.proc, Mountpoint: filepath.Join(filepath.Dir(ft.sys), "data"),
		Probe: labelProbe, Mount: m.mount,
		Format: func(context.Context, io.WriterAt, int64, *ext4.Options) (*ext4.Info, error) {
			return nil, errors.New("format must not run")
		}}
}

func TestMountDataFindsTheLabelledDiskNotTheBootDisk(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "sda", "", espDisk(), 8<<20)                         // boot disk, label or not
	ft.block(t, "sda1", "sda", []byte("LABEL:fogkit-data"), 4<<20)   // its partition
	ft.block(t, "sdb", "", []byte("LABEL:other"), 8<<20)             // someone else's
	ft.block(t, "sdc", "", []byte("LABEL:fogkit-data"), 16<<20)      // the data disk
	ft.block(t, "sdd", "", []byte("LABEL:fogkit-data"), 8<<20, "ro") // read-only
	ft.block(t, "sde", "", []byte("LABEL:fogkit-data"), 8<<20, "removable")
	m := &mountRec{}
	o := dataOpts(ft, m)
	d, err := MountData(t.Context(), o)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ft.dev, "sdc"), d.Device)
	require.Equal(t, "uuid-fogkit-data", d.UUID)
	require.EqualValues(t, 16<<20, d.Size)
	require.False(t, d.Formatted)
	require.Equal(t, []mountCall{{d.Device, o.Mountpoint, "ext4", "errors=remount-ro"}}, m.calls)
	require.Equal(t, uintptr(msNoatime|msNodev|msNosuid|msNoexec), m.flags)
	require.DirExists(t, o.Mountpoint)
}

func TestMountDataRefusesTwoLabelledDisks(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vdb", "", []byte("LABEL:fogkit-data"), 8<<20)
	ft.block(t, "vdc", "", nil, 8<<20)
	ft.block(t, "vdc1", "vdc", []byte("LABEL:fogkit-data"), 4<<20)
	m := &mountRec{}
	_, err := MountData(t.Context(), dataOpts(ft, m))
	require.ErrorIs(t, err, ErrDataAmbiguous)
	var ae *AmbiguousDataError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{filepath.Join(ft.dev, "vdb"), filepath.Join(ft.dev, "vdc1")}, ae.Devices)
	require.Empty(t, m.calls)
}

func TestMountDataFormatsOnlyABlankDisk(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "vda", "", espDisk(), 8<<20)
	ft.block(t, "vdb", "", nil, 8<<20) // blank
	m := &mountRec{}
	o := dataOpts(ft, m)
	var formatted string
	o.Format = func(_ context.Context, w io.WriterAt, size int64, fo *ext4.Options) (*ext4.Info, error) {
		formatted = w.(*os.File).Name()
		require.Equal(t, DefaultDataLabel, fo.Label)
		require.NotEmpty(t, fo.Seed)
		require.False(t, fo.ModTime.IsZero())
		require.True(t, fo.NotZeroed, "a blank disk is known to be zero only at its ends")
		_, err := w.WriteAt([]byte("LABEL:"+fo.Label), 0)
		return &ext4.Info{Label: fo.Label, UUID: "new-uuid", Size: size}, err
	}
	d, err := MountData(t.Context(), o)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ft.dev, "vdb"), formatted)
	require.True(t, d.Formatted)
	require.Equal(t, "new-uuid", d.UUID)
	// The next boot finds it by its label.
	o.Format = dataOpts(ft, m).Format
	d, err = MountData(t.Context(), o)
	require.NoError(t, err)
	require.False(t, d.Formatted)

	for name, mk := range map[string]func(ft fakeTree){
		"a byte in the first MiB": func(ft fakeTree) {
			b := make([]byte, 1<<20)
			b[700<<10] = 1
			ft.block(t, "vdb", "", b, 8<<20)
		},
		"a backup GPT at the end": func(ft fakeTree) {
			ft.block(t, "vdb", "", nil, 8<<20)
			f, _ := os.OpenFile(filepath.Join(ft.dev, "vdb"), os.O_RDWR, 0)
			f.WriteAt([]byte("EFI PART"), 8<<20-512)
			f.Close()
		},
		"a partition table": func(ft fakeTree) {
			ft.block(t, "vdb", "", nil, 8<<20)
			ft.block(t, "vdb1", "vdb", nil, 4<<20)
		},
		"too small": func(ft fakeTree) { ft.block(t, "vdb", "", nil, 1<<20) },
	} {
		ft := newFakeTree(t)
		mk(ft)
		m := &mountRec{}
		_, err := MountData(t.Context(), dataOpts(ft, m))
		require.ErrorIs(t, err, ErrNoDataDisk, name)
		require.Empty(t, m.calls, name)
	}

	ft = newFakeTree(t)
	ft.block(t, "vdb", "", nil, 8<<20)
	ft.block(t, "vdc", "", nil, 8<<20)
	_, err = MountData(t.Context(), dataOpts(ft, &mountRec{}))
	require.ErrorIs(t, err, ErrDataAmbiguous, "two blank disks: no guessing")
}

func TestMountDataAlreadyMounted(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "sdb", "", []byte("LABEL:fogkit-data"), 8<<20)
	m := &mountRec{}
	o := dataOpts(ft, m)
	dev, err := os.ReadFile(filepath.Join(ft.sys, "class", "block", "sdb", "dev"))
	require.NoError(t, err)
	info := "30 1 " + string(dev[:len(dev)-1]) + " / " + o.Mountpoint + " rw - ext4 /dev/sdb rw\n"
	require.NoError(t, os.WriteFile(filepath.Join(ft.proc, "self", "mountinfo"), []byte(info), 0o644))
	d, err := MountData(t.Context(), o)
	require.NoError(t, err)
	require.True(t, d.AlreadyMounted)
	require.Empty(t, m.calls)
}

// superblockProbe reads an ext2/3/4 superblock's label and UUID: a
// stand-in for ext4.Probe while that is a stub, to prove the scan over
// real mkfs.ext4 images.
func superblockProbe(r io.ReaderAt) (*ext4.Info, error) {
	var sb [1024]byte
	if _, err := r.ReadAt(sb[:], 1024); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint16(sb[56:]) != 0xef53 {
		return nil, ext4.ErrNotExt4
	}
	l := sb[120:136]
	for i, c := range l {
		if c == 0 {
			l = l[:i]
			break
		}
	}
	u := sb[104:120]
	return &ext4.Info{Label: string(l), UUID: formatUUID(u)}, nil
}

func formatUUID(u []byte) string {
	const hx = "0123456789abcdef"
	var s []byte
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s = append(s, '-')
		}
		s = append(s, hx[c>>4], hx[c&15])
	}
	return string(s)
}

func TestMountDataReadsLabelsOfRealExt4Images(t *testing.T) {
	mkfs := testutil.RequireTool(t, "mkfs.ext4")
	if mkfs == "" {
		return
	}
	ft := newFakeTree(t)
	mk := func(name, label, uuid string) {
		ft.block(t, name, "", nil, 8<<20)
		out, err := exec.Command(mkfs, "-q", "-F", "-L", label, "-U", uuid, filepath.Join(ft.dev, name)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	mk("sdb", "scratch", "11111111-2222-3333-4444-555555555555")
	mk("sdc", DefaultDataLabel, "0f0f0f0f-1234-5678-9abc-def012345678")
	for name, probe := range map[string]func(io.ReaderAt) (*ext4.Info, error){"superblock": superblockProbe, "ext4.Probe": ext4.Probe} {
		t.Run(name, func(t *testing.T) {
			if _, err := probe(nilReaderAt{}); errors.Is(err, errors.ErrUnsupported) {
				t.Skip("ext4.Probe is not implemented yet")
			}
			m := &mountRec{}
			o := dataOpts(ft, m)
			o.Probe = probe
			d, err := MountData(t.Context(), o)
			require.NoError(t, err)
			require.Equal(t, filepath.Join(ft.dev, "sdc"), d.Device)
			require.Equal(t, "0f0f0f0f-1234-5678-9abc-def012345678", d.UUID)
			require.Equal(t, DefaultDataLabel, d.Label)
		})
	}
}

type nilReaderAt struct{}

func (nilReaderAt) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }

func TestHasESPFromMBR(t *testing.T) {
	b := make([]byte, 4096)
	b[510], b[511] = 0x55, 0xaa
	b[446+16+4] = 0xef
	f := filepath.Join(t.TempDir(), "d")
	require.NoError(t, os.WriteFile(f, b, 0o644))
	ok, err := holdsESP(f)
	require.NoError(t, err)
	require.True(t, ok)
	b[446+16+4] = 0x83
	require.NoError(t, os.WriteFile(f, b, 0o644))
	ok, _ = holdsESP(f)
	require.False(t, ok)
}
