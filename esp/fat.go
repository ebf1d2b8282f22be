package esp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// ErrFAT: the volume is not a FAT32 file system CheckFAT and RepairFAT
// handle (another FAT type, a damaged boot sector, a size beyond
// MaxFATClusters), or it is damaged beyond what they repair (the root
// directory's first cluster). A *FATError says which.
var ErrFAT = errors.New("esp: not a repairable FAT32 volume")

// MaxFATClusters bounds the volumes CheckFAT accepts: the FAT and the
// checker's cluster-owner table take 8 bytes per cluster (32 MiB here);
// a 4 GiB ESP with 4 KiB clusters has 1 Mi clusters.
const MaxFATClusters = 1 << 22

// FATError says why a volume was refused.
type FATError struct {
	Reason string
	Err    error // ErrFAT, or the read or write error
}

func (e *FATError) Error() string {
	if errors.Is(e.Err, ErrFAT) {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%v: %s: %v", ErrFAT, e.Reason, e.Err)
}

func (e *FATError) Unwrap() []error {
	if errors.Is(e.Err, ErrFAT) {
		return []error{e.Err}
	}
	return []error{ErrFAT, e.Err}
}

// ReadWriterAt is the device RepairFAT fixes in place.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// FATReport is what CheckFAT found on a volume, each problem with the
// fix RepairFAT makes for it, worded for an administrator.
type FATReport struct {
	Problems []string `json:"problems,omitempty"`
	// Repaired is true when RepairFAT wrote the fixes.
	Repaired bool `json:"repaired"`
}

// Clean reports whether the volume had nothing to fix.
func (r *FATReport) Clean() bool { return len(r.Problems) == 0 }

// Lines are the report's lines for a log: each problem, prefixed with
// "repaired: " once RepairFAT wrote its fix.
func (r *FATReport) Lines() []string {
	out := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		if r.Repaired {
			p = "repaired: " + p
		}
		out[i] = p
	}
	return out
}

// FAT32 entry values (the low 28 bits).
const (
	fatMask = 0x0FFFFFFF
	fatBad  = 0x0FFFFFF7
	fatEOC  = 0x0FFFFFF8 // this and above end a chain
	fatEOF  = 0x0FFFFFFF // what the fixes write as end of chain
)

type dirPatch struct {
	off int64
	b   [32]byte
}

// fatVol is a volume under check: its geometry, the first FAT in memory
// (with the fixes applied as they are decided) and what to write.
type fatVol struct {
	r         io.ReaderAt
	size      int64
	bps       int64
	cs        int64 // cluster size in bytes
	nfats     int64
	fatBytes  int64 // bytes of one FAT copy, whole sectors
	effBytes  int64 // bytes of the entries of clusters 0..count+1
	count     uint32
	fatOff    int64
	dataOff   int64
	rootClus  uint32
	fsinfoOff int64 // 0: none
	backupOff int64 // 0: none

	boot     [512]byte
	fat      []byte   // FAT 1 raw, fatBytes long
	dirty    []uint64 // FAT sectors changed by fixes
	differ   [][]uint64
	owner    []uint32 // cluster -> file id (index into names, from 1)
	names    []string
	patches  []dirPatch
	fsinfo   []byte // new FSInfo sector, nil to leave it
	newBoot  bool
	newBkup  bool
	problems []string
}

func fatRefuse(reason string, a ...any) error {
	return &FATError{Reason: fmt.Sprintf(reason, a...), Err: ErrFAT}
}

// CheckFAT reads a FAT32 volume of size bytes and reports what a power
// cut during writes can leave wrong: the dirty bit, a boot sector that
// differs from its backup, FAT copies that differ, FAT entries pointing
// outside the volume, chains that run into free or bad clusters, loop or
// cross-link, files whose size and chain disagree, lost clusters, and the
// FSInfo free-cluster count and next-free hint. It writes nothing.
func CheckFAT(r io.ReaderAt, size int64) (*FATReport, error) {
	v, err := analyzeFAT(r, size)
	if err != nil {
		return nil, err
	}
	return &FATReport{Problems: v.problems}, nil
}

