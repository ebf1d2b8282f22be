package ova

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// controllerDescriptor returns an envelope with one VMDK disk of capacity
// bytes attached to a controller item of the given ResourceType and
// ResourceSubType (rtype 0: no hardware section).
func controllerDescriptor(f File, capacity int64, rtype int, subtype string) []byte {
	hw := ""
	if rtype != 0 {
		hw = fmt.Sprintf(`<VirtualHardwareSection><Info>hw</Info>
<Item><rasd:ElementName>ctrl</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>%s</rasd:ResourceSubType><rasd:ResourceType>%d</rasd:ResourceType></Item>
<Item><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
</VirtualHardwareSection>`, subtype, rtype)
	}
	return fmt.Appendf(nil, `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
<References><File ovf:href="%s" ovf:id="file1" ovf:size="%d"/></References>
<DiskSection><Info>disks</Info><Disk ovf:capacity="%d" ovf:capacityAllocationUnits="byte * 2^10" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
<VirtualSystem ovf:id="x"><Info>x</Info>%s</VirtualSystem></Envelope>
`, f.Name, f.Size, capacity>>10, hw)
}

// writeModes are the three ways Write reads a file: hashed in a first
// pass, prehashed (opened once, checked before writing), and ManifestLast.
func writeModes(data []byte) map[string]func(name string) (File, *Options) {
	sum := sha256.Sum256(data)
	return map[string]func(string) (File, *Options){
		"first-pass": func(n string) (File, *Options) { return BytesFile(n, data), &Options{Name: "x"} },
		"prehashed": func(n string) (File, *Options) {
			return File{Name: n, Size: int64(len(data)), Digest: sum[:], Open: BytesFile(n, data).Open}, &Options{Name: "x"}
		},
		"manifest-last": func(n string) (File, *Options) {
			return ReaderFile(n, int64(len(data)), nil, bytes.NewReader(data)), &Options{Name: "x", ManifestLast: true}
		},
	}
}

func TestWriteDiskMismatch(t *testing.T) {
	good := testVMDK("d.vmdk", []byte("boot"), "")
	cases := []struct {
		name     string
		data     []byte
		capacity int64
		rtype    int
		subtype  string
		field    string
	}{
		{"extent name", testVMDK("other.vmdk", nil, ""), testCapacity, 6, "lsilogic", "name"},
		{"capacity", good, 2 * testCapacity, 6, "lsilogic", "capacity"},
		{"adapter ide vs lsilogic", good, testCapacity, 5, "", "adapterType"},
		{"adapter sata vs lsilogic", good, testCapacity, 20, "vmware.sata.ahci", "adapterType"},
		{"adapter buslogic vs lsilogic", good, testCapacity, 6, "buslogic", "adapterType"},
		{"adapter lsilogic vs ide", testVMDK("d.vmdk", nil, "ide"), testCapacity, 6, "lsilogic", "adapterType"},
		{"not a vmdk", testutil.RandomBytes(7, 70_000), testCapacity, 0, "", "format"},
		{"header only", good[:512], testCapacity, 0, "", "format"},
	}
	for _, c := range cases {
		for mode, mk := range writeModes(c.data) {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				f, opt := mk("d.vmdk")
				desc := controllerDescriptor(f, c.capacity, c.rtype, c.subtype)
				var out bytes.Buffer
				_, err := Write(t.Context(), &out, desc, []File{f}, opt)
				require.ErrorIs(t, err, ErrDiskMismatch)
				var de *DiskMismatchError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, "d.vmdk", de.File)
				assert.Equal(t, c.field, de.Field, "%v", err)
				assert.Zero(t, out.Len(), "nothing written on refusal")
			})
		}
	}
}

func TestWriteDiskAdaptersAccepted(t *testing.T) {
	lsi := testVMDK("d.vmdk", []byte("boot"), "")
	ide := testVMDK("d.vmdk", []byte("boot"), "ide")
	bus := testVMDK("d.vmdk", []byte("boot"), "buslogic")
	cases := []struct {
		name    string
		data    []byte
		rtype   int
		subtype string
	}{
		{"no controller", ide, 0, ""},
		{"lsilogic", lsi, 6, "lsilogic"},
		{"buslogic", bus, 6, "buslogic"},
		{"pvscsi", lsi, 6, "VirtualSCSI"},
		{"lsilogicsas", lsi, 6, "lsilogicsas"},
		{"ide", ide, 5, ""},
		{"sata", ide, 20, "vmware.sata.ahci"},
		{"ahci", ide, 20, "AHCI"},
		{"vmware alternatives", bus, 6, "lsilogic,buslogic"},
	}
	for _, c := range cases {
		for mode, mk := range writeModes(c.data) {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				f, opt := mk("d.vmdk")
				var out bytes.Buffer
				_, err := Write(t.Context(), &out, controllerDescriptor(f, testCapacity, c.rtype, c.subtype), []File{f}, opt)
				require.NoError(t, err)
				_, err = Verify(t.Context(), &out, &VerifyOptions{AllowUnsigned: true})
				require.NoError(t, err)
			})
		}
	}
}

