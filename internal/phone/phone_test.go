package phone

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		region string
		want   string // "" means an error is expected
	}{
		{"OK/InternationalUS", "+1 (415) 555-2671", "US", "+14155552671"},
		{"OK/InternationalUSNoRegion", "+1 415 555 2671", "", "+14155552671"},
		{"OK/InternationalGB", "+44 20 7946 0958", "US", "+442079460958"},
		{"OK/GBMobile", "+44 7400 123456", "", "+447400123456"},
		{"OK/NationalUS", "(415) 555-2671", "US", "+14155552671"},
		{"OK/NationalLowercaseRegion", "415.555.2671", "us", "+14155552671"},
		{"OK/NationalGB", "020 7946 0958", "GB", "+442079460958"},
		{"OK/NationalDE", "030 123456", "DE", "+4930123456"},
		{"OK/LeadingSpaces", "  +1 415 555 2671 ", "", "+14155552671"},
		{"ErrEmpty", "", "US", ""},
		{"ErrBlank", "   ", "US", ""},
		{"ErrLetters", "+1 415 555 CALL", "US", ""},
		{"ErrVanity", "1-800-FLOWERS", "US", ""},
		{"ErrExtension", "+1 415 555 2671 ext. 12", "US", ""},
		{"ErrExtensionHash", "+1 415 555 2671#12", "US", ""},
		{"ErrTelURI", "tel:+1-415-555-2671", "US", ""},
		{"ErrPlusInMiddle", "1+415 555 2671", "US", ""},
		{"ErrTooShort", "+1 415", "US", ""},
		{"ErrTooShortNational", "12", "US", ""},
		{"ErrTooLong", "+1 415 555 2671 2671 2671", "US", ""},
		{"ErrInvalidAreaCode", "+1 123 555 2671", "US", ""},
		{"ErrInvalidCountryCode", "+999 123 456 789", "US", ""},
		{"ErrNationalWithoutRegion", "(415) 555-2671", "", ""},
		{"ErrUnknownRegion", "(415) 555-2671", "XX", ""},
		{"ErrFullWidthDigits", "+１ ４１５ ５５５ ２６７１", "US", ""},
		{"ErrNUL", "+1 415 555 2671\x00", "US", ""},
		{"Err65Bytes", "+1 415 555 2671" + strings.Repeat(" ", 65-len("+1 415 555 2671")), "US", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.input, tc.region)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q, %q) = %q, want an error", tc.input, tc.region, got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("got error %v, want ErrInvalid", err)
				}
				if got != "" {
					t.Errorf("got %q with the error, want \"\"", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %q): unexpected error %v", tc.input, tc.region, err)
			}
			if got != tc.want {
				t.Errorf("Parse(%q, %q) = %q, want %q", tc.input, tc.region, got, tc.want)
			}
		})
	}
}

func TestParse_64Bytes(t *testing.T) {
	in := "+1 415 555 2671" + strings.Repeat(" ", MaxInputLen-len("+1 415 555 2671"))
	if len(in) != MaxInputLen {
		t.Fatalf("test input is %d bytes, want %d", len(in), MaxInputLen)
	}
	if got, err := Parse(in, "US"); err != nil || got != "+14155552671" {
		t.Errorf("Parse(64 bytes) = %q, %v; want +14155552671, nil", got, err)
	}
}

func TestParse_ErrorNeverEchoesInput(t *testing.T) {
	for _, in := range []string{"+1 415 555 CALL", "4155", "+999 123 456 789", "<script>", strings.Repeat("9", 100)} {
		_, err := Parse(in, "US")
		if err == nil {
			t.Fatalf("Parse(%q): got no error", in)
		}
		if msg := err.Error(); strings.Contains(msg, in) || msg != strings.ToLower(msg[:1])+msg[1:] {
			t.Errorf("Parse(%q) error %q echoes the input or is not lowercase", in, msg)
		}
	}
}