// RepairFAT checks the volume like CheckFAT and writes the fixes, with
// the choices fsck.fat -a makes:
//
//   - a FAT entry pointing outside the volume (or at cluster 1) becomes
//     end of chain;
//   - the FAT copies are made equal to the first (after the fixes);
//   - a chain that reaches a free or bad cluster, a cluster it already
//     holds (a loop) or a cluster an earlier file holds (a cross-link:
//     the file found first in the walk, the root directory first, then
//     each directory's entries in order, then its subdirectories, keeps
//     it) is ended before that cluster;
//   - an entry whose start cluster is 1 or beyond the volume loses its
//     chain;
//   - a file's chain longer than its size is cut to the size and a size
//     larger than its chain is cut to the chain (a whole number of
//     clusters);
//   - a subdirectory left without clusters is removed (with its long
//     name): there is nothing in it to keep, and where fsck.fat leaves
//     an entry with start cluster 0, Linux would read that as the root;
//   - clusters in use that no entry reaches (lost) are freed;
//   - FSInfo gets the free count recounted from the FAT (unless it is
//     0xFFFFFFFF, "unknown", which is legal), and a next-free
//     hint that is out of range becomes the first free cluster;
//   - the dirty bit is cleared and the backup boot sector is made equal
//     to the main one.
//
// The writes go directory entries first, then the first FAT, the other
// FATs, FSInfo and last the boot sector and its backup: a cut before the
// end leaves the dirty bit set, and each intermediate state is one the
// next RepairFAT finishes. RepairFAT does not sync; the caller owns the
// device. A clean volume is not written at all.
func RepairFAT(f ReadWriterAt, size int64) (*FATReport, error) {
	v, err := analyzeFAT(f, size)
	if err != nil {
		return nil, err
	}
	rep := &FATReport{Problems: v.problems}
	if rep.Clean() {
		return rep, nil
	}
	if err := v.write(f); err != nil {
		return nil, err
	}
	rep.Repaired = true
	return rep, nil
}

func (v *fatVol) problem(format string, a ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, a...))
}

func analyzeFAT(r io.ReaderAt, size int64) (*fatVol, error) {
	v := &fatVol{r: r, size: size}
	if err := v.geometry(); err != nil {
		return nil, err
	}
	if err := v.readFATs(); err != nil {
		return nil, err
	}
	v.fixRanges()
	if err := v.walk(); err != nil {
		return nil, err
	}
	v.freeLost()
	if err := v.checkFSInfo(); err != nil {
		return nil, err
	}
	if err := v.checkBoot(); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *fatVol) readAt(p []byte, off int64, what string) error {
	if off < 0 || off+int64(len(p)) > v.size {
		return fatRefuse("%s lies beyond the end of the volume", what)
	}
	n, err := v.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return &FATError{Reason: "reading the " + what, Err: err}
}

