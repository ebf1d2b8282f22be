package vhdx

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
)

// maxFindings caps the findings of a report.
const maxFindings = 100

// Finding is one problem Inspect found.
type Finding struct {
	Offset int64  `json:"offset"` // byte offset in the file
	Field  string `json:"field"`  // structure at fault
	What   string `json:"what"`
}

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
	r.Findings = append(r.Findings, Finding{Offset: off, Field: field, What: what})
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
			f := Finding{Offset: fe.Offset, Field: fe.Field, What: fe.Error()}
			if !slices.Contains(rep.Findings, f) {
				rep.add(f.Offset, f.Field, f.What)
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
	type span struct{ start, end, entry int64 }
	var spans []span
	spans = append(spans, span{0, headerSectionSize, -1})
	for _, rg := range info.Regions {
		spans = append(spans, span{int64(rg.Offset), int64(rg.Offset) + int64(rg.Length), -1})
	}
	if info.Header.LogLength > 0 {
		spans = append(spans, span{int64(info.Header.LogOffset), int64(info.Header.LogOffset) + int64(info.Header.LogLength), -1})
	}
	bs := int64(info.BlockSize)
	blocks := (info.VirtualSize + bs - 1) / bs
	for i := range blocks {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		state, fo := d.BlockState(i)
		if state != BlockFullyPresent {
			rep.ZeroBlocks++
			continue
		}
		rep.PresentBlocks++
		spans = append(spans, span{fo, fo + bs, i})
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return int(min(max(a.start-b.start, -1), 1))
		}
		return int(min(max(a.entry-b.entry, -1), 1))
	})
	end, last := int64(0), span{}
	for _, s := range spans {
		if s.start < end {
			what := "overlaps a region"
			if last.entry >= 0 {
				what = "overlaps payload block " + itoa(last.entry)
			}
			if s.entry >= 0 {
				rep.add(info.BATOffset+8*batIndex(s.entry, d.ratio), "BAT", "payload block "+itoa(s.entry)+" "+what)
			} else {
				rep.add(s.start, "region", "region at "+itoa(s.start)+" "+what)
			}
		}
		if s.end > end {
			end, last = s.end, s
		}
	}
	return rep, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
