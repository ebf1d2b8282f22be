// Package appliance is the build side's top floor: it turns a vendor's
// application into a bootable, signed appliance through fogkit's leaf
// packages.
//
// This first part fetches the boot assets a bootable appliance needs
// when the build machine has none at hand: FetchAssets takes the kernel
// (with its module tree, for rootfs.AddModules) and the systemd-boot
// loaders from the distribution's own signed archive with apt-get
// download, unpacks them into a user cache without installing anything,
// and records each package's name, version and digest.
package appliance
