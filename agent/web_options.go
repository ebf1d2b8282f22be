package agent

import (
	"bytes"
	"fmt"
	"regexp"
)

// WebOptions brands and configures the web console that the admin API
// serves under /ui/ on its own port. The zero value (and a nil
// ServerOptions.Web) is the console with fogkit's default look.
//
// The console is plain server-rendered HTML with a little script (an
// upload progress bar, the wait after a reboot); everything works without
// the script but the progress. Its pages are first run, sign in, status
// (versions and slots, the last update and the history, the license and
// its days left, the data disk, uptime), license, update, reboot, support
// bundle, backup and restore. Each acts through the same code as the JSON
// API and under the same rules:
//
//   - the session is a bearer token of the API's store in the cookie
//     __Host-fogkit-session (Secure, HttpOnly, SameSite=Strict), so it
//     expires after SessionLifetime, signing out revokes it and failed
//     attempts back off per address as on the API;
//   - every form carries a CSRF token bound to the session (before
//     sign-in, to a form cookie); a post without it, or one a browser
//     marks as coming from another site or origin, is refused with 403
//     and changes nothing; a GET never acts;
//   - before first run every page leads to the first-run form; after it,
//     that form is gone (a post gets 409);
//   - every answer carries a content security policy that allows only
//     the console's own script, style sheet and images, and forbids
//     framing; uploads stream to the spool directory under the API's caps.
type WebOptions struct {
	// Disabled turns the console off: /ui/ answers 404 like any unknown
	// path, and only the JSON API remains.
	Disabled bool `json:"disabled,omitempty"`
	// ProductName is the name shown in titles and the header; "" means
	// ServerOptions.Product.
	ProductName string `json:"productName,omitempty"`
	// Logo is the vendor's logo, served from the console's own origin;
	// nil means fogkit's default. LogoType is "svg" or "png".
	Logo     []byte `json:"-"`
	LogoType string `json:"logoType,omitempty"`
	// Colors are CSS hex colours (#rgb or #rrggbb); "" keeps the default.
	Colors WebColors `json:"colors"`
}

// WebColors are the console's brand colours.
type WebColors struct {
	// Primary colours the header, buttons and progress bars.
	Primary string `json:"primary,omitempty"`
	// Background is the page's background; Text its text colour.
	Background string `json:"background,omitempty"`
	Text       string `json:"text,omitempty"`
}

// maxLogoSize caps WebOptions.Logo: it is served on every page.
const maxLogoSize = 256 << 10

// hexColor is the only colour syntax accepted: the values are written
// into a style sheet, so anything else could inject CSS.
var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// validate refuses colours that are not hex colours, an unknown logo type
// and a logo that is not one.
func (o *WebOptions) validate() error {
	if o == nil {
		return nil
	}
	for _, c := range []struct{ name, v string }{
		{"primary", o.Colors.Primary}, {"background", o.Colors.Background}, {"text", o.Colors.Text},
	} {
		if c.v != "" && !hexColor.MatchString(c.v) {
			return fmt.Errorf("%w: web console colour %s is not a CSS hex colour (#rgb or #rrggbb)", ErrConfig, c.name)
		}
	}
	if len(o.Logo) == 0 {
		return nil
	}
	if len(o.Logo) > maxLogoSize {
		return fmt.Errorf("%w: web console logo over %d bytes", ErrConfig, maxLogoSize)
	}
	switch o.LogoType {
	case "png":
		if !bytes.HasPrefix(o.Logo, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("%w: web console logo is not a PNG image", ErrConfig)
		}
	case "svg":
		if !bytes.Contains(o.Logo[:min(len(o.Logo), 1024)], []byte("<svg")) {
			return fmt.Errorf("%w: web console logo is not an SVG image", ErrConfig)
		}
	default:
		return fmt.Errorf("%w: web console logo type %q is neither svg nor png", ErrConfig, o.LogoType)
	}
	return nil
}
