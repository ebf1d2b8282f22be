// Package backup exports, verifies and restores an appliance's data tree:
// an OpenPGP-encrypted, compressed tar with a manifest, readable by the
// customer with gpg and tar.
package backup
