package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"Empty", "", errTooShort},
		{"7Chars", "kx8vq2m", errTooShort},
		{"8Chars", "kx8vq2mz", nil},
		{"64Chars", strings.Repeat("kx8vq2mz", 8), nil},
		{"256Chars", strings.Repeat("kx8vq2mz", 32), nil},
		{"257Chars", strings.Repeat("kx8vq2mz", 32) + "k", errTooLong},
		{"Megabyte", strings.Repeat("kx8vq2mz", 1<<17), errTooLong},
		// 256 characters of 4 bytes each are 1 KiB: well inside the byte guard.
		{"256FourByteChars", strings.Repeat("🐴🔋🐝🌵🎈🍋🚲🔑", 32), nil},
		{"Passphrase", "correct horse battery staple violet anchor", nil},
		{"SpacesAllowed", "  two  spaces  ", nil},
		{"Unicode", "мой пароль 🐴🔋", nil},
		{"OnBlocklist", "qwerty123", errCommon},
		{"OnBlocklistUpperCase", "PASSWORD1", errCommon},
		{"OnBlocklistWithSymbols", "iloveyou!", errCommon},
		{"CommonPlusDigits", "password123", errCommonPlus},
		{"CommonPlusDigitsCapital", "Password123", errCommonPlus},
		{"CommonPlusYearAndBang", "Sunshine2024!", errCommonPlus},
		{"CommonPlusLongDigitRun", "dragon839201746", nil},
		{"CommonAsPartOfPhrase", "password manager horse", nil},
		{"DigitsOnlyNotListed", "83920174", nil},
		// NFKC: fullwidth letters and digits are the ASCII ones.
		{"NFKCFullwidthCommon", "ｐａｓｓｗｏｒｄ１２３", errCommonPlus},
		{"NFKCFullwidthOK", "ｋｘ８ｖｑ２ｍｚ", nil},
		// Length counts characters after normalization: e + combining
		// acute is 8 code points typed, 7 after NFKC.
		{"NFKCComposesToShort", "cafe\u0301xyz", errTooShort},
		// The ligatures ﬃ and ﬄ are 6 code points typed, 10 after NFKC.
		{"NFKCExpandsToLong", "ﬃxq7zﬄ", nil},
		{"InvalidUTF8", "kx8vq2mz\xff", errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.password)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("got message %q, want one without the password", err)
			}
		})
	}
}

func TestValidateFor_Context(t *testing.T) {
	const issuer, email = "Latchkey", "john.smith@example.com"
	tests := []struct {
		name     string
		password string
		context  []string
		want     error
	}{
		{"Issuer", "Latchkey1", []string{issuer, email}, errContext},
		{"IssuerWithSuffix", "latchkey-2026!", []string{issuer, email}, errContext},
		{"IssuerInsidePhrase", "my latchkey horse battery", []string{issuer, email}, errContext},
		{"IssuerUpperCase", "LATCHKEY horse", []string{issuer, email}, errContext},
		{"IssuerFullwidth", "ｌａｔｃｈｋｅｙ horse", []string{issuer, email}, errContext},
		{"IssuerGivenFullwidth", "latchkey horse", []string{"ＬＡＴＣＨＫＥＹ"}, errContext},
		{"IssuerGivenUpperCase", "strasse horse battery", []string{"STRASSE"}, errContext},
		{"IssuerFoldedSharpSInPassword", "straße horse battery", []string{"Strasse"}, errContext},
		{"IssuerParts", "acme horse battery", []string{"Acme Login"}, errContext},
		{"IssuerPartsJoined", "acmelogin2026", []string{"Acme-Login"}, errContext},
		{"EmailLocalParts", "JohnSmith99", []string{issuer, email}, errContext},
		{"EmailLocalPartFirst", "john horse battery", []string{issuer, email}, errContext},
		{"EmailLocalPartLast", "battery smith horse", []string{issuer, email}, errContext},
		{"EmailLocalPartWhole", "x john.smith x", []string{issuer, email}, errContext},
		{"EmailPlusTag", "horse staple wonderland", []string{"alice+wonderland@example.com"}, errContext},
		{"EmailUnderscore", "kx8vq2mz maria", []string{"maria_lopez@example.org"}, errContext},
		{"EmailWhole", "jo@ex.com", []string{"JO@EX.COM"}, errContext},
		{"EmailWholeCase", "Jo@Example.com", []string{"jo@example.com"}, errContext},
		{"EmailUnicode", "ÉLODIE horse battery", []string{"élodie@example.fr"}, errContext},
		{"EmailDomainIgnored", "example horse battery", []string{issuer, email}, nil},
		{"ShortWordIgnored", "horse abc battery", []string{"abc"}, nil},
		{"ShortPartsIgnored", "jo li horse battery", []string{"jo.li@example.com"}, nil},
		{"ShortPartJoinedIsLong", "jolibattery", []string{"jo.li@example.com"}, errContext},
		{"EmptyWordIgnored", "kx8vq2mzpl", []string{"", "@", "..."}, nil},
		{"NoContext", "Latchkey1", nil, nil},
		{"Passphrase", "correct horse battery staple", []string{issuer, email}, nil},
		{"Random", "kx8vq2mzpl", []string{issuer, email}, nil},
		{"PartialWord", "latch key horse", []string{issuer, email}, nil},
		// The shorter rules come first: a short password is told it is short.
		{"TooShortFirst", "john123", []string{issuer, email}, errTooShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateFor(tc.password, tc.context...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.password) {
				t.Errorf("got message %q, want one without the password", err)
			}
		})
	}
}

