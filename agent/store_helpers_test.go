package agent

import "runtime"

var onLinux = runtime.GOOS == "linux"
