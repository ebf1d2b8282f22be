package rootfs

import (
	"fmt"
	"io"
)

// Concat writes the archives parts one after another to w, padding each
// to a multiple of 512 bytes with zeros, as the kernel requires (an
// uncompressed member is found only at a 4-byte-aligned offset). Parts may
// be compressed or not; a later part's file replaces an earlier one's
// when the kernel unpacks them. It returns the bytes written.
func Concat(w io.Writer, parts ...io.Reader) (int64, error) {
	var total int64
	for i, p := range parts {
		n, err := io.Copy(w, p)
		total += n
		if err != nil {
			return total, fmt.Errorf("rootfs: concat part %d: %w", i, err)
		}
		if pad := (512 - n%512) % 512; pad > 0 {
			k, err := w.Write(zeros[:pad])
			total += int64(k)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}
