package agent

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fogkit/fogkit/ovf"
)

// Where the hostname came from.
const (
	HostnameFromOptions = "options"
	HostnameFromOVFEnv  = "ovf-env"
	HostnameFromRelease = "release" // NAME plus the MAC suffix
)

// maxHostname is the kernel's limit (__NEW_UTS_LEN).
const maxHostname = 64

// chooseHostname picks the appliance's host name: the options' name, else
// the OVF environment's (ovf.PropertyHostname), else the release's NAME
// as a DNS label plus "-" and the last three bytes of the first NIC's MAC
// address in hex ("fogkit-demo-5e1f0a"). The suffix is stable across
// reboots and updates and differs between two appliances deployed from
// the same image; the data disk's UUID would not, since the build ships
// that disk pre-formatted with the same UUID in every copy.
func chooseHostname(explicit string, env *ovf.Environment, releaseName, sysRoot string) (name, source string) {
	if h := strings.TrimSpace(explicit); validHostname(h) && len(h) <= maxHostname {
		return h, HostnameFromOptions
	}
	if env != nil {
		if h, _ := env.Value(ovf.PropertyHostname); validHostname(strings.TrimSpace(h)) && len(strings.TrimSpace(h)) <= maxHostname {
			return strings.TrimSpace(h), HostnameFromOVFEnv
		}
	}
	base := dnsLabel(releaseName)
	if base == "" {
		base = "appliance"
	}
	if nics := candidateNICs(sysRoot); len(nics) > 0 {
		mac := strings.ReplaceAll(sysLine(filepath.Join(sysRoot, "class", "net", nics[0]), "address"), ":", "")
		if len(mac) == 12 {
			base = strings.TrimRight(base[:min(len(base), 63-7)], "-") + "-" + strings.ToLower(mac[6:])
		}
	}
	return base, HostnameFromRelease
}

// dnsLabel turns a product name into a host name label: lower case,
// letters, digits and '-', at most 63 bytes.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// validHostname: a dotted name of RFC 1123 labels (letters, digits,
// inner '-', 1..63 bytes each), at most 253 bytes.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// releaseName reads NAME from an os-release style file ("" when absent).
func releaseName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
