package esp_test

import (
	"context"
	"fmt"

	"github.com/fogkit/fogkit/esp"
	"github.com/fogkit/fogkit/esp/esptest"
)

// An update installs version 2 beside the shipped version 1; systemd-boot
// tries it three times, then falls back to version 1 by itself.
func ExampleInstall() {
	m := shipped() // an ESP with version 1, as the build makes it
	err := esp.Install(context.Background(), m, 2, slotFS(2), &esp.InstallOptions{
		Progress: func(e esp.Event) { fmt.Println(e) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 4 {
		b, _ := esptest.Boot(m) // what the firmware does at each boot
		fmt.Println("boots slot", b.Seq)
	}
	// Output:
	// esp: install slot 2: 1/4 fogkit/2/entry.conf
	// esp: install slot 2: 2/4 fogkit/2/initrd.img
	// esp: install slot 2: 3/4 fogkit/2/vmlinuz
	// esp: install slot 2: 4/4 loader/entries/fogkit-2+3.conf
	// boots slot 2
	// boots slot 2
	// boots slot 2
	// boots slot 1
}

func ExampleEntryText() {
	fmt.Print(esp.EntryText("acme 2.0", 2, "console=ttyS0"))
	// Output:
	// title acme 2.0
	// linux /fogkit/2/vmlinuz
	// initrd /fogkit/2/initrd.img
	// options console=ttyS0 fogkit.slot=2 panic=5
}
