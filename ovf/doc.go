// Package ovf writes, reads and checks OVF 1.x descriptors for one virtual
// appliance, so that the same .ovf imports in both VMware (vSphere,
// Workstation, Fusion) and VirtualBox without hand edits.
//
// The typed model is VirtualSystem: name, annotation, EULAs, a product
// section with properties, OS, CPUs, memory, firmware, one disk
// controller, disks, NICs and networks. Marshal turns it into
// deterministic XML for a Profile (Portable by default, or VMware);
// Validate checks it against the import rules of both hypervisors and
// returns every violation at once as a ValidationError.
//
// Parse reads any OVF descriptor (fogkit's, VMware's, VirtualBox's) into an
// Envelope, a faithful lower-level view: References (file id, href,
// ovf:size), DiskSection (capacity, fileRef), networks, and each virtual
// system's sections and RASD items. Envelope.VirtualSystem converts a
// single-VM envelope back into the model. Parse bounds its work with
// ParseOptions and returns *ParseError values matching ErrMalformed,
// ErrTooLarge or ErrUnsupported.
//
// Environment, WriteEnvironment and ParseEnvironment handle the OVF
// environment document (ovf-env.xml) that carries property values to the
// guest through VMware's guestinfo or ISO transport.
package ovf
