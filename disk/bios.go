package disk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// installSyslinux runs "syslinux --install --offset <ESP offset>
// --directory / <image>" (mtools flavour: no loop device, no root) and then
// copies the boot sector syslinux wrote to the FAT32 backup boot sector so
// the file system stays consistent.
func (p *plan) installSyslinux(ctx context.Context, f *os.File) error {
	prog := p.spec.BIOS.Syslinux
	if _, err := exec.LookPath(prog); err != nil {
		return &ToolError{Program: prog, Err: err}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, "--install", "--offset", strconv.FormatInt(espOffset, 10),
		"--directory", "/", f.Name())
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o := out.String()
		if len(o) > 2000 {
			o = o[len(o)-2000:]
		}
		return &ToolError{Program: prog, Err: err, Output: o}
	}
	bs := make([]byte, 512)
	if _, err := f.ReadAt(bs, espOffset); err != nil {
		return err
	}
	if bs[510] != 0x55 || bs[511] != 0xaa {
		return &ToolError{Program: prog, Err: fmt.Errorf("left no boot sector signature")}
	}
	_, err := f.WriteAt(bs, espOffset+6*512)
	return err
}
