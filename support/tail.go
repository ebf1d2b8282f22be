package support

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
)

// Every file goes through a tail: the reader is consumed line by line and
// only the last lines within the caps stay in memory, so a huge or endless
// input costs its reading time and at most the caps in memory. Lines longer
// than maxLine are cut (the rest of the line is dropped). PEM state is
// tracked over the dropped lines so a kept line in the middle of a private
// key block is still redacted.

// maxLineLen caps one line; longer lines are cut there.
const maxLineLen = 64 << 10

// A stream (command output, reader, /proc file) is read up to
// streamFactor times its byte cap, at least minStreamRead bytes, then
// abandoned as truncated.
const (
	streamFactor  = 4
	minStreamRead = 16 << 20
)

// minFileCap: when the total cap leaves less than this (or than MaxBytes
// when smaller) for a file, the file is skipped.
const minFileCap = 4 << 10

type tail struct {
	maxLines int
	maxBytes int64
	maxLine  int

	lines     [][]byte
	start     int // lines[start:] are kept
	bytes     int64
	dropped   int64 // input bytes not kept
	truncated bool
	pem       pemState // before lines[start]
	complete  bool     // the last line ended with a newline
}

func newTail(maxLines int, maxBytes int64, pem pemState) *tail {
	ml := maxLineLen
	if int64(ml) > maxBytes {
		ml = int(maxBytes)
	}
	return &tail{maxLines: maxLines, maxBytes: maxBytes, maxLine: ml, pem: pem, complete: true}
}

// errReadLimit ends a stream read at its limit.
var errReadLimit = errors.New("read limit")

// readFrom reads r to its end (or limit bytes, when limit > 0, returning
// errReadLimit), keeping the tail. Errors of r are returned; what was read
// is kept.
func (t *tail) readFrom(ctx context.Context, r io.Reader, limit int64) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var read int64
	var cur []byte // the current line while it spans buffers
	cut := false   // the current line is over maxLine
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, err := br.ReadSlice('\n')
		read += int64(len(chunk))
		if len(chunk) > 0 {
			room := t.maxLine - len(cur)
			body := chunk
			if body[len(body)-1] == '\n' {
				body = body[:len(body)-1]
			}
			if len(body) > room {
				t.dropped += int64(len(body) - room)
				body = body[:room]
				cut = true
			}
			if len(cur) == 0 && chunk[len(chunk)-1] == '\n' && !cut {
				t.push(bytes.Clone(body), false)
			} else {
				cur = append(cur, body...)
				if chunk[len(chunk)-1] == '\n' {
					t.push(cur, cut)
					cur, cut = nil, false
				}
			}
		}
		if limit > 0 && read >= limit && (err == nil || errors.Is(err, bufio.ErrBufferFull)) {
			err = errReadLimit
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(cur) > 0 || cut {
				t.push(cur, cut)
				t.complete = false
			}
			return nil
		default:
			if len(cur) > 0 || cut {
				t.push(cur, cut)
				t.complete = false
			}
			if err == errReadLimit {
				t.truncated = true
			}
			return err
		}
	}
}

// push keeps line as the newest, dropping the oldest over the caps.
func (t *tail) push(line []byte, cut bool) {
	if cut {
		t.truncated = true
	}
	t.lines = append(t.lines, line)
	t.bytes += int64(len(line)) + 1
	for len(t.lines)-t.start > t.maxLines || t.bytes > t.maxBytes && len(t.lines)-t.start > 0 {
		old := t.lines[t.start]
		t.lines[t.start] = nil
		t.start++
		t.bytes -= int64(len(old)) + 1
		t.dropped += int64(len(old)) + 1
		t.pem = advancePEM(t.pem, old)
		t.truncated = true
	}
	if t.start > 1024 && t.start > len(t.lines)/2 {
		t.lines = append(t.lines[:0], t.lines[t.start:]...)
		t.start = 0
	}
}

// kept returns the kept lines.
func (t *tail) kept() [][]byte { return t.lines[t.start:] }

// result is one file ready for the archive.
type result struct {
	data       []byte
	lines      int
	redactions int
	truncated  bool
	dropped    int64
}

// finish redacts the kept lines and applies the byte cap again (a
// placeholder can be longer than its secret), dropping lines from the
// front.
func (t *tail) finish(r *redactor) result {
	lines := t.kept()
	lr := &lineRedactor{r: r, inPEM: startState(t.pem, lines) == pemIn}
	counts := make([]int, len(lines))
	var size int64
	for i, l := range lines {
		lines[i], counts[i] = lr.line(l)
		size += int64(len(lines[i])) + 1
	}
	if len(lines) > 0 && !t.complete {
		size--
	}
	res := result{truncated: t.truncated, dropped: t.dropped}
	first := 0
	for size > t.maxBytes && first < len(lines) {
		size -= int64(len(lines[first])) + 1
		res.dropped += int64(len(lines[first])) + 1
		first++
		res.truncated = true
	}
	if size < 0 {
		size = 0
	}
	buf := make([]byte, 0, size)
	for i := first; i < len(lines); i++ {
		buf = append(buf, lines[i]...)
		if i < len(lines)-1 || t.complete {
			buf = append(buf, '\n')
		}
		res.redactions += counts[i]
	}
	res.data = buf
	res.lines = len(lines) - first
	return res
}