func (v *fatVol) geometry() error {
	b := v.boot[:]
	if err := v.readAt(b, 0, "boot sector"); err != nil {
		return err
	}
	if b[510] != 0x55 || b[511] != 0xAA {
		return fatRefuse("no boot sector signature")
	}
	le16 := func(o int) int64 { return int64(binary.LittleEndian.Uint16(b[o:])) }
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(b[o:])) }
	v.bps = le16(11)
	spc := int64(b[13])
	resv := le16(14)
	v.nfats = int64(b[16])
	rootEnts, tot16, fat16 := le16(17), le16(19), le16(22)
	tot := le32(32)
	fatSz := le32(36)
	switch v.bps {
	case 512, 1024, 2048, 4096:
	default:
		return fatRefuse("bytes per sector %d", v.bps)
	}
	if spc == 0 || spc&(spc-1) != 0 {
		return fatRefuse("sectors per cluster %d", spc)
	}
	if fat16 != 0 || rootEnts != 0 || fatSz == 0 {
		return fatRefuse("not FAT32 (FAT12/16 fields set)")
	}
	if tot16 != 0 {
		tot = tot16
	}
	if resv < 1 || v.nfats < 1 || v.nfats > 4 {
		return fatRefuse("%d reserved sectors, %d FATs", resv, v.nfats)
	}
	if tot*v.bps > v.size {
		return fatRefuse("the boot sector says %d bytes, the device has %d", tot*v.bps, v.size)
	}
	v.cs = spc * v.bps
	v.fatOff = resv * v.bps
	v.fatBytes = fatSz * v.bps
	dataSec := resv + v.nfats*fatSz
	if dataSec >= tot {
		return fatRefuse("no data area")
	}
	count := (tot - dataSec) / spc
	if count < 1 || count > MaxFATClusters {
		return fatRefuse("%d clusters (at most %d)", count, MaxFATClusters)
	}
	v.count = uint32(count)
	v.effBytes = (count + 2) * 4
	if v.effBytes > v.fatBytes {
		return fatRefuse("a FAT of %d bytes cannot hold %d clusters", v.fatBytes, count)
	}
	v.dataOff = dataSec * v.bps
	v.rootClus = uint32(le32(44)) & fatMask
	if !v.valid(v.rootClus) {
		return fatRefuse("root directory cluster %d is outside the volume", v.rootClus)
	}
	if s := le16(48); s != 0 && s != 0xFFFF && s < resv {
		v.fsinfoOff = s * v.bps
	}
	if s := le16(50); s != 0 && s != 0xFFFF && s < resv && (v.fsinfoOff == 0 || s*v.bps != v.fsinfoOff) {
		v.backupOff = s * v.bps
	}
	return nil
}

func (v *fatVol) valid(c uint32) bool { return c >= 2 && c < v.count+2 }

func (v *fatVol) get(c uint32) uint32 {
	return binary.LittleEndian.Uint32(v.fat[4*int64(c):]) & fatMask
}

// set changes an entry's low 28 bits, keeping the reserved top bits.
func (v *fatVol) set(c, val uint32) {
	o := 4 * int64(c)
	old := binary.LittleEndian.Uint32(v.fat[o:])
	binary.LittleEndian.PutUint32(v.fat[o:], old&^fatMask|val&fatMask)
	s := o / v.bps
	v.dirty[s/64] |= 1 << (s % 64)
}

func newBits(n int64) []uint64 { return make([]uint64, (n+63)/64) }

func (v *fatVol) readFATs() error {
	// Read only the sectors that hold entries; the rest of each copy
	// is neither compared by fsck.fat nor written here.
	n := (v.effBytes + v.bps - 1) / v.bps * v.bps
	v.fatBytes = n
	v.fat = make([]byte, n)
	if err := v.readAt(v.fat, v.fatOff, "first FAT"); err != nil {
		return err
	}
	sectors := n / v.bps
	v.dirty = newBits(sectors)
	buf := make([]byte, min(n, 64<<10))
	var differing []int64
	for k := int64(1); k < v.nfats; k++ {
		bits := newBits(sectors)
		v.differ = append(v.differ, bits)
		ndiff := int64(0)
		base := v.fatOff + k*(v.fatBytes0())
		for off := int64(0); off < n; off += int64(len(buf)) {
			chunk := buf[:min(int64(len(buf)), n-off)]
			if err := v.readAt(chunk, base+off, fmt.Sprintf("FAT %d", k+1)); err != nil {
				return err
			}
			for s := int64(0); s < int64(len(chunk)); s += v.bps {
				lo, hi := off+s, min(off+s+v.bps, v.effBytes)
				if lo >= hi {
					break
				}
				if string(chunk[s:s+hi-lo]) != string(v.fat[lo:hi]) {
					sec := lo / v.bps
					bits[sec/64] |= 1 << (sec % 64)
					ndiff++
				}
			}
		}
		if ndiff > 0 {
			differing = append(differing, k+1)
		}
	}
	for _, k := range differing {
		v.problem("FAT %d differs from FAT 1: copying FAT 1 over it", k)
	}
	return nil
}

// fatBytes0 is the on-disk size of one FAT copy (fatBytes is trimmed to
// the sectors holding entries).
func (v *fatVol) fatBytes0() int64 {
	return int64(binary.LittleEndian.Uint32(v.boot[36:])) * v.bps
}

