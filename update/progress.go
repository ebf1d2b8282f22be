package update

import (
	"fmt"
	"io"
)

// ProgressLine returns a Progress hook that keeps one status line on w, a
// terminal (it redraws the line with a carriage return): the stage, units
// done of the total and the file. It redraws only when the stage, the file
// or the whole percentage changes, so the output depends on the events
// alone. end finishes the line, when one was drawn.
func ProgressLine(w io.Writer) (progress func(Event), end func()) {
	var last Event
	lastPct, drawn := -1, false
	progress = func(ev Event) {
		pct := 0
		if ev.Total > 0 {
			pct = int(min(ev.Done, ev.Total) * 100 / ev.Total)
		}
		if drawn && ev.Stage == last.Stage && ev.File == last.File && pct == lastPct {
			return
		}
		last, lastPct, drawn = ev, pct, true
		fmt.Fprintf(w, "\r%-8s %d/%d %-50.50s", ev.Stage, ev.Done, ev.Total, ev.File)
	}
	end = func() {
		if drawn {
			fmt.Fprintln(w)
		}
	}
	return progress, end
}
