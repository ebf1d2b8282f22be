package ova

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/fogkit/fogkit/ovf"
)

// The cross-check between a VMDK and the descriptor that ships it reads
// only the start of the disk: the 512-byte sparse extent header and the
// text descriptor it points to. The layout is parsed here rather than with
// the vmdk package so that ova stays a leaf that takes plain bytes.
const (
	vmdkSector = 512
	// vmdkHeadMax bounds what Write and Verify keep of each disk: the
	// header plus a descriptor that must end within it. Our writer puts a
	// 20-sector descriptor at sector 1; other writers stay well inside too.
	vmdkHeadMax = 64 << 10
)

var vmdkMagic = []byte("KDMV")

// diskExpect is what the descriptor says about the VMDK in one file.
type diskExpect struct {
	DiskID   string
	Format   string   // ovf:format as written
	Capacity int64    // bytes; -1 when given as an expression
	Adapters []string // ddb.adapterType values the disk's controller accepts; nil when unknown
	Ctrl     string   // the controller, as the descriptor names it, for messages
}

// vmdkHead is what the start of a VMDK says about itself.
type vmdkHead struct {
	Extents []vmdkExtent
	Adapter string // ddb.adapterType, "" when absent
}

type vmdkExtent struct {
	Sectors uint64
	File    string
}

// isVMDKFormat reports whether an ovf:format names a VMDK variant.
func isVMDKFormat(f string) bool {
	return strings.Contains(strings.ToLower(f), "vmdk")
}

// controllerAdapters maps a disk controller item to the ddb.adapterType
// values that agree with it. The adapter type mostly chooses the geometry
// (IDE or SCSI); VMware and VirtualBox write "ide" for SATA disks and
// "lsilogic" for the SCSI variants that have no value of their own.
func controllerAdapters(it ovf.Item) (name string, adapters []string, ok bool) {
	subs := strings.Fields(strings.ReplaceAll(strings.ToLower(it.ResourceSubType), ",", " "))
	switch it.ResourceType {
	case 5:
		return "ide", []string{"ide"}, true
	case 6:
		if len(subs) == 0 {
			return "scsi", []string{"lsilogic", "buslogic", "lsisas1068", "pvscsi", "paravirtual", "legacyESX"}, true
		}
		seen := map[string]bool{}
		for _, s := range subs {
			var a []string
			switch s {
			case "lsilogic":
				a = []string{"lsilogic"}
			case "buslogic":
				a = []string{"buslogic"}
			case "lsilogicsas", "lsisas1068":
				a = []string{"lsilogic", "lsisas1068"}
			case "virtualscsi", "pvscsi", "paravirtual":
				a = []string{"lsilogic", "pvscsi", "paravirtual"}
			default:
				a = []string{s}
			}
			for _, x := range a {
				if !seen[x] {
					seen[x] = true
					adapters = append(adapters, x)
				}
			}
		}
		return strings.Join(subs, ","), adapters, true
	case 20:
		for _, s := range subs {
			switch s {
			case "vmware.sata.ahci", "ahci", "sata":
				return s, []string{"ide"}, true
			case "vmware.nvme.controller", "nvme":
				return s, []string{"lsilogic", "nvme"}, true
			}
		}
	}
	return "", nil, false
}

// descriptorDisks returns, by file href, what the descriptor's DiskSection
// and VirtualHardwareSections say about each VMDK file.
func descriptorDisks(env *ovf.Envelope) map[string]*diskExpect {
	hrefs := map[string]string{}
	for _, f := range env.References {
		hrefs[f.ID] = f.Href
	}
	byDisk := map[string]*diskExpect{}
	out := map[string]*diskExpect{}
	for _, d := range env.Disks {
		href, ok := hrefs[d.FileRef]
		if d.FileRef == "" || !ok || !isVMDKFormat(d.Format) {
			continue
		}
		c, err := d.CapacityBytes()
		if err != nil {
			c = -1 // an expression ("${size}"): the deployer decides
		}
		e := &diskExpect{DiskID: d.ID, Format: d.Format, Capacity: c}
		byDisk[d.ID], out[href] = e, e
	}
	for _, s := range env.Systems {
		for _, h := range s.Hardware {
			ctrls := map[string]ovf.Item{}
			for _, it := range h.Items {
				if it.ResourceType == 5 || it.ResourceType == 6 || it.ResourceType == 20 {
					ctrls[it.InstanceID] = it
				}
			}
			for _, it := range h.Items {
				if it.ResourceType != 17 || it.Configuration != "" {
					continue
				}
				for _, hr := range it.HostResource {
					id, ok := strings.CutPrefix(strings.TrimSpace(hr), "ovf:/disk/")
					if !ok {
						id, ok = strings.CutPrefix(strings.TrimSpace(hr), "/disk/")
					}
					e := byDisk[id]
					if !ok || e == nil {
						continue
					}
					if name, adapters, ok := controllerAdapters(ctrls[it.Parent]); ok {
						e.Ctrl, e.Adapters = name, adapters
					}
				}
			}
		}
	}
	return out
}

