package agent

import (
	"bytes"
	"fmt"
	"regexp"
)

// WebOptions brands and configures the web console that the admin API
// serves under /ui/ on its own port. The zero value (and a nil
// ServerOptions.Web) is the console with fogkit's default look.
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