// fixRanges ends chains whose next pointer leaves the volume.
func (v *fatVol) fixRanges() {
	n := 0
	for c := uint32(2); c < v.count+2; c++ {
		if x := v.get(c); x == 1 || (x >= v.count+2 && x < fatBad) {
			v.set(c, fatEOF)
			n++
		}
	}
	if n > 0 {
		v.problem("%s pointing outside the volume: set to end of chain", plural(int64(n), "FAT entry"))
	}
}

type dirEnt struct {
	off   int64 // absolute byte offset of the short entry
	lfns  []int64
	name  string
	attr  byte
	start uint32
	size  uint32
	raw   [32]byte
}

func (v *fatVol) patch(e *dirEnt) { v.patches = append(v.patches, dirPatch{e.off, e.raw}) }

func (v *fatVol) setStart(e *dirEnt, c uint32) {
	e.start = c
	binary.LittleEndian.PutUint16(e.raw[20:], uint16(c>>16))
	binary.LittleEndian.PutUint16(e.raw[26:], uint16(c))
	v.patch(e)
}

func (v *fatVol) setSize(e *dirEnt, s uint32) {
	e.size = s
	binary.LittleEndian.PutUint32(e.raw[28:], s)
	v.patch(e)
}

// claim walks and owns the chain of the entry (file id id), ending it
// where it must end; for a file (size >= 0) it also reconciles the size.
// It returns the clusters kept.
func (v *fatVol) claim(path string, id uint32, start uint32, size int64, setStart func(uint32), setSize func(uint32)) []uint32 {
	var kept []uint32
	if start == 0 {
		if size > 0 {
			v.problem("%s: %d bytes but no clusters: size set to 0", path, size)
			setSize(0)
		}
		return nil
	}
	cut := func(prev uint32) {
		if prev == 0 {
			setStart(0)
		} else {
			v.set(prev, fatEOF)
		}
	}
	if !v.valid(start) {
		v.problem("%s: start cluster %d is outside the volume: chain dropped", path, start)
		setStart(0)
	} else {
		prev, c := uint32(0), start
		for {
			x := v.get(c)
			if x == 0 || x == fatBad {
				kind := map[bool]string{true: "free", false: "bad"}[x == 0]
				v.problem("%s: chain runs into a %s cluster (%d): ended before it", path, kind, c)
				cut(prev)
				break
			}
			if o := v.owner[c]; o == id {
				v.problem("%s: chain loops at cluster %d: ended after %s", path, c, plural(int64(len(kept)), "cluster"))
				cut(prev)
				break
			} else if o != 0 {
				v.problem("%s: shares cluster %d with %s: ended before it, after %s", path, c, v.names[o-1], plural(int64(len(kept)), "cluster"))
				cut(prev)
				break
			}
			if size >= 0 && int64(len(kept))*v.cs >= size {
				v.problem("%s: %d bytes but its chain is longer than %s: chain cut to the size", path, size, plural(int64(len(kept)), "cluster"))
				cut(prev)
				break
			}
			v.owner[c] = id
			kept = append(kept, c)
			if x >= fatEOC {
				break
			}
			prev, c = c, x
		}
	}
	if have := int64(len(kept)) * v.cs; size > have {
		v.problem("%s: %d bytes but its chain holds %d: size cut to %d", path, size, have, have)
		setSize(uint32(have))
	}
	return kept
}

type pendingDir struct {
	path     string
	clusters []uint32
}

