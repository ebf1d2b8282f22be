package agent

import "runtime"

var runtimeLinux = runtime.GOOS == "linux"
