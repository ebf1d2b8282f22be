package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/ovf"
)

const vsphereEnv = `<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:ve="http://www.vmware.com/schema/ovfenv"
     oe:id=""
     ve:vCenterId="vm-1043">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
      <Version>8.0.2</Version>
      <Vendor>VMware, Inc.</Vendor>
      <Locale>en_US</Locale>
   </PlatformSection>
   <PropertySection>
         <Property oe:key="dns" oe:value="192.0.2.53, 192.0.2.54"/>
         <Property oe:key="gateway" oe:value="192.0.2.1"/>
         <Property oe:key="hostname" oe:value="fogkit-lab-01"/>
         <Property oe:key="ip0" oe:value="192.0.2.10"/>
         <Property oe:key="netmask0" oe:value="255.255.255.0"/>
         <Property oe:key="searchDomains" oe:value="lab.example"/>
   </PropertySection>
</Environment>
`

// makeISO writes an ISO 9660 image holding files in its root with
// go-diskfs's writer, as a hypervisor's ISO transport would.
func makeISO(t testing.TB, files map[string]string, o iso9660.FinalizeOptions) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "env.iso")
	b, err := file.CreateFromPath(p, 1<<20)
	require.NoError(t, err)
	ws := filepath.Join(dir, "workspace")
	require.NoError(t, os.Mkdir(ws, 0o755))
	fs, err := iso9660.Create(b, 0, 0, 2048, ws)
	require.NoError(t, err)
	for name, body := range files {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		require.NoError(t, err)
		_, err = f.Write([]byte(body))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	require.NoError(t, fs.Finalize(o))
	require.NoError(t, b.Close())
	return p
}

func readISOFileEnv(t *testing.T, p string, max int64) (*ovf.Environment, error) {
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	return ReadOVFEnvironmentISO(f, st.Size(), max)
}

func TestReadOVFEnvironmentISO(t *testing.T) {
	for name, o := range map[string]iso9660.FinalizeOptions{
		"plain":      {},
		"rock ridge": {RockRidge: true},
		"joliet":     {Joliet: true, VolumeIdentifier: "OVF ENV"},
	} {
		t.Run(name, func(t *testing.T) {
			env, err := readISOFileEnv(t, makeISO(t, map[string]string{"ovf-env.xml": vsphereEnv, "readme.txt": "x"}, o), 0)
			require.NoError(t, err)
			v, _ := env.Value(ovf.PropertyIPv4)
			require.Equal(t, "192.0.2.10", v)
			require.Equal(t, "vm-1043", env.VCenterID)
		})
	}
}

func TestReadOVFEnvironmentISORefuses(t *testing.T) {
	t.Run("no env file", func(t *testing.T) {
		_, err := readISOFileEnv(t, makeISO(t, map[string]string{"other.xml": vsphereEnv}, iso9660.FinalizeOptions{}), 0)
		require.ErrorIs(t, err, ErrNoOVFEnvironment)
	})
	t.Run("not ISO", func(t *testing.T) {
		_, err := ReadOVFEnvironmentISO(bytes.NewReader(make([]byte, 1<<20)), 1<<20, 0)
		require.ErrorIs(t, err, ErrNoOVFEnvironment)
		_, err = ReadOVFEnvironmentISO(bytes.NewReader(make([]byte, 100)), 100, 0)
		require.ErrorIs(t, err, ErrNoOVFEnvironment)
	})
	t.Run("oversized document", func(t *testing.T) {
		_, err := readISOFileEnv(t, makeISO(t, map[string]string{"ovf-env.xml": vsphereEnv}, iso9660.FinalizeOptions{}), 100)
		require.ErrorIs(t, err, ErrOVFEnvironment)
		require.ErrorContains(t, err, "more than 100")
	})
	t.Run("bad document", func(t *testing.T) {
		_, err := readISOFileEnv(t, makeISO(t, map[string]string{"ovf-env.xml": "<Envelope/>"}, iso9660.FinalizeOptions{}), 0)
		require.ErrorIs(t, err, ErrOVFEnvironment)
		require.ErrorIs(t, err, ovf.ErrMalformed)
	})
	t.Run("hostile path table size", func(t *testing.T) {
		b, err := os.ReadFile(makeISO(t, map[string]string{"ovf-env.xml": vsphereEnv}, iso9660.FinalizeOptions{}))
		require.NoError(t, err)
		binary.LittleEndian.PutUint32(b[16*2048+132:], 0xfffffff0)
		_, err = ReadOVFEnvironmentISO(bytes.NewReader(b), int64(len(b)), 0)
		require.ErrorIs(t, err, ErrOVFEnvironment)
	})
}

// fakeBlock adds a block device to a fake sysfs tree and its node (a
// plain file) to a fake /dev.
type fakeTree struct{ sys, dev, proc string }

