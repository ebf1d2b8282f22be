package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLength is the shortest admin password accepted, in
// characters. Passwords over maxPasswordBytes are refused too, so a huge
// one cannot make the key derivation slow.
const (
	MinPasswordLength = 12
	maxPasswordBytes  = 1024
)

// maxSessions caps the bearer tokens kept: each login adds one and the
// oldest beyond the cap stop working.
const maxSessions = 16

// DefaultSessionLifetime is how long a bearer token works after it was
// issued, unless ServerOptions.SessionLifetime says otherwise: a token
// copied from a script or a shell history stops working by itself.
const DefaultSessionLifetime = 12 * time.Hour

// session is one live bearer token: its SHA-256 and when it was issued.
type session struct {
	Hash   []byte    `json:"hash"`
	Issued time.Time `json:"issued"`
}

// kdfParams are Argon2id's parameters, stored with each hash so that they
// can be raised later without locking anyone out. The defaults follow
// OWASP's minimum for Argon2id (19 MiB, 2 passes).
type kdfParams struct {
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memoryKiB"`
	Threads uint8  `json:"threads"`
}

var defaultKDF = kdfParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// passwordHash is an Argon2id hash of the admin password.
type passwordHash struct {
	Algorithm string    `json:"algorithm"` // "argon2id"
	Params    kdfParams `json:"params"`
	Salt      []byte    `json:"salt"`
	Hash      []byte    `json:"hash"`
}

// adminState is the claimed appliance's credential file: the password hash
// and the SHA-256 hashes of the live bearer tokens (high-entropy random
// tokens need no slow hash). Nothing in it is a usable secret.
type adminState struct {
	Password passwordHash `json:"password"`
	Sessions []session    `json:"sessions"`
	Claimed  time.Time    `json:"claimed"`
}

// kdfSlots bounds concurrent password hashing (each takes 19 MiB), so
// parallel logins cannot exhaust memory.
var kdfSlots = make(chan struct{}, 2)

func checkPassword(p string) bool {
	return utf8.ValidString(p) && utf8.RuneCountInString(p) >= MinPasswordLength && len(p) <= maxPasswordBytes
}

// errKDFBusy: every hashing slot stayed taken until the request ended.
var errKDFBusy = errors.New("agent: password hashing is busy")

// kdfSlot waits for a hashing slot as long as ctx lives, so a flood of
// logins queues only as long as its requests do.
func kdfSlot(ctx context.Context) (release func(), err error) {
	select {
	case kdfSlots <- struct{}{}:
		return func() { <-kdfSlots }, nil
	case <-ctx.Done():
		return nil, errKDFBusy
	}
}

func hashPassword(ctx context.Context, rand io.Reader, password string) (passwordHash, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return passwordHash{}, err
	}
	p := defaultKDF
	release, err := kdfSlot(ctx)
	if err != nil {
		return passwordHash{}, err
	}
	defer release()
	return passwordHash{Algorithm: "argon2id", Params: p, Salt: salt,
		Hash: argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)}, nil
}

// verify compares in constant time. Parameters read from disk are bounded
// so a planted file cannot demand gigabytes.
func (h *passwordHash) verify(ctx context.Context, password string) (bool, error) {
	p := h.Params
	if h.Algorithm != "argon2id" || len(h.Hash) != 32 || len(h.Salt) < 8 || p.Time == 0 || p.Time > 16 ||
		p.Memory < 1024 || p.Memory > 256*1024 || p.Threads == 0 || len(password) > maxPasswordBytes {
		return false, nil
	}
	release, err := kdfSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), h.Salt, p.Time, p.Memory, p.Threads, 32)
	return subtle.ConstantTimeCompare(got, h.Hash) == 1, nil
}

// newBearer returns a fresh 256-bit bearer token and its hash.
func newBearer(rand io.Reader) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, tokenHash(tok), nil
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// hasSession reports whether h is a live token at now (issued no longer
// than lifetime ago, and not in the future: a clock set back does not
// revive or extend a token). It compares with every stored hash without
// stopping early.
func (a *adminState) hasSession(h []byte, now time.Time, lifetime time.Duration) bool {
	ok := 0
	for _, s := range a.Sessions {
		live := !now.Before(s.Issued) && now.Sub(s.Issued) < lifetime
		if subtle.ConstantTimeCompare(s.Hash, h) == 1 && live {
			ok = 1
		}
	}
	return ok == 1
}

// addSession adds a token issued at now and drops the expired ones and
// the oldest beyond maxSessions.
func (a *adminState) addSession(h []byte, now time.Time, lifetime time.Duration) {
	kept := make([]session, 0, len(a.Sessions)+1)
	for _, s := range a.Sessions {
		if !now.Before(s.Issued) && now.Sub(s.Issued) < lifetime {
			kept = append(kept, s)
		}
	}
	kept = append(kept, session{Hash: h, Issued: now.UTC()})
	if n := len(kept); n > maxSessions {
		kept = kept[n-maxSessions:]
	}
	a.Sessions = kept
}

// removeSession drops the token h (logout); it reports whether it was
// there.
func (a *adminState) removeSession(h []byte) bool {
	kept := make([]session, 0, len(a.Sessions))
	for _, s := range a.Sessions {
		if subtle.ConstantTimeCompare(s.Hash, h) != 1 {
			kept = append(kept, s)
		}
	}
	removed := len(kept) != len(a.Sessions)
	a.Sessions = kept
	return removed
}

func loadAdmin(dir string) (*adminState, error) {
	b, err := readState(dir, stateAdmin, maxStateFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var a adminState
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrState, stateAdmin, err)
	}
	return &a, nil
}

func saveAdmin(dir string, a *adminState) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return writeStateFile(dir, stateAdmin, b, 0o600)
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 512
}

// Backoff after failed authentication, per client address: the first
// freeFailures failures are answered at once; after that the address is
// locked out (429 with Retry-After) for a time that doubles with every
// further failure, up to maxLockout. No handler ever sleeps.
const (
	freeFailures = 5
	baseLockout  = time.Second
	maxLockout   = 5 * time.Minute
	forgetAfter  = time.Hour
	maxClients   = 4096
)

type limiter struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*failures
}

type failures struct {
	n     int
	until time.Time
	last  time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, m: map[string]*failures{}}
}

// wait returns how long ip must still wait (0: it may try now).
func (l *limiter) wait(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[ip]
	if f == nil {
		return 0
	}
	if d := f.until.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

// fail records a failure for ip.
func (l *limiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.m[ip]
	if f == nil || now.Sub(f.last) > forgetAfter {
		if len(l.m) >= maxClients {
			l.evict(now)
		}
		f = &failures{}
		l.m[ip] = f
	}
	f.n++
	f.last = now
	if f.n >= freeFailures {
		d := maxLockout
		if shift := f.n - freeFailures; shift < 16 {
			d = min(baseLockout<<shift, maxLockout)
		}
		f.until = now.Add(d)
	}
}

// succeed forgets ip's failures.
func (l *limiter) succeed(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, ip)
}

// evict drops forgotten entries, or any one entry when none is old, so the
// table stays bounded under a flood of addresses.
func (l *limiter) evict(now time.Time) {
	for k, f := range l.m {
		if now.Sub(f.last) > forgetAfter {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxClients {
			break
		}
		delete(l.m, k)
	}
}
