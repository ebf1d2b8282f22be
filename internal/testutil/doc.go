// Package testutil holds the helpers fogkit's tests share: running external
// tools as independent judges (RequireTool, Run), golden files (Golden, with
// the -update flag), deterministic data generators (Tree, RandomBytes) and a
// qemu boot harness (Boot) that boots a kernel and initrd, or a disk image,
// and waits for a per-run nonce printed by the guest's /init.
//
// Interop tests skip when a tool is missing, unless the environment sets
// FOGKIT_INTEROP=require (as .ci/run does), in which case they fail: a fresh
// clone passes `go test ./...`, and CI proves the interop for real.
package testutil
