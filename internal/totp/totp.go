// Package totp implements RFC 6238 time-based one-time passwords for
// authenticator apps: secret generation, code computation, verification that
// reports the matched time step (so callers can refuse replays), user-input
// normalisation, and the otpauth:// provisioning URI with its QR code.
//
// Latchkey uses the parameters every authenticator app supports: a 160-bit
// secret, HMAC-SHA1, 6 digits and a 30-second step.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// Fixed TOTP parameters. RFC 6238 §5.2 recommends 30 s; RFC 4226 §4 and
// RFC 6238 §5.1 recommend a key as long as the HMAC output (20 bytes for
// SHA-1). Google Authenticator and several other apps support only SHA-1 with
// 6 digits and 30 s, so these are not configurable.
const (
	Period     = 30 // seconds per time step
	Digits     = 6  // digits per code
	SecretSize = 20 // bytes of secret (160 bits)
)

// minSecretSize is the RFC 4226 §4 floor (R6: "MUST be at least 128 bits").
const minSecretSize = 16

// ErrCodeFormat is returned by NormalizeCode for input that is not a
// 6-digit code. Its message is safe to show to the user.
var ErrCodeFormat = errors.New("code must be 6 digits")

// b32 is RFC 4648 base32 without padding: the Key URI format says padding
// "is not required and should be omitted", and several apps reject '='.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns SecretSize bytes read from rand with io.ReadFull,
// so a short read is an error rather than a partly predictable seed (the bug
// fixed in pquerna/otp v1.5.0). Pass crypto/rand.Reader in production.
func GenerateSecret(rand io.Reader) ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, fmt.Errorf("totp: generate secret: %w", err)
	}
	return secret, nil
}

// EncodeSecret returns secret in upper-case base32 without padding, the form
// used in the otpauth URI and typed by users into apps that cannot scan.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// Step returns the RFC 6238 time step of t: floor(unix seconds / Period),
// with T0 = 0. It is an int64, so it works past 2038 (RFC 6238 §4.2), and it
// rounds down for times before 1970.
func Step(t time.Time) int64 {
	u := t.Unix()
	s := u / Period
	if u < 0 && u%Period != 0 {
		s--
	}
	return s
}

// CodeAt returns the 6-digit code, zero-padded, for secret at the given time
// step. step must not be negative; a negative step is reinterpreted as an
// unsigned 64-bit counter, as RFC 4226 defines no negative counters.
func CodeAt(secret []byte, step int64) string {
	return hotpValue(secret, uint64(step), sha1.New, Digits)
}

// Verify reports whether code is the code for one of the steps
// Step(now)-skew .. Step(now)+skew, and if so which step matched. Callers
// store that step and refuse any later code whose step is not greater, which
// makes each code single-use (RFC 6238 §5.2, NIST SP 800-63B §3.1.4.2).
//
// code must already be normalised (see NormalizeCode); anything that is not
// Digits long is refused. A negative skew counts as 0. Steps before the
// epoch never match. If two steps in the window share the code, the latest
// one is returned, so a replay guard keyed on it refuses the value at the
// earlier steps too.
func Verify(secret []byte, code string, now time.Time, skew int) (step int64, ok bool) {
	// The length is public (every valid code has Digits digits), so checking
	// it first leaks nothing; ConstantTimeCompare returns early on a length
	// mismatch anyway.
	if len(code) != Digits {
		return 0, false
	}
	if skew < 0 {
		skew = 0
	}
	cur := Step(now)
	var matched int64
	var found int
	// Every candidate is computed and compared, and the result is merged
	// with masks rather than branches, so the time taken does not depend on
	// which step (if any) matched or on how many leading digits were right.
	for i := -int64(skew); i <= int64(skew); i++ {
		s := cur + i
		eq := subtle.ConstantTimeCompare([]byte(CodeAt(secret, s)), []byte(code))
		eq &= int(^uint64(s)>>63) & 1 // 0 for negative steps
		mask := -int64(eq)            // all ones when eq == 1
		matched = (s & mask) | (matched &^ mask)
		found |= eq
	}
	if found != 1 {
		return 0, false
	}
	return matched, true
}

// NormalizeCode turns what a user typed into a code for Verify: it removes
// ASCII spaces and '-' (apps show "123 456"), then requires exactly Digits
// ASCII digits. Otherwise it returns ErrCodeFormat, whose message never
// contains the input.
func NormalizeCode(s string) (string, error) {
	var buf [Digits]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case c < '0' || c > '9' || n == Digits:
			return "", ErrCodeFormat
		}
		buf[n] = c
		n++
	}
	if n != Digits {
		return "", ErrCodeFormat
	}
	return string(buf[:]), nil
}

// URI returns the provisioning URI in the Google Authenticator Key URI
// format:
//
//	otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>
//
// The label prefix and the issuer parameter are always equal, as the format
// recommends. Both parts of the label and the issuer parameter are
// percent-encoded (only RFC 3986 unreserved characters, and '@' in the
// label, stay as they are; a space becomes %20, never '+', which some apps
// show literally). The secret is base32 without padding.
//
// algorithm, digits and period are omitted: their defaults (SHA1, 6, 30) are
// exactly Latchkey's values, several apps ignore them anyway, and a shorter
// URI gives a smaller, easier to scan QR code.
//
// It returns an error if issuer or account is empty or contains ':' (the
// format forbids it, and apps would split the label in the wrong place), or
// if secret is shorter than 128 bits (RFC 4226 §4).
func URI(issuer, account string, secret []byte) (string, error) {
	switch {
	case issuer == "":
		return "", errors.New("totp: issuer is empty")
	case account == "":
		return "", errors.New("totp: account name is empty")
	case strings.Contains(issuer, ":"):
		return "", errors.New("totp: issuer contains ':'")
	case strings.Contains(account, ":"):
		return "", errors.New("totp: account name contains ':'")
	case len(secret) < minSecretSize:
		return "", fmt.Errorf("totp: secret must be at least %d bytes", minSecretSize)
	}
	// Built by hand rather than with pquerna/otp's totp.Generate, whose
	// query encoding leaves '&', '+' and '=' unescaped: an issuer such as
	// "A&B" would break the issuer parameter.
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(escape(issuer, false))
	b.WriteByte(':')
	b.WriteString(escape(account, true))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	b.WriteString("&issuer=")
	b.WriteString(escape(issuer, false))
	return b.String(), nil
}

// escape percent-encodes every byte of s except the RFC 3986 unreserved
// characters and, if keepAt, '@' (common in account names and legal in a
// path). The result is safe both in a path segment and in a query value.
func escape(s string, keepAt bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', keepAt && c == '@':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}

// hotpValue is RFC 4226 HOTP generalised to any HMAC hash and digit count, as
// RFC 6238 allows: HMAC(key, counter as 8 big-endian bytes), dynamic
// truncation, modulo 10^digits, zero-padded. digits must be 1..9.
//
// CodeAt uses it directly, so the RFC 4226 and RFC 6238 vector tests cover
// the code path production runs.
func hotpValue(key []byte, counter uint64, h func() hash.Hash, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(h, key)
	mac.Write(msg[:])
	var sumBuf [64]byte
	sum := mac.Sum(sumBuf[:0])

	// Dynamic truncation, RFC 4226 §5.3.
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff

	out := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}
