package agent_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fogkit/fogkit/agent"
)

// An appliance's /init (PID 1) brings the system up with Setup and prints
// the report on the console: one line a step, and a failed step (say, no
// DHCP server) does not keep the others, such as the data disk, from
// running.
func ExampleSetup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := agent.Setup(ctx, nil)
	fmt.Fprint(os.Stdout, rep)
	if err != nil {
		fmt.Println("degraded:", err)
	}
	if rep.Data != nil {
		fmt.Println("customer data on", rep.Data.Mountpoint)
	}
}
