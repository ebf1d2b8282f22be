package iso

// Rock Ridge (RRIP 1.09, "RRIP_1991A", over SUSP): every directory record
// carries its original name (NM), POSIX mode and link count (PX) and
// modification time (TF); the root's "." record starts with the SUSP
// indicator (SP) and the extension reference (ER). Linux, bsdtar and
// xorriso then show the names as given to Write; isolinux and firmware
// keep using the ISO 9660 names. No continuation areas are written: a name
// must fit in its record (maxRRName).

const (
	pxLen = 36 // RRIP 1.09 PX: mode, links, uid, gid
	tfLen = 12 // TF with the modification time only
	spLen = 7
	// modes of the read-only medium, as xorriso -r gives them
	modeDir  = 0o040755
	modeFile = 0o100644
	rrID     = "RRIP_1991A"
	rrDesc   = "ROCK RIDGE 1.09"
	rrSource = "FOGKIT"
)

var erLen = 8 + len(rrID) + len(rrDesc) + len(rrSource)

// recordLen is a directory record's length with a system use area of su
// bytes, even.
func recordLen(identLen, su int) int {
	n := dirRecordLen(identLen) + su
	return n + n%2
}

// maxRecord is the longest directory record (its length is one byte).
const maxRecord = 254

func suEntry(b []byte, sig string, n int) []byte {
	b = append(b, sig[0], sig[1], byte(n), 1)
	return b
}

func suPX(b []byte, mode, links uint32) []byte {
	b = suEntry(b, "PX", pxLen)
	var f [32]byte
	putBoth32(f[0:], mode)
	putBoth32(f[8:], links)
	return append(b, f[:]...) // uid and gid 0
}

func suTF(b []byte, date [7]byte) []byte {
	b = suEntry(b, "TF", tfLen)
	b = append(b, 0x02) // modification time, short form
	return append(b, date[:]...)
}

func suNM(b []byte, name string) []byte {
	b = suEntry(b, "NM", 5+len(name))
	b = append(b, 0)
	return append(b, name...)
}

// rrLinks is the POSIX link count of a node: 2 plus subdirectories for a
// directory.
func rrLinks(n *node) uint32 {
	if !n.dir {
		return 1
	}
	links := uint32(2)
	for _, c := range n.children {
		if c.dir {
			links++
		}
	}
	return links
}

func rrMode(n *node) uint32 {
	if n.dir {
		return modeDir
	}
	return modeFile
}

// Kinds of directory records.
const (
	recDot = iota
	recDotDot
	recChild
)

// sysUse returns the system use area of a record of kind for n (the
// directory itself, its parent, or a child), or nil without Rock Ridge.
func (l *layout) sysUse(n *node, kind int, date [7]byte) []byte {
	if !l.rr {
		return nil
	}
	var b []byte
	if kind == recDot && n.parent == nil {
		b = append(suEntry(b, "SP", spLen), 0xBE, 0xEF, 0)
		b = suEntry(b, "ER", erLen)
		b = append(b, byte(len(rrID)), byte(len(rrDesc)), byte(len(rrSource)), 1)
		b = append(b, rrID+rrDesc+rrSource...)
	}
	b = suPX(b, rrMode(n), rrLinks(n))
	b = suTF(b, date)
	if kind == recChild {
		b = suNM(b, n.rrName)
	}
	return b
}

// rrNames reads the Rock Ridge name of a record's system use area: the NM
// entries' text, "" when there are none or they continue in a
// continuation area (not followed). ok is false for a malformed area.
func rrName(su []byte) (name string, ok bool) {
	var nm []byte
	more := false
	for len(su) >= 4 {
		n := int(su[2])
		if n < 4 || n > len(su) {
			return "", false
		}
		e := su[:n]
		su = su[n:]
		switch string(e[:2]) {
		case "NM":
			if n < 5 {
				return "", false
			}
			if e[4]&0x06 != 0 { // "." or ".."
				continue
			}
			nm = append(nm, e[5:]...)
			more = e[4]&1 != 0
		case "ST":
			su = nil
		}
	}
	if more {
		return "", true
	}
	return string(nm), true
}