// parseVMDKHead parses the sparse extent header at the start of head and
// the text descriptor it points to, which must lie within head.
func parseVMDKHead(head []byte) (*vmdkHead, error) {
	if len(head) < vmdkSector || !bytes.Equal(head[:4], vmdkMagic) {
		return nil, fmt.Errorf("no sparse extent header (magic %q)", head[:min(4, len(head))])
	}
	le := binary.LittleEndian
	off, size := le.Uint64(head[28:]), le.Uint64(head[36:])
	if off == 0 || size == 0 {
		return nil, fmt.Errorf("no embedded descriptor (descriptorOffset %d, descriptorSize %d)", off, size)
	}
	if off > vmdkHeadMax/vmdkSector || size > vmdkHeadMax/vmdkSector || (off+size)*vmdkSector > vmdkHeadMax {
		return nil, fmt.Errorf("descriptor at sectors %d+%d is beyond the first %d bytes", off, size, vmdkHeadMax)
	}
	end := int((off + size) * vmdkSector)
	if end > len(head) {
		return nil, fmt.Errorf("file ends inside the descriptor (%d bytes, descriptor ends at %d)", len(head), end)
	}
	return parseVMDKDescriptor(head[off*vmdkSector : end]), nil
}

// parseVMDKDescriptor reads the extent lines and ddb.adapterType of a
// descriptor text (up to its first NUL). Unknown lines are ignored.
func parseVMDKDescriptor(text []byte) *vmdkHead {
	if i := bytes.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	h := &vmdkHead{}
	for len(text) > 0 {
		var line []byte
		line, text, _ = bytes.Cut(text, []byte{'\n'})
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		if ext, ok := parseVMDKExtent(s); ok {
			if len(h.Extents) < 64 {
				h.Extents = append(h.Extents, ext)
			}
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if ok && strings.TrimSpace(k) == "ddb.adapterType" {
			h.Adapter = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return h
}

// parseVMDKExtent parses `RW <sectors> <type> "<file>" [offset]`.
func parseVMDKExtent(s string) (vmdkExtent, bool) {
	access, rest, _ := strings.Cut(s, " ")
	switch access {
	case "RW", "RDONLY", "NOACCESS":
	default:
		return vmdkExtent{}, false
	}
	f := strings.Fields(rest)
	if len(f) < 3 {
		return vmdkExtent{}, false
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return vmdkExtent{}, false
	}
	_, name, _ := strings.Cut(rest, `"`)
	name, _, ok := strings.Cut(name, `"`)
	if !ok {
		name = f[2]
	}
	return vmdkExtent{Sectors: n, File: name}, true
}

// checkDisk compares the head of the VMDK in file href with what the
// descriptor says about it.
func checkDisk(href string, e *diskExpect, head []byte) error {
	h, err := parseVMDKHead(head)
	if err != nil {
		return &DiskMismatchError{File: href, Field: "format", OVF: e.Format, VMDK: err.Error()}
	}
	if len(h.Extents) != 1 {
		return &DiskMismatchError{File: href, Field: "extent", OVF: "one extent", VMDK: fmt.Sprintf("%d extents", len(h.Extents))}
	}
	ext := h.Extents[0]
	if ext.File != href {
		return &DiskMismatchError{File: href, Field: "name", OVF: href, VMDK: ext.File}
	}
	if e.Capacity >= 0 && (ext.Sectors > uint64(1)<<54 || int64(ext.Sectors)*vmdkSector != e.Capacity) {
		return &DiskMismatchError{File: href, Field: "capacity", OVF: fmt.Sprintf("%d bytes (disk %s)", e.Capacity, e.DiskID),
			VMDK: fmt.Sprintf("%d sectors of 512 bytes", ext.Sectors)}
	}
	if e.Adapters != nil {
		for _, a := range e.Adapters {
			if strings.EqualFold(a, h.Adapter) {
				return nil
			}
		}
		return &DiskMismatchError{File: href, Field: "adapterType", OVF: fmt.Sprintf("controller %s (%s)", e.Ctrl, strings.Join(e.Adapters, " or ")), VMDK: strconv.Quote(h.Adapter)}
	}
	return nil
}

// headBuffer keeps the first vmdkHeadMax bytes written to it.
type headBuffer struct{ b []byte }

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := vmdkHeadMax - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
