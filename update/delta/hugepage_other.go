//go:build unix && !linux

package delta

func madviseHuge([]byte) {}
