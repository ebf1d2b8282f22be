//go:build !unix

package support

const openFlags = 0
