package main

import (
	"fmt"
	"strings"
)

// bar is a one-line progress bar on stderr, drawn only on a terminal and
// only when the whole percentage changes.
type bar struct {
	e     *env
	name  string
	last  int
	shown bool
	off   bool
}

func newBar(e *env, name string, quiet bool) *bar {
	return &bar{e: e, name: name, last: -1, off: !e.terminal || quiet}
}

func (b *bar) update(done, total int64) {
	if b.off || total <= 0 {
		return
	}
	pct := int(min(done, total) * 100 / total)
	if pct == b.last {
		return
	}
	b.last, b.shown = pct, true
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(b.e.stderr, "\r    %-24s [%s%s] %3d%%", b.name, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct)
}

func (b *bar) end() {
	if b.shown {
		fmt.Fprintln(b.e.stderr)
	}
}
