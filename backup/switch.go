package backup

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

// switchTwoRenames moves dir aside and the staged tree in: not atomic (a
// crash between the two renames leaves dir missing, with both trees
// beside it), for systems without an exchanging rename.
func switchTwoRenames(staging, dir string) (old string, err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	old = dir + ".old-" + hex.EncodeToString(rnd[:])
	if err := os.Rename(dir, old); err != nil {
		return "", err
	}
	if err := os.Rename(staging, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return "", rerr
		}
		return "", err
	}
	return old, nil
}
