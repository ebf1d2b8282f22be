package benchutil

// Corpus pieces the delta benchmarks (internal/bench/bsdiff and
// internal/bench/delta) share, so their pairs are made the same way.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
)

// PutFile writes b to p, creating its directory.
func PutFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// Rebuild changes a file the way a rebuild does: shifted code, changed
// constants and addresses.
func Rebuild(r *rand.Rand, b []byte) []byte {
	out := append([]byte(nil), b...)
	for k := 0; k < 1+len(b)/20000; k++ {
		at := r.IntN(len(out))
		switch r.IntN(3) {
		case 0: // insert
			ins := make([]byte, 1+r.IntN(64))
			for i := range ins {
				ins[i] = byte(r.Uint32())
			}
			out = append(out[:at], append(ins, out[at:]...)...)
		case 1: // delete
			n := min(1+r.IntN(64), len(out)-at)
			out = append(out[:at], out[at+n:]...)
		default: // rewrite scattered bytes (relocated addresses)
			for i := 0; i < 32 && at+i*16 < len(out); i++ {
				out[at+i*16] += byte(1 + r.IntN(3))
			}
		}
	}
	return out
}

const goProgram = `package main

import (
	"archive/zip"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	_ "expvar"
	"encoding/xml"
	"fmt"
	"go/format"
	"go/parser"
	"html/template"
	"image/jpeg"
	"image/png"
	"net/http"
	_ "net/http/pprof"
	"net/rpc"
	"net/smtp"
	"os"
	"regexp"
	"text/tabwriter"
)

const version = %q

var (
	_ = zip.NewReader
	_ = x509.ParseCertificate
	_ = sql.Open
	_ = json.Marshal
	_ = template.New
	_ = regexp.MustCompile
	_ = smtp.SendMail
	_ = tabwriter.NewWriter
	_ = xml.Marshal
	_ = format.Source
	_ = parser.ParseFile
	_ = jpeg.Decode
	_ = png.Decode
	_ = rpc.NewServer
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "appliance %%s: %%s\n", version, r.URL.Path)
	})
	%s
	if len(os.Args) > 1 {
		fmt.Println(http.ListenAndServe(os.Args[1], nil))
	}
}
`

// GoPair builds two versions of a small net/http program.
func GoPair(work string, stripped bool) (string, string, error) {
	var outs []string
	for v, extra := range []string{
		``,
		`http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })`,
	} {
		dir := filepath.Join(work, fmt.Sprintf("goprog%d", v))
		if err := PutFile(filepath.Join(dir, "main.go"), []byte(fmt.Sprintf(goProgram, fmt.Sprintf("1.%d.0", v), extra))); err != nil {
			return "", "", err
		}
		if err := PutFile(filepath.Join(dir, "go.mod"), []byte("module example.com/appliance\n\ngo 1.22\n")); err != nil {
			return "", "", err
		}
		name := fmt.Sprintf("app%d", v)
		args := []string{"build", "-trimpath", "-o", filepath.Join(work, name)}
		if stripped {
			name += "-sw"
			args = []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(work, name)}
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("go build: %w", err)
		}
		outs = append(outs, filepath.Join(work, name))
	}
	return outs[0], outs[1], nil
}