// walk owns every reachable cluster, the root directory first, then each
// directory's entries in order before its subdirectories (fsck.fat's
// order, which decides who keeps a shared cluster).
func (v *fatVol) walk() error {
	v.owner = make([]uint32, v.count+2)
	v.names = []string{"the root directory"}
	root := v.claim("the root directory", 1, v.rootClus, -1, func(uint32) {}, func(uint32) {})
	if len(root) == 0 {
		return fatRefuse("the root directory's first cluster %d is not in use", v.rootClus)
	}
	queue := []pendingDir{{"", root}}
	buf := make([]byte, v.cs)
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		var subs []pendingDir
		var lfns []int64
		var lfn []uint16
	scan:
		for _, c := range d.clusters {
			base := v.dataOff + int64(c-2)*v.cs
			if err := v.readAt(buf, base, "directory cluster"); err != nil {
				return err
			}
			for i := 0; i+32 <= len(buf); i += 32 {
				b := buf[i : i+32]
				switch {
				case b[0] == 0:
					break scan
				case b[0] == 0xE5:
					lfns, lfn = lfns[:0], lfn[:0]
					continue
				case b[11]&0x3F == 0x0F:
					if b[0]&0x40 != 0 {
						lfns, lfn = lfns[:0], lfn[:0]
					}
					if len(lfns) >= 20 { // longer than any name: not one
						lfns, lfn = lfns[:0], lfn[:0]
					}
					lfns = append(lfns, base+int64(i))
					lfn = append(lfnPart(b), lfn...)
					continue
				case b[11]&0x08 != 0 || b[0] == '.':
					lfns, lfn = lfns[:0], lfn[:0]
					continue
				}
				e := &dirEnt{off: base + int64(i), attr: b[11], lfns: append([]int64(nil), lfns...)}
				copy(e.raw[:], b)
				e.name = lfnString(lfn)
				if e.name == "" {
					e.name = shortEntName(b)
				}
				lfns, lfn = lfns[:0], lfn[:0]
				e.start = uint32(binary.LittleEndian.Uint16(b[20:]))<<16 | uint32(binary.LittleEndian.Uint16(b[26:]))
				e.size = binary.LittleEndian.Uint32(b[28:])
				path := d.path + "/" + e.name
				v.names = append(v.names, path)
				id := uint32(len(v.names))
				isDir := e.attr&0x10 != 0
				size := int64(e.size)
				if isDir {
					size = -1
				}
				kept := v.claim(path, id, e.start, size, func(s uint32) { v.setStart(e, s) }, func(s uint32) { v.setSize(e, s) })
				if isDir {
					if len(kept) == 0 {
						v.problem("%s: directory without clusters: entry removed", path)
						for _, o := range e.lfns {
							v.patches = append(v.patches, dirPatch{o, deletedLFN(v, o)})
						}
						e.raw[0] = 0xE5
						v.patch(e)
						continue
					}
					subs = append(subs, pendingDir{path, kept})
				}
			}
		}
		queue = append(subs, queue...)
	}
	return nil
}

// deletedLFN is the LFN entry at off marked deleted; it reads the entry
// again because it may lie in an earlier cluster than the buffer holds.
func deletedLFN(v *fatVol, off int64) [32]byte {
	var e [32]byte
	_ = v.readAt(e[:], off, "directory entry")
	for _, p := range v.patches {
		if p.off == off {
			e = p.b
		}
	}
	e[0] = 0xE5
	return e
}

func lfnPart(b []byte) []uint16 {
	var u []uint16
	for _, r := range [][2]int{{1, 11}, {14, 26}, {28, 32}} {
		for i := r[0]; i < r[1]; i += 2 {
			u = append(u, binary.LittleEndian.Uint16(b[i:]))
		}
	}
	return u
}

func lfnString(u []uint16) string {
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}

func shortEntName(b []byte) string {
	name := strings.TrimRight(string(b[0:8]), " ")
	if name != "" && name[0] == 0x05 {
		name = "\xe5" + name[1:]
	}
	if ext := strings.TrimRight(string(b[8:11]), " "); ext != "" {
		name += "." + ext
	}
	return strings.ToValidUTF8(name, "?")
}

// freeLost frees clusters in use that no entry reaches.
func (v *fatVol) freeLost() {
	target := newBits(int64(v.count) + 2)
	var n, chains int64
	for c := uint32(2); c < v.count+2; c++ {
		if x := v.get(c); x != 0 && x != fatBad && v.owner[c] == 0 && v.valid(x) && v.owner[x] == 0 {
			target[x/64] |= 1 << (x % 64)
		}
	}
	for c := uint32(2); c < v.count+2; c++ {
		if x := v.get(c); x != 0 && x != fatBad && v.owner[c] == 0 {
			n++
			if target[c/64]&(1<<(c%64)) == 0 {
				chains++
			}
			v.set(c, 0)
		}
	}
	if n > 0 {
		v.problem("%s (%d bytes) in %s in use but in no file (lost): freed", plural(n, "cluster"), n*v.cs, plural(max(chains, 1), "chain"))
	}
}

