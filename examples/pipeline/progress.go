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
	files map[string][2]int64 // per-file done/total for multi-file stages
	order []string
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

// file records progress of one member and draws the total over all members
// seen so far.
func (b *bar) file(name string, done, total int64) {
	if b.files == nil {
		b.files = map[string][2]int64{}
	}
	if _, ok := b.files[name]; !ok {
		b.order = append(b.order, name)
	}
	b.files[name] = [2]int64{done, total}
	var d, t int64
	for _, n := range b.order {
		d += b.files[n][0]
		t += b.files[n][1]
	}
	b.set(d, t)
}

func (b *bar) finish() {
	if b.last >= 0 {
		fmt.Fprintln(b.w)
	}
}
