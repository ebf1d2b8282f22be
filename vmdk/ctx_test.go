package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/require"
)

var errReadAfterCancel = errors.New("read long after the context was cancelled")

// endlessReader serves prefix and then never ends. After cancelAfter reads
// past the prefix it cancels the context; a reader that honours the
// context stops within a few reads, so after another 64 reads it fails
// with errReadAfterCancel, which the test must not see. No clock involved.
type endlessReader struct {
	prefix      []byte
	cancel      context.CancelFunc
	cancelAfter int
	past        int // reads past the prefix
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	}
	r.past++
	if r.past == r.cancelAfter {
		r.cancel()
	}
	if r.past > r.cancelAfter+64 {
		return 0, errReadAfterCancel
	}
	clear(p)
	return len(p), nil
}

// TestVerifyCancelAfterEOS: Verify drains what follows the end-of-stream
// marker; a stream that never ends must still stop on cancellation.
func TestVerifyCancelAfterEOS(t *testing.T) {
	v := tinyStream(tinyOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &endlessReader{prefix: v, cancel: cancel, cancelAfter: 3}
	rep, err := vmdk.Verify(ctx, r, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, errReadAfterCancel)
	require.True(t, rep.EndOfStream)
}

// TestVerifyCancelInSkip: skipping a huge overHead (up to 512 MiB of
// filler) stops on cancellation too.
func TestVerifyCancelInSkip(t *testing.T) {
	v := tinyStream(tinyOpts{})
	hdr := bytes.Clone(v[:2*512]) // header and descriptor
	binary.LittleEndian.PutUint64(hdr[64:], 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &endlessReader{prefix: hdr, cancel: cancel, cancelAfter: 3}
	_, err := vmdk.Verify(ctx, r, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, errReadAfterCancel)
}
