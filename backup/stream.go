package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// CommandStream is a Stream of a command's standard output (a database
// dump). The command runs when the backup reaches the stream, with the
// backup's context (cancelling the backup kills it). A non-zero exit fails
// the backup with ErrStream, quoting the end of the command's standard
// error: unlike a support bundle, a backup must be complete.
func CommandStream(name string, argv ...string) Stream {
	args := append([]string(nil), argv...)
	return Stream{Name: name, Open: func(ctx context.Context) (io.ReadCloser, error) {
		if len(args) == 0 {
			return nil, errors.New("no command")
		}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		stderr := &tailBuffer{max: 4 << 10}
		cmd.Stderr = stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return &commandReader{cmd: cmd, out: out, stderr: stderr}, nil
	}}
}

type commandReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *tailBuffer
	eof    bool
}

func (c *commandReader) Read(p []byte) (int, error) {
	n, err := c.out.Read(p)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// Close waits for the command; its exit status is the stream's verdict.
func (c *commandReader) Close() error {
	if !c.eof {
		// The backup gave up on the stream: stop the command.
		c.cmd.Process.Kill()
		c.cmd.Wait()
		return errors.New("stream closed before its end")
	}
	if err := c.cmd.Wait(); err != nil {
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return fmt.Errorf("%s: %w: %s", c.cmd.Path, err, msg)
		}
		return fmt.Errorf("%s: %w", c.cmd.Path, err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
