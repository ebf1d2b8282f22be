package license

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// The file format is described in doc.go.
const (
	payloadLabel   = "FOGKIT LICENSE"
	signatureLabel = "FOGKIT LICENSE SIGNATURE"
	hdrKeyID       = "Key-Id"
	hdrAlgorithm   = "Algorithm"
	lineWidth      = 64
)

// file is a decoded license file; nothing in it is verified.
type file struct {
	keyID     string
	algorithm string
	payload   []byte
	signature []byte
}

func writeFile(keyID, algorithm string, payload, signature []byte) []byte {
	var b bytes.Buffer
	writeBlock(&b, payloadLabel, [][2]string{{hdrKeyID, keyID}}, payload)
	writeBlock(&b, signatureLabel, [][2]string{{hdrAlgorithm, algorithm}, {hdrKeyID, keyID}}, signature)
	return b.Bytes()
}

func writeBlock(b *bytes.Buffer, label string, headers [][2]string, data []byte) {
	b.WriteString("-----BEGIN " + label + "-----\n")
	for _, h := range headers {
		b.WriteString(h[0] + ": " + h[1] + "\n")
	}
	b.WriteString("\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > lineWidth {
		b.WriteString(enc[:lineWidth] + "\n")
		enc = enc[lineWidth:]
	}
	b.WriteString(enc + "\n")
	b.WriteString("-----END " + label + "-----\n")
}

// lines walks a file line by line, enforcing the line rules.
type lines struct {
	data []byte
	off  int
	no   int
}

func (ls *lines) errf(format string, a ...any) error {
	return &FormatError{Line: ls.no, Reason: fmt.Sprintf(format, a...)}
}

// next returns the next line without its line ending.
func (ls *lines) next() (string, error) {
	ls.no++
	if ls.off >= len(ls.data) {
		return "", ls.errf("unexpected end of file")
	}
	rest := ls.data[ls.off:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return "", ls.errf("line not terminated by a newline")
	}
	ls.off += i + 1
	line := rest[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	for _, c := range line {
		if c < 0x20 || c > 0x7e {
			return "", ls.errf("byte 0x%02x not allowed", c)
		}
	}
	if len(line) > 0 && (line[0] == ' ' || line[len(line)-1] == ' ') {
		return "", ls.errf("leading or trailing space")
	}
	return string(line), nil
}

func (ls *lines) block(label string, headers []string) (map[string]string, []byte, error) {
	line, err := ls.next()
	if err != nil {
		return nil, nil, err
	}
	if line != "-----BEGIN "+label+"-----" {
		return nil, nil, ls.errf("want -----BEGIN %s-----", label)
	}
	h := make(map[string]string, len(headers))
	for _, name := range headers {
		if line, err = ls.next(); err != nil {
			return nil, nil, err
		}
		v, ok := strings.CutPrefix(line, name+": ")
		if !ok || v == "" {
			return nil, nil, ls.errf("want header %s", name)
		}
		h[name] = v
	}
	if line, err = ls.next(); err != nil {
		return nil, nil, err
	}
	if line != "" {
		return nil, nil, ls.errf("want an empty line after the headers")
	}
	var enc strings.Builder
	end := "-----END " + label + "-----"
	short := false
	for {
		if line, err = ls.next(); err != nil {
			return nil, nil, err
		}
		if line == end {
			break
		}
		if short || len(line) > lineWidth {
			return nil, nil, ls.errf("base64 lines must be %d characters, the last one at most", lineWidth)
		}
		if line == "" {
			return nil, nil, ls.errf("empty line in base64 body")
		}
		short = len(line) < lineWidth
		enc.WriteString(line)
	}
	if enc.Len() == 0 {
		return nil, nil, ls.errf("empty %s block", label)
	}
	data, err := base64.StdEncoding.Strict().DecodeString(enc.String())
	if err != nil {
		return nil, nil, ls.errf("bad base64 in %s block: %v", label, err)
	}
	return h, data, nil
}

func parseFile(data []byte) (*file, error) {
	ls := &lines{data: data}
	ph, payload, err := ls.block(payloadLabel, []string{hdrKeyID})
	if err != nil {
		return nil, err
	}
	sh, sig, err := ls.block(signatureLabel, []string{hdrAlgorithm, hdrKeyID})
	if err != nil {
		return nil, err
	}
	for _, c := range data[ls.off:] {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return nil, &FormatError{Line: ls.no + 1, Reason: "data after the signature block"}
		}
	}
	id := ph[hdrKeyID]
	if !validKeyID(id) {
		return nil, &FormatError{Line: 2, Reason: fmt.Sprintf("bad key id %q", id)}
	}
	if sh[hdrKeyID] != id {
		return nil, &FormatError{Reason: "the two Key-Id headers differ"}
	}
	return &file{keyID: id, algorithm: sh[hdrAlgorithm], payload: payload, signature: sig}, nil
}

// validKeyID accepts 8 to 128 lower-case hex digits (sign's key ids and
// OpenPGP fingerprints).
func validKeyID(id string) bool {
	if len(id) < 8 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
