// Package phone validates, normalises and masks the phone numbers users give
// for SMS codes. Numbers are stored and compared in E.164 form ("+14155552671");
// validation uses github.com/nyaruka/phonenumbers, a port of Google's
// libphonenumber metadata.
package phone

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInputLen is the longest input Parse looks at, in bytes. A formatted
// international number with spaces and brackets fits easily; anything longer
// is refused before it reaches the parser.
const MaxInputLen = 64

// ErrInvalid is returned by Parse for every refused input. Its message is
// safe to show to the user and never contains the input.
var ErrInvalid = errors.New("phone must be a valid mobile number in international format, e.g. +1 415 555 2671")

// maxE164Len is '+' and at most 15 digits (ITU-T E.164 §6.1).
const maxE164Len = 16

// Parse validates a number typed by a user, either international ("+44 20
// 7946 0958") or national ("(415) 555-2671") in defaultRegion (an ISO 3166
// code such as "US"), and returns it in E.164 form ("+14155552671").
//
// It accepts only digits, one leading '+', spaces and the separators
// - . ( ) /; letters (vanity numbers, "ext."), extensions and tel: URIs are
// refused, as are numbers that phonenumbers does not consider valid for
// their region. Every refusal returns ErrInvalid.
func Parse(input, defaultRegion string) (string, error) {
	if len(input) > MaxInputLen || !plausibleChars(input) {
		return "", ErrInvalid
	}
	num, err := phonenumbers.Parse(input, strings.ToUpper(defaultRegion))
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if !isE164(e164) {
		return "", ErrInvalid
	}
	return e164, nil
}

// plausibleChars reports whether s holds only the characters a person types
// in a phone number: ASCII digits, separators, and '+' as the first
// non-space character. phonenumbers itself is more lenient (it maps letters
// to digits and drops extensions), which a number for SMS codes must not be.
func plausibleChars(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		case c == '+':
			if strings.TrimLeft(s[:i], " ") != "" {
				return false
			}
		default:
			return false
		}
	}
	return digits > 0
}

// isE164 reports whether s is '+' followed by 1 to 15 ASCII digits, the
// first not a zero (no country code starts with 0).
func isE164(s string) bool {
	if len(s) < 2 || len(s) > maxE164Len || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Region returns the ISO 3166-1 alpha-2 region of an E.164 number ("US",
// "GB"), or "" when e164 is not in E.164 form or the region is not known.
// Non-geographic numbers (+800, +882...) have no region and return "".
func Region(e164 string) string {
	if !isE164(e164) {
		return ""
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if len(r) != 2 || r == phonenumbers.UNKNOWN_REGION {
		return ""
	}
	return r
}

// Allowed reports whether the region of e164 is in regions, compared without
// regard to case. An empty list allows every number; with a non-empty list a
// number without a known region is refused, so the allow-list fails closed.
func Allowed(e164 string, regions []string) bool {
	if len(regions) == 0 {
		return true
	}
	r := Region(e164)
	if r == "" {
		return false
	}
	for _, allowed := range regions {
		if strings.EqualFold(strings.TrimSpace(allowed), r) {
			return true
		}
	}
	return false
}

// bullet stands for one hidden digit in a masked number.
const bullet = "•"

// maskShown is how many trailing digits Mask shows.
const maskShown = 4

// Mask returns e164 the way the API shows it: the country code, one bullet
// per hidden digit, and the last 4 digits ("+14155552671" →
// "+1••••••2671"). At least 4 digits of the national number stay hidden, so
// short numbers show fewer trailing digits. Input that is not E.164 becomes
// "+••••". The result always matches ^\+[0-9]{0,3}•+[0-9]{0,4}$.
func Mask(e164 string) string {
	if !isE164(e164) {
		return "+" + strings.Repeat(bullet, maskShown)
	}
	digits := e164[1:]
	cc := countryCode(e164)
	national := digits[len(cc):]
	shown := min(maskShown, max(len(national)-maskShown, 0))
	hidden := max(len(national)-shown, 1)
	return "+" + cc + strings.Repeat(bullet, hidden) + national[len(national)-shown:]
}

// countryCode returns the country calling code of e164 as digits, or "" when
// phonenumbers does not recognise one.
func countryCode(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	cc := strconv.Itoa(int(num.GetCountryCode()))
	if num.GetCountryCode() == 0 || len(cc) > 3 || !strings.HasPrefix(e164[1:], cc) {
		return ""
	}
	return cc
}
