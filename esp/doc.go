// Package esp lays out an appliance's EFI system partition for A/B
// updates with systemd-boot's automatic boot assessment, and installs,
// blesses and removes versions on it so that a power cut at any point
// leaves a bootable previous version.
//
// Layout: every version (slot) has its own directory, SlotDir(seq) =
// "fogkit/<seq>", holding its kernel (KernelFile), initramfs (InitrdFile)
// and loader entry text (EntryFile); this directory is exactly the boot
// tree that update packages carry. The loader entry that boots it is
// loader/entries/fogkit-<seq>.conf for a known-good version (the one the
// appliance shipped with, or a blessed one) and fogkit-<seq>+<tries>.conf
// for a version an update installed. LoaderConf makes systemd-boot boot,
// without a menu, the newest entry that still has tries left. The kernel
// command line carries fogkit.slot=<seq> (SlotOfCmdline tells the running
// version) and panic=, so an /init that exits reboots into the next try.
//
// How systemd-boot 252 (Debian 12) decides, from src/boot/efi/boot.c:
// entries are sorted with those that have no tries left last, then by id
// (the file name, counter included) version-wise, newest first; the first
// entry matching loader.conf's `default` glob is booted. Before booting a
// counted entry it renames it "+LEFT-DONE" with LEFT one less and DONE one
// more, so "+3" gives three boots; at "+0-3" the entry sorts last and the
// previous version boots, without help. An entry whose kernel file is
// missing is skipped; a missing initrd fails only at boot, which is why
// Install writes the entry last, after every file is durable.
//
// FAT has no journal, and Linux keeps a volume it found dirty marked dirty:
// CheckFAT and RepairFAT find and fix, the way fsck.fat -a would, what a
// power cut in the middle of those writes leaves on a FAT32 ESP (the dirty
// mark, the FSInfo count, FAT copies that differ, lost clusters, chains
// that disagree with file sizes or cross-link). The appliance runs them
// before it mounts the ESP.
//
// Install, Bless, Remove and Recover work through FS (DirFS on the
// mounted ESP). Package esptest has an in-memory FS that loses unsynced
// writes and crashes on demand, and a model of systemd-boot's choice, for
// tests.
package esp
