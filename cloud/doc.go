// Package cloud checks a disk image, before upload, against the rules of
// the three clouds' image imports: AWS VM Import/Export and EBS snapshot
// import, an Azure managed disk from an uploaded VHD (Gen1 and Gen2 VMs),
// and a Compute Engine image from a .tar.gz in Cloud Storage. Check lists
// every rule the image breaks in one Report, not the first one.
//
// Check detects the format from magic bytes (the file name of CheckFile
// only adds a finding when it promises another format), opens the image
// with fogkit's reader for it (qcow2, vhd, vhdx, vmdk, ova, gce) and looks
// inside the virtual disk with the disk package: partition table, EFI
// System Partition, and \EFI\BOOT\BOOTX64.EFI on it (case-insensitive,
// as FAT is). It reuses the format packages' own checks: vhd.CheckAzure
// for Azure's VHD rules and gce.Check for the archive layout.
//
// # Rules
//
// Each rule is named <cloud>.<what>, the cloud being "aws", "azure" or
// "gce" (GCP's, as in the gce package); rows below without a prefix exist
// for each cloud listed (aws.uefi.fallback, azure.uefi.fallback,
// gce.uefi.fallback). The source of each rule is cited next to its code.
//
//	rule                 clouds           broken when
//	format               aws, azure       AWS: qcow2, a .tar.gz, a VMDK that is not streamOptimized
//	                                      (alone or in an OVA); Azure: anything but a VHD
//	image                all              the format reader refuses the file or its data
//	name                 all              CheckFile: the extension promises another format
//	azure.type           azure            a dynamic (or differencing) VHD: Azure wants fixed
//	azure.size.mib       azure            virtual size not a whole number of MiB
//	azure.size.file      azure            fixed file size is not virtual size + 512
//	azure.size.min/max   azure            virtual size outside 20 MiB .. 32 TiB
//	azure.spec           azure            the VHD breaks its specification (vhd.Inspect);
//	                                      the CHS geometry is ignored, as Azure does
//	gce.gzip, gce.name,  gcp              not gzip; not exactly one member named disk.raw;
//	gce.members,                          not the old GNU tar format; not a file;
//	gce.format, gce.type,                 empty, or not a whole number of GiB
//	gce.size.zero/gib
//	gce.archive          gcp              the .tar.gz cannot be read to its end
//	uefi.gpt             all              UEFI boot (AWS uefi, Azure Gen2, GCP UEFI_COMPATIBLE)
//	                                      without a GPT
//	uefi.esp             all              UEFI boot, a GPT without an EFI System Partition
//	uefi.fallback        all              UEFI boot, no \EFI\BOOT\BOOTX64.EFI on the ESP: an
//	                                      imported VM has no boot entries, so the firmware
//	                                      boots the fallback loader or nothing
//	bios.bootcode        all              BIOS boot (Azure Gen1) without MBR boot code
//	boot                 all              no ESP and no MBR boot code: nothing boots
//	partition            all              a damaged GPT or ESP
//	aws.size.max         aws              virtual size above 64 TiB (EBS)
//	aws.size.mbr         aws              above 2 TiB on a boot disk without a GPT
//	aws.size.file        aws              file above 5 TiB (S3 object)
//	azure.size.os        azure            above 2 TiB for Gen1, 4095 GiB for Gen2 (OS disk)
//
// The firmware is Options.Firmware, or else what the disk shows: an ESP
// means UEFI (the fallback loader must be there), MBR boot code means
// BIOS. Report.Firmware says which was checked.
//
// # Streaming the .tar.gz
//
// gzip cannot be read at random, so for a .tar.gz Check reads the file
// twice from the start: gce.Check reads it whole, in constant memory, for
// the layout rules; a second reader keeps the non-zero 4 KiB blocks of
// disk.raw's first 64 MiB of data and stops there. The partition table,
// the ESP's FAT and directories of a boot disk lie in that span (fogkit's
// ESP starts at 1 MiB and its directories are written first); when they
// do not, the boot checks go to Report.Unchecked rather than guessed, and
// OK is false. Nothing is spooled to disk.
//
// # Errors
//
// Check returns an error only when it could not look at the image:
// ErrUnknownTarget, ErrInvalid (options, size), a *ReadError matching
// ErrRead for a failing reader (told apart from a damaged image whatever
// the format reader made of it), or the context's error. Unreadable,
// unknown and damaged images are Findings: a file of no known format is
// read as a raw disk, which AWS takes.
package cloud
