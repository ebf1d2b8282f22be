// Package support collects, caps and redacts an appliance's diagnostics into
// a support bundle encrypted to the vendor, and opens it on the vendor side.
package support
