package support

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
)

// Redaction works line by line on what is kept of each file, before
// anything reaches the archive. The order is: the vendor's literals, PEM
// private key blocks (the only rule with state across lines), the vendor's
// patterns, then the default rules from the most specific (Authorization
// headers, URLs with a password, JWTs, AWS key ids) to the generic key/value
// forms. A rule never matches a value that already holds a placeholder, so
// one secret is counted once.

const placeholder = "[REDACTED"

// placeholderPlain is what a secret becomes without RedactOptions.Tokenize.
const placeholderPlain = placeholder + "]"

// rule is one regular expression. group is the submatch to replace (0 =
// the whole match); with keyGroup > 0 the match counts only when that
// submatch names a secret (isSecretKey), and the first non-empty submatch
// from group on is the value. pre, when set, is a cheap test a line must
// pass for the rule to run.
type rule struct {
	re       *regexp.Regexp
	group    int
	keyGroup int
	pre      func(line, lower []byte) bool
	// once: the rule is anchored to the whole line and tried once.
	once bool
	// kv: the generic key/value rule, applied by applyKV.
	kv bool
	// secretWord: the rule needs hasSecretWord (computed once a line).
	secretWord bool
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type redactor struct {
	literals [][]byte
	rules    []rule // vendor patterns first, then the defaults
	pem      bool
	token    []byte // HMAC key; nil means plain placeholders
}

// pemMarker finds the armor lines of PEM (and OpenPGP) private keys.
var pemMarker = regexp.MustCompile(`-----(BEGIN|END) [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)

var privateKeyWord = []byte("PRIVATE KEY")

// secretWords are the lower-case fragments a key name must contain to be
// a secret's name; a line without any of them skips the key/value rules.
// ("pw" covers "pwd".)
var secretWords = []string{"pass", "pw", "psk", "secret", "session", "token", "key", "credential", "cookie", "auth"}

// nextSecretWord returns the index of the first secret word in lower at
// or after from, or -1, in one pass.
func nextSecretWord(lower []byte, from int) int {
	for i := from; i+1 < len(lower); i++ {
		var ws []string
		switch lower[i] {
		case 'p':
			ws = secretWords[0:3]
		case 's':
			ws = secretWords[3:5]
		case 't':
			ws = secretWords[5:6]
		case 'k':
			ws = secretWords[6:7]
		case 'c':
			ws = secretWords[7:9]
		case 'a':
			ws = secretWords[9:10]
		default:
			continue
		}
		for _, w := range ws {
			if lower[i+1] == w[1] && len(lower)-i >= len(w) && string(lower[i:i+len(w)]) == w {
				return i
			}
		}
	}
	return -1
}

func hasSecretWord(_, lower []byte) bool { return nextSecretWord(lower, 0) >= 0 }

// isKeyChar says whether c can be part of a key name.
func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '$' || c == '-'
}

func containsLower(words ...string) func(line, lower []byte) bool {
	return func(_, lower []byte) bool {
		for _, w := range words {
			if bytes.Contains(lower, []byte(w)) {
				return true
			}
		}
		return false
	}
}

func containsExact(words ...string) func(line, lower []byte) bool {
	return func(line, _ []byte) bool {
		for _, w := range words {
			if bytes.Contains(line, []byte(w)) {
				return true
			}
		}
		return false
	}
}

const authSchemes = `(?:bearer|basic|digest|token|negotiate|ntlm|apikey)`

// defaultRules are the built-in redactors, in the order they run.
var defaultRules = []rule{
	// Authorization: Bearer xyz / Proxy-Authorization / nginx-style
	// `proxy_set_header Authorization "Basic xyz"`: the scheme stays.
	{re: regexp.MustCompile(`(?i)\b(?:proxy-)?authorization["']?(?:\s*[:=]\s*["']?(?:` + authSchemes + `\s+)?|\s+["']?` + authSchemes + `\s+)([^\s"',;]+)`),
		group: 1, pre: containsLower("authorization")},
	// A bare bearer token anywhere.
	{re: regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})`), group: 1, pre: containsLower("bearer")},
	// Cookie and Set-Cookie headers: every cookie value.
	{re: regexp.MustCompile(`(?i)\b(?:set-)?cookie\s*:\s*(.*\S)`), group: 1, pre: containsLower("cookie")},
	// scheme://user:password@host: the user stays.
	{re: regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]*:([^/\s@'"]+)@`), group: 1, pre: containsExact("://")},
	// JSON Web Tokens (and JWS/JWE compact forms starting with a JSON header).
	{re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}`), pre: containsExact("eyJ")},
	// AWS access key ids.
	{re: regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`), pre: containsExact("AKIA", "ASIA")},
	// YAML-style `key: value` as a whole line: the value is the rest of it.
	{re: regexp.MustCompile(`^\s*(?:-\s+)?["']?([A-Za-z0-9_.$-]+)["']?\s*:\s+(\S.*?)\s*$`), group: 2, keyGroup: 1, secretWord: true, once: true},
	// Config-style `key value` or `key value;` as a whole line (nginx,
	// redis, sshd...).
	{re: regexp.MustCompile(`^\s*([A-Za-z0-9_.$-]+)\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s;"']+))\s*;?\s*$`), group: 2, keyGroup: 1, secretWord: true, once: true},
	// key=value, key: value, "key": "value", KEY="value" anywhere: keyRe
	// finds the names, valueRe the value right after one.
	{kv: true, secretWord: true},
}

