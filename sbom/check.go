package sbom

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkInput validates every Input field before any work.
func checkInput(in *Input) error {
	if err := checkName("Name", in.Name, true); err != nil {
		return err
	}
	for _, fv := range [][2]string{{"Version", in.Version}, {"Supplier", in.Supplier}, {"Tool", in.Tool}} {
		if err := checkName(fv[0], fv[1], false); err != nil {
			return err
		}
	}
	if in.Namespace != "" {
		if err := checkNamespace(in.Namespace); err != nil {
			return inputErr("Namespace", "%v", err)
		}
	}
	for i, f := range in.Outputs {
		if err := checkFile(fmt.Sprintf("Outputs[%d]", i), &f); err != nil {
			return err
		}
	}
	if a := in.Initramfs; a != nil {
		if err := checkFile("Initramfs", &a.File); err != nil {
			return err
		}
		if a.R == nil {
			return inputErr("Initramfs.R", "nil reader")
		}
	}
	for i, p := range in.Packages {
		field := fmt.Sprintf("Packages[%d]", i)
		if err := checkName(field+".Name", p.Name, true); err != nil {
			return err
		}
		for _, fv := range [][2]string{{".Version", p.Version}, {".Supplier", p.Supplier}, {".FileName", p.FileName}, {".DownloadLocation", p.DownloadLocation}, {".PURL", p.PURL}} {
			if err := checkName(field+fv[0], fv[1], false); err != nil {
				return err
			}
		}
		if p.SHA256 != "" && !isHex(p.SHA256, 64) {
			return inputErr(field+".SHA256", "not 64 hex digits: %q", clip(p.SHA256))
		}
		if p.PURL != "" && !strings.HasPrefix(p.PURL, "pkg:") {
			return inputErr(field+".PURL", "not a package URL: %q", clip(p.PURL))
		}
	}
	for i, b := range in.Binaries {
		if err := checkName(fmt.Sprintf("Binaries[%d].Name", i), b.Name, true); err != nil {
			return err
		}
	}
	return nil
}

func checkFile(field string, f *File) error {
	if err := checkName(field+".Name", f.Name, true); err != nil {
		return err
	}
	if f.Size < 0 {
		return inputErr(field+".Size", "negative")
	}
	if !isHex(f.SHA256, 64) {
		return inputErr(field+".SHA256", "not 64 hex digits: %q", clip(f.SHA256))
	}
	return nil
}

// checkName refuses empty required values, control characters and
// invalid UTF-8: they would make unreadable documents.
func checkName(field, s string, required bool) error {
	if s == "" {
		if required {
			return inputErr(field, "empty")
		}
		return nil
	}
	if len(s) > 4096 {
		return inputErr(field, "longer than 4096 bytes")
	}
	if !utf8.ValidString(s) {
		return inputErr(field, "not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return inputErr(field, "control character in %q", clip(s))
		}
	}
	return nil
}

// checkNamespace: SPDX 2.3 §6.5, an absolute URI with no '#'.
func checkNamespace(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if !u.IsAbs() || u.Host == "" && u.Opaque == "" {
		return fmt.Errorf("not an absolute URI: %q", clip(s))
	}
	if strings.Contains(s, "#") {
		return fmt.Errorf("contains '#': %q", clip(s))
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
