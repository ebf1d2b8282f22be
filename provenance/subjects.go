package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Event reports progress of CheckSubjects: Stage "subject" per chunk
// hashed, File the subject's name, Done and Total its bytes.
type Event struct {
	Stage string `json:"stage"`
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// CheckOptions are CheckSubjects' settings; nil means the defaults.
type CheckOptions struct {
	// Progress, when set, is called synchronously as each subject is
	// hashed.
	Progress func(Event) `json:"-"`
}

// hashChunk is how much CheckSubjects hashes between context checks.
const hashChunk = 1 << 20

// CheckSubjects checks every subject against its file in fsys (the build
// directory: root.FS() of an os.OpenRoot(dir), which keeps symbolic links
// from leading outside it, or os.DirFS(dir), which follows them); the file
// must exist, be a regular file
// and hash to the subject's SHA-256. Every subject is checked; the error
// joins one *SubjectError per failure, in subject order, so errors.As
// finds the first and the message lists them all. Files are streamed:
// memory stays small whatever their size. ctx is checked between chunks.
func (s *ParsedStatement) CheckSubjects(ctx context.Context, fsys fs.FS, o *CheckOptions) error {
	var opt CheckOptions
	if o != nil {
		opt = *o
	}
	if s == nil {
		return invalid("", "no statement")
	}
	if fsys == nil {
		return invalid("", "no file system to check subjects in")
	}
	var errs []error
	buf := make([]byte, 64<<10)
	for _, sub := range s.Subjects {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkSubject(ctx, fsys, sub, opt.Progress, buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkSubject(ctx context.Context, fsys fs.FS, sub Subject, progress func(Event), buf []byte) error {
	want := sub.Digest["sha256"]
	fail := func(err error) error { return &SubjectError{Name: sub.Name, Want: want, Err: err} }
	if !fs.ValidPath(sub.Name) || sub.Name == "." || strings.Contains(sub.Name, `\`) {
		return fail(ErrUnsafeName)
	}
	f, err := fsys.Open(sub.Name)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file (%s)", st.Mode().Type()))
	}
	h := sha256.New()
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyBuffer(h, io.LimitReader(f, hashChunk), buf)
		done += n
		if err != nil {
			return fail(err)
		}
		if progress != nil {
			progress(Event{Stage: "subject", File: sub.Name, Done: done, Total: st.Size()})
		}
		if n < hashChunk {
			break
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &SubjectError{Name: sub.Name, Want: want, Got: got}
	}
	return nil
}
