package provenance_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/provenance"
)

func TestStatementBuildTwice(t *testing.T) {
	// Map order and the order of the caller's slices leak nowhere: two
	// builds from inputs made afresh (the subjects come from ranging over
	// a map) give the same bytes, and so do the envelopes.
	a, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	for range 5 {
		in := testInput(testOutputs())
		in.Dependencies[0], in.Dependencies[3] = in.Dependencies[3], in.Dependencies[0]
		b, err := provenance.Statement(in)
		require.NoError(t, err)
		require.Equal(t, string(a), string(b))
	}
	key := testKey(t, 1)
	require.Equal(t, testEnvelope(t, key), testEnvelope(t, key))
}

func TestStatementShape(t *testing.T) {
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	s := string(st)
	assert.True(t, strings.HasPrefix(s, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"acme-disk1.vmdk","digest":{"sha256":"`), s)
	assert.Contains(t, s, `"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://fogkit.dev/appliance-build/v1","externalParameters":{"parameters":{"cpus":2,"formats":["ova","iso"],"memoryMiB":2048,"name":"acme","version":"1.2.3"},"spec":{`)
	assert.Contains(t, s, `"internalParameters":{"compression":"gzip","workers":0},"resolvedDependencies":[{"name":"app","digest":`)
	assert.Contains(t, s, `"runDetails":{"builder":{"id":"https://fogkit.dev/fogkit@v0.9.0"},"metadata":{"invocationId":"build-42","startedOn":"2023-11-14T22:13:20Z","finishedOn":"2023-11-14T22:13:20Z"}}}}`)
	assert.NotContains(t, s, "\n")
	var names []string
	var v struct {
		Subject []struct{ Name string } `json:"subject"`
	}
	require.NoError(t, json.Unmarshal(st, &v))
	for _, s := range v.Subject {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"acme-disk1.vmdk", "acme.ova", "nested/acme.iso", "sbom.spdx.json"}, names)

	// Without times or invocation id there is no metadata.
	in := testInput(testOutputs())
	in.StartedOn, in.FinishedOn, in.InvocationID = time.Time{}, time.Time{}, ""
	in.InternalParameters, in.Dependencies = nil, nil
	st, err = provenance.Statement(in)
	require.NoError(t, err)
	assert.NotContains(t, string(st), "metadata")
	assert.NotContains(t, string(st), "internalParameters")
	assert.NotContains(t, string(st), "resolvedDependencies")
}

func TestStatementRoundTrip(t *testing.T) {
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	in, err := provenance.ParseStatement(st)
	require.NoError(t, err)
	again, err := provenance.Statement(in)
	require.NoError(t, err)
	require.Equal(t, string(st), string(again))
	require.Equal(t, time.Unix(1_700_000_000, 0).UTC(), in.StartedOn)
	require.Equal(t, json.Number("2"), in.ExternalParameters.(map[string]any)["parameters"].(map[string]any)["cpus"])
	require.Len(t, in.Subjects, 4)
	require.Equal(t, "acme-disk1.vmdk", in.Subjects[0].Name)
}

func TestStatementInvalid(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*provenance.Input)
		reason string
	}{
		{"no build type", func(in *provenance.Input) { in.BuildType = "" }, "buildType"},
		{"relative build type", func(in *provenance.Input) { in.BuildType = "appliance" }, "absolute URI"},
		{"no builder", func(in *provenance.Input) { in.BuilderID = "" }, "builder.id"},
		{"no external parameters", func(in *provenance.Input) { in.ExternalParameters = nil }, "externalParameters"},
		{"empty external parameters", func(in *provenance.Input) { in.ExternalParameters = map[string]any{} }, "non-empty"},
		{"external parameters not an object", func(in *provenance.Input) { in.ExternalParameters = []int{1} }, "JSON object"},
		{"external parameters not JSON", func(in *provenance.Input) { in.ExternalParameters = map[string]any{"f": func() {}} }, "JSON"},
		{"internal parameters a string", func(in *provenance.Input) { in.InternalParameters = "x" }, "internalParameters"},
		{"no subjects", func(in *provenance.Input) { in.Subjects = nil }, "at least one subject"},
		{"duplicate subject", func(in *provenance.Input) { in.Subjects = append(in.Subjects, in.Subjects[0]) }, "two subjects"},
		{"subject without name", func(in *provenance.Input) { in.Subjects[0].Name = "" }, "empty name"},
		{"subject name with a control character", func(in *provenance.Input) { in.Subjects[0].Name = "a\x1b[2Jb" }, "control"},
		{"subject name not UTF-8", func(in *provenance.Input) { in.Subjects[0].Name = "a\xff" }, "UTF-8"},
		{"subject without digest", func(in *provenance.Input) { in.Subjects[0].Digest = nil }, "no digest"},
		{"subject without sha256", func(in *provenance.Input) {
			in.Subjects[0].Digest = map[string]string{"sha512": strings.Repeat("a", 128)}
		}, "no sha256"},
		{"upper-case digest", func(in *provenance.Input) {
			in.Subjects[0].Digest = map[string]string{"sha256": strings.Repeat("A", 64)}
		}, "lower-case hex"},
		{"short digest", func(in *provenance.Input) { in.Subjects[0].Digest = map[string]string{"sha256": "abcd"} }, "hex digits"},
		{"bad algorithm", func(in *provenance.Input) { in.Subjects[0].Digest["SHA-1"] = "ab" }, "algorithm"},
		{"dependency without digest", func(in *provenance.Input) { in.Dependencies[1].Digest = nil }, "dependency \"loader\""},
		{"duplicate dependency", func(in *provenance.Input) { in.Dependencies = append(in.Dependencies, in.Dependencies[1]) }, "listed twice"},
		{"dependency with relative uri", func(in *provenance.Input) { in.Dependencies[0].URI = "vmlinuz" }, "uri"},
		{"finished before started", func(in *provenance.Input) { in.FinishedOn = in.StartedOn.Add(-time.Second) }, "before startedOn"},
		{"year 10000", func(in *provenance.Input) { in.StartedOn = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testInput(testOutputs())
			c.edit(in)
			_, err := provenance.Statement(in)
			require.ErrorIs(t, err, provenance.ErrInvalid)
			var fe *provenance.FormatError
			require.ErrorAs(t, err, &fe)
			require.ErrorContains(t, err, c.reason)
		})
	}
	_, err := provenance.Statement(nil)
	require.ErrorIs(t, err, provenance.ErrInvalid)
}