func TestValidate_Patterns(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"OneCharRepeated", "aaaaaaaaaa", errPattern},
		{"OneCharRepeatedUpperCase", "AAAAAAAAAA", errPattern},
		{"OneSymbolRepeated", "!!!!!!!!", errPattern},
		{"OneEmojiRepeated", "🐴🐴🐴🐴🐴🐴🐴🐴", errPattern},
		{"TwoCharsRepeated", "abababab", errPattern},
		{"TwoCharsRepeatedMixedCase", "AbAbabAB", errPattern},
		{"ThreeCharsRepeated", "abcabcabc", errPattern},
		{"ThreeCharsRepeatedCutShort", "xyzxyzxy", errPattern},
		{"FourDigitsRepeated", "56785678", errPattern},
		{"FourCharsRepeated", "ab1!ab1!ab1!", errPattern},
		{"SpacesRepeated", "ab ab ab ab", errPattern},
		{"Ascending", "abcdefghij", errPattern},
		{"AscendingUpperCase", "LMNOPQRS", errPattern},
		{"Descending", "zyxwvuts", errPattern},
		{"DigitsAscending", "2345678901", errPattern},
		{"DigitsDescending", "9876543210", errPattern},
		{"DigitsDescendingWrap", "0987654321", errPattern},
		{"GreekAscending", "αβγδεζηθ", errPattern},
		// Fullwidth letters are ASCII letters after NFKC.
		{"FullwidthAscending", "ｃｄｅｆｇｈｉｊ", errPattern},
		{"KeyboardRowBackward", "poiuytrewq", errPattern},
		{"KeyboardRowOffset", "wertyuiop", errPattern},
		{"KeyboardHomeRowBackward", "lkjhgfdsa", errPattern},
		{"KeyboardRowWithSymbols", "fghjkl;'", errPattern},
		{"KeyboardNumberRow", "567890-=", errPattern},
		{"KeyboardAZERTY", "azertyuiop", errPattern},
		{"KeyboardQWERTZ", "qwertzuiop", errPattern},
		{"RepeatedPlusSuffix", "abababab1!", errPattern},
		{"RepeatedShortPlusSuffix", "wxwx2024!", errPattern},
		{"AscendingPlusSuffix", "mnopqrst99", errPattern},
		{"KeyboardRowPlusSuffix", "sdfghjkl2024", errPattern},
		// A common pattern is reported as common: the blocklist comes first.
		{"RepeatedOnBlocklist", "12341234", errCommon},
		{"KeyboardRowOnBlocklist", "qwertyuiop", errCommon},
		{"RepeatedOnBlocklistPlusSuffix", "aaaaaaaa1!", errCommonPlus},
		{"Passphrase", "correct horse battery staple", nil},
		{"Random", "kx8vq2mzpl", nil},
		{"UnitOfFiveRepeated", "kx8vqkx8vq", nil},
		{"RepeatBroken", "abababax", nil},
		{"AscendingBroken", "abcdefgz", nil},
		{"StepOfTwo", "acegikmo", nil},
		{"DigitsNotInARun", "83920174", nil},
		{"PatternThenLetters", "abcdkx8vq2", nil},
		{"PatternPlusLongSuffix", "aaaa839201", nil},
		{"ShortStemPlusSuffix", "kxqv2024!", nil},
		{"KeyboardRunTooShort", "sdfghjk1", nil},
		{"KeyboardTwoRows", "yuiophjkl", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.password)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.password) {
				t.Errorf("got message %q, want one without the password", err)
			}
		})
	}
}

