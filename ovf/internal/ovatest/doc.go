// Package ovatest holds the test in which the ova package writes and
// verifies an OVA around an ovf descriptor with blank, per-configuration
// disks. It lives apart from package ovf so that ovf's test binary (and
// its fuzz targets) does not link the ova and vmdk packages.
package ovatest
