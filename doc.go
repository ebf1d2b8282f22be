// Package fogkit is a Go SDK that turns a vendor's application into an
// on-prem virtual appliance and keeps it alive behind the customer's
// firewall: everything in-process, in pure Go, deterministic, and with a
// verifier beside every writer so vendors can check what they ship from
// their own `go test`.
//
// The packages and how they compose:
//
//	app files ─► rootfs ─► initramfs (cpio newc; none, gzip, zstd)
//	                          │  + kernel + loader (systemd-boot or a UKI)
//	                          ▼
//	                        disk ─► raw GPT boot image with a FAT32 ESP
//	                          │
//	                          ▼
//	                        vmdk ─► streamOptimized .vmdk (size + sha256 reported)
//	                          │     + an empty data disk of any capacity
//	                          ▼
//	                        ovf  ─► descriptor from a typed model, validated for
//	                          │     VMware and VirtualBox
//	                          ▼
//	                        ova  ─► .ova = .ovf, .mf, .cert, disks; Verify, Extract
//
//	old tree + new tree ─► update  ─► signed (optionally encrypted) package ─► Apply
//	customer, seats…    ─► license ─► signed license file               ─► Verify
//
// sign is the leaf every signer goes through: X.509 for OVAs, OpenPGP for
// update packages, Ed25519 for licenses, and a Keyring for rotation and
// revocation. Packages do not import each other beyond ova, update and
// license using sign, and ova reading descriptors with ovf: composition
// happens in the caller: package appliance composes them all into one
// Build, and examples/pipeline is a thin main over it.
//
// # Conventions
//
// Every package speaks the same vocabulary; a name below means the same
// thing, with the same type and JSON spelling, wherever it appears.
//
//	name              meaning                                                example
//	----------------  -----------------------------------------------------  ---------------------------------------------
//	Write / Build     make an output from inputs, streaming to an io.Writer  vmdk.Write, ova.Write, appliance.Build
//	Verify            check input against what our writer writes; returns    vmdk.Verify, ova.Verify, update.Verify,
//	                  a report (and an error for what fails the check)       license.Verify, (*appliance.Record).Verify
//	Inspect           describe input without judging it                      rootfs.Inspect, disk.Inspect,
//	                                                                         license.InspectUnverified
//	*Options, nil     options are a struct passed by pointer; nil means the  vmdk.Write(ctx, w, r, n, nil)
//	                  documented defaults; never mutated; JSON-serialisable
//	Now               the injectable clock: a field Now func() time.Time,    license.VerifyOptions{Now: func() time.Time {…}}
//	                  nil means time.Now                                     ova.VerifyOptions.Now
//	ModTime           the one timestamp option of a writer (time.Time; the   rootfs.Options.ModTime, ova.Options.ModTime,
//	                  zero time means Unix 0); appliance.Spec.Epoch feeds    update.BuildOptions.ModTime, disk.Options.ModTime
//	                  every writer's ModTime in a build
//	SourceDateEpoch   the one reader of SOURCE_DATE_EPOCH, called only when  t, ok, err := rootfs.SourceDateEpoch()
//	                  the caller asks
//	Workers           parallelism (int; 0 means GOMAXPROCS); output bytes    vmdk.Options.Workers, rootfs.Options.Workers,
//	                  are the same for any value                             appliance.Options.Workers
//	Progress, Event   Options.Progress func(Event), called synchronously;    Event{Stage: "write", File: "disk.vmdk",
//	                  Event has Stage, File, Done, Total, JSON "stage",      Done: 1 << 20, Total: 8 << 20}
//	                  "file", "done", "total"
//	errors            errors.go per package: prefixed sentinels and typed    ova.ErrDiskMismatch, *ova.DiskMismatchError;
//	                  errors that match them with errors.Is; no logging,     errors.Is(err, ova.ErrDiskMismatch)
//	                  no panics, bounded work on bad input
//	context           first argument of every long call, checked per grain,  ova.Write(ctx, …), update.Apply(ctx, …)
//	                  member or file
//	JSON tags         camelCase everywhere, including the signed license     "issuedAt", "modTime", "highestSequence"
//	                  and update formats and the build record (OVF XML
//	                  follows the OVF spec instead)
package fogkit
