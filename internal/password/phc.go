package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on the parameters of a stored hash. A PHC string comes from the
// database, which an attacker may be able to write to; without bounds, one
// row could make us allocate terabytes (m) or spin for hours (t) per login.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 100
	maxThreads = 64
	minSaltLen = 8 // RFC 9106 asks for at least 8 bytes of salt
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	// maxPHCLen is well above the longest string the bounds allow (about
	// 210 bytes), so any longer input is refused before it is split.
	maxPHCLen = 512
)

// errMalformedHash is wrapped by every error from parsePHC. Its messages
// name the part that is wrong and never echo the input.
var errMalformedHash = errors.New("password: malformed hash")

// b64 is unpadded standard base64, as the PHC string format uses. Strict
// refuses non-zero trailing bits, so each salt and hash has one encoding.
var b64 = base64.RawStdEncoding.Strict()

// encodePHC formats an argon2id hash as a PHC string.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsePHC parses a PHC string made by encodePHC. It is strict: it accepts
// exactly the strings encodePHC can produce within the bounds above (no
// optional fields, no leading zeros, no padding or line breaks in base64),
// so parsing and re-encoding gives back the input.
func parsePHC(s string) (p Params, salt, key []byte, err error) {
	if len(s) > maxPHCLen {
		return Params{}, nil, nil, malformed("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return Params{}, nil, nil, malformed("not a PHC string of 5 fields")
	}
	if parts[1] != "argon2id" {
		return Params{}, nil, nil, malformed("algorithm is not argon2id")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, malformed("unsupported argon2 version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return Params{}, nil, nil, malformed("want parameters m, t and p")
	}
	m, err := parseField(fields[0], "m=", maxMemory)
	if err != nil {
		return Params{}, nil, nil, err
	}
	t, err := parseField(fields[1], "t=", maxTime)
	if err != nil {
		return Params{}, nil, nil, err
	}
	threads, err := parseField(fields[2], "p=", maxThreads)
	if err != nil {
		return Params{}, nil, nil, err
	}
	if salt, err = decodeB64(parts[4], "salt"); err != nil {
		return Params{}, nil, nil, err
	}
	if key, err = decodeB64(parts[5], "hash"); err != nil {
		return Params{}, nil, nil, err
	}
	p = Params{Memory: m, Time: t, Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %w", errMalformedHash, err)
	}
	return p, salt, key, nil
}

// check reports whether p is within the bounds parsePHC accepts.
func (p Params) check() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("p must be 1 to %d", maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("t must be 1 to %d", maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		// argon2 needs 8 KiB per lane; below that IDKey would silently
		// raise m, and the string would not say what was computed.
		return fmt.Errorf("m must be 8*p to %d KiB", maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt must be %d to %d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("hash must be %d to %d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

// parseField parses "<name><decimal>" with no sign and no leading zeros,
// refusing values above max.
func parseField(s, name string, max uint32) (uint32, error) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, malformed("want parameter " + strings.TrimSuffix(name, "="))
	}
	bad := malformed("parameter " + strings.TrimSuffix(name, "=") + " is not a number in range")
	if digits == "" || (digits[0] == '0' && len(digits) > 1) {
		return 0, bad
	}
	var n uint64
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, bad
		}
		n = n*10 + uint64(c-'0')
		if n > uint64(max) {
			return 0, bad
		}
	}
	return uint32(n), nil
}

// decodeB64 decodes unpadded standard base64. The alphabet is checked first
// because the decoder would otherwise skip \r and \n.
func decodeB64(s, what string) ([]byte, error) {
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, malformed(what + " is not unpadded base64")
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, malformed(what + " is not unpadded base64")
	}
	return b, nil
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", errMalformedHash, reason)
}
