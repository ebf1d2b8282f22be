package license_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/sign"
)

func Example() {
	ctx := context.Background()
	// The vendor's license key (from a fixed seed here; use
	// sign.GenerateEd25519 and keep it offline in real life).
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	signer, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(seed), sign.PurposeLicense)

	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := issued.AddDate(1, 0, 0)
	var file bytes.Buffer
	err := license.Encode(ctx, &file, &license.License{
		ID:          "lic-0001",
		Sequence:    1,
		Product:     "acme-appliance",
		Customer:    license.Customer{ID: "cust-42", Name: "Example Corp"},
		IssuedAt:    issued,
		ExpiresAt:   &expires,
		GracePeriod: license.Days(14),
		Seats:       10,
		Features:    []string{"sso", "backup"},
	}, signer)
	if err != nil {
		panic(err)
	}

	// On the appliance: the public key, a clock and a state store.
	ring, _ := sign.NewKeyring(signer.Public())
	store := license.NewMemoryStore(license.State{})
	now := time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)
	st, err := license.Verify(ctx, &file, ring, "acme-appliance", &license.VerifyOptions{
		Now:   func() time.Time { return now },
		State: store,
	})
	if err != nil {
		panic(err)
	}
	days, _ := st.DaysUntilExpiry()
	fmt.Println("customer:", st.License.Customer.Name)
	fmt.Println("valid:", st.Valid, "in grace:", st.InGrace, "days left:", days)
	fmt.Println("sso:", st.License.HasFeature("sso"), "ha:", st.License.HasFeature("ha"))
	fmt.Println("add an 11th user:", st.License.CheckSeat(10))
	// Output:
	// customer: Example Corp
	// valid: true in grace: false days left: 7
	// sso: true ha: false
	// add an 11th user: license: seat limit reached: 10 of 10 seats in use
}

func ExampleVerify_expired() {
	ctx := context.Background()
	signer, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)), sign.PurposeLicense)
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := issued.AddDate(0, 1, 0)
	var file bytes.Buffer
	_ = license.Encode(ctx, &file, &license.License{
		ID: "trial-9", Product: "acme-appliance", Customer: license.Customer{ID: "c9"},
		IssuedAt: issued, ExpiresAt: &expires, GracePeriod: license.Days(7), Trial: true,
	}, signer)
	ring, _ := sign.NewKeyring(signer.Public())

	for _, now := range []time.Time{expires.AddDate(0, 0, 3), expires.AddDate(0, 0, 8)} {
		st, err := license.Verify(ctx, bytes.NewReader(file.Bytes()), ring, "acme-appliance",
			&license.VerifyOptions{Now: func() time.Time { return now }})
		switch {
		case errors.Is(err, license.ErrExpired):
			fmt.Println("expired: switch to read-only; trial:", st.License.Trial)
		case err != nil:
			fmt.Println("refused:", err)
		case st.InGrace:
			fmt.Printf("in grace, %s left: show a banner\n", st.GraceRemaining)
		}
	}
	// Output:
	// in grace, 96h0m0s left: show a banner
	// expired: switch to read-only; trial: true
}

func ExampleInspectUnverified() {
	signer, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)), sign.PurposeLicense)
	var file bytes.Buffer
	_ = license.Encode(context.Background(), &file, &license.License{
		ID: "lic-1", Product: "p", Customer: license.Customer{ID: "c", Name: "Support Case"},
		IssuedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}, signer)
	u, err := license.InspectUnverified(&file)
	if err != nil {
		panic(err)
	}
	fmt.Println("UNVERIFIED:", u.License.Customer.Name, u.License.ID, u.KeyID == signer.KeyID())
	// Output:
	// UNVERIFIED: Support Case lic-1 true
}

// A license issued from what a vendor types on a command line or in a
// form, and printed as a text report.
func ExampleWriteLicense() {
	issued, _ := license.ParseTime("2026-01-01")
	expires, _ := license.ParseTime("2027-12-31")
	limits, _ := license.ParseLimits([]string{"nodes=3"})
	meta, _ := license.ParseMetadata([]string{"po=PO-1"})
	l := &license.License{
		Sequence:    1,
		Product:     "acme-appliance",
		Customer:    license.Customer{ID: "cust-42", Name: "Example Corp"},
		IssuedAt:    issued,
		NotBefore:   issued,
		ExpiresAt:   &expires,
		GracePeriod: license.Days(14),
		Features:    license.ParseFeatures("sso, backup"),
		Limits:      limits,
		Metadata:    meta,
	}
	l.ID = l.DerivedID()
	_ = license.WriteLicense(os.Stdout, l)
	// Output:
	// license:    lic-9187f8abeae7376c (sequence 1, format 0)
	// product:    acme-appliance
	// customer:   cust-42 (Example Corp)
	// issued:     2026-01-01T00:00:00Z
	// valid from: 2026-01-01T00:00:00Z
	// expires at: 2027-12-31T00:00:00Z (grace 14d)
	// updates:    all
	// seats:      unlimited
	// features:   sso, backup
	// limit:      nodes=3
	// meta:       po="PO-1"
}
