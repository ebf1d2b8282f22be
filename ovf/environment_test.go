package ovf

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	govmomi "github.com/vmware/govmomi/ovf"
	vimxml "github.com/vmware/govmomi/vim25/xml"

	"github.com/fogkit/fogkit/internal/testutil"
)

func sampleEnvironment(t *testing.T) *Environment {
	env, err := NewEnvironment(propertiesCase(), map[string]string{
		"hostname":       "appliance-01",
		"ip0":            "192.0.2.10",
		"mode":           "static",
		"admin.password": `p&ss"<word>`,
		"http.port":      "443",
	})
	require.NoError(t, err)
	env.ESXID = "vm-42"
	env.Platform = &Platform{Kind: "VMware ESXi", Version: "8.0.3", Vendor: "VMware, Inc.", Locale: "en"}
	env.Adapters = []EnvAdapter{{MAC: "00:50:56:aa:bb:cc", Network: "VM Network", UnitNumber: 7}}
	return env
}

func TestEnvironmentGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteEnvironment(&buf, sampleEnvironment(t)))
	testutil.Golden(t, "properties-env.xml", buf.Bytes())

	var again bytes.Buffer
	require.NoError(t, WriteEnvironment(&again, sampleEnvironment(t)))
	assert.Equal(t, buf.Bytes(), again.Bytes(), "deterministic")

	got, err := ParseEnvironment(bytes.NewReader(buf.Bytes()), nil)
	require.NoError(t, err)
	assert.Equal(t, sampleEnvironment(t), got)
	v, ok := got.Value("admin.password")
	assert.True(t, ok)
	assert.Equal(t, `p&ss"<word>`, v)
	v, _ = got.Value("ssh.enabled")
	assert.Equal(t, "false", v, "defaults fill undeclared values")
	_, ok = got.Value("nope")
	assert.False(t, ok)
}

func TestNewEnvironmentErrors(t *testing.T) {
	_, err := NewEnvironment(propertiesCase(), map[string]string{"http.port": "99999", "zzz": "1", "aaa": "2"})
	var ve ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve, 3)
	assert.Contains(t, ve[1].Element, "aaa", "undeclared keys sorted")
	for _, v := range ve {
		assert.Equal(t, RuleProperty, v.Rule)
	}
	require.ErrorIs(t, WriteEnvironment(&bytes.Buffer{}, nil), ErrInvalid)
	require.ErrorIs(t, WriteEnvironment(&bytes.Buffer{}, &Environment{Properties: []EnvProperty{{Key: "a"}, {Key: "a"}}}), ErrInvalid)
}

func TestParseEnvironmentErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not xml":  "{",
		"wrong":    `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>`,
		"no key":   `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property value="x"/></PropertySection></Environment>`,
		"dup key":  `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property oe:key="a"/><Property oe:key="a"/></PropertySection></Environment>`,
		"bad unit": `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv"><ve:EthernetAdapterSection><ve:Adapter ve:unitNumber="x"/></ve:EthernetAdapterSection></Environment>`,
	} {
		_, err := ParseEnvironment(strings.NewReader(in), nil)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err := ParseEnvironment(strings.NewReader(strings.Repeat(" ", 100)+"<Environment/>"), &ParseOptions{MaxSize: 50})
	assert.ErrorIs(t, err, ErrTooLarge)
}

// TestEnvironmentGovmomi: govmomi (what vSphere tooling in Go uses) reads
// our ovf-env.xml, and we read the one govmomi writes for a vApp guest.
func TestEnvironmentGovmomi(t *testing.T) {
	t.Log("interop: govmomi ovf.Env")
	var buf bytes.Buffer
	env := sampleEnvironment(t)
	require.NoError(t, WriteEnvironment(&buf, env))
	var theirs govmomi.Env
	require.NoError(t, vimxml.Unmarshal(buf.Bytes(), &theirs))
	assert.Equal(t, "vm-42", theirs.EsxID)
	assert.Equal(t, env.ID, theirs.ID)
	require.NotNil(t, theirs.Platform)
	assert.Equal(t, "VMware ESXi", theirs.Platform.Kind)
	require.NotNil(t, theirs.Property)
	require.Len(t, theirs.Property.Properties, len(env.Properties))
	for i, p := range theirs.Property.Properties {
		assert.Equal(t, env.Properties[i].Key, p.Key)
		assert.Equal(t, env.Properties[i].Value, p.Value)
	}

	manual := govmomi.Env{
		EsxID:    "vm-7",
		Platform: &govmomi.PlatformSection{Kind: "VMware ESXi", Version: "7.0", Vendor: "VMware, Inc.", Locale: "US"},
		Property: &govmomi.PropertySection{Properties: []govmomi.EnvProperty{{Key: "hostname", Value: "h1"}, {Key: "ip0", Value: "192.0.2.1"}}},
	}
	ours, err := ParseEnvironment(strings.NewReader(manual.MarshalManual()), nil)
	require.NoError(t, err)
	assert.Equal(t, "vm-7", ours.ESXID)
	assert.Equal(t, []EnvProperty{{"hostname", "h1"}, {"ip0", "192.0.2.1"}}, ours.Properties)
	assert.Equal(t, "US", ours.Platform.Locale)
	marshalled, err := manual.Marshal()
	require.NoError(t, err)
	ours, err = ParseEnvironment(strings.NewReader(marshalled), nil)
	require.NoError(t, err)
	assert.Len(t, ours.Properties, 2)
}
