package specfile

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse: any bytes give a File or an *Error (never a panic, never
// unbounded work), every problem carries the file name, and a File passes
// appliance.Spec.Validate. The seeds are the example, the minimal file and
// broken variants of both. The directory is one that holds nothing, so
// the file-existence checks stay cheap.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(example); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		minimal,
		minimal + "license: {id: x, customer: {id: c}, validFor: 2y, gracePeriodDays: 3}\n",
		minimal + "flavours: {s: &s {cpus: 1}, m: *s}\nformats: [ova, qcow2]\n",
		minimal + "bios: true\nisolinux: {loader: a}\nkernel: {host: true}\n",
		minimal + "name: again\n",
		"a: &a [x, x]\nb: &b [*a, *a]\n",
		"{[: ]}",
		"- - -\n",
		"key: 'unterminated\n",
		"---\n---\n",
		"epoch: 2026-01-01T00:00:00Z\ndataSize: 1T\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		t.Setenv("SOURCE_DATE_EPOCH", "1790000000")
		file, err := Parse(data, "f.yaml", dir)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) || len(se.Problems) == 0 {
				t.Fatalf("not an *Error with problems: %v", err)
			}
			for _, p := range se.Problems {
				if p.File != "f.yaml" || p.Line < 0 || p.Column < 0 || p.Message == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			if !strings.HasPrefix(se.Error(), "f.yaml") {
				t.Fatalf("error does not start with the file name: %q", se.Error())
			}
			return
		}
		if err := file.Spec.Validate(); err != nil {
			t.Fatalf("Parse accepted a spec Validate refuses: %v", err)
		}
	})
}