func TestStatementDoesNotModifyInput(t *testing.T) {
	in := testInput(testOutputs())
	first := in.Subjects[0].Name
	_, err := provenance.Statement(in)
	require.NoError(t, err)
	require.Equal(t, first, in.Subjects[0].Name, "the caller's slice is not sorted in place")
}

func TestParseStatementRefuses(t *testing.T) {
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	s := string(st)
	cases := []struct {
		name string
		doc  string
		want error
	}{
		{"indented", strings.Replace(s, `{"_type"`, "{\n  \"_type\"", 1), provenance.ErrMalformed},
		{"trailing data", s + "{}", provenance.ErrMalformed},
		{"trailing newline", s + "\n", provenance.ErrMalformed},
		{"unknown field", strings.Replace(s, `{"_type"`, `{"extra":1,"_type"`, 1), provenance.ErrMalformed},
		{"duplicate key", strings.Replace(s, `"predicateType"`, `"_type":"https://in-toto.io/Statement/v1","predicateType"`, 1), provenance.ErrMalformed},
		{"key in another case", strings.Replace(s, `"predicateType"`, `"PredicateType"`, 1), provenance.ErrMalformed},
		{"escaped character", strings.Replace(s, `"acme.ova"`, `"\u0061cme.ova"`, 1), provenance.ErrMalformed},
		{"subjects out of order", swapSubjects(t, st), provenance.ErrMalformed},
		{"time with offset", strings.Replace(s, `"2023-11-14T22:13:20Z"`, `"2023-11-14T23:13:20+01:00"`, 1), provenance.ErrMalformed},
		{"not a time", strings.Replace(s, `"2023-11-14T22:13:20Z"`, `"yesterday"`, 1), provenance.ErrMalformed},
		{"statement v0.1", strings.Replace(s, "Statement/v1", "Statement/v0.1", 1), provenance.ErrWrongType},
		{"provenance v0.2", strings.Replace(s, "provenance/v1", "provenance/v0.2", 1), provenance.ErrWrongType},
		{"number as string", strings.Replace(s, `"cpus":2`, `"cpus":"2"`, 1), nil}, // legal: it is data
		{"subject digest a string", strings.Replace(s, `"digest":{"sha256":`, `"digest":"x","y":{"sha256":`, 1), provenance.ErrMalformed},
		{"empty", "", provenance.ErrMalformed},
		{"null", "null", provenance.ErrWrongType},
		{"array", "[]", provenance.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := provenance.ParseStatement([]byte(c.doc))
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, c.want)
		})
	}
}

func swapSubjects(t *testing.T, st []byte) string {
	var v map[string]any
	require.NoError(t, json.Unmarshal(st, &v))
	subj := v["subject"].([]any)
	subj[0], subj[1] = subj[1], subj[0]
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestParseStatementNamesOtherTypes(t *testing.T) {
	// A SLSA v0.2 statement has fields v1 lacks; it is named for its type.
	v02 := `{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"builder":{"id":"x"},"buildType":"y","invocation":{}}}`
	_, err := provenance.ParseStatement([]byte(v02))
	var te *provenance.TypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "_type", te.Field)
	spdx := `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`
	_, err = provenance.ParseStatement([]byte(spdx))
	require.ErrorAs(t, err, &te)
	require.Equal(t, "predicateType", te.Field)
}