// valueRe matches the separator and value after a key name (group 1, 2
// or 3 by quoting).
var valueRe = regexp.MustCompile(`^["']?\s*[=:]\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s,;&"'<>(){}\[\]]+))`)

// secretSubstrings make a key name (Authorization is the header rule's) a secret's wherever they appear in it;
// secretSegments only as a whole segment between punctuation.
var (
	secretSubstrings = []string{"password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
		"accesskey", "access_key", "access-key", "privatekey", "private_key", "private-key", "credential",
		"sessionid", "session_id", "cookie"}
	secretSegments = []string{"pwd", "pass", "pw", "auth", "psk", "key"}
)

// isSecretKey says whether a key name names a secret.
func isSecretKey(k []byte) bool {
	lower := bytes.ToLower(k)
	for _, s := range secretSubstrings {
		if bytes.Contains(lower, []byte(s)) {
			return true
		}
	}
	// requirepass, smtp_pass, dbpwd.
	if bytes.HasSuffix(lower, []byte("pass")) || bytes.HasSuffix(lower, []byte("pwd")) {
		return true
	}
	for seg := range bytes.FieldsFuncSeq(lower, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == '$' }) {
		if slices.Contains(secretSegments, string(seg)) {
			// "key" alone is too common ("key=value" in tests and docs)
			// unless it is a whole key name or ends one: ssh_key, tls.key.
			if string(seg) == "key" && !bytes.HasSuffix(lower, seg) {
				continue
			}
			if string(seg) == "key" && len(lower) == 3 {
				continue
			}
			return true
		}
	}
	return false
}

// notSecret are values that say there is no secret.
var notSecret = []string{"", "null", "none", "nil", "true", "false", "<nil>", "\"\"", "''"}

func newRedactor(o *RedactOptions, tokenKey []byte) (*redactor, error) {
	var ro RedactOptions
	if o != nil {
		ro = *o
	}
	r := &redactor{pem: !ro.NoDefaults}
	if ro.Tokenize {
		r.token = tokenKey
	}
	for _, l := range ro.Literals {
		if l != "" {
			r.literals = append(r.literals, []byte(l))
		}
	}
	// Longest first, so a literal containing another goes whole.
	slices.SortStableFunc(r.literals, func(a, b []byte) int { return len(b) - len(a) })
	for i, p := range ro.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: redact pattern %d: %v", ErrInvalid, i, err)
		}
		g := 0
		if re.NumSubexp() > 0 {
			g = 1
		}
		r.rules = append(r.rules, rule{re: re, group: g})
	}
	if !ro.NoDefaults {
		r.rules = append(r.rules, defaultRules...)
	}
	return r, nil
}

