// Package provenance writes and verifies signed build provenance: an
// in-toto Statement v1 whose predicate is SLSA Provenance v1, wrapped in a
// DSSE envelope signed with the vendor's provenance key. It says which
// outputs a build made (the subjects, with their SHA-256), from what (the
// spec's parameters and the resolved dependencies: kernel, loader, init,
// app tree...), by which builder and when; a customer or an auditor checks
// it with any in-toto or DSSE tool, or with Verify and CheckSubjects.
//
// # Writing
//
// Statement turns an Input into canonical JSON: compact, fields in the
// order of the in-toto and SLSA specifications, object keys sorted,
// subjects and dependencies sorted, times in UTC. The same Input gives
// the same bytes, so a reproducible build gives a reproducible statement
// (use the build epoch for StartedOn and FinishedOn). Sign wraps it in a
// DSSE envelope:
//
//	{"payloadType":"application/vnd.in-toto+json","payload":"<base64 statement>","signatures":[{"keyid":"<key id>","sig":"<base64>"}]}
//
// The signature is a plain Ed25519 signature over DSSE's pre-authentication
// encoding, PAE("application/vnd.in-toto+json", statement) (sign.PAE).
// Unlike fogkit's other Ed25519 signatures, no purpose prefix is folded
// in: DSSE verifiers elsewhere check PAE alone, and PAE already binds the
// payload type. The key is still bound to its purpose: it is the
// provenance.key of the key directory (sign.KeySet.Provenance, purpose
// sign.PurposeProvenance), and Verify accepts only a key on the ring for
// that purpose. The key id is fogkit's (sign.KeyIDFromBytes of the SPKI).
//
// # Verifying
//
// Verify accepts exactly what Sign writes, so that no two readers can
// disagree about what an envelope says: the three envelope fields and no
// others, one signature, canonical padded base64, and a statement in the
// exact canonical form Statement writes (duplicate keys, other spellings
// of a key, escapes or spacing are refused). The envelope is read through
// a cap (16 MiB by default), the statement is at most 8 MiB, and the
// statement is parsed only after its signature holds. CheckSubjects then
// streams each subject's file from a directory (an fs.FS) and compares
// its SHA-256; a flipped byte gives a *SubjectError naming the subject.
//
// Every error matches a sentinel of errors.go with errors.Is; key and
// signature errors also match the sign package's sentinel.
package provenance
