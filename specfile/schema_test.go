package specfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	invopop "github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite appliance.schema.json from the Go types")

const (
	schemaFile = "appliance.schema.json"
	schemaID   = "https://github.com/fogkit/fogkit/raw/main/specfile/appliance.schema.json"
	example    = "../examples/appliance.yaml"
)

// generateSchema reflects the Document types into a JSON Schema, with
// their comments as descriptions. The types that read their own YAML
// (sizes, times, "true or a mapping") get the schemas of what they accept,
// from the same patterns Parse uses.
func generateSchema(t testing.TB) []byte {
	comments := map[string]string{}
	base := &invopop.Reflector{RequiredFromJSONSchemaTags: true, CommentMap: comments}
	require.NoError(t, base.AddGoComments("github.com/fogkit/fogkit/specfile", "./"))
	// orBoolean is "true, false, or this object".
	orBoolean := func(ty reflect.Type) *invopop.Schema {
		sub := &invopop.Reflector{RequiredFromJSONSchemaTags: true, DoNotReference: true, Anonymous: true, CommentMap: comments}
		obj := sub.ReflectFromType(ty)
		obj.Version, obj.Description = "", ""
		return &invopop.Schema{AnyOf: []*invopop.Schema{{Type: "boolean"}, obj}}
	}
	r := &invopop.Reflector{
		RequiredFromJSONSchemaTags: true, ExpandedStruct: true, Anonymous: true, CommentMap: comments,
		Mapper: func(ty reflect.Type) *invopop.Schema {
			switch ty {
			case reflect.TypeFor[Size]():
				return &invopop.Schema{AnyOf: []*invopop.Schema{
					{Type: "string", Pattern: sizePattern}, {Type: "integer", Minimum: "1"}}}
			case reflect.TypeFor[Epoch]():
				return &invopop.Schema{AnyOf: []*invopop.Schema{
					{Type: "integer", Minimum: "0"}, {Type: "string", Pattern: epochPattern}}}
			case reflect.TypeFor[Date]():
				return &invopop.Schema{Type: "string", Pattern: datePattern}
			case reflect.TypeFor[Period]():
				return &invopop.Schema{Type: "string", Pattern: periodPattern}
			case reflect.TypeFor[BIOSSource](), reflect.TypeFor[ISOLinuxSource]():
				return orBoolean(ty)
			}
			return nil
		},
	}
	s := r.Reflect(&Document{})
	s.ID = schemaID
	s.Title = "fogkit appliance spec file"
	b, err := json.MarshalIndent(s, "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

// The committed schema is the one the types give (go generate rewrites
// it), and the one Schema returns.
func TestSchemaUpToDate(t *testing.T) {
	got := generateSchema(t)
	if *update {
		require.NoError(t, os.WriteFile(schemaFile, got, 0o644))
		return
	}
	want, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "%s drifted from the Go types: run go generate ./specfile", schemaFile)
	assert.Equal(t, want, Schema())
}

// compileSchema loads the committed schema into the third-party validator.
func compileSchema(t testing.TB) *validator.Schema {
	doc, err := validator.UnmarshalJSON(bytes.NewReader(Schema()))
	require.NoError(t, err)
	c := validator.NewCompiler()
	require.NoError(t, c.AddResource(schemaID, doc))
	s, err := c.Compile(schemaID)
	require.NoError(t, err)
	return s
}

// yamlToJSON converts a spec file into the JSON instance a schema
// validator checks (YAML timestamps become RFC 3339 strings).
func yamlToJSON(t testing.TB, data []byte) any {
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	inst, err := validator.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return inst
}

func TestSchemaValidatesExample(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	for _, name := range []string{example, "../examples/flavours.yaml"} {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.NoError(t, compileSchema(t).Validate(yamlToJSON(t, data)), name)
		f, err := Parse(data, filepath.Base(name), "../examples")
		require.NoError(t, err, name)
		if strings.HasSuffix(name, "flavours.yaml") {
			require.Len(t, f.Spec.Flavours, 3)
			assert.Equal(t, "small", f.Spec.Flavours[0].Name, "the first flavour in the file comes first")
			assert.True(t, f.Spec.CombinedOVA)
		}
	}
}

// Mutations of the example (a line replaced) fail the schema and Parse,
// and Parse names the key and its position.
func TestSchemaAndParseRefuseMutations(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
	orig, err := os.ReadFile(example)
	require.NoError(t, err)
	schema := compileSchema(t)
	for _, tc := range []struct {
		name, old, new string
		field, message string
		col            int
	}{
		{"unknown key", "cpus: 2\n", "cpu: 2\n", "cpu", "did you mean cpus?", 1},
		{"misspelt nested key", "  seats: 25\n", "  saets: 25\n", "license.saets", "did you mean seats?", 3},
		{"case of a key", "memoryMiB: 1024\n", "memorymib: 1024\n", "memorymib", "did you mean memoryMiB?", 1},
		{"string for a number", "cpus: 2\n", "cpus: two\n", "cpus", "want a whole number", 7},
		{"quoted number", "memoryMiB: 1024\n", "memoryMiB: \"1024\"\n", "memoryMiB", "want a whole number", 12},
		{"number for a string", "version: \"1.0.0\"\n", "version: 1.0\n", "version", "want a string", 10},
		{"negative cpus", "cpus: 2\n", "cpus: -2\n", "cpus", "too small", 7},
		{"impossible size", "dataSize: 20G\n", "dataSize: 20X\n", "dataSize", "bad size", 11},
		{"bad format", "formats: [ova]\n", "formats: [ova, qcow]\n", "formats[1]", "did you mean qcow2?", 16},
		{"bad loader", "loader: systemd-boot\n", "loader: grub\n", "loader", "not one of", 9},
		{"bad period", "  validFor: 2y\n", "  validFor: 2 years\n", "license.validFor", "bad period", 13},
		{"list for a mapping", "  limits:\n    nodes: 5\n", "  limits: [5]\n", "license.limits", "want a mapping", 11},
		{"mapping for a bool", "bios: false\n", "bios: yes\n", "bios", "want true, false", 7},
		{"bad epoch", "epoch: SOURCE_DATE_EPOCH\n", "epoch: yesterday\n", "epoch", "bad time", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, 1, strings.Count(string(orig), tc.old), "mutation target")
			data := strings.Replace(string(orig), tc.old, tc.new, 1)
			line := strings.Count(data[:strings.Index(data, tc.new)], "\n") + 1

			assert.Error(t, schema.Validate(yamlToJSON(t, []byte(data))), "the schema accepts it")

			_, err := Parse([]byte(data), "appliance.yaml", "../examples")
			var se *Error
			require.ErrorAs(t, err, &se)
			require.ErrorIs(t, err, ErrSpec)
			require.Len(t, se.Problems, 1, "%v", err)
			p := se.Problems[0]
			assert.Equal(t, Problem{File: "appliance.yaml", Line: line, Column: tc.col, Field: tc.field, Message: p.Message}, p)
			assert.Contains(t, p.Message, tc.message)
		})
	}
}

// Every key of the file is documented: the schema gives each property a
// description (from the Go comments).
func TestSchemaDocumentsEveryKey(t *testing.T) {
	var s map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &s))
	var walk func(path string, node map[string]any)
	walk = func(path string, node map[string]any) {
		props, _ := node["properties"].(map[string]any)
		for name, p := range props {
			pm := p.(map[string]any)
			assert.NotEmpty(t, pm["description"], "%s%s has no description", path, name)
			for _, alt := range []any{pm["anyOf"]} {
				list, _ := alt.([]any)
				for _, a := range list {
					walk(path+name+".", a.(map[string]any))
				}
			}
		}
	}
	walk("", s)
	for name, def := range s["$defs"].(map[string]any) {
		walk(name+".", def.(map[string]any))
	}
	assert.Equal(t, []any{"name", "version", "sequence", "init", "epoch"}, s["required"])
}