// mask returns the placeholder for secret.
func (r *redactor) mask(secret []byte) []byte {
	if r.token == nil {
		return []byte(placeholderPlain)
	}
	m := hmac.New(sha256.New, r.token)
	m.Write(secret)
	return []byte(placeholder + "-" + hex.EncodeToString(m.Sum(nil)[:4]) + "]")
}

// pemState is what a line reader knows about PEM blocks at a point of a
// file: outside one, inside one, or (when reading started mid-file)
// unknown.
type pemState int8

const (
	pemOut pemState = iota
	pemIn
	pemUnknown
)

// advancePEM returns the state after line, cheaply.
func advancePEM(s pemState, line []byte) pemState {
	if !bytes.Contains(line, privateKeyWord) {
		return s
	}
	for _, m := range pemMarker.FindAllSubmatchIndex(line, -1) {
		if string(line[m[2]:m[3]]) == "BEGIN" {
			s = pemIn
		} else {
			s = pemOut
		}
	}
	return s
}

// startState resolves pemUnknown for lines read from mid-file: when the
// first marker in them ends a block, they start inside it.
func startState(s pemState, lines [][]byte) pemState {
	if s != pemUnknown {
		return s
	}
	for _, l := range lines {
		if !bytes.Contains(l, privateKeyWord) {
			continue
		}
		if m := pemMarker.FindSubmatchIndex(l); m != nil {
			if string(l[m[2]:m[3]]) == "END" {
				return pemIn
			}
			return pemOut
		}
	}
	return pemOut
}

// lineRedactor redacts the lines of one file in order.
type lineRedactor struct {
	r       *redactor
	inPEM   bool
	counted bool // the current PEM block has been counted
	lower   []byte
}

// line returns line redacted (line itself when nothing matched) and the
// number of secrets replaced.
func (lr *lineRedactor) line(line []byte) ([]byte, int) {
	n := 0
	r := lr.r
	for _, lit := range r.literals {
		if bytes.Contains(line, lit) {
			var c int
			line, c = replaceLiteral(line, lit, r.mask(lit))
			n += c
		}
	}
	if r.pem {
		var c int
		line, c = lr.pemLine(line)
		n += c
	}
	if len(line) == 0 {
		return line, n
	}
	lr.lower = asciiLower(lr.lower[:0], line)
	secretWord := -1 // hasSecretWord of the current line, once known
	for i := range r.rules {
		ru := &r.rules[i]
		if ru.secretWord {
			if secretWord < 0 {
				secretWord = boolInt(hasSecretWord(line, lr.lower))
			}
			if secretWord == 0 {
				continue
			}
		} else if ru.pre != nil && !ru.pre(line, lr.lower) {
			continue
		}
		var c int
		if line, c = r.apply(ru, line, lr.lower); c > 0 {
			n += c
			lr.lower = asciiLower(lr.lower[:0], line)
			secretWord = -1
		}
	}
	return line, n
}

