package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fogkit/fogkit/appliance"
)

// newProgress draws appliance events: a line per stage and a one-line bar
// per output file, redrawn only when its whole percentage changes.
func newProgress(w io.Writer) func(appliance.Event) {
	file, last := "", -1
	end := func() {
		if last >= 0 {
			fmt.Fprintln(w)
		}
		file, last = "", -1
	}
	return func(e appliance.Event) {
		switch {
		case e.Total > 0:
			if e.File != file {
				end()
				file = e.File
			}
			pct := int(min(e.Done, e.Total) * 100 / e.Total)
			if pct == last {
				return
			}
			last = pct
			const width = 30
			fill := pct * width / 100
			fmt.Fprintf(w, "\r    %-24s [%s%s] %3d%%", e.File, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct)
			if e.Message != "" {
				end()
				fmt.Fprintf(w, "    %s\n", e.Message)
			}
		case e.Message != "":
			end()
			if e.Stage == "note" {
				fmt.Fprintf(w, "    NOTE: %s\n", e.Message)
			} else if e.File != "" {
				fmt.Fprintf(w, "    %s: %s\n", e.File, e.Message)
			} else {
				fmt.Fprintf(w, "    %s\n", e.Message)
			}
		default:
			end()
			fmt.Fprintf(w, "==> %s\n", e.Stage)
		}
	}
}