func TestRegion(t *testing.T) {
	tests := []struct {
		e164, want string
	}{
		{"+14155552671", "US"},
		{"+16135550123", "CA"},
		{"+442079460958", "GB"},
		{"+4930123456", "DE"},
		{"+33612345678", "FR"},
		{"+80012345678", ""}, // non-geographic (freephone)
		{"+999123456789", ""},
		{"14155552671", ""},
		{"+1415555267a", ""},
		{"", ""},
		{"+", ""},
	}
	for _, tc := range tests {
		if got := Region(tc.e164); got != tc.want {
			t.Errorf("Region(%q) = %q, want %q", tc.e164, got, tc.want)
		}
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name    string
		e164    string
		regions []string
		want    bool
	}{
		{"EmptyListAllowsAll", "+442079460958", nil, true},
		{"EmptyListAllowsUnknown", "+80012345678", []string{}, true},
		{"InList", "+14155552671", []string{"US", "CA"}, true},
		{"InListLowercase", "+14155552671", []string{" us "}, true},
		{"NotInList", "+442079460958", []string{"US", "CA"}, false},
		{"SameCountryCodeOtherRegion", "+16135550123", []string{"US"}, false},
		{"UnknownRegionRefused", "+80012345678", []string{"US"}, false},
		{"NotE164Refused", "4155552671", []string{"US"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.e164, tc.regions); got != tc.want {
				t.Errorf("Allowed(%q, %q) = %v, want %v", tc.e164, tc.regions, got, tc.want)
			}
		})
	}
}

// maskPattern is the OpenAPI pattern for a masked phone.
var maskPattern = regexp.MustCompile(`^\+[0-9]{0,3}•+[0-9]{0,4}$`)

func TestMask(t *testing.T) {
	tests := []struct {
		e164, want string
	}{
		{"+14155552671", "+1••••••2671"},
		{"+442079460958", "+44••••••0958"},
		{"+4930123456", "+49••••3456"},
		{"+35312345678", "+353••••5678"},
		{"+6831234", "+683••••"},         // Niue: 4-digit national numbers stay fully hidden
		{"+37612345", "+376••••5"},       // short national number: at least 4 digits hidden
		{"+80012345678", "+800••••5678"}, // non-geographic
		{"4155552671", "+••••"},
		{"", "+••••"},
		{"+", "+••••"},
		{"+1415555267a", "+••••"},
	}
	for _, tc := range tests {
		got := Mask(tc.e164)
		if got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.e164, got, tc.want)
		}
		if !maskPattern.MatchString(got) {
			t.Errorf("Mask(%q) = %q does not match %s", tc.e164, got, maskPattern)
		}
	}
}

func TestMask_OneBulletPerHiddenDigit(t *testing.T) {
	for _, e164 := range []string{"+14155552671", "+442079460958", "+4930123456", "+33612345678"} {
		m := Mask(e164)
		digits := 0
		for _, r := range m {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if got, want := digits+strings.Count(m, "•"), len(e164)-1; got != want {
			t.Errorf("Mask(%q) = %q: %d digits + bullets, want %d", e164, m, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"+1 (415) 555-2671", "(415) 555-2671", "+44 20 7946 0958", "020 7946 0958",
		"", "+", "++1", "1-800-FLOWERS", "+1 415 555 2671 ext. 12", "tel:+14155552671",
		"+800 1234 5678", "0049 30 123456", "+54 9 11 1234 5678", "+39 06 1234 5678",
		"\x00", "+１４１５", strings.Repeat("9", 64),
	} {
		for _, region := range []string{"US", "GB", "DE", "AR", "IT", "", "ZZ", "001"} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, input, region string) {
		got, err := Parse(input, region)
		if err != nil {
			if got != "" {
				t.Fatalf("Parse(%q, %q) = %q with error %v", input, region, got, err)
			}
			return
		}
		if !isE164(got) {
			t.Fatalf("Parse(%q, %q) = %q, not E.164", input, region, got)
		}
		if len(got) > 16 {
			t.Fatalf("Parse(%q, %q) = %q, longer than 16", input, region, got)
		}
		again, err := Parse(got, region)
		if err != nil || again != got {
			t.Fatalf("Parse(Parse(%q, %q)) = %q, %v; want %q", input, region, again, err, got)
		}
		if m := Mask(got); !maskPattern.MatchString(m) {
			t.Fatalf("Mask(%q) = %q does not match %s", got, m, maskPattern)
		}
	})
}
