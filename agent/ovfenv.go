package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/fogkit/fogkit/ovf"
)

// Sentinel errors of the OVF environment step.
var (
	// ErrNoOVFEnvironment: no CD-ROM holds an ovf-env.xml; the hypervisor
	// gave none (the normal case outside vSphere vApps).
	ErrNoOVFEnvironment = errors.New("agent: no OVF environment")
	// ErrOVFEnvironment: an OVF environment was found but cannot be used:
	// the ISO is malformed or too large where it matters, the document
	// does not parse, or a network value is invalid.
	ErrOVFEnvironment = errors.New("agent: bad OVF environment")
)

// OVFEnvError says where a bad OVF environment came from; it matches
// ErrOVFEnvironment and the cause.
type OVFEnvError struct {
	Device string // "/dev/sr0", or "" for a document given directly
	Err    error
}

func (e *OVFEnvError) Error() string {
	if e.Device == "" {
		return fmt.Sprintf("agent: bad OVF environment: %v", e.Err)
	}
	return fmt.Sprintf("agent: bad OVF environment on %s: %v", e.Device, e.Err)
}
func (e *OVFEnvError) Unwrap() []error { return []error{ErrOVFEnvironment, e.Err} }

// OVFEnvOptions says where ReadOVFEnvironment looks. Nil means defaults.
type OVFEnvOptions struct {
	SysRoot string `json:"sysRoot,omitempty"` // "" means /sys
	DevRoot string `json:"devRoot,omitempty"` // "" means /dev
	// MaxSize caps ovf-env.xml; 0 means 1 MiB.
	MaxSize int64 `json:"maxSize,omitempty"`
	// Wait is how long to keep looking while no CD-ROM has appeared yet
	// (drivers bind asynchronously); 0 means none: look once.
	Wait time.Duration `json:"wait,omitempty"`
}

// OVFEnv is an OVF environment and the device it came from.
type OVFEnv struct {
	Device string           `json:"device"`
	Env    *ovf.Environment `json:"environment"`
}

const (
	isoSector        = 2048
	defaultOVFEnvMax = 1 << 20
	// isoMetaMax bounds each path table and the root directory that the
	// ISO reader loads into memory: the ISO transport's CD holds one small
	// file, and a hostile size field must not make us allocate gigabytes.
	isoMetaMax = 1 << 20
)

