package cloud_test

import (
	"bytes"
	"testing"

	"github.com/fogkit/fogkit/cloud"
)

// FuzzCheck feeds arbitrary files to Check for every target: it must
// never panic and never fail on a reader that does not fail (whatever
// the file, its problems are findings). The seeds are small images from
// fogkit's own writers, so mutations start inside every format.
func FuzzCheck(f *testing.F) {
	small := mbrDisk()[:64<<10]
	// A VHDX is at least 5 MiB (1 MiB-aligned regions and a block): too
	// big a seed; its reader has its own fuzz target.
	for _, w := range []writeFunc{nil, toQCOW2, toVHD("fixed"), toVHD("dynamic"), toVMDK, toGCE, toTarGz, toOVA} {
		f.Add(convert(f, w, small))
	}
	f.Add(uefiDisk(f)[:64<<10]) // a GPT whose ESP lies past the end
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4<<20 {
			return
		}
		for _, target := range []cloud.Target{cloud.AWS, cloud.Azure, cloud.GCP} {
			for _, fw := range []string{"", cloud.UEFI} {
				rep, err := cloud.Check(t.Context(), target, bytes.NewReader(data), int64(len(data)), &cloud.Options{Firmware: fw})
				if err != nil {
					t.Fatalf("%s: %v", target, err)
				}
				if rep.OK() != (len(rep.Findings) == 0 && len(rep.Unchecked) == 0) {
					t.Fatal("OK disagrees with the findings")
				}
			}
		}
	})
}
