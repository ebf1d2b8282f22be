package sbom

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime/debug"

	"github.com/fogkit/fogkit/rootfs"
)

// content is what Write keeps of one file: its digests and, for a Go
// binary, its build information. Names of one hard-linked file share it.
type content struct {
	sha1   [sha1.Size]byte
	sha256 [sha256.Size]byte
	elf    bool
	gobin  *goInfo
}

// goInfo is the part of a Go binary's build information an SBOM names.
type goInfo struct {
	goVersion string
	main      module // Path "" when built from files, not a module
	deps      []module
}

type module struct{ path, version, sum string }

// fsFile is one regular file of the initramfs.
type fsFile struct {
	path string // absolute, cleaned: "/init"
	c    *content
}

// linkKey identifies one inode of one archive member, to give every name
// of a hard-linked file the content that only one of them carries.
type linkKey struct {
	member            int
	ino, major, minor uint32
}

var elfMagic = []byte("\x7fELF")

// scanner streams the initramfs, hashing file by file; only ELF files
// are held in memory, one at a time and up to MaxBinaryBytes, for
// debug/buildinfo.
type scanner struct {
	o           Options
	files       []fsFile
	byPath      map[string]int
	resolved    map[linkKey]*content
	pending     map[linkKey][]int
	buf         []byte
	copyBuf     []byte
	uninspected []string
	h1, h256    hash.Hash
}

func scanInitramfs(ctx context.Context, r io.Reader, o Options) (*scanner, error) {
	s := &scanner{
		o: o, byPath: map[string]int{}, resolved: map[linkKey]*content{}, pending: map[linkKey][]int{},
		copyBuf: make([]byte, 64<<10), h1: sha1.New(), h256: sha256.New(),
	}
	rd := rootfs.NewReader(r, o.Reader)
	live := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInitramfs, err)
		}
		// A later entry replaces an earlier one of the same path, as the
		// kernel unpacks them.
		if i, ok := s.byPath[h.Path]; ok {
			s.files[i].c = nil
			delete(s.byPath, h.Path)
			live--
		}
		if h.Type != rootfs.TypeFile {
			continue
		}
		if live++; live > o.MaxFiles {
			return nil, &LimitError{Limit: "MaxFiles", Max: int64(o.MaxFiles)}
		}
		// Replaced entries stay in s.files as holes: the slice is bounded
		// by the reader's MaxEntries.
		c, err := s.hash(rd, h)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInitramfs, clip(h.Path), err)
		}
		idx := len(s.files)
		if h.Nlink > 1 {
			k := linkKey{h.Member, h.Ino, h.DevMajor, h.DevMinor}
			switch {
			case h.Size > 0:
				s.resolved[k] = c
				for _, j := range s.pending[k] {
					if s.files[j].c != nil {
						s.files[j].c = c
					}
				}
				delete(s.pending, k)
			case s.resolved[k] != nil:
				c = s.resolved[k]
			default:
				s.pending[k] = append(s.pending[k], idx)
			}
		}
		s.files = append(s.files, fsFile{path: h.Path, c: c})
		s.byPath[h.Path] = idx
		if o.Progress != nil {
			o.Progress(Event{Stage: "initramfs", File: h.Path, Done: int64(live)})
		}
	}
	s.buf = nil
	return s, nil
}

// hash reads the current entry's data.
func (s *scanner) hash(rd *rootfs.Reader, h *rootfs.Header) (*content, error) {
	s.h1.Reset()
	s.h256.Reset()
	c := &content{}
	w := io.MultiWriter(s.h1, s.h256)
	var head [4]byte
	n, err := io.ReadFull(rd, head[:min(int64(len(head)), h.Size)])
	if err != nil {
		return nil, err
	}
	w.Write(head[:n])
	c.elf = n == 4 && bytes.Equal(head[:], elfMagic)
	if c.elf && h.Size <= s.o.MaxBinaryBytes {
		if int64(cap(s.buf)) < h.Size {
			s.buf = make([]byte, h.Size)
		}
		b := s.buf[:h.Size]
		copy(b, head[:])
		if _, err := io.ReadFull(rd, b[4:]); err != nil {
			return nil, err
		}
		w.Write(b[4:])
		// A broken or foreign ELF file is not an error: it is described
		// as a file, without modules.
		if bi, err := buildinfo.Read(bytes.NewReader(b)); err == nil {
			c.gobin = fromBuildInfo(bi)
		}
	} else {
		if c.elf {
			s.uninspected = append(s.uninspected, h.Path)
		}
		if _, err := io.CopyBuffer(w, onlyReader{rd}, s.copyBuf); err != nil {
			return nil, err
		}
	}
	s.h1.Sum(c.sha1[:0])
	s.h256.Sum(c.sha256[:0])
	return c, nil
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses its buffer.
type onlyReader struct{ io.Reader }

func fromBuildInfo(bi *debug.BuildInfo) *goInfo {
	g := &goInfo{goVersion: bi.GoVersion}
	if bi.Main.Path != "" {
		g.main = fromModule(&bi.Main)
	}
	for _, d := range bi.Deps {
		if d == nil || d.Path == "" {
			continue
		}
		g.deps = append(g.deps, fromModule(d))
	}
	return g
}

// fromModule names the module the code came from: the replacement when
// there is one.
func fromModule(m *debug.Module) module {
	if m.Replace != nil && m.Replace.Path != "" {
		m = m.Replace
	}
	v := m.Version
	if v == "" {
		v = "(devel)"
	}
	return module{path: m.Path, version: v, sum: m.Sum}
}

// readBinary hashes a binary of Input.Binaries and reads its build
// information, which it must have.
func readBinary(b *Binary, field string) (*content, error) {
	if b.R == nil || b.Size < 0 {
		return nil, &BinaryError{Name: b.Name, Err: ErrInput, Cause: errors.New("no reader or negative size (" + field + ")")}
	}
	sr := io.NewSectionReader(b.R, 0, b.Size)
	h1, h256 := sha1.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(h1, h256), sr)
	if err == nil && n != b.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, &BinaryError{Name: b.Name, Err: ErrInput, Cause: err}
	}
	bi, err := buildinfo.Read(io.NewSectionReader(b.R, 0, b.Size))
	if err != nil {
		return nil, &BinaryError{Name: b.Name, Err: ErrNotGoBinary, Cause: err}
	}
	c := &content{elf: true, gobin: fromBuildInfo(bi)}
	h1.Sum(c.sha1[:0])
	h256.Sum(c.sha256[:0])
	return c, nil
}