// ReadOVFEnvironment looks for the OVF environment of the ISO transport:
// a CD-ROM (any whole disk with an ISO 9660 volume: sr0 on IDE, SATA or
// SCSI) whose root holds ovf-env.xml (any case, '-' or '_'). It returns
// ErrNoOVFEnvironment when none is found.
func ReadOVFEnvironment(ctx context.Context, opts *OVFEnvOptions) (*OVFEnv, error) {
	var o OVFEnvOptions
	if opts != nil {
		o = *opts
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	deadline := time.Now().Add(o.Wait)
	for {
		env, err := scanOVFEnvironment(ctx, o)
		if !errors.Is(err, ErrNoOVFEnvironment) || !time.Now().Before(deadline) {
			return env, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func scanOVFEnvironment(ctx context.Context, o OVFEnvOptions) (*OVFEnv, error) {
	devs, err := scanBlock(o.SysRoot)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoOVFEnvironment, err)
	}
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if d.partition || d.size == 0 {
			continue
		}
		dev := filepath.Join(o.DevRoot, d.name)
		f, err := os.Open(dev)
		if err != nil {
			continue // no medium in the drive, or no node
		}
		env, err := ReadOVFEnvironmentISO(f, d.size, o.MaxSize)
		f.Close()
		switch {
		case err == nil:
			return &OVFEnv{Device: dev, Env: env}, nil
		case errors.Is(err, ErrNoOVFEnvironment):
			continue
		default:
			var oe *OVFEnvError
			if errors.As(err, &oe) {
				oe.Device = dev
			}
			return nil, err
		}
	}
	return nil, ErrNoOVFEnvironment
}

// ReadOVFEnvironmentISO reads ovf-env.xml from the root of the ISO 9660
// image r of size bytes, with maxSize capping the document (0: 1 MiB).
// A volume that is not ISO 9660, or has no such file, gives
// ErrNoOVFEnvironment; a malformed one gives an *OVFEnvError.
func ReadOVFEnvironmentISO(r io.ReaderAt, size, maxSize int64) (*ovf.Environment, error) {
	if maxSize <= 0 {
		maxSize = defaultOVFEnvMax
	}
	if err := checkISO(r, size); err != nil {
		return nil, err
	}
	doc, err := readISOFile(r, size, maxSize)
	if err != nil {
		return nil, err
	}
	env, err := ovf.ParseEnvironment(bytes.NewReader(doc), &ovf.ParseOptions{MaxSize: maxSize})
	if err != nil {
		return nil, &OVFEnvError{Err: err}
	}
	return env, nil
}

// checkISO reads the volume descriptors itself before the ISO library
// does, to refuse what is not ISO 9660 and to bound what the library
// will allocate from size fields it trusts.
func checkISO(r io.ReaderAt, size int64) error {
	var vd [isoSector]byte
	for i := int64(16); i < 16+32; i++ {
		if (i+1)*isoSector > size {
			break
		}
		if _, err := r.ReadAt(vd[:], i*isoSector); err != nil {
			return fmt.Errorf("%w: %w", ErrNoOVFEnvironment, err)
		}
		if string(vd[1:6]) != "CD001" {
			if i == 16 {
				return ErrNoOVFEnvironment
			}
			return &OVFEnvError{Err: fmt.Errorf("volume descriptor %d has no CD001 signature", i)}
		}
		switch vd[0] {
		case 255:
			return nil
		case 1, 2:
			pathTable := binary.LittleEndian.Uint32(vd[132:])
			rootLen := binary.LittleEndian.Uint32(vd[156+10:])
			if pathTable > isoMetaMax || rootLen > isoMetaMax {
				return &OVFEnvError{Err: fmt.Errorf("volume descriptor %d: path table %d or root directory %d bytes exceeds %d", i, pathTable, rootLen, isoMetaMax)}
			}
			// The library takes the root directory's size from the
			// directory's own first record, found through the path table
			// or the root record: bound both.
			locs := []uint32{binary.LittleEndian.Uint32(vd[156+2:])}
			var pt [8]byte
			if _, err := r.ReadAt(pt[:], int64(binary.LittleEndian.Uint32(vd[140:]))*isoSector); err == nil {
				locs = append(locs, binary.LittleEndian.Uint32(pt[2:]))
			}
			for _, loc := range locs {
				var sz [4]byte
				if _, err := r.ReadAt(sz[:], int64(loc)*isoSector+10); err != nil {
					continue // the library reports what it cannot read
				}
				n := binary.LittleEndian.Uint32(sz[:])
				if n > isoMetaMax {
					return &OVFEnvError{Err: fmt.Errorf("volume descriptor %d: a root directory record of %d bytes exceeds %d", i, n, isoMetaMax)}
				}
				if err := checkRootDir(r, loc, n); err != nil {
					return &OVFEnvError{Err: fmt.Errorf("volume descriptor %d: root directory: %w", i, err)}
				}
			}
		}
	}
	if size < 17*isoSector {
		return ErrNoOVFEnvironment
	}
	return &OVFEnvError{Err: errors.New("no volume descriptor set terminator")}
}

// checkRootDir walks the root directory's records before the library
// does: each must fit its directory, no "SP" may set a skip count, and
// every System Use continuation ("CE") chain must stay within one sector
// per area and end within maxCEHops areas. The library follows CE chains
// without bounds (a CE pointing at itself loops forever, a large one
// allocates gigabytes); Rock Ridge writers use one short area on the
// root's own record.
func checkRootDir(r io.ReaderAt, loc, size uint32) error {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, int64(loc)*isoSector); err != nil {
		return nil // unreadable: the library reports it
	}
	for i := 0; i < len(b); {
		l := int(b[i])
		if l == 0 {
			i += isoSector - i%isoSector
			continue
		}
		if l < 34 || i+l > len(b) {
			return fmt.Errorf("record at %d of %d bytes does not fit", i, l)
		}
		rec := b[i : i+l]
		su := 33 + int(rec[32])
		if rec[32]%2 == 0 {
			su++
		}
		if err := checkSUSP(r, rec[min(su, len(rec)):], 0); err != nil {
			return err
		}
		i += l
	}
	return nil
}

// maxCEHops bounds a System Use continuation chain.
const maxCEHops = 8

