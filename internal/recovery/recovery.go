// Package recovery generates and parses account recovery codes: 120 random
// bits written as 24 Crockford base32 characters, shown to the user in
// groups of four ("ABCD-EFGH-...").
//
// 120 bits is above the 112 bits at which NIST SP 800-63B §3.1.2.2 and ASVS
// 6.5.2 allow a look-up secret to be stored with a plain (here keyed) hash
// instead of a password hash; the keyed hash itself lives in secretbox.
package recovery

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Length is the number of characters in a normalised code: 24 Crockford
// base32 characters carry 120 bits.
const Length = 24

// randomBytes is the entropy of a code: 15 bytes = 120 bits = 24 × 5 bits,
// so base32 needs no padding.
const randomBytes = 15

// alphabet is Crockford's base32 alphabet: digits and upper-case letters
// without I, L, O (read as 1, 1, 0) and U (avoids accidental words).
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var encoding = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// ErrFormat is returned by Normalize for input that is not a recovery code.
// Its message is safe to show to the user and never contains the input.
var ErrFormat = errors.New("recovery code must be 24 characters: digits and letters, without U")

// canonical maps an input byte to its alphabet character, or 0 if it has
// none. Lower case is folded, and Crockford's look-alikes are mapped: O to 0,
// I and L to 1. U has no mapping.
func canonical(c byte) byte {
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	switch c {
	case 'O':
		return '0'
	case 'I', 'L':
		return '1'
	case 'U':
		return 0
	}
	if '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' {
		return c
	}
	return 0
}

// Generate returns a new code of Length characters from 15 bytes read from
// rand with io.ReadFull, so a short read fails instead of giving a partly
// predictable code. Pass crypto/rand.Reader in production.
func Generate(rand io.Reader) (string, error) {
	var b [randomBytes]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("recovery: generate code: %w", err)
	}
	return encoding.EncodeToString(b[:]), nil
}

// Format returns code in groups of four joined by '-', the form shown to
// users: "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01". It expects a normalised code; a
// shorter last group is left as it is.
func Format(code string) string {
	var b strings.Builder
	b.Grow(len(code) + len(code)/4)
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}

// Normalize parses a code typed or pasted by a user. It ignores ASCII
// spaces and '-', folds case, reads O as 0 and I and L as 1 (Crockford), and
// then requires exactly Length characters of the alphabet. Anything else,
// including U, returns ErrFormat. The result is what Generate returns, and
// Normalize of a result returns it unchanged.
func Normalize(input string) (string, error) {
	var out [Length]byte
	n := 0
	for i := 0; i < len(input); i++ {
		c := input[i]
		if c == ' ' || c == '-' {
			continue
		}
		d := canonical(c)
		// Stop at the first extra character: a long input costs no more.
		if d == 0 || n == Length {
			return "", ErrFormat
		}
		out[n] = d
		n++
	}
	if n != Length {
		return "", ErrFormat
	}
	return string(out[:]), nil
}
