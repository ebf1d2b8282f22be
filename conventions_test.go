package fogkit_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/backup"
	"github.com/fogkit/fogkit/cloud"
	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sbom"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/update/delta"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

// The conventions table of the package doc, checked on the types.

// Every progress Event has Stage, File, Done and Total with the same types
// and JSON names.
func TestEventFields(t *testing.T) {
	want := map[string][2]string{
		"Stage": {"string", "stage"}, "File": {"string", "file,omitempty"},
		"Done": {"int64", "done"}, "Total": {"int64", "total"},
	}
	for _, ev := range []any{appliance.Event{}, backup.Event{}, disk.Event{}, ova.Event{}, rootfs.Event{}, support.Event{}, update.Event{}, vmdk.Event{}, qcow2.Event{}, vhd.Event{}, vhdx.Event{}, gce.Event{}, cloud.Event{}, iso.Event{}, sbom.Event{}, provenance.Event{}, delta.Event{}} {
		ty := reflect.TypeOf(ev)
		for name, w := range want {
			f, ok := ty.FieldByName(name)
			if !assert.True(t, ok, "%s has no %s", ty, name) {
				continue
			}
			got := f.Type.String()
			if f.Type.Kind() == reflect.String {
				got = "string" // ova.Stage is a string type
			}
			assert.Equal(t, w[0], got, "%s.%s type", ty, name)
			assert.Equal(t, w[1], f.Tag.Get("json"), "%s.%s JSON tag", ty, name)
		}
	}
}

// JSON tags are camelCase in every option, report and on-disk type.
func TestJSONCamelCase(t *testing.T) {
	roots := []any{
		appliance.Record{}, appliance.Spec{},
		disk.Spec{}, disk.Options{}, license.License{}, license.VerifyOptions{}, license.Status{},
		ova.Options{}, ova.VerifyOptions{}, ova.Report{}, ova.Result{},
		ovf.VirtualSystem{}, ovf.Options{}, ovf.ParseOptions{},
		rootfs.Options{}, rootfs.ReaderOptions{}, rootfs.Report{}, rootfs.Stats{},
		update.BuildOptions{}, update.ApplyOptions{}, update.VerifyOptions{}, update.Manifest{}, update.State{},
		vmdk.Options{}, vmdk.VerifyOptions{}, vmdk.Report{},
		sign.OpenPGPOptions{},
		support.Options{}, support.Index{}, support.OpenOptions{},
		backup.Options{}, backup.Manifest{}, backup.RestoreOptions{},
		agent.ServerOptions{}, agent.ApplianceStatus{}, agent.RestoreResult{}, agent.BackupRequest{},
		qcow2.Options{}, qcow2.Report{}, qcow2.Result{}, vhd.Options{}, vhd.Report{}, vhd.Result{},
		vhdx.Options{}, vhdx.Report{}, vhdx.Result{}, gce.Options{}, gce.Report{}, gce.Result{},
		cloud.Options{}, cloud.Report{}, iso.Spec{}, iso.Options{}, iso.Result{}, iso.Report{},
		sbom.Input{}, sbom.Options{}, sbom.Result{}, provenance.Input{}, provenance.VerifyOptions{}, provenance.ParsedStatement{},
		delta.Options{}, delta.ApplyOptions{}, delta.Header{}, appliance.Flavour{},
	}
	seen := map[reflect.Type]bool{}
	// spellings maps each Go field name to the JSON names it has and
	// where: one idea, one spelling (MemoryMiB is "memoryMiB" everywhere).
	spellings := map[string]map[string]string{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map || ty.Kind() == reflect.Array {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() == "time" {
			return
		}
		seen[ty] = true
		for i := range ty.NumField() {
			f := ty.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			assert.NotContains(t, name, "_", "%s.%s", path, f.Name)
			if name != "" && name != "-" {
				assert.Equal(t, strings.ToLower(name[:1]), name[:1], "%s.%s starts lower case", path, f.Name)
				if spellings[f.Name] == nil {
					spellings[f.Name] = map[string]string{}
				}
				spellings[f.Name][name] = path + "." + f.Name
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	for _, r := range roots {
		walk(reflect.TypeOf(r), reflect.TypeOf(r).String())
	}
	for field, names := range spellings {
		if len(names) > 1 {
			t.Errorf("Go field %s has %d JSON spellings: %v", field, len(names), names)
		}
	}
}

// One clock type: every injectable clock is a Now func() time.Time.
func TestNowIsOneType(t *testing.T) {
	want := reflect.TypeOf(func() time.Time { return time.Time{} })
	// Support bundles and backups record the moment they were made: their
	// time is a clock too.
	for _, o := range []any{ova.VerifyOptions{}, license.VerifyOptions{}, support.Options{}, backup.Options{}, agent.ServerOptions{}} {
		f, ok := reflect.TypeOf(o).FieldByName("Now")
		if assert.True(t, ok) {
			assert.Equal(t, want, f.Type, "%T.Now", o)
		}
	}
}

// ModTime is the timestamp option of every writer; Workers its parallelism.
func TestModTimeAndWorkers(t *testing.T) {
	tt := reflect.TypeOf(time.Time{})
	for _, o := range []any{disk.Options{}, ova.Options{}, rootfs.Options{}, update.BuildOptions{}} {
		f, ok := reflect.TypeOf(o).FieldByName("ModTime")
		if assert.True(t, ok, "%T.ModTime", o) {
			assert.Equal(t, tt, f.Type)
		}
	}
	for _, o := range []any{appliance.Options{}, rootfs.Options{}, vmdk.Options{}} {
		f, ok := reflect.TypeOf(o).FieldByName("Workers")
		if assert.True(t, ok, "%T.Workers", o) {
			assert.Equal(t, reflect.Int, f.Type.Kind())
		}
	}
}

// Every disk format's checker reports findings in one shape: a Rule (the
// structure or rule at fault) and a Detail, both strings with the same
// JSON names, so a tool can print any of them the same way.
func TestFindingFields(t *testing.T) {
	for _, f := range []any{qcow2.Finding{}, vhd.Finding{}, vhdx.Finding{}, gce.Finding{}, vmdk.Finding{}, cloud.Finding{}, iso.Finding{}} {
		ty := reflect.TypeOf(f)
		for name, tag := range map[string]string{"Rule": "rule", "Detail": "detail"} {
			fld, ok := ty.FieldByName(name)
			if assert.True(t, ok, "%s has no %s", ty, name) {
				assert.Equal(t, reflect.String, fld.Type.Kind(), "%s.%s", ty, name)
				assert.Equal(t, tag, fld.Tag.Get("json"), "%s.%s", ty, name)
			}
		}
		_, hasString := ty.MethodByName("String")
		assert.True(t, hasString, "%s has a String method", ty)
	}
}
