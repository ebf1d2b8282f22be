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
// happens in the caller, and examples/pipeline is the reference for it.
package fogkit
