package agent_test

import (
	"context"
	"fmt"

	"github.com/fogkit/fogkit/agent"
)

// An appliance's /init loads the drivers the build put in its initramfs,
// then says what it sees.
func ExampleLoadModules() {
	rep, err := agent.LoadModules(context.Background(), nil)
	if err != nil {
		fmt.Println("no drivers:", err)
		return
	}
	for _, m := range rep.Failed() {
		fmt.Printf("driver %s failed: %s\n", m.Path, m.Error)
	}
	disks, _ := agent.BlockDevices()
	nics, _ := agent.NetInterfaces()
	fmt.Println("disks:", disks, "interfaces:", nics)
}
