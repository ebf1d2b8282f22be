// Package appliance is the build side's top floor: it turns a vendor's
// application into a bootable, signed appliance through fogkit's leaf
// packages, in one call.
//
//	keys, _ := sign.LoadKeyDir("keys")          // or sign.CreateKeyDir
//	rec, err := appliance.Build(ctx, &appliance.Spec{
//		Name: "acme", Vendor: "Acme", Version: "1.0.0", Sequence: 1,
//		AppDir: "./dist", Init: initBinary, Epoch: epoch,
//	}, &appliance.Options{Dir: "out", Keys: keys, FetchAssets: true})
//
// A Spec says what to build (identity, app tree, /init, kernel, modules,
// loader, virtual hardware, license to issue, previous builds, epoch);
// Options say how (output directory, keys, asset fetching, progress).
// Build checks the whole spec first and reports every problem in one
// SpecError before writing anything; then it runs the stages (assets,
// license, rootfs, disk, vmdk, ovf, ova, update, record) through the
// public packages, writes each output under a temporary name renamed when
// complete, and removes what it wrote if a later stage fails.
//
// The kernel comes from the spec or, with Options.FetchAssets on Debian
// or Ubuntu, from the distribution's signed archive (FetchAssets: apt-get
// download into a user cache, unpacked, never installed). The kernel's
// module tree gives the initramfs its drivers: DefaultModules (VMware,
// VirtualBox and KVM disks and NICs, FAT, ext4) with their dependencies,
// through rootfs.AddModules. Without a kernel or loader the build is still
// complete and verifiable, and the record says it does not boot.
//
// The Record (build.json) lists the spec, inputs, every package's
// options, the fetched packages, the modules and each output's size and
// SHA-256, with the public keys; Load reads it and Verify re-checks a
// directory against it, signatures included. Same spec, keys and epoch
// give the same bytes, record included.
package appliance