func (v *fatVol) checkFSInfo() error {
	if v.fsinfoOff == 0 {
		return nil
	}
	s := make([]byte, v.bps)
	if err := v.readAt(s, v.fsinfoOff, "FSInfo sector"); err != nil {
		return err
	}
	free, first := uint32(0), uint32(0)
	for c := uint32(2); c < v.count+2; c++ {
		if v.get(c) == 0 {
			free++
			if first == 0 {
				first = c
			}
		}
	}
	if first == 0 {
		first = 0xFFFFFFFF
	}
	le := binary.LittleEndian
	changed := false
	if le.Uint32(s[0:]) != 0x41615252 || le.Uint32(s[484:]) != 0x61417272 || le.Uint32(s[508:]) != 0xAA550000 {
		v.problem("FSInfo sector has bad signatures: rewritten")
		le.PutUint32(s[0:], 0x41615252)
		le.PutUint32(s[484:], 0x61417272)
		le.PutUint32(s[508:], 0xAA550000)
		changed = true
	}
	// 0xFFFFFFFF means "unknown" and is legal: Linux and fsck.fat then
	// count themselves.
	if got := le.Uint32(s[488:]); got != free && got != 0xFFFFFFFF {
		v.problem("FSInfo free cluster count is %d, the FAT has %d free: corrected", got, free)
		le.PutUint32(s[488:], free)
		changed = true
	}
	if got := le.Uint32(s[492:]); got != 0xFFFFFFFF && !v.valid(got) {
		v.problem("FSInfo next free cluster hint %d is outside the volume: set to %d", got, first)
		le.PutUint32(s[492:], first)
		changed = true
	}
	if changed {
		v.fsinfo = s
	}
	return nil
}

func (v *fatVol) checkBoot() error {
	if v.boot[0x41]&1 != 0 {
		v.problem("the dirty bit is set (the volume was not unmounted cleanly): cleared")
		v.boot[0x41] &^= 1
		v.newBoot = true
	}
	if v.backupOff == 0 {
		return nil
	}
	var bk [512]byte
	if err := v.readAt(bk[:], v.backupOff, "backup boot sector"); err != nil {
		return err
	}
	if bk != v.boot {
		v.problem("the backup boot sector differs from the boot sector: copied from it")
		v.newBkup = true
	}
	return nil
}

func (v *fatVol) writeAt(f io.WriterAt, p []byte, off int64, what string) error {
	if _, err := f.WriteAt(p, off); err != nil {
		return &FATError{Reason: "writing the " + what, Err: err}
	}
	return nil
}

func (v *fatVol) write(f io.WriterAt) error {
	for _, p := range v.patches {
		if err := v.writeAt(f, p.b[:], p.off, "directory entry"); err != nil {
			return err
		}
	}
	bit := func(b []uint64, s int64) bool { return b[s/64]&(1<<(s%64)) != 0 }
	sectors := v.fatBytes / v.bps
	for k := int64(0); k < v.nfats; k++ {
		base := v.fatOff + k*v.fatBytes0()
		for s := int64(0); s < sectors; s++ {
			if !bit(v.dirty, s) && (k == 0 || !bit(v.differ[k-1], s)) {
				continue
			}
			if err := v.writeAt(f, v.fat[s*v.bps:(s+1)*v.bps], base+s*v.bps, fmt.Sprintf("FAT %d", k+1)); err != nil {
				return err
			}
		}
	}
	if v.fsinfo != nil {
		if err := v.writeAt(f, v.fsinfo, v.fsinfoOff, "FSInfo sector"); err != nil {
			return err
		}
	}
	if v.newBoot {
		if err := v.writeAt(f, v.boot[:], 0, "boot sector"); err != nil {
			return err
		}
	}
	if v.newBkup {
		if err := v.writeAt(f, v.boot[:], v.backupOff, "backup boot sector"); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "y") {
		return fmt.Sprintf("%d %sies", n, what[:len(what)-1])
	}
	return fmt.Sprintf("%d %ss", n, what)
}
