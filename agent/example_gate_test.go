package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/fogkit/fogkit/agent"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/sign"
)

// The vendor's app sits behind the license gate: it answers while the
// license is valid or in grace, and 402 once it has expired. The clock is
// injected here; on the appliance it is the wall clock, and the store's
// public key and baked license come from /etc/fogkit.
func ExampleLicenseGate() {
	// The vendor's side: a license key and a license valid for 30 days.
	key, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(make([]byte, 32)), sign.PurposeLicense)
	pub, _ := sign.EncodePublicKey(key.Public())
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := start.AddDate(0, 0, 30)
	var lic bytes.Buffer
	_ = license.Encode(context.Background(), &lic, &license.License{
		ID: "lic-1", Product: "acme", Customer: license.Customer{ID: "c1", Name: "Example Corp"},
		IssuedAt: start, ExpiresAt: &expires, GracePeriod: license.Days(7), Seats: 10,
	}, key)

	// The appliance's side.
	now := start
	store, err := agent.NewLicenseStore(&agent.LicenseStoreOptions{
		PublicKey: pub, Baked: lic.Bytes(), Product: "acme", Now: func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	users := func(*http.Request) int { return 3 }
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	h := agent.LicenseGate(store, &agent.GateOptions{Seats: users})(app)

	for _, day := range []int{0, 33, 40} {
		now = start.AddDate(0, 0, day)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Printf("day %d: %s %d %s\n", day, store.Status(), rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	// Output:
	// day 0: valid 200 hello
	// day 33: grace 200 hello
	// day 40: expired 402 {"error":{"code":"license_expired","message":"the license has expired"}}
}
