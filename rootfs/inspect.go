package rootfs

import (
	"io"
	"path"
)

// Report is what Inspect finds in an archive.
type Report struct {
	// Members lists each concatenated member's compression, in order.
	Members []Compression `json:"members"`
	// Entries counts headers over all members (trailers excluded).
	Entries int `json:"entries"`
	// Paths counts distinct paths after layering (later members win).
	Paths int `json:"paths"`
	// DataBytes sums regular file data.
	DataBytes int64 `json:"dataBytes"`
	// Init reports whether /init resolves, through symlinks, to an
	// executable regular file, as the kernel needs to run it.
	Init bool `json:"init"`
	// Orphans lists entries whose parent directory neither precedes them
	// nor exists from an earlier member: the kernel silently drops them.
	// More than ReaderOptions.MaxOrphans of them is an ErrLimit error.
	Orphans []string `json:"orphans,omitempty"`
}

// Inspect reads a whole archive (any compression, concatenated members
// included) and reports what the kernel will see. It is the verification
// twin of Builder.Write: vendors can call it from their own tests.
//
// The paths Inspect keeps are bounded by opts (MaxEntries, MaxNameBytes,
// MaxOrphans); past a limit it returns the report so far and a *LimitError.
func Inspect(r io.Reader, opts *ReaderOptions) (*Report, error) {
	rd := NewReader(r, opts)
	rep := &Report{}
	seen := map[string]*node{}
	var names int64
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, err
		}
		for len(rep.Members) <= h.Member {
			rep.Members = append(rep.Members, h.Compression)
		}
		rep.Entries++
		rep.DataBytes += h.Size
		if d := path.Dir(h.Path); h.Path != "/" && d != "/" {
			if p, ok := seen[d]; !ok || p.Type != TypeDir {
				if len(rep.Orphans) >= rd.opts.MaxOrphans {
					return rep, limitErr("MaxOrphans", int64(rd.opts.MaxOrphans), h.Path)
				}
				if names += int64(len(h.Path)); names > rd.opts.MaxNameBytes {
					return rep, limitErr("MaxNameBytes", rd.opts.MaxNameBytes, h.Path)
				}
				rep.Orphans = append(rep.Orphans, h.Path)
				continue
			}
		}
		if old, ok := seen[h.Path]; ok { // a later layer replaces the entry
			names -= int64(len(old.Path) + len(old.Linkname))
		}
		if names += int64(len(h.Path) + len(h.Linkname)); names > rd.opts.MaxNameBytes {
			return rep, limitErr("MaxNameBytes", rd.opts.MaxNameBytes, h.Path)
		}
		seen[h.Path] = &node{Entry: h.Entry}
	}
	rep.Paths = len(seen)
	rep.Init = checkInit(seen) == nil
	return rep, nil
}
