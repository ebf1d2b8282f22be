package cloud_test

import (
	"bytes"
	"testing"

	"github.com/fogkit/fogkit/cloud"
)

// BenchmarkCheck checks the 35 MiB test disk in three wrappers; the
// .tar.gz is padded to 1 GiB (sparse), so it also measures the two
// streaming passes.
func BenchmarkCheck(b *testing.B) {
	raw := uefiDisk(b)
	for _, tc := range []struct {
		name   string
		target cloud.Target
		write  writeFunc
	}{
		{"raw-aws", cloud.AWS, nil},
		{"vhd-fixed-azure", cloud.Azure, toVHD("fixed")},
		{"vmdk-aws", cloud.AWS, toVMDK},
		{"gce-gcp", cloud.GCP, toGCE},
	} {
		img := convert(b, tc.write, raw)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rep, err := cloud.Check(b.Context(), tc.target, bytes.NewReader(img), int64(len(img)), nil)
				if err != nil || !rep.OK() {
					b.Fatal(err, rep.Findings)
				}
			}
		})
	}
}
