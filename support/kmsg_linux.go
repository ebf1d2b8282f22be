//go:build linux

package support

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
)

// kmsgReader reads /dev/kmsg records up to the end of the ring buffer as it
// is now. The fd is used with raw syscalls: through os.File the runtime
// poller would wait for new records instead of returning EAGAIN.
type kmsgReader struct {
	fd   int
	rec  []byte
	out  []byte
	done bool
}

func openKmsg() (io.ReadCloser, error) {
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &kmsgReader{fd: fd, rec: make([]byte, 16<<10)}, nil
}

func (k *kmsgReader) Read(p []byte) (int, error) {
	for len(k.out) == 0 {
		if k.done {
			return 0, io.EOF
		}
		n, err := syscall.Read(k.fd, k.rec)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			k.done = true
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EINTR):
			// EPIPE: records were overwritten while reading; go on.
		case err != nil:
			return 0, err
		case n == 0:
			k.done = true
		default:
			k.out = formatKmsg(k.out[:0], k.rec[:n])
		}
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

func (k *kmsgReader) Close() error { return syscall.Close(k.fd) }

// formatKmsg turns "prio,seq,usec,flags;message\n[ KEY=value\n...]" into
// "[    5.123456] message\n".
func formatKmsg(dst, rec []byte) []byte {
	head, msg, ok := bytes.Cut(rec, []byte(";"))
	if !ok {
		return append(dst, rec...)
	}
	msg, _, _ = bytes.Cut(msg, []byte("\n"))
	fields := bytes.Split(head, []byte(","))
	if len(fields) >= 3 {
		if us, err := strconv.ParseUint(string(fields[2]), 10, 64); err == nil {
			dst = fmt.Appendf(dst, "[%5d.%06d] ", us/1e6, us%1e6)
		}
	}
	dst = append(dst, msg...)
	return append(dst, '\n')
}