// NoDescriptorCheck turns the disk check off with the References check.
func TestWriteDiskCheckOff(t *testing.T) {
	f := BytesFile("d.vmdk", []byte("not a disk"))
	_, err := Write(t.Context(), io.Discard, controllerDescriptor(f, testCapacity, 6, "lsilogic"), []File{f}, &Options{Name: "x", NoDescriptorCheck: true})
	require.NoError(t, err)
}

// Verify accepts exactly what Write writes: an archive whose VMDK
// disagrees with its descriptor (built here by hand, as Write refuses it)
// fails with ErrDiskMismatch.
func TestVerifyDiskMismatch(t *testing.T) {
	data := testVMDK("d.vmdk", nil, "ide")
	f := BytesFile("d.vmdk", data)
	desc := controllerDescriptor(f, testCapacity, 6, "lsilogic")
	sum := sha256.Sum256(data)
	dsum := sha256.Sum256(desc)
	mf := fmt.Sprintf("SHA256(x.ovf)= %x\nSHA256(d.vmdk)= %x\n", dsum, sum)
	a := rawTar(t, []member{{"x.ovf", desc}, {"x.mf", []byte(mf)}, {"d.vmdk", data}})
	rep, err := Verify(t.Context(), bytes.NewReader(a), &VerifyOptions{AllowUnsigned: true})
	require.ErrorIs(t, err, ErrDiskMismatch)
	var de *DiskMismatchError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "adapterType", de.Field)
	assert.Len(t, rep.Entries, 3, "the report is filled as far as reading got")

	// The same archive with the controller the disk was made for passes.
	desc = controllerDescriptor(f, testCapacity, 5, "")
	dsum = sha256.Sum256(desc)
	mf = fmt.Sprintf("SHA256(x.ovf)= %x\nSHA256(d.vmdk)= %x\n", dsum, sum)
	a = rawTar(t, []member{{"x.ovf", desc}, {"x.mf", []byte(mf)}, {"d.vmdk", data}})
	_, err = Verify(t.Context(), bytes.NewReader(a), &VerifyOptions{AllowUnsigned: true})
	require.NoError(t, err)
}

func TestParseVMDKHeadBounds(t *testing.T) {
	hdr := func(off, size uint64) []byte {
		b := make([]byte, vmdkHeadMax)
		copy(b, "KDMV")
		binary.LittleEndian.PutUint64(b[28:], off)
		binary.LittleEndian.PutUint64(b[36:], size)
		return b
	}
	for _, c := range []struct {
		name      string
		off, size uint64
	}{
		{"no descriptor", 0, 0},
		{"beyond the head", 1, vmdkHeadMax / vmdkSector},
		{"overflowing offset", 1 << 60, 20},
		{"overflowing size", 1, 1<<64 - 1},
	} {
		_, err := parseVMDKHead(hdr(c.off, c.size))
		assert.Error(t, err, c.name)
	}
	h, err := parseVMDKHead(testVMDK("d.vmdk", nil, "ide")[:vmdkHeadMax])
	require.NoError(t, err)
	assert.Equal(t, &vmdkHead{Extents: []vmdkExtent{{Sectors: testCapacity / 512, File: "d.vmdk"}}, Adapter: "ide"}, h)
}

// FuzzVMDKDescriptor: any bytes as a VMDK head, checked against a disk
// description, give a result or a DiskMismatchError, never a panic.
func FuzzVMDKDescriptor(f *testing.F) {
	f.Add(testVMDK("d.vmdk", nil, "")[:11264])
	f.Add([]byte("KDMV"))
	text := []byte("# Disk DescriptorFile\nRW 2048 SPARSE \"d.vmdk\"\nRDONLY 1 FLAT d.vmdk 0\nddb.adapterType = \"ide\"\n\x00junk")
	head := make([]byte, 512, 512+len(text))
	copy(head, "KDMV")
	binary.LittleEndian.PutUint64(head[28:], 1)
	binary.LittleEndian.PutUint64(head[36:], 1)
	f.Add(append(head, text...))
	e := &diskExpect{DiskID: "vmdisk1", Format: "vmdk", Capacity: 1 << 20, Adapters: []string{"lsilogic"}, Ctrl: "lsilogic"}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkDisk("d.vmdk", e, b)
		if err != nil && !errors.Is(err, ErrDiskMismatch) {
			t.Fatalf("untyped error %v", err)
		}
		if len(b) > 512 {
			parseVMDKDescriptor(b[512:])
		}
	})
}
