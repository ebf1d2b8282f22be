package ova

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

// testCapacity is the capacity of the disks testDescriptor declares and
// testVMDK makes.
const testCapacity = 1 << 20

// testVMDK returns a real streamOptimized VMDK of testCapacity bytes whose
// raw disk starts with data, with the extent named name and the given
// ddb.adapterType ("" for lsilogic).
func testVMDK(name string, data []byte, adapter string) []byte {
	raw := make([]byte, max(testCapacity, len(data)))
	copy(raw, data)
	var b bytes.Buffer
	_, err := vmdk.Write(context.Background(), &b, bytes.NewReader(raw), int64(len(raw)),
		&vmdk.Options{FileName: name, AdapterType: adapter, Workers: 1})
	if err != nil {
		panic(err)
	}
	return b.Bytes()
}

// vmdkFile is a File holding testVMDK(name, data, "").
func vmdkFile(name string, data []byte) File {
	return BytesFile(name, testVMDK(name, data, ""))
}

// testDescriptor returns a small OVF 1.x envelope whose References list
// files (href, id, ovf:size) in order, each with a streamOptimized disk of
// testCapacity bytes (so the files must be VMDKs such as vmdkFile makes).
func testDescriptor(name string, files []File) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
`)
	for i, f := range files {
		fmt.Fprintf(&b, "    <File ovf:href=\"%s\" ovf:id=\"file%d\" ovf:size=\"%d\"/>\n", f.Name, i+1, f.Size)
	}
	b.WriteString("  </References>\n  <DiskSection>\n    <Info>Virtual disks</Info>\n")
	for i := range files {
		fmt.Fprintf(&b, "    <Disk ovf:capacity=\"%d\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk%d\" ovf:fileRef=\"file%d\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n", testCapacity, i+1, i+1)
	}
	fmt.Fprintf(&b, `  </DiskSection>
  <VirtualSystem ovf:id="%s">
    <Info>A virtual machine</Info>
    <Name>%s</Name>
    <AnnotationSection>
      <Info>Notes</Info>
      <Annotation>fogkit test appliance</Annotation>
    </AnnotationSection>
  </VirtualSystem>
</Envelope>
`, name, name)
	return []byte(b.String())
}

var (
	keyOnce   sync.Once
	keySigner *sign.X509Signer
	keyErr    error
)

// testSigner is the RSA-2048 test key in testdata (a fixed key keeps the
// tests and fuzz workers fast and the outputs reproducible) with a
// self-signed code-signing certificate.
func testSigner(t testing.TB) *sign.X509Signer {
	t.Helper()
	keyOnce.Do(func() {
		pemBytes, err := os.ReadFile(filepath.Join("testdata", "test-key.pem"))
		if err != nil {
			keyErr = err
			return
		}
		block, _ := pem.Decode(pemBytes)
		if block == nil {
			keyErr = errors.New("testdata/test-key.pem: no PEM block")
			return
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			keyErr = err
			return
		}
		key := k.(*rsa.PrivateKey)
		cert, err := sign.SelfSignedCertificate(key, &sign.CertOptions{CommonName: "fogkit test", Organization: "fogkit",
			NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			keyErr = err
			return
		}
		keySigner, keyErr = sign.NewX509Signer(key, []*x509.Certificate{cert}, sign.PurposeOVA)
	})
	require.NoError(t, keyErr)
	return keySigner
}

var (
	testFilesOnce sync.Once
	testFilesData [2][]byte
)

// testFiles returns two VMDKs of awkward sizes.
func testFiles() []File {
	testFilesOnce.Do(func() {
		testFilesData[0] = testVMDK("app-disk1.vmdk", testutil.RandomBytes(1, 70_001), "")
		testFilesData[1] = testVMDK("app-disk2.vmdk", testutil.TextBytes(2, 4_096), "")
	})
	return []File{
		BytesFile("app-disk1.vmdk", testFilesData[0]),
		BytesFile("app-disk2.vmdk", testFilesData[1]),
	}
}

// buildOVA writes a signed test OVA and returns its bytes.
func buildOVA(t testing.TB, o *Options) ([]byte, *Result) {
	t.Helper()
	files := testFiles()
	opt := Options{Name: "app", ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Signer: testSigner(t)}
	if o != nil {
		opt = *o
	}
	var buf bytes.Buffer
	res, err := Write(context.Background(), &buf, testDescriptor(opt.Name, files), files, &opt)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), res.Size)
	return buf.Bytes(), res
}

// member is one raw member for rawTar.
type member struct {
	name string
	data []byte
}

// rawTar writes members with this package's header encoder, in the given
// order, for archives Write would refuse to make.
func rawTar(t testing.TB, members []member) []byte {
	t.Helper()
	var b bytes.Buffer
	var hdr [blockSize]byte
	for _, m := range members {
		require.NoError(t, encodeHeader(&hdr, m.name, int64(len(m.data)), 0))
		b.Write(hdr[:])
		b.Write(m.data)
		b.Write(make([]byte, padding(int64(len(m.data)))))
	}
	b.Write(make([]byte, 2*blockSize))
	return b.Bytes()
}

// members splits an archive written by this package into its members.
func members(t testing.TB, ova []byte) []member {
	t.Helper()
	a, err := Open(bytes.NewReader(ova), int64(len(ova)), nil)
	require.NoError(t, err)
	var out []member
	for _, e := range a.Entries() {
		out = append(out, member{e.Name, append([]byte(nil), ova[e.Offset+blockSize:e.Offset+blockSize+e.Size]...)})
	}
	return out
}

var (
	smallOnce sync.Once
	smallData []byte
	smallRes  *Result
	smallErr  error
)

// smallFiles are two disk-like files of a few KB.
func smallFiles() []File {
	return []File{
		BytesFile("app-disk1.vmdk", testutil.RandomBytes(5, 3000)),
		BytesFile("app-disk2.vmdk", testutil.TextBytes(6, 1500)),
	}
}

// smallDescriptor is a minimal descriptor referencing files (cheap to
// parse in a fuzz loop).
func smallDescriptor(files []File) []byte {
	var b strings.Builder
	b.WriteString(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>`)
	for i, f := range files {
		fmt.Fprintf(&b, `<File ovf:href="%s" ovf:id="f%d" ovf:size="%d"/>`, f.Name, i, f.Size)
	}
	b.WriteString(`</References><VirtualSystem ovf:id="app"><Info>app</Info></VirtualSystem></Envelope>` + "\n")
	return []byte(b.String())
}

// smallOVA returns a small OVA signed with the test key (mtime 0, so
// rawTar rebuilds its members byte for byte) and Write's result. It is
// built once per process; callers must not modify the bytes.
func smallOVA(t testing.TB) ([]byte, *Result) {
	t.Helper()
	s := testSigner(t)
	smallOnce.Do(func() {
		files := smallFiles()
		var b bytes.Buffer
		smallRes, smallErr = Write(context.Background(), &b, smallDescriptor(files), files, &Options{Name: "app", Signer: s})
		smallData = b.Bytes()
	})
	require.NoError(t, smallErr)
	return smallData, smallRes
}
