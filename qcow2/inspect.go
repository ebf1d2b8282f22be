package qcow2

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// Finding is one problem Inspect found.
type Finding struct {
	Offset int64  `json:"offset"` // byte offset in the file
	Rule   string `json:"rule"`   // e.g. "refcount", "overlap", "l2.entry"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return fmt.Sprintf("%d: %s: %s", f.Offset, f.Rule, f.Detail) }

// Report is what Inspect found.
type Report struct {
	Header             Header    `json:"header"`
	FileSize           int64     `json:"fileSize"`
	L2Tables           int64     `json:"l2Tables"`
	RefcountBlocks     int64     `json:"refcountBlocks"`
	DataClusters       int64     `json:"dataClusters"`       // guest clusters stored
	CompressedClusters int64     `json:"compressedClusters"` // of which compressed
	ZeroClusters       int64     `json:"zeroClusters"`       // L2 entries with the zero flag
	Findings           []Finding `json:"findings"`
	FindingsLeftOff    int       `json:"findingsLeftOff,omitempty"` // beyond maxFindings
}

const (
	maxFindings = 100
	// maxInspectClusters bounds the per-cluster bookkeeping (3 bytes a
	// host cluster) to 768 MiB: a file of 2^28 clusters.
	maxInspectClusters = 1 << 28
)

// Cluster uses, for overlap checks.
const (
	useNone = iota
	useMeta
	useData
	useCompressed
)

type inspector struct {
	rep   *Report
	cs    int64
	refs  []uint16
	use   []uint8
	limit int64 // file clusters
}

func (in *inspector) find(off int64, rule, format string, args ...any) {
	if len(in.rep.Findings) >= maxFindings {
		in.rep.FindingsLeftOff++
		return
	}
	in.rep.Findings = append(in.rep.Findings, Finding{Offset: off, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// mark counts a reference to the clusters of [off, off+n).
func (in *inspector) mark(off, n int64, use uint8, what string) bool {
	if off < 0 || n <= 0 || off > in.rep.FileSize || n > in.limit*in.cs-off {
		in.find(off, "bounds", "%s of %d bytes at %#x beyond the file's %d bytes", what, n, off, in.rep.FileSize)
		return false
	}
	for c := off / in.cs; c <= (off+n-1)/in.cs; c++ {
		if u := in.use[c]; u != useNone && (u != use || use != useCompressed) {
			in.find(c*in.cs, "overlap", "%s at %#x shares cluster %d with other data or metadata", what, off, c)
		}
		in.use[c] = use
		if in.refs[c] < 0xffff {
			in.refs[c]++
		}
	}
	return true
}

// Inspect checks the structure of the qcow2 image r of size bytes: header
// fields, L1 and L2 entries in bounds and well-formed, no cluster used twice
// (compressed clusters may share), and every refcount equal to the number of
// references (leaks and missing references both reported). Problems that
// stop the walk are returned as errors like Open's; everything else is a
// Finding. Memory is bounded by the file's cluster count (ErrTooLarge past
// 2^28 clusters) plus a cluster of buffer.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	im, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	h := im.h
	rep := &Report{Header: *h, FileSize: size, Findings: []Finding{}}
	cs := im.cs
	limit := (size + cs - 1) / cs
	if limit > maxInspectClusters {
		return nil, formatErr(ErrTooLarge, 0, "file", "%d clusters to check", limit)
	}
	in := &inspector{rep: rep, cs: cs, refs: make([]uint16, limit), use: make([]uint8, limit), limit: limit}
	if h.IncompatibleFeatures&incDirty != 0 {
		in.find(72, "header.dirty", "refcounts may be out of date (dirty bit set)")
	}
	if h.NbSnapshots != 0 {
		in.find(60, "snapshots", "%d snapshots: their tables are not checked, refcounts not compared", h.NbSnapshots)
	}
	in.mark(0, cs, useMeta, "header")
	if h.L1Size > 0 {
		in.mark(int64(h.L1TableOffset), int64(h.L1Size)*8, useMeta, "L1 table")
	}
	in.mark(int64(h.RefcountTableOffset), int64(h.RefcountTableClusters)*cs, useMeta, "refcount table")

	buf := make([]byte, cs)
	be := binary.BigEndian
	// Refcount table and blocks.
	var blocks []int64 // refcount block offsets by index, 0 = none
	for i := int64(0); i < int64(h.RefcountTableClusters)*cs/8; i++ {
		if i%(cs/8) == 0 {
			if err := readFull(r, buf, int64(h.RefcountTableOffset)+i*8, size); err != nil {
				return nil, err
			}
		}
		e := be.Uint64(buf[(i%(cs/8))*8:])
		blocks = append(blocks, 0)
		if e == 0 {
			continue
		}
		eoff := int64(h.RefcountTableOffset) + i*8
		if e&511 != 0 || e&^l1OffsetMask != 0 || int64(e)%cs != 0 {
			in.find(eoff, "refcount.table", "bad refcount block offset %#x", e)
			continue
		}
		if in.mark(int64(e), cs, useMeta, "refcount block") {
			blocks[i] = int64(e)
			rep.RefcountBlocks++
		}
	}
	// L1 and L2 tables.
	for i, t := range im.l1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t == 0 {
			continue
		}
		if !in.mark(int64(t), cs, useMeta, "L2 table") {
			continue
		}
		rep.L2Tables++
		if err := readFull(r, buf, int64(t), size); err != nil {
			return nil, err
		}
		for j := int64(0); j < im.l2Entries; j++ {
			g := int64(i)*im.l2Entries + j
			e := be.Uint64(buf[j*8:])
			if e == 0 {
				continue
			}
			eoff := int64(t) + j*8
			if g*cs >= int64(h.Size) {
				in.find(eoff, "l2.entry", "entry %#x maps cluster %d past the virtual size", e, g)
				continue
			}
			if e&entryCompressed != 0 {
				off, n := im.compressedRange(e)
				n = min(n, size-off)
				if in.mark(off, n, useCompressed, "compressed cluster") {
					rep.DataClusters++
					rep.CompressedClusters++
				}
				continue
			}
			if e&l2Reserved != 0 {
				in.find(eoff, "l2.entry", "reserved bits set in %#x", e)
				continue
			}
			host := int64(e & l2OffsetMask)
			if e&entryZero != 0 {
				rep.ZeroClusters++
			}
			if host == 0 {
				continue
			}
			if host%cs != 0 {
				in.find(eoff, "l2.entry", "data offset %#x not cluster-aligned", host)
				continue
			}
			if in.mark(host, cs, useData, "data cluster") && e&entryZero == 0 {
				rep.DataClusters++
			}
		}
	}
	if h.NbSnapshots != 0 {
		return rep, nil
	}
	if err := in.checkCopied(ctx, im, r, buf); err != nil {
		return nil, err
	}
	// Compare with the stored refcounts.
	bits := int64(1) << h.RefcountOrder
	perBlock := cs * 8 / bits
	checkedBlocks := map[int64]bool{}
	for c := int64(0); c < limit; c++ {
		bi := c / perBlock
		var stored uint64
		if bi < int64(len(blocks)) && blocks[bi] != 0 {
			if !checkedBlocks[bi] {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if err := readFull(r, buf, blocks[bi], size); err != nil {
					return nil, err
				}
				clear(checkedBlocks)
				checkedBlocks[bi] = true
			}
			stored = refcountAt(buf, c%perBlock, h.RefcountOrder)
		}
		if want := uint64(in.refs[c]); stored != want {
			rule := "refcount"
			if want == 0 {
				rule = "refcount.leak"
			}
			in.find(c*cs, rule, "cluster %d: refcount %d, %d references", c, stored, want)
		}
	}
	return rep, nil
}

// refcountAt reads entry i of a refcount block with 2^order-bit entries.
func refcountAt(b []byte, i int64, order uint32) uint64 {
	bits := int64(1) << order
	switch {
	case bits < 8:
		byteV := b[i*bits/8]
		shift := (i * bits) % 8
		return uint64(byteV>>shift) & (1<<bits - 1)
	case bits == 8:
		return uint64(b[i])
	case bits == 16:
		return uint64(binary.BigEndian.Uint16(b[i*2:]))
	case bits == 32:
		return uint64(binary.BigEndian.Uint32(b[i*4:]))
	default:
		return binary.BigEndian.Uint64(b[i*8:])
	}
}

// checkCopied walks the tables again: the COPIED flag (bit 63) of an L1 or
// L2 entry must be set exactly when its cluster has one reference, and
// never on a compressed cluster.
func (in *inspector) checkCopied(ctx context.Context, im *Image, r io.ReaderAt, buf []byte) error {
	be := binary.BigEndian
	l1Off := int64(im.h.L1TableOffset)
	for i, t := range im.l1 {
		if t == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var raw [8]byte
		if err := readFull(r, raw[:], l1Off+int64(i)*8, in.rep.FileSize); err != nil {
			return err
		}
		if c := int64(t) / in.cs; c < in.limit && (be.Uint64(raw[:])&entryCopied != 0) != (in.refs[c] == 1) {
			in.find(l1Off+int64(i)*8, "l1.copied", "COPIED flag %v for an L2 table with %d references", be.Uint64(raw[:])&entryCopied != 0, in.refs[c])
		}
		if int64(t)+in.cs > in.rep.FileSize {
			continue
		}
		if err := readFull(r, buf, int64(t), in.rep.FileSize); err != nil {
			return err
		}
		for j := int64(0); j < im.l2Entries; j++ {
			e := be.Uint64(buf[j*8:])
			eoff := int64(t) + j*8
			copied := e&entryCopied != 0
			switch {
			case e&entryCompressed != 0:
				if copied {
					in.find(eoff, "l2.copied", "COPIED flag on a compressed cluster")
				}
			case e&l2OffsetMask != 0 && e&l2Reserved == 0 && int64(e&l2OffsetMask)%in.cs == 0:
				if c := int64(e&l2OffsetMask) / in.cs; c < in.limit && copied != (in.refs[c] == 1) {
					in.find(eoff, "l2.copied", "COPIED flag %v for a data cluster with %d references", copied, in.refs[c])
				}
			}
		}
	}
	return nil
}
