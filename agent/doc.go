// Package agent is the appliance side of fogkit: the code that runs inside
// the customer's appliance, imported by the vendor's /init or admin
// service. It never imports the build side (package appliance), so an
// appliance image carries no build code.
//
// This first part covers boot setup's driver step: LoadModules loads the
// kernel modules that the build put in the initramfs (rootfs.AddModules
// writes them with a modules.order in dependency order) with
// finit_module(2), so the appliance sees its disks and network interfaces
// on VMware, VirtualBox and KVM alike; BlockDevices and NetInterfaces say
// what the kernel then sees.
package agent
