package ext4

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is ext4's checksum: CRC-32C without the final inversion, seeded
// by the caller (the kernel's ext4_chksum). hash/crc32 inverts on the way
// in and out, so undo both.
func crc32c(seed uint32, p []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, p)
}