func newFakeTree(t *testing.T) fakeTree {
	r := t.TempDir()
	ft := fakeTree{filepath.Join(r, "sys"), filepath.Join(r, "dev"), filepath.Join(r, "proc")}
	for _, d := range []string{filepath.Join(ft.sys, "class", "block"), filepath.Join(ft.sys, "class", "net"), ft.dev, filepath.Join(ft.proc, "self")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	return ft
}

// block adds name (parent "" for a whole disk) holding content, with
// sysfs attributes attrs ("ro", "removable").
func (ft fakeTree) block(t *testing.T, name, parent string, content []byte, size int64, attrs ...string) {
	devDir := filepath.Join(ft.sys, "devices", "block", name)
	if parent != "" {
		devDir = filepath.Join(ft.sys, "devices", "block", parent, name)
	}
	require.NoError(t, os.MkdirAll(devDir, 0o755))
	w := func(n, v string) { require.NoError(t, os.WriteFile(filepath.Join(devDir, n), []byte(v+"\n"), 0o644)) }
	w("size", strconv.FormatInt(size/512, 10))
	w("dev", "8:"+strconv.Itoa(len(name)*7+int(name[len(name)-1])))
	w("ro", "0")
	w("removable", "0")
	if parent != "" {
		w("partition", "1")
	}
	for _, a := range attrs {
		w(a, "1")
	}
	require.NoError(t, os.Symlink(devDir, filepath.Join(ft.sys, "class", "block", name)))
	f, err := os.Create(filepath.Join(ft.dev, name))
	require.NoError(t, err)
	_, err = f.Write(content)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
}

func (ft fakeTree) nic(t *testing.T, name, mac string, carrier bool) {
	d := filepath.Join(ft.sys, "class", "net", name)
	require.NoError(t, os.MkdirAll(d, 0o755))
	c := "0"
	if carrier {
		c = "1"
	}
	typ := "1"
	if name == "lo" {
		typ = "772"
	}
	for n, v := range map[string]string{"address": mac, "carrier": c, "type": typ} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), []byte(v+"\n"), 0o644))
	}
}

// The CD-ROM is found among the block devices by its content, not its
// name; disks without ISO 9660 are passed over.
func TestReadOVFEnvironmentFindsTheCDROM(t *testing.T) {
	ft := newFakeTree(t)
	ft.block(t, "sda", "", []byte("not an iso"), 4<<20)
	ft.block(t, "sda1", "sda", nil, 1<<20)
	iso, err := os.ReadFile(makeISO(t, map[string]string{"OVF-ENV.XML": vsphereEnv}, iso9660.FinalizeOptions{}))
	require.NoError(t, err)
	ft.block(t, "sr0", "", iso, int64(len(iso)), "removable")
	e, err := ReadOVFEnvironment(t.Context(), &OVFEnvOptions{SysRoot: ft.sys, DevRoot: ft.dev})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ft.dev, "sr0"), e.Device)
	v, _ := e.Env.Value(ovf.PropertyHostname)
	require.Equal(t, "fogkit-lab-01", v)

	empty := newFakeTree(t)
	empty.block(t, "vda", "", nil, 4<<20)
	_, err = ReadOVFEnvironment(context.Background(), &OVFEnvOptions{SysRoot: empty.sys, DevRoot: empty.dev})
	require.ErrorIs(t, err, ErrNoOVFEnvironment)
}

func TestIsEnvFileName(t *testing.T) {
	for _, n := range []string{"ovf-env.xml", "OVF-ENV.XML;1", "ovf_env.xml", "OVF_ENV.XML"} {
		require.True(t, isEnvFileName(n), n)
	}
	for _, n := range []string{"ovf-env.xml.bak", "env.xml", ""} {
		require.False(t, isEnvFileName(n), n)
	}
	require.True(t, strings.HasSuffix(ovf.EnvironmentFileName, ".xml"))
}

// FuzzReadOVFEnvironmentISO: a hostile CD-ROM never panics the agent and
// never makes it read an unbounded document.
func FuzzReadOVFEnvironmentISO(f *testing.F) {
	b, err := os.ReadFile(makeISO(f, map[string]string{"ovf-env.xml": `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property oe:key="ip0" oe:value="192.0.2.1/24"/></PropertySection></Environment>`}, iso9660.FinalizeOptions{}))
	if err != nil {
		f.Fatal(err)
	}
	// The fuzzer mutates the metadata area only: the volume descriptors
	// and the directory and file sectors that follow them.
	head := b[16*2048:]
	for len(head) > 0 && head[len(head)-1] == 0 {
		head = head[:len(head)-1]
	}
	f.Add(head)
	f.Fuzz(func(t *testing.T, data []byte) {
		img := make([]byte, 16*2048+len(data)+2048)
		copy(img[16*2048:], data)
		env, err := ReadOVFEnvironmentISO(bytes.NewReader(img), int64(len(img)), 4096)
		if err == nil && env == nil {
			t.Fatal("nil environment without error")
		}
	})
}
