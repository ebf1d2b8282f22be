// Package ext4 formats an empty ext4 file system, the appliance's data
// disk, deterministically: the same size and Options give the same bytes,
// with the UUID and directory hash seed derived from Options.Seed, the
// label and the block count (SHA-256, domain-separated; the UUID is an
// RFC 9562 version 8 UUID), and every time stamp from Options.ModTime. No
// randomness, no wall clock.
//
// # What Format writes
//
// 4 KiB blocks, 32768 blocks per group, 256-byte inodes, one inode per
// 16 KiB (mke2fs's defaults), no root reserve (the appliance's services
// own the disk), the root directory, a 16 KiB lost+found, and an internal
// journal (inode 8) sized as mke2fs sizes it up to 128 MiB (4 MiB on the
// smallest disk, 128 MiB from 16 GiB on). Sizes run from MinSize (16 MiB)
// to MaxSize (32 TiB); a size that is not a multiple of 4096 uses its
// whole blocks, and a last group too small to be worth its metadata is
// dropped, as mke2fs drops it (Info.Size says what was used).
//
// # Features, and why
//
//   - has_journal: customer data must survive power cuts.
//   - extent, huge_file, large_file, dir_nlink, extra_isize, 64bit,
//     flex_bg, sparse_super, filetype, dir_index, ext_attr: mke2fs's ext4
//     defaults, which every kernel since 3.x mounts read-write and which
//     e2fsck checks daily. 64bit makes block numbers and bitmap checksums
//     full width and lets the disk reach 16 TiB and more.
//   - metadata_csum (CRC-32C over the superblock, descriptors, bitmaps,
//     inodes and directory blocks) rather than uninit_bg: it is mke2fs's
//     default since 1.43, the kernel catches torn or stray metadata
//     writes with it, and it also provides what lazy initialisation
//     needs: checksummed group descriptors, so groups can be marked
//     INODE_UNINIT and BLOCK_UNINIT and their bitmaps never written. The
//     kernel needs crc32c for it (crc32c_generic on the generic kernel).
//   - Not resize_inode: it reserves descriptor blocks in every backup
//     group for online growth. Without it the file system can still grow
//     online within its last descriptor block (64 groups, 8 GiB) and
//     offline with resize2fs beyond that. Not orphan_file,
//     metadata_csum_seed or other features that Linux 6.1 or e2fsprogs
//     1.46 may not know.
//
// # What Format relies on: zeros
//
// Format writes only metadata: block 0 (boot area and superblock), the
// group descriptors and their backups, the superblock backups, the block
// bitmaps of the groups holding metadata (all other groups are
// BLOCK_UNINIT), group 0's inode bitmap and first inode table block, the
// directory blocks and the journal superblock. A 20 GiB disk takes
// 256 KiB of writes, a 2 TiB disk 25 MiB (most of it the 19
// copies of the 1 MiB descriptor table).
//
// By default Format assumes w reads as zeros where it does not write, as
// a fresh sparse file, a new VMDK or a blank virtual disk does, and it
// relies on that in two places: the journal's log must be empty (a stale
// transaction from an earlier file system could be replayed after a
// crash), and the inode tables are marked zeroed (ITABLE_ZEROED), so the
// kernel never rewrites them and a thin disk stays thin. With
// Options.NotZeroed, Format writes zeros over the journal itself (at
// most 128 MiB) and leaves the inode tables unmarked, so the kernel
// zeroes them in the background after the first mount; nothing else
// depends on the old content (uninitialised bitmaps and tables are never
// read). The primary superblock is written last, so an interrupted
// Format does not leave something Probe takes for a file system.
//
// # Verify
//
// Verify recomputes what Format writes and compares it with the target
// byte for byte, and checks that the journal and group 0's inode table
// read as zeros where Format relied on it. It does not read the other
// groups' inode tables (1.6% of the disk) or free space: the kernel
// and e2fsck never read an inode of an uninitialised group before
// writing it, and reading them would make Verify as slow as the disk is
// large. So a 2 TiB Verify reads about 160 MiB.
//
// Probe reads the superblock of any ext2, ext3 or ext4 file system; the
// appliance finds its data disk by the label it returns.
package ext4
