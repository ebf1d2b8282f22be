package vhdx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
)

// maxFindings caps the findings of a report.
const maxFindings = 100

// Finding is one problem Inspect found.
type Finding struct {
	Offset int64  `json:"offset"` // byte offset in the file
	Rule   string `json:"rule"`   // the structure at fault, e.g. "header", "bat"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return fmt.Sprintf("%d: %s: %s", f.Offset, f.Rule, f.Detail) }

// Report is the result of Inspect.
type Report struct {
	Size          int64     `json:"size"`           // file size
	Info          *Info     `json:"info,omitempty"` // nil when the image cannot be opened
	PresentBlocks int64     `json:"presentBlocks"`
	ZeroBlocks    int64     `json:"zeroBlocks"` // not present, zero, unmapped or undefined
	Findings      []Finding `json:"findings"`
	Truncated     bool      `json:"truncated,omitempty"` // more findings than the report holds
}

// OK says whether the image opens and nothing was found.
func (r *Report) OK() bool { return r.Info != nil && len(r.Findings) == 0 }

func (r *Report) add(off int64, field, what string) {
	if len(r.Findings) >= maxFindings {
		r.Truncated = true
		return
	}
	r.Findings = append(r.Findings, Finding{Offset: off, Rule: field, Detail: what})
}

// Inspect checks a VHDX of size bytes: both headers and region tables
// (signatures, CRC-32C, agreement), the regions' bounds and overlaps, the
// metadata, and every BAT entry (states, bounds, payload blocks that
// overlap each other or the regions). A problem that stops Open ends the
// report with a finding; the returned error is only for I/O and context
// errors. At most 100 findings are kept.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	rep := &Report{Size: size, Findings: []Finding{}}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	note := func(err error) {
		var fe *FormatError
		if errors.As(err, &fe) {
			f := Finding{Offset: fe.Offset, Rule: fe.Field, Detail: fe.Error()}
			if !slices.Contains(rep.Findings, f) {
				rep.add(f.Offset, f.Rule, f.Detail)
			}
		}
	}
	d, err := parse(r, size, note)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			note(err)
			return rep, nil
		}
		return nil, err
	}
	info := d.Info()
	rep.Info = &info

	// Payload blocks must not overlap each other or the other structures.
	// The blocks are sorted as 4-byte indexes (32 MiB for the largest BAT
	// Open accepts); the structures are few, sorted and disjoint (Open
	// checked them) and searched.
	type span struct{ start, end int64 }
	spans := []span{{0, headerSectionSize}}
	for _, rg := range info.Regions {
		spans = append(spans, span{int64(rg.Offset), int64(rg.Offset) + int64(rg.Length)})
	}
	if info.Header.LogLength > 0 {
		spans = append(spans, span{int64(info.Header.LogOffset), int64(info.Header.LogOffset) + int64(info.Header.LogLength)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	bs := int64(info.BlockSize)
	blocks := (info.VirtualSize + bs - 1) / bs
	var present []uint32
	for i := range blocks {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if state, _ := d.BlockState(i); state != BlockFullyPresent {
			rep.ZeroBlocks++
			continue
		}
		rep.PresentBlocks++
		present = append(present, uint32(i))
	}
	off := func(i uint32) int64 { _, fo := d.BlockState(int64(i)); return fo }
	slices.SortFunc(present, func(a, b uint32) int {
		if c := cmp.Compare(off(a), off(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	entryOff := func(i uint32) int64 { return info.BATOffset + 8*batIndex(int64(i), d.ratio) }
	for k, i := range present {
		fo := off(i)
		if k > 0 && off(present[k-1])+bs > fo {
			rep.add(entryOff(i), "BAT", "payload block "+itoa(int64(i))+" overlaps payload block "+itoa(int64(present[k-1])))
		}
		// The last structure starting before the block's end.
		j := sort.Search(len(spans), func(j int) bool { return spans[j].start >= fo+bs }) - 1
		if j >= 0 && spans[j].end > fo {
			rep.add(entryOff(i), "BAT", "payload block "+itoa(int64(i))+" overlaps the structure at "+itoa(spans[j].start))
		}
	}
	return rep, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
