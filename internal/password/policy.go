package password

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// Length limits of the policy, in characters (Unicode code points after
// NFKC normalization), as NIST SP 800-63B-4 counts them.
const (
	// MinLength is the shortest password Validate accepts: NIST's minimum
	// for a password used with a second factor.
	MinLength = 8
	// RecommendedLength is what the error for a short password suggests:
	// NIST's minimum for a password used alone.
	RecommendedLength = 15
	// MaxLength is the longest password Validate accepts. NIST asks for at
	// least 64; 256 leaves room for passphrases while bounding the work.
	MaxLength = 256
)

// minContextWord is the length, in characters, below which a context word
// is ignored: a guesser gains little from knowing "jo" or "li", and refusing
// every password that contains them would refuse many good ones.
const minContextWord = 4

// Limits of the pattern rule (see ValidateFor), in characters.
const (
	// minPattern is the shortest text that counts as a pattern: "wxwx2024!"
	// is refused, while three characters ("abc12345") are too few to call
	// one.
	minPattern = 4
	// maxRepeatedUnit is the longest unit whose repeats count as a pattern:
	// "abcdabcd" is guessed early, while a longer unit is freely chosen
	// ("kx8vqkx8vq" holds five random characters).
	maxRepeatedUnit = 4
	// minKeyboardRun is the shortest run along a keyboard row that counts as
	// a pattern; the blocklist already holds the common shorter ones.
	minKeyboardRun = 8
)

// maxCommonSuffix is the longest run of digits or symbols after a common
// password that still counts as a common variant.
const maxCommonSuffix = 5

// The policy's errors. Their messages are shown to users as they are, so
// they are sentences and never contain the password.
var (
	errTooShort   = fmt.Errorf("password must be at least %d characters (%d or more recommended)", MinLength, RecommendedLength)
	errTooLong    = fmt.Errorf("password must be at most %d characters", MaxLength)
	errInvalid    = errors.New("password contains bytes that are not valid text; type it again")
	errCommon     = errors.New("password is too common; choose another")
	errCommonPlus = errors.New("password is a common password with digits or symbols added; choose another")
	errPattern    = errors.New("password must not be a repeated or sequential pattern; choose another")
	errContext    = errors.New("password must not contain the name of this service or your email address")
)

// Validate is ValidateFor with no context words.
func Validate(password string) error { return ValidateFor(password) }

// ValidateFor applies the password policy of NIST SP 800-63B-4 to a new
// password, after NFKC normalization: MinLength to MaxLength characters, not
// on the built-in blocklist (ignoring case), and free of the context words.
// There are no composition rules (no "one digit, one symbol"): NIST found
// they make passwords harder to remember without making them harder to
// guess.
//
// The blocklist holds the 10,000 most common passwords. A common password
// followed by up to five digits or symbols ("password123", "Summer2024!") is
// refused too: guessers try exactly those variants first.
//
// A pattern is refused, alone or before up to five digits or symbols (and
// ignoring case): one unit of one to four characters repeated ("aaaaaaaa",
// "abcabcabc", "12341234"), a run of consecutive characters up or down
// ("abcdefgh", "9876543210"; digits wrap around, "78901234"), or a run of at
// least eight keys along a keyboard row ("poiuytrewq").
//
// Each context word is something a guesser targeting this account knows:
// the name of the service, the user's email address. The password must not
// contain it, ignoring case (Unicode case folding after NFKC). A word is
// also checked in parts, split on anything but letters and digits, and with
// those separators removed: "john.smith@example.com" gives "john.smith",
// "john", "smith" and "johnsmith" (for an email address only the part
// before the "@" is used, and the password must not be the whole address).
// Words shorter than four characters are ignored.
//
// The error's message is a sentence fit to show the user; it never contains
// the password.
func ValidateFor(password string, context ...string) error {
	// Refuse a huge input before normalizing it: no password of MaxLength
	// characters comes near this many bytes, even with combining marks.
	if len(password) > 64*MaxLength {
		return errTooLong
	}
	if !utf8.ValidString(password) {
		return errInvalid
	}
	password = normalize(password)
	n := utf8.RuneCountInString(password)
	if n < MinLength {
		return errTooShort
	}
	if n > MaxLength {
		return errTooLong
	}
	lower := strings.ToLower(password)
	blocked := blocklist()
	if _, ok := blocked[lower]; ok {
		return errCommon
	}
	stem := strings.TrimRightFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	// Only a short suffix makes a variant: "dragon2024!" is guessed early,
	// "dragon839201746" carries real entropy in its digits.
	short := utf8.RuneCountInString(lower)-utf8.RuneCountInString(stem) <= maxCommonSuffix
	if _, ok := blocked[stem]; stem != "" && ok && short {
		return errCommonPlus
	}
	// Guessers try patterns right after common passwords, with the same
	// short suffixes.
	if isPattern(lower) || (stem != lower && short && isPattern(stem)) {
		return errPattern
	}
	if len(context) > 0 && containsContext(fold(password), context) {
		return errContext
	}
	return nil
}

