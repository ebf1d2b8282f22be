// Command fogkit builds, checks and converts fogkit appliances without
// writing Go: one binary over package appliance and every verifier.
//
//	go install github.com/fogkit/fogkit/cmd/fogkit@latest
//
// Commands (fogkit help lists them, fogkit COMMAND -h prints a command's
// flags; flags and arguments may come in any order):
//
//	fogkit build -f appliance.yaml [-out DIR] [-keys DIR] [-formats ova,qcow2,...] [-flavour NAME,...] [-combined] [-timings] [-json]
//	    Builds the appliance a spec file describes (package specfile, then
//	    appliance.Build): the OVA, the other -formats (ova, qcow2, vhd, vhdx,
//	    gce, iso; default the file's), update packages, license and
//	    build.json in -out (default out). -keys (default keys) is created
//	    with fresh keys when it holds none. A file with flavours also gets
//	    one signed OVA per flavour, <name>-<flavour>.ova; -flavour writes
//	    only the ones named. -combined (or combinedOVA: true in the file)
//	    also writes <name>-flavours.ova, whose OVF offers every flavour as
//	    a deployment option. -timings prints each stage's wall time on
//	    stderr.
//	fogkit verify [-json] DIR
//	    Checks every output of a build directory against its build.json:
//	    size, sha256, and the signatures of the OVA, license and update
//	    packages. Exit 0 only if everything holds.
//	fogkit inspect [-key KEY] [-json] FILE
//	    Recognises FILE by its content, never its name: OVA, VMDK, qcow2,
//	    VHD, VHDX, ISO, GCE tar.gz, raw GPT disk, cpio initramfs, license,
//	    update package, support bundle, backup; prints the report of the
//	    package that reads it. -key verifies a license (license.pub) or an
//	    update package (update.pub), or opens an encrypted support bundle
//	    (support.key). -json prints {"kind", "file", "report", "findings"}.
//	fogkit keys create [-name N] [-json] DIR
//	    A fresh vendor key directory (license, update, OVA and support
//	    keys; see sign.CreateKeyDir).
//	fogkit license issue -key license.key -product P -customer ID -o x.lic [...]
//	fogkit license verify -pub license.pub -product P [-now TIME] [-json] x.lic
//	fogkit license inspect [-json] x.lic
//	    Issue, verify and show license files (see examples/license).
//	fogkit update build -product P -version V -seq N -to DIR [-from DIR,...] -key update.key -o pkg.fup
//	fogkit update verify -pub update.pub [-product P] [-decrypt K] [-json] pkg.fup
//	fogkit update apply -pub update.pub -target DIR [-wait] [-json] pkg.fup
//	    Offline update packages (see examples/update).
//	fogkit convert -to qcow2|vhd|vhd-dynamic|vhdx|vmdk|gce|raw [-json] IN OUT
//	    Converts a disk image: IN is raw, VMDK, qcow2, VHD or VHDX, read
//	    through fogkit's readers; OUT is written under a temporary name and
//	    renamed into place, so it is never half-written.
//	fogkit support open (-key support.key | -plain) [-x DIR] [-json] BUNDLE
//	    Decrypts and checks a support bundle (see examples/support).
//	fogkit backup verify (-passphrase-file F | -key K) [-json] BACKUP
//	    Reads a whole backup and checks every digest (see examples/backup).
//	fogkit cloud check -target aws|azure|gcp [-firmware uefi|bios] [-json] IMAGE
//	    Lists every rule the cloud's image import would reject (package
//	    cloud).
//	fogkit version [-json]
//
// Progress bars go to stderr when it is a terminal, and nowhere otherwise.
// Ctrl-C cancels the running command; what it was writing is removed.
//
// Exit codes:
//
//	0  ok
//	1  error (a missing or unreadable file, a failed build)
//	2  usage (an unknown command or flag, a missing argument)
//	3  warning: it holds, with a warning (a license in its grace period,
//	   an image inspect found problems in)
//	4  refused: a check failed (a bad signature, a digest mismatch, an
//	   expired or revoked license, an image a cloud would reject)
//
// Errors name the file, the field or flag, and what to do.
package main
