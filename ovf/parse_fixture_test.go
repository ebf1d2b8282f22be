package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	govmomi "github.com/vmware/govmomi/ovf"

	"github.com/fogkit/fogkit/internal/testutil"
)

// govmomiDir locates the govmomi module in the module cache; the fixtures
// are read where they are, never copied.
func govmomiDir(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireGo(t)
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/vmware/govmomi").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		testutil.Missing(t, "govmomi module directory not found")
		return ""
	}
	return testutil.RequireFile(t, "govmomi ovf fixtures", filepath.Join(dir, "ovf", "fixtures"))
}

// negativeFixture mirrors the naming convention of govmomi's fixture tree:
// these files are meant to be rejected by importers.
func negativeFixture(path string) bool {
	p := filepath.ToSlash(path)
	l := strings.ToLower(p)
	for _, s := range []string{"neg-", "negative-", "negative_", "ovf_negative", "/neg/", "invalid", "corrupted"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// isEnvelope reports whether the document's root element is Envelope.
func isEnvelope(data []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "Envelope"
		}
	}
}

func TestParseGovmomiFixtures(t *testing.T) {
	dir := govmomiDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ovf") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d fixture files found under %s", len(files), dir)
	}
	var positive, accepted int
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		env, ourErr := Parse(strings.NewReader(string(data)), nil)
		if ourErr != nil {
			var pe *ParseError
			if !errors.As(ourErr, &pe) {
				t.Errorf("%s: error is not a *ParseError: %v", rel, ourErr)
			}
		}
		if negativeFixture(p) {
			continue
		}
		positive++
		_, theirErr := govmomi.Unmarshal(strings.NewReader(string(data)))
		if theirErr != nil || !isEnvelope(data) {
			continue // govmomi rejects it, or it is not an OVF envelope at all (HTML)
		}
		accepted++
		if ourErr != nil {
			t.Errorf("%s: govmomi accepts it, Parse says %v", rel, ourErr)
			continue
		}
		_ = env
	}
	t.Logf("interop: govmomi fixtures: %d files, %d positive, %d accepted by govmomi and by Parse", len(files), positive, accepted)
}
