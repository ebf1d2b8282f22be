package ovf

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is.
var (
	// ErrMalformed: the input is not well-formed XML or not a usable OVF
	// envelope (wrong root element, bad number, missing required attribute).
	ErrMalformed = errors.New("ovf: malformed descriptor")
	// ErrTooLarge: the input exceeds a ParseOptions limit.
	ErrTooLarge = errors.New("ovf: descriptor too large")
	// ErrUnsupported: the descriptor uses something this package cannot
	// express (several virtual systems where one is needed, an unknown
	// device model, a capacity given as an expression).
	ErrUnsupported = errors.New("ovf: unsupported descriptor feature")
	// ErrInvalid: Validate (or Marshal, which validates first) found
	// violations of the import rules; see ValidationError.
	ErrInvalid = errors.New("ovf: invalid virtual system")
)

// ParseError says where parsing failed. It matches its Err sentinel.
type ParseError struct {
	Line    int    // 1-based line in the input, 0 when unknown
	Element string // element path, e.g. "Envelope/References/File"
	Msg     string
	Err     error // ErrMalformed, ErrTooLarge or ErrUnsupported
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	if e.Element != "" {
		fmt.Fprintf(&b, " in <%s>", e.Element)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Rule names one import rule. Validate reports which rule a violation
// breaks so that callers and tests can tell them apart.
type Rule string

// The rules Validate applies. Their comments give the hypervisor behaviour
// they protect against.
const (
	RuleName              Rule = "name"             // a virtual system needs a name (and a valid ovf:id)
	RuleOSID              Rule = "os-id"            // OperatingSystemSection needs a numeric CIM ovf:id (VirtualBox errors without it)
	RuleVMwareOSType      Rule = "vmware-os-type"   // vmw:osType must be set (VMware guesses badly otherwise)
	RuleSystemType        Rule = "system-type"      // vssd:VirtualSystemType vmx-NN (VMware rejects virtualbox-2.2)
	RuleCPU               Rule = "cpu"              // at least one virtual CPU
	RuleMemory            Rule = "memory"           // memory in MiB, positive
	RuleFirmware          Rule = "firmware"         // bios or efi
	RuleController        Rule = "controller"       // a known disk controller, allowed by the profile
	RuleControllerSlots   Rule = "controller-slots" // no more disks than the controller has units
	RuleAdapter           Rule = "adapter"          // a known NIC model, allowed by the profile
	RuleDisk              Rule = "disk"             // disk ids unique and XML-safe
	RuleDiskFile          Rule = "disk-file"        // a disk with a file has its href, id and exact size; a blank disk (no href) has none, and a fileRef names a listed file
	RuleDiskCapacity      Rule = "disk-capacity"    // capacity positive, populated size within capacity
	RuleNICNetwork        Rule = "nic-network"      // every NIC names a declared network
	RuleNetwork           Rule = "network"          // network names unique and non-empty
	RuleProperty          Rule = "property"         // property keys unique and valid, types known, defaults fit
	RuleTransport         Rule = "transport"        // transports are com.vmware.guestInfo or iso; iso needs a CD-ROM
	RuleVirtualBoxMachine Rule = "vbox-machine"     // the vbox:Machine block needs OS.VirtualBox (its OSType) and cannot hold blank or per-configuration disks
	RuleReference         Rule = "reference"        // file ids and hrefs unique and plain
	RuleText              Rule = "text"             // free text is valid XML; one-line fields have no breaks or edge spaces
	RuleNamespace         Rule = "namespace"        // OVF 1.x namespace only, no OVF 2 StorageItem/EthernetPortItem
	RuleItemOrder         Rule = "item-order"       // RASD children in CIM schema (alphabetical) order
	RuleUnknownItem       Rule = "unknown-item"     // items VirtualBox does not know need ovf:required="false"
	RuleDiskItem          Rule = "disk-item"        // disk items: ovf:/disk/<id>, Parent = a controller, AddressOnParent set
	RuleSingle            Rule = "single"           // exactly one virtual system with one hardware section
	RuleProfile           Rule = "profile"          // Options.Profile is portable or vmware
	RuleConfiguration     Rule = "configuration"    // deployment option ids unique and plain, one default, every ovf:configuration (of an item or a Disk) declared, no empty or repeated disk lists, one CPU and memory item each (portable: the default's last, VirtualBox keeps the last)
	// RuleTruncated ends a list cut at Options.MaxViolations; its message
	// says how many violations were left out.
	RuleTruncated Rule = "truncated"
)

// Violation is one broken rule. It matches ErrInvalid. Values copied from
// the input into Element and Message are clipped to a few dozen bytes.
type Violation struct {
	Rule    Rule
	Element string // the element concerned, e.g. `Disk[@ovf:diskId="vmdisk1"]`
	Message string
}

func (v *Violation) Error() string {
	return fmt.Sprintf("ovf: %s: %s: %s", v.Rule, v.Element, v.Message)
}

// Is makes every Violation match ErrInvalid.
func (v *Violation) Is(target error) bool { return target == ErrInvalid }

// ValidationError is the list of every violation Validate found, in a
// stable order, up to Options.MaxViolations (then the last one has
// RuleTruncated). It matches ErrInvalid and, through Unwrap, each
// Violation.
type ValidationError []*Violation

func (e ValidationError) Error() string {
	switch len(e) {
	case 0:
		return ErrInvalid.Error()
	case 1:
		return e[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ovf: %d violations:", len(e))
	for _, v := range e {
		b.WriteString("\n  ")
		b.WriteString(v.Error())
	}
	return b.String()
}

// Is makes a ValidationError match ErrInvalid.
func (e ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the violations, so errors.As finds a *Violation.
func (e ValidationError) Unwrap() []error {
	out := make([]error, len(e))
	for i, v := range e {
		out[i] = v
	}
	return out
}

// Has reports whether a violation of rule r is present.
func (e ValidationError) Has(r Rule) bool {
	for _, v := range e {
		if v.Rule == r {
			return true
		}
	}
	return false
}
