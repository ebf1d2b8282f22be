package esp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/esp"
)

// FuzzBootEntryName parses loader entry file names (read from the ESP):
// no panic, and a counted name re-encodes to one that parses the same.
func FuzzBootEntryName(f *testing.F) {
	for _, s := range []string{"demo+3.conf", "demo+1-2.conf", "demo.conf", "a+b+2.conf", "+1.conf", ".conf", "x+99999.conf", "fogkit-12+0-3.conf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 255 {
			return // longer than a FAT long file name
		}
		name, left, done, counted, err := esp.ParseBootEntryName(s)
		if err != nil {
			if !errors.Is(err, esp.ErrMalformed) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if e, ok := esp.ParseEntryName(s); ok && (e.Counted != counted || e.TriesLeft != left || esp.BootEntryName(esp.EntryID(e.Seq), left, done) != s) {
			t.Fatalf("%q: entry %+v does not round-trip", s, e)
		}
		if !counted {
			return
		}
		n2, l2, d2, c2, err := esp.ParseBootEntryName(esp.BootEntryName(name, left, done))
		if err != nil || !c2 || n2 != name || l2 != left || d2 != done {
			t.Fatalf("%q parses as (%q, %d, %d) but re-encodes to something else", s, name, left, done)
		}
	})
}

// FuzzCheckEntry feeds arbitrary entry texts to the checker Install and
// Recover use: typed errors only, and an accepted text names only the
// slot's own files.
func FuzzCheckEntry(f *testing.F) {
	f.Add([]byte(esp.EntryText("acme 1.0", 2, "console=ttyS0")), uint64(2))
	f.Add([]byte("title x\nlinux /fogkit/2/../1/vmlinuz\noptions fogkit.slot=2\n"), uint64(2))
	f.Add([]byte("linux\t/fogkit/2/vmlinuz\noptions fogkit.slot=2\n#c\n\n"), uint64(2))
	files := map[string]int64{esp.KernelFile: 10, esp.InitrdFile: 10, esp.EntryFile: 10}
	f.Fuzz(func(t *testing.T, text []byte, seq uint64) {
		err := esp.CheckEntry(seq, text, files)
		if err != nil && !errors.Is(err, esp.ErrMalformed) && !errors.Is(err, esp.ErrTooLarge) {
			t.Fatalf("untyped error: %v", err)
		}
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(text), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && (f[0] == "linux" || f[0] == "initrd") {
				name, ok := strings.CutPrefix(f[1], "/"+esp.SlotDir(seq)+"/")
				if _, known := files[name]; !ok || !known {
					t.Fatalf("accepted %s %q outside slot %d", f[0], f[1], seq)
				}
			}
		}
	})
}