func asciiLower(dst, s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func replaceLiteral(line, lit, mask []byte) ([]byte, int) {
	var out []byte
	n := 0
	for {
		i := bytes.Index(line, lit)
		if i < 0 {
			break
		}
		out = append(append(out, line[:i]...), mask...)
		line = line[i+len(lit):]
		n++
	}
	return append(out, line...), n
}

// pemLine handles private key blocks: everything between a BEGIN and its
// END marker goes, on one line (escaped in JSON) or over many.
func (lr *lineRedactor) pemLine(line []byte) ([]byte, int) {
	if !lr.inPEM && !bytes.Contains(line, privateKeyWord) {
		return line, 0
	}
	var out []byte
	n := 0
	for len(line) > 0 {
		m := pemMarker.FindSubmatchIndex(line)
		if lr.inPEM {
			end := len(line)
			if m != nil && string(line[m[2]:m[3]]) == "END" {
				end = m[0]
			} else if m != nil {
				// A BEGIN inside a block: the block before it never
				// ended; keep redacting up to this marker.
				end = m[0]
			}
			if len(bytes.TrimSpace(line[:end])) > 0 {
				out = append(out, lr.r.mask(bytes.TrimSpace(line[:end]))...)
				if !lr.counted {
					// A block whose BEGIN was cut off with the head.
					lr.counted = true
					n++
				}
			}
			if m == nil {
				return out, n
			}
			out = append(out, line[m[0]:m[1]]...)
			lr.inPEM = string(line[m[2]:m[3]]) == "BEGIN"
			lr.counted = lr.inPEM
			if lr.inPEM {
				n++
			}
			line = line[m[1]:]
			continue
		}
		if m == nil {
			return append(out, line...), n
		}
		out = append(out, line[:m[1]]...)
		if string(line[m[2]:m[3]]) == "BEGIN" {
			lr.inPEM, lr.counted = true, true
			n++
		}
		line = line[m[1]:]
	}
	return out, n
}

// applyKV replaces the values of secret keys: it finds a secret word,
// widens it to the key name around it, and matches the value right after.
// Every search starts after the previous key or value, so a line costs
// linear time whatever it holds.
func (r *redactor) applyKV(line, lower []byte) ([]byte, int) {
	var out []byte
	copied, pos, n := 0, 0, 0
	for pos < len(line) {
		w := nextSecretWord(lower, pos)
		if w < 0 {
			break
		}
		ks, ke := w, w
		for ks > pos && isKeyChar(line[ks-1]) {
			ks--
		}
		for ke < len(line) && isKeyChar(line[ke]) {
			ke++
		}
		pos = ke
		if !isSecretKey(line[ks:ke]) {
			continue
		}
		v := valueRe.FindSubmatchIndex(line[ke:])
		if v == nil {
			continue
		}
		vs, ve := -1, -1
		for g := 1; g <= 3; g++ {
			if v[2*g] >= 0 {
				vs, ve = ke+v[2*g], ke+v[2*g+1]
				break
			}
		}
		if vs < 0 || bytes.Contains(line[vs:ve], []byte(placeholder)) || slices.Contains(notSecret, string(bytes.ToLower(line[vs:ve]))) {
			continue
		}
		out = append(out, line[copied:vs]...)
		out = append(out, r.mask(line[vs:ve])...)
		copied, pos = ve, ve
		n++
	}
	if n == 0 {
		return line, 0
	}
	return append(out, line[copied:]...), n
}

// apply runs one rule over line.
func (r *redactor) apply(ru *rule, line, lower []byte) ([]byte, int) {
	if ru.kv {
		return r.applyKV(line, lower)
	}
	var out []byte
	copied, pos, n := 0, 0, 0
	for pos < len(line) {
		m := ru.re.FindSubmatchIndex(line[pos:])
		if m == nil {
			break
		}
		// The value: the first submatch from group on that matched (the
		// key/value rules have one group per quoting style).
		vs, ve := -1, -1
		for g := ru.group; 2*g+1 < len(m); g++ {
			if m[2*g] >= 0 {
				vs, ve = m[2*g], m[2*g+1]
				break
			}
			if ru.keyGroup == 0 {
				break
			}
		}
		next := m[1]
		ok := vs >= 0
		if ok && ru.keyGroup > 0 && !isSecretKey(line[pos+m[2*ru.keyGroup]:pos+m[2*ru.keyGroup+1]]) {
			ok = false
		}
		if ok {
			v := line[pos+vs : pos+ve]
			if bytes.Contains(v, []byte(placeholder)) || slices.Contains(notSecret, string(bytes.ToLower(v))) {
				ok = false
			}
		}
		if ok {
			out = append(out, line[copied:pos+vs]...)
			out = append(out, r.mask(line[pos+vs:pos+ve])...)
			copied = pos + ve
			n++
		}
		if ru.once {
			break
		}
		pos += max(next, 1)
	}
	if n == 0 {
		return line, 0
	}
	return append(out, line[copied:]...), n
}
