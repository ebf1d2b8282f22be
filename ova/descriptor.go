package ova

import (
	"bytes"
	"fmt"

	"github.com/fogkit/fogkit/ovf"
)

// MaxDescriptorSize caps the .ovf Verify and Open read into memory.
const MaxDescriptorSize = 32 << 20

// reference is one References/File entry of a descriptor.
type reference struct {
	ID   string
	Href string
	Size int64 // -1 when the descriptor gives no ovf:size
	// Disk is what the descriptor says about the VMDK in this file; nil
	// when the file is not a VMDK disk of the DiskSection.
	Disk *diskExpect
}

// descriptorReferences parses descriptor with the ovf package and returns
// its References in document order. Chunked files (ovf:chunkSize) are not
// supported; hrefs must be plain member names and unique.
func descriptorReferences(descriptor []byte) ([]reference, error) {
	env, err := ovf.Parse(bytes.NewReader(descriptor), &ovf.ParseOptions{MaxSize: MaxDescriptorSize})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDescriptor, err)
	}
	refs := make([]reference, 0, len(env.References))
	disks := descriptorDisks(env)
	seen := map[string]bool{}
	for _, f := range env.References {
		if f.ChunkSize > 0 {
			return nil, fileErr(f.Href, ErrUnsupported, "chunked file (ovf:chunkSize=%d)", f.ChunkSize)
		}
		if err := checkName(f.Href); err != nil {
			return nil, fileErr(f.Href, ErrDescriptor, "References/File href: %v", err)
		}
		if seen[f.Href] {
			return nil, fileErr(f.Href, ErrDuplicate, "References lists the href twice")
		}
		seen[f.Href] = true
		refs = append(refs, reference{ID: f.ID, Href: f.Href, Size: f.Size, Disk: disks[f.Href]})
	}
	return refs, nil
}
