package support

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// JSON tags are camelCase on every option, report and on-disk type, and
// Event has the house fields.
func TestJSONTags(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() != reflect.TypeOf(Index{}).PkgPath() {
			return
		}
		seen[ty] = true
		for i := range ty.NumField() {
			f := ty.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if !assert.NotEmpty(t, tag, "%s.%s has no JSON tag", path, f.Name) {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			assert.NotContains(t, name, "_", "%s.%s", path, f.Name)
			if name != "-" {
				assert.Equal(t, strings.ToLower(name[:1]), name[:1], "%s.%s", path, f.Name)
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	for _, r := range []any{Options{}, OpenOptions{}, Index{}, Event{}, RedactOptions{}} {
		walk(reflect.TypeOf(r), reflect.TypeOf(r).String())
	}
	ev := reflect.TypeOf(Event{})
	for name, tag := range map[string]string{"Stage": "stage", "File": "file,omitempty", "Done": "done", "Total": "total"} {
		f, ok := ev.FieldByName(name)
		if assert.True(t, ok) {
			assert.Equal(t, tag, f.Tag.Get("json"))
		}
	}
	f, _ := reflect.TypeOf(Options{}).FieldByName("Now")
	assert.Equal(t, reflect.TypeOf(func() time.Time { return time.Time{} }), f.Type)
}
