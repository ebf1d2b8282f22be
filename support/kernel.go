package support

import (
	"context"
	"fmt"
	"time"
)

// KernelLogName is the member KernelLog stores.
const KernelLogName = "system/kernel.log"

// KernelLog collects the kernel's log as system/kernel.log: /dev/kmsg read
// without blocking up to its current end, each record as
// "[seconds.micros] message" like dmesg (continuation lines with device
// properties are left out). Where /dev/kmsg cannot be read (not Linux, no
// CAP_SYSLOG with dmesg_restrict), the output of `dmesg` is taken instead.
func KernelLog() Source {
	return Source{name: KernelLogName, kind: "kernel", run: func(ctx context.Context, c *collector) error {
		r, err := openKmsg()
		if err == nil {
			defer r.Close()
			return c.storeStream(ctx, KernelLogName, r)
		}
		if err := c.runCommand(ctx, KernelLogName, 10*time.Second, []string{"dmesg"}); err != nil {
			return err
		}
		if c.err != nil {
			c.err = fmt.Errorf("/dev/kmsg: %v; dmesg: %w", err, c.err)
		}
		return nil
	}}
}