// checkSUSP scans System Use entries, following continuation areas.
func checkSUSP(r io.ReaderAt, su []byte, hops int) error {
	for len(su) >= 4 {
		sig, n := string(su[:2]), int(su[2])
		if n < 4 || n > len(su) {
			return nil // the library stops here too
		}
		switch sig {
		case "SP":
			if n >= 7 && su[6] != 0 {
				return errors.New("a System Use skip count is not supported")
			}
		case "CE":
			if n < 28 {
				return errors.New("short continuation entry")
			}
			if hops >= maxCEHops {
				return fmt.Errorf("more than %d continuation areas", maxCEHops)
			}
			loc := binary.LittleEndian.Uint32(su[4:])
			off := binary.LittleEndian.Uint32(su[12:])
			size := binary.LittleEndian.Uint32(su[20:])
			if off >= isoSector || size > isoSector-off {
				return fmt.Errorf("continuation area of %d bytes at offset %d leaves its sector", size, off)
			}
			area := make([]byte, size)
			if _, err := r.ReadAt(area, int64(loc)*isoSector+int64(off)); err != nil {
				return nil // unreadable: the library reports it
			}
			if err := checkSUSP(r, area, hops+1); err != nil {
				return err
			}
		}
		su = su[n:]
	}
	return nil
}

// readISOFile finds the environment file in the root directory and reads
// it, bounded. The ISO library indexes slices with sizes read from the
// image, so a hostile directory can make it panic: that is turned into an
// error here, the only place this package recovers.
func readISOFile(r io.ReaderAt, size, maxSize int64) (doc []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, &OVFEnvError{Err: fmt.Errorf("malformed ISO 9660 volume: %v", p)}
		}
	}()
	isofs, err := iso9660.Read(&readerStorage{r: r, size: size}, size, 0, isoSector)
	if err != nil {
		return nil, &OVFEnvError{Err: err}
	}
	ents, err := isofs.ReadDir(".")
	if err != nil {
		return nil, &OVFEnvError{Err: err}
	}
	for _, e := range ents {
		if !isEnvFileName(e.Name()) || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, &OVFEnvError{Err: err}
		}
		if info.Size() > maxSize {
			return nil, &OVFEnvError{Err: fmt.Errorf("%s is %d bytes, more than %d", e.Name(), info.Size(), maxSize)}
		}
		f, err := isofs.Open(e.Name())
		if err != nil {
			return nil, &OVFEnvError{Err: err}
		}
		defer f.Close()
		doc, err := io.ReadAll(io.LimitReader(f, maxSize+1))
		if err != nil {
			return nil, &OVFEnvError{Err: err}
		}
		return doc, nil
	}
	return nil, ErrNoOVFEnvironment
}

// isEnvFileName accepts the names hypervisors and ISO tools give the
// file: ovf-env.xml, OVF-ENV.XML, ovf_env.xml, with an ISO ";1" version.
func isEnvFileName(n string) bool {
	n, _, _ = strings.Cut(strings.ToLower(n), ";")
	return strings.ReplaceAll(n, "_", "-") == ovf.EnvironmentFileName
}

// readerStorage adapts an io.ReaderAt of known size to the ISO library's
// read-only storage, refusing reads outside it.
type readerStorage struct {
	r    io.ReaderAt
	size int64
	off  int64
}

func (s *readerStorage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	if rem := s.size - off; int64(len(p)) > rem {
		n, err := s.r.ReadAt(p[:rem], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.r.ReadAt(p, off)
}

func (s *readerStorage) Read(p []byte) (int, error) {
	n, err := s.ReadAt(p, s.off)
	s.off += int64(n)
	return n, err
}

func (s *readerStorage) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += s.size
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	s.off = off
	return off, nil
}

func (s *readerStorage) Stat() (fs.FileInfo, error) { return storageInfo(s.size), nil }
func (s *readerStorage) Close() error               { return nil }
func (s *readerStorage) Sys() (*os.File, error)     { return nil, backend.ErrNotSuitable }
func (s *readerStorage) Path() string               { return "" }
func (s *readerStorage) Writable() (backend.WritableFile, error) {
	return nil, backend.ErrIncorrectOpenMode
}

type storageInfo int64

func (i storageInfo) Name() string       { return "iso" }
func (i storageInfo) Size() int64        { return int64(i) }
func (i storageInfo) Mode() fs.FileMode  { return 0o444 }
func (i storageInfo) ModTime() time.Time { return time.Time{} }
func (i storageInfo) IsDir() bool        { return false }
func (i storageInfo) Sys() any           { return nil }
