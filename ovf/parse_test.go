package ovf

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const vboxStyle = `<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:href="app-disk001.vmdk" ovf:id="file1" ovf:size="1376768"/>
    <File ovf:href="app-disk002.vmdk" ovf:id="file2"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="10" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" vbox:uuid="d0c5f3c4-0000-4000-8000-000000000001"/>
    <Disk ovf:capacity="${size}" ovf:diskId="vmdisk2" ovf:fileRef="file2"/>
  </DiskSection>
  <VirtualSystem ovf:id="app">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="96"><Info>os</Info><Description>Debian_64</Description></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 virtual CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType> 3 </rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{x}" name="app"><ovf:Info>x</ovf:Info><Hardware><Firmware type="EFI"/></Hardware></vbox:Machine>
  </VirtualSystem>
</Envelope>
`

func TestParseReferencesAndDisks(t *testing.T) {
	e, err := Parse(strings.NewReader(vboxStyle), nil)
	require.NoError(t, err)
	assert.Equal(t, NamespaceOVF, e.Namespace)
	assert.Equal(t, "1.0", e.Version)
	require.Len(t, e.References, 2)
	assert.Equal(t, File{ID: "file1", Href: "app-disk001.vmdk", Size: 1376768, RawSize: "1376768"}, e.References[0])
	assert.Equal(t, int64(-1), e.References[1].Size)
	require.Len(t, e.Disks, 2)
	assert.Equal(t, "file1", e.Disks[0].FileRef)
	assert.Equal(t, "d0c5f3c4-0000-4000-8000-000000000001", e.Disks[0].VBoxUUID)
	c, err := e.Disks[0].CapacityBytes()
	require.NoError(t, err)
	assert.Equal(t, int64(10<<30), c)
	_, err = e.Disks[1].CapacityBytes()
	assert.ErrorIs(t, err, ErrUnsupported)
	require.Len(t, e.Systems, 1)
	s := e.Systems[0]
	assert.Equal(t, 96, s.OS.ID)
	require.Len(t, s.Hardware, 1)
	assert.Equal(t, 3, s.Hardware[0].Items[0].ResourceType)
	require.NotNil(t, s.VBox)
	assert.Equal(t, "EFI", s.VBox.Firmware)
	f, ok := e.File("file2")
	assert.True(t, ok)
	assert.Equal(t, "app-disk002.vmdk", f.Href)
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		opts *ParseOptions
		want error
	}{
		"empty":        {"", nil, ErrMalformed},
		"not xml":      {"hello", nil, ErrMalformed},
		"unclosed":     {`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References>`, nil, ErrMalformed},
		"wrong root":   {`<html/>`, nil, ErrMalformed},
		"wrong ns":     {`<Envelope xmlns="urn:x"/>`, nil, ErrMalformed},
		"too big":      {vboxStyle, &ParseOptions{MaxSize: 100}, ErrTooLarge},
		"too many":     {vboxStyle, &ParseOptions{MaxElements: 10}, ErrTooLarge},
		"too deep":     {vboxStyle, &ParseOptions{MaxDepth: 3}, ErrTooLarge},
		"bad type":     {strings.Replace(vboxStyle, "> 3 <", ">three<", 1), nil, ErrMalformed},
		"utf16 header": {`<?xml version="1.0" encoding="UTF-16"?><Envelope/>`, nil, ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), tc.opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var pe *ParseError
			assert.True(t, errors.As(err, &pe), "%T", err)
		})
	}
}
