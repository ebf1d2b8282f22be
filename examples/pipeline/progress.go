package main

import (
	"fmt"
	"io"
	"strings"
)

// bar draws a one-line progress bar on a terminal-style writer, redrawing
// only when the whole percentage changes.
type bar struct {
	w     io.Writer
	label string
	last  int
	total int64            // multi-file stages: the sum of all members
	files map[string]int64 // multi-file stages: bytes done per member
}

func newBar(w io.Writer, label string) *bar {
	return &bar{w: w, label: label, last: -1}
}

func (b *bar) set(done, total int64) {
	if total <= 0 {
		return
	}
	pct := int(done * 100 / total)
	if pct == b.last {
		return
	}
	b.last = pct
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(b.w, "\r    %-24s [%s%s] %3d%%", b.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct)
}

// file records progress of one member of a multi-file stage whose total
// (b.total) is known up front, and draws the sum over all members.
func (b *bar) file(name string, done int64) {
	if b.files == nil {
		b.files = map[string]int64{}
	}
	b.files[name] = done
	var d int64
	for _, v := range b.files {
		d += v
	}
	b.set(min(d, b.total), b.total)
}

func (b *bar) finish() {
	if b.last >= 0 {
		fmt.Fprintln(b.w)
	}
}