func TestValidate_Messages(t *testing.T) {
	tests := []struct {
		password string
		want     string
	}{
		{"short", "password must be at least 8 characters (15 or more recommended)"},
		{strings.Repeat("a", 300), "password must be at most 256 characters"},
		{"baseball", "password is too common; choose another"},
		{"baseball99", "password is a common password with digits or symbols added; choose another"},
		{"abcdefghij", "password must not be a repeated or sequential pattern; choose another"},
		{"Latchkey1", "password must not contain the name of this service or your email address"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			err := ValidateFor(tc.password, "Latchkey", "john.smith@example.com")
			if err == nil {
				t.Fatalf("got nil, want %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzValidateFor checks that ValidateFor never panics, that its error is
// one of the policy's errors, whose messages are fixed and so can never
// carry the password, and that context words only ever add a refusal.
//
// Run it with -fuzzminimizetime=200x: new coverage inside the Unicode tables
// turns up often, and minimizing each input for the default minute stalls
// the search.
func FuzzValidateFor(f *testing.F) {
	seeds := []struct{ password, issuer, email string }{
		{"correct horse battery staple", "Latchkey", "john.smith@example.com"},
		{"Latchkey1", "Latchkey", "john.smith@example.com"},
		{"JohnSmith99", "Latchkey", "john.smith@example.com"},
		{"jo@ex.com", "Latchkey", "JO@EX.COM"},
		{"straße horse battery", "Strasse", "a@b"},
		{"ｌａｔｃｈｋｅｙ horse", "ＬＡＴＣＨＫＥＹ", "@"},
		{"abababab1!", "", ""},
		{"9876543210", "", "..."},
		{"poiuytrewq", "x", "x+y_z-w@example.org"},
		{"password123", "Latchkey", ""},
		{"cafe\u0301xyz", "café", "élodie@example.fr"},
		{"kx8vq2mz\xff", "\xff\xfe", "\xff@\xff"},
		{strings.Repeat("a", 300), "aaaa", "aaaa@aaaa"},
	}
	for _, s := range seeds {
		f.Add(s.password, s.issuer, s.email)
	}
	policyErrors := []error{errTooShort, errTooLong, errInvalid, errCommon, errCommonPlus, errPattern, errContext}
	f.Fuzz(func(t *testing.T, password, issuer, email string) {
		err := ValidateFor(password, issuer, email)
		if err != nil && !slices.Contains(policyErrors, err) {
			t.Fatalf("got error %q, want one of the policy's errors", err)
		}
		without := Validate(password)
		switch {
		case without != nil && err != without:
			t.Fatalf("with context: got %v, want %v as without", err, without)
		case without == nil && err != nil && err != errContext:
			t.Fatalf("with context: got %v, want nil or %v", err, errContext)
		}
	})
}

func TestBlocklist(t *testing.T) {
	set := blocklist()
	if got := len(set); got != 10000 {
		t.Errorf("size: got %d, want 10000", got)
	}
	for _, pw := range []string{"password", "123456", "qwerty", "iloveyou", "trustno1"} {
		if _, ok := set[pw]; !ok {
			t.Errorf("%q: got not listed, want listed", pw)
		}
	}
	for pw := range set {
		if pw != strings.ToLower(pw) || pw != strings.TrimSpace(pw) {
			t.Errorf("%q: got an entry that is not lowercase and trimmed", pw)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	blocklist() // build the set outside the loop
	for b.Loop() {
		_ = Validate("correct horse battery staple")
	}
}
