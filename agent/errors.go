package agent

import (
	"errors"
	"fmt"
)

// Sentinel errors of the admin API, the first run and the license store.
// Errors returned by this package's functions match one of them (or a
// sentinel of package license) with errors.Is.
var (
	// ErrConfig: ServerOptions or LicenseStoreOptions are unusable (no
	// state directory, an unreadable public key, ...).
	ErrConfig = errors.New("agent: invalid options")
	// ErrState: a file on the state directory is damaged or cannot be
	// written.
	ErrState = errors.New("agent: state directory damaged or not writable")
	// ErrNoLicense: no license is installed or baked in.
	ErrNoLicense = errors.New("agent: no license")
	// ErrLicenseRefused: a license offered to LicenseStore.Install was
	// refused; the *LicenseError says why and matches license's sentinel.
	ErrLicenseRefused = errors.New("agent: license refused")
)

// Stable error codes of the admin API and the license gate. Every refusal
// is answered with the JSON body {"error":{"code":<code>,"message":...}}
// and changes nothing on the appliance. Clients switch on the code, never
// on the message.
const (
	CodeFirstRunRequired   = "first_run_required"     // 403: claim the appliance first
	CodeAlreadyClaimed     = "already_claimed"        // 409: first run already done
	CodeBadFirstRunToken   = "bad_first_run_token"    // 401: wrong first-run token
	CodeWeakPassword       = "weak_password"          // 422: password shorter than MinPasswordLength (or longer than 1024 bytes, or not UTF-8)
	CodeUnauthorized       = "unauthorized"           // 401: missing or wrong bearer token
	CodeBadPassword        = "bad_password"           // 401: wrong password on login
	CodeTooManyAttempts    = "too_many_attempts"      // 429: backoff after repeated failures; see Retry-After
	CodeCrossOrigin        = "cross_origin"           // 403: Origin header names another host
	CodeNotFound           = "not_found"              // 404: no such endpoint
	CodeMethodNotAllowed   = "method_not_allowed"     // 405: see the Allow header
	CodeUnsupportedMedia   = "unsupported_media_type" // 415: JSON endpoint without application/json, or a form upload
	CodeBadRequest         = "bad_request"            // 400: body is not the expected JSON object
	CodeTooLarge           = "too_large"              // 413: body over the endpoint's cap
	CodeBadLicense         = "bad_license"            // 422: not a license file, or a bad or unknown signature
	CodeWrongProduct       = "wrong_product"          // 422: license or package for another product (or vendor, channel)
	CodeWrongInstance      = "wrong_instance"         // 422: license bound to another installation
	CodeLicenseExpired     = "license_expired"        // 422 on PUT /license, 402 from the gate
	CodeLicenseNotYetValid = "license_not_yet_valid"  // 422 on PUT /license, 402 from the gate
	CodeLicenseRevoked     = "license_revoked"        // 422: license id or key revoked
	CodeLicenseSuperseded  = "license_superseded"     // 409: older than a license already accepted
	CodeClockRollback      = "clock_rollback"         // 409: the clock is behind the last time seen
	CodeUpdateInProgress   = "update_in_progress"     // 409: another upload or install runs, or a reboot is under way
	CodeDowngrade          = "downgrade"              // 409: package not newer than the installed one (also a replay)
	CodeNotApplicable      = "not_applicable"         // 409: package does not apply to the installed version, or one is pending
	CodeBadPackage         = "bad_package"            // 422: signature, digest or format of the package is bad
	CodeNoSpace            = "no_space"               // 507: not enough room for the update
	CodeInstallFailed      = "install_failed"         // 500: the installer failed for another reason
	CodeNotSupported       = "not_supported"          // 501: no Updater or no Reboot configured
	CodeInternal           = "internal"               // 500: the state directory could not be read or written
	CodeBusy               = "busy"                   // 409: a support bundle, backup or restore is already running
	CodeBadKey             = "bad_key"                // 422: a backup recipient is not a usable OpenPGP public key
	CodeBadBackup          = "bad_backup"             // 422: wrong passphrase, or the backup is damaged, changed or not a backup
	CodeRestoreFailed      = "restore_failed"         // 500: the restore failed for another reason; the data is unchanged
	CodeNoLicense          = "no_license"             // 402 from the gate: no license installed
	CodeSeatsExceeded      = "seats_exceeded"         // 402 from the gate: more seats in use than licensed
	CodeFeatureMissing     = "feature_missing"        // 402 from the gate: the license lacks the feature
)

// APIError is a refusal as the admin API and the license gate send it:
// Status is the HTTP status, Code one of the Code* constants. Its JSON form
// is the inner object of {"error": ...}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("agent: %d %s: %s", e.Status, e.Code, e.Message)
}

// LicenseError says why LicenseStore.Install refused a license. Code is the
// API code; it matches ErrLicenseRefused and the license package's error.
type LicenseError struct {
	Code string
	Err  error
}

func (e *LicenseError) Error() string {
	return fmt.Sprintf("%v (%s): %v", ErrLicenseRefused, e.Code, e.Err)
}

func (e *LicenseError) Unwrap() []error { return []error{ErrLicenseRefused, e.Err} }
