package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// source is one validated input with a known size.
type source struct {
	what string // for errors: "kernel", "initrd 2", …
	name string // ESP path
	path string // host path, when read from the host
	size int64  // bytes on the ESP (pad included)
	pad  int64  // zero bytes appended to the input (initrd alignment)
	r    io.Reader
	data []byte // set for small generated files
}

// maxInput caps any single input: FAT32 files end below 4 GiB.
const maxInput = 1<<32 - 1

func newSource(what string, f File, defName string) (*source, error) {
	s := &source{what: what, name: f.Name, path: f.Path, size: f.Size, r: f.R}
	if s.name == "" {
		s.name = defName
	}
	switch {
	case f.R != nil:
		if f.Size < 0 {
			return nil, fmt.Errorf("%w: %s: negative size", ErrInvalidSpec, what)
		}
		s.path = ""
	case f.Path != "":
		st, err := os.Stat(f.Path)
		if err != nil {
			return nil, &AssetError{What: what, Path: f.Path, Err: fmt.Errorf("%w: %w", ErrMissingAsset, err)}
		}
		if !st.Mode().IsRegular() {
			return nil, &AssetError{What: what, Path: f.Path, Err: fmt.Errorf("%w: not a regular file", ErrMissingAsset)}
		}
		s.size = st.Size()
	default:
		return nil, &AssetError{What: what, Err: fmt.Errorf("%w: neither a path nor a reader given", ErrMissingAsset)}
	}
	if s.size > maxInput {
		return nil, fmt.Errorf("%w: %s is %d bytes, FAT32 files end at 4 GiB", ErrTooLarge, what, s.size)
	}
	return s, nil
}

func generated(name string, data []byte) *source {
	return &source{what: name, name: name, size: int64(len(data)), data: data}
}

// open returns a reader of exactly s.size bytes (shorter input ends in an
// ErrShortInput error) and a closer.
func (s *source) open() (io.Reader, func(), error) {
	r, done, err := s.openRaw()
	if err != nil || s.pad == 0 {
		return r, done, err
	}
	return io.MultiReader(r, io.LimitReader(zeroReader{}, s.pad)), done, nil
}

func (s *source) openRaw() (io.Reader, func(), error) {
	if s.data != nil {
		return bytes.NewReader(s.data), func() {}, nil
	}
	if s.r != nil {
		r := s.r
		s.r = nil // a reader can be consumed once
		return &exactReader{r: io.LimitReader(r, s.size-s.pad), left: s.size - s.pad, src: s}, func() {}, nil
	}
	if s.path == "" {
		return nil, nil, fmt.Errorf("%w: %s has no data (reader already used)", ErrInvalidSpec, s.what)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, &AssetError{What: s.what, Path: s.path, Err: fmt.Errorf("%w: %w", ErrMissingAsset, err)}
	}
	return &exactReader{r: io.LimitReader(f, s.size-s.pad), left: s.size - s.pad, src: s}, func() { f.Close() }, nil
}

// readAll reads a small input fully (at most max bytes).
func (s *source) readAll(max int64) ([]byte, error) {
	if s.size > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, at most %d accepted", ErrTooLarge, s.what, s.size, max)
	}
	r, done, err := s.open()
	if err != nil {
		return nil, err
	}
	defer done()
	b := make([]byte, s.size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	s.data = b // later opens reuse the bytes
	return b, nil
}

type exactReader struct {
	r    io.Reader
	left int64
	src  *source
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, &AssetError{What: e.src.what, Path: e.src.path, Err: fmt.Errorf("%w: %d bytes missing", ErrShortInput, e.left)}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, &AssetError{What: e.src.what, Path: e.src.path, Err: fmt.Errorf("%w: read: %w", ErrShortInput, err)}
	}
	return n, err
}

// checkESPPath accepts "/"-separated relative paths with FAT-legal names.
func checkESPPath(what, p string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: ESP path %q %s", ErrInvalidSpec, what, p, why)
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", bad("is empty")
	}
	if path.Clean(p) != p || strings.HasPrefix(p, "/") { // "//x" is not "/x"
		return "", bad("is not clean")
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." || len(c) > 255 {
			return "", bad("has an invalid component")
		}
		if strings.HasSuffix(c, " ") || strings.HasSuffix(c, ".") {
			return "", bad("has a component ending in a space or dot")
		}
		for _, r := range c {
			if r < 0x20 || r == 0x7f || strings.ContainsRune(`"*:<>?\|`, r) {
				return "", bad("has a character FAT cannot store")
			}
		}
	}
	return p, nil
}

// Kernel kinds found by sniffKernel.
const (
	kernelPE      = 1 << iota // MZ + PE header: an EFI-stub kernel
	kernelBzImage             // "HdrS" at 0x202: x86 boot protocol
)

// sniffKernel checks the first bytes of a kernel.
func sniffKernel(head []byte) (int, error) {
	kind := 0
	if len(head) >= 0x40 && head[0] == 'M' && head[1] == 'Z' {
		off := int(binary.LittleEndian.Uint32(head[0x3c:]))
		if off > 0 && off+4 <= len(head) && string(head[off:off+4]) == "PE\x00\x00" {
			kind |= kernelPE
		}
	}
	if len(head) >= 0x206 && string(head[0x202:0x206]) == "HdrS" {
		kind |= kernelBzImage
	}
	if kind == 0 {
		return 0, &FormatError{What: "kernel", Reason: "no PE header and no HdrS magic at 0x202", Err: ErrBadKernel}
	}
	return kind, nil
}

// checkKernel reads the kernel's head and checks it with sniffKernel; a
// reader input keeps working afterwards.
func (s *source) checkKernel() error {
	n := int64(64 << 10)
	if s.size < n {
		n = s.size
	}
	head := make([]byte, n)
	if s.data != nil {
		copy(head, s.data)
	} else {
		var r io.Reader
		if s.r != nil {
			r = s.r
		} else {
			f, err := os.Open(s.path)
			if err != nil {
				return &AssetError{What: s.what, Path: s.path, Err: fmt.Errorf("%w: %w", ErrMissingAsset, err)}
			}
			defer f.Close()
			r = f
		}
		if _, err := io.ReadFull(r, head); err != nil {
			return &AssetError{What: s.what, Path: s.path, Err: fmt.Errorf("%w: %w", ErrShortInput, err)}
		}
		if s.r != nil {
			s.r = io.MultiReader(bytes.NewReader(head), s.r)
		}
	}
	_, err := sniffKernel(head)
	return err
}