// isPattern reports whether s, in lowercase, is a repeated unit, a run of
// consecutive characters or a run along a keyboard row (see ValidateFor).
func isPattern(s string) bool {
	r := []rune(s)
	if len(r) < minPattern {
		return false
	}
	return isRepeated(r) || isSequential(r) || isKeyboardRun(r)
}

// isRepeated reports whether r is a unit of at most maxRepeatedUnit
// characters repeated at least twice; the last repeat may be cut short
// ("abcabcab").
func isRepeated(r []rune) bool {
	for unit := 1; unit <= maxRepeatedUnit && 2*unit <= len(r); unit++ {
		repeats := true
		for i := unit; i < len(r) && repeats; i++ {
			repeats = r[i] == r[i-unit]
		}
		if repeats {
			return true
		}
	}
	return false
}

// isSequential reports whether each character of r is the one after the
// character before it, or each is the one before: "abcdef", "fedcba",
// "αβγδ". Digits wrap around as they do on the number row: "78901234".
func isSequential(r []rune) bool {
	for _, step := range []rune{1, -1} {
		follows := true
		for i := 1; i < len(r) && follows; i++ {
			a, b := r[i-1], r[i]
			follows = b == a+step || (isDigit(a) && isDigit(b) && (a-'0'+step+10)%10 == b-'0')
		}
		if follows {
			return true
		}
	}
	return false
}

// isDigit reports whether r is an ASCII digit.
func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// isKeyboardRun reports whether r, of at least minKeyboardRun characters,
// is a run of neighbouring keys along one row of a QWERTY, QWERTZ or AZERTY
// keyboard, left to right or right to left.
func isKeyboardRun(r []rune) bool {
	if len(r) < minKeyboardRun {
		return false
	}
	rows := [...]string{
		"`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", // QWERTY
		"qwertzuiop", "azertyuiop", "qsdfghjklm", // QWERTZ, AZERTY
	}
	backward := slices.Clone(r)
	slices.Reverse(backward)
	forward, back := string(r), string(backward)
	for _, row := range rows {
		if strings.Contains(row, forward) || strings.Contains(row, back) {
			return true
		}
	}
	return false
}

// containsContext reports whether the folded password contains one of the
// context words, or is a whole email address among them (see ValidateFor).
func containsContext(password string, context []string) bool {
	for _, word := range context {
		word = fold(word)
		if at := strings.LastIndex(word, "@"); at >= 0 {
			if password == word {
				return true
			}
			// The domain is shared by every user of a provider ("gmail")
			// and says little about this one; the local part is theirs.
			word = word[:at]
		}
		parts := strings.FieldsFunc(word, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
		})
		for _, w := range append(parts, word, strings.Join(parts, "")) {
			if utf8.RuneCountInString(w) >= minContextWord && strings.Contains(password, w) {
				return true
			}
		}
	}
	return false
}

// fold returns s in NFKC form with its case folded, so that "LATCHKEY",
// "Latchkey" and fullwidth "Ｌａｔｃｈｋｅｙ" compare equal. Folding can undo
// the normalization of a few characters, hence the second NFKC.
func fold(s string) string {
	// A Caser keeps state between calls, so each call gets its own.
	return normalize(cases.Fold().String(normalize(s)))
}

// blocklistTxt is the 10,000 most common passwords, one per line, lowercase:
// Passwords/Common-Credentials/10k-most-common.txt from SecLists
// (github.com/danielmiessler/SecLists, commit 4f84b3c, MIT licence), stored
// as it is except for LF line endings.
//
//go:embed blocklist.txt
var blocklistTxt string

// blocklist returns the blocklist as a set, built on first use.
var blocklist = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(strings.TrimSpace(blocklistTxt), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, line := range lines {
		if line = strings.TrimSpace(line); line != "" {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
})
