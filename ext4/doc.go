// Package ext4 writes an empty ext4 file system deterministically (the
// appliance's data disk) and reads back what it wrote.
package ext4
