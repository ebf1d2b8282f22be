package ext4

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Probe reads the superblock of any ext2/3/4 file system: its magic, a
// geometry that can be right, and, when the file system has
// metadata_csum, the superblock's checksum. Anything else is ErrNotExt4.
// The appliance finds its data disk by the label Probe returns.
func Probe(r io.ReaderAt) (*Info, error) {
	p := make([]byte, superSize)
	n, err := r.ReadAt(p, superOffset)
	if n < superSize {
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: too short for a superblock", ErrNotExt4)
		}
		return nil, err
	}
	return parseSuper(p)
}

func parseSuper(p []byte) (*Info, error) {
	bad := func(why string, a ...any) (*Info, error) {
		return nil, fmt.Errorf("%w: %s", ErrNotExt4, fmt.Sprintf(why, a...))
	}
	if le.Uint16(p[0x38:]) != superMagic {
		return bad("no ext2/3/4 magic")
	}
	logBS := le.Uint32(p[0x18:])
	if logBS > 6 {
		return bad("block size 1024<<%d", logBS)
	}
	bs := uint64(1024) << logBS
	if rev := le.Uint32(p[0x4C:]); rev > 1 {
		return bad("revision %d", rev)
	}
	incompat, ro := le.Uint32(p[0x60:]), le.Uint32(p[0x64:])
	bpg, cpg, ipg := uint64(le.Uint32(p[0x20:])), uint64(le.Uint32(p[0x24:])), uint64(le.Uint32(p[0x28:]))
	if cpg == 0 || cpg > 8*bs || bpg == 0 || ipg == 0 || ipg > 8*bs {
		return bad("blocks per group %d, clusters per group %d, inodes per group %d for %d-byte blocks", bpg, cpg, ipg, bs)
	}
	blocks := uint64(le.Uint32(p[0x04:]))
	if incompat&incompat64bit != 0 {
		blocks |= uint64(le.Uint32(p[0x150:])) << 32
	}
	first := uint64(le.Uint32(p[0x14:]))
	if first > 1 || blocks <= first || blocks > (1<<63-1)/bs {
		return bad("block count %d, first data block %d", blocks, first)
	}
	groups := (blocks - first + bpg - 1) / bpg
	if inodes := uint64(le.Uint32(p[0x00:])); inodes == 0 || inodes > groups*ipg {
		return bad("%d inodes in %d groups of %d", inodes, groups, ipg)
	}
	if ro&roMetadataCsum != 0 {
		if p[0x175] != 1 {
			return bad("unknown checksum type %d", p[0x175])
		}
		if got, want := le.Uint32(p[0x3FC:]), crc32c(^uint32(0), p[:0x3FC]); got != want {
			return bad("superblock checksum %08x, computed %08x", got, want)
		}
	}
	label := p[0x78:0x88]
	for i, c := range label {
		if c == 0 {
			label = label[:i]
			break
		}
	}
	return &Info{Label: string(label), UUID: formatUUID(p[0x68:0x78]), Size: int64(blocks * bs), BlockSize: int(bs)}, nil
}

func formatUUID(u []byte) string {
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
