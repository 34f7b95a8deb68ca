package sms

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func TestGenerateCode_Format(t *testing.T) {
	for range 1000 {
		code, err := GenerateCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !sixDigits.MatchString(code) {
			t.Fatalf("GenerateCode = %q, want 6 ASCII digits", code)
		}
	}
}

// TestGenerateCode_Uniform runs a χ² test on each digit position of 10,000
// codes. The source is ChaCha8 with a fixed seed, a CSPRNG like crypto/rand
// but repeatable, so the test checks GenerateCode and never flakes.
func TestGenerateCode_Uniform(t *testing.T) {
	const n = 10_000
	const critical = 27.88 // χ², 9 degrees of freedom, p = 0.001
	src := mrand.NewChaCha8([32]byte{'l', 'a', 't', 'c', 'h', 'k', 'e', 'y'})
	var counts [CodeDigits][10]int
	for range n {
		code, err := GenerateCode(src)
		if err != nil {
			t.Fatal(err)
		}
		if !sixDigits.MatchString(code) {
			t.Fatalf("GenerateCode = %q, want 6 ASCII digits", code)
		}
		for i := range CodeDigits {
			counts[i][code[i]-'0']++
		}
	}
	for pos, c := range counts {
		chi2 := 0.0
		for _, o := range c {
			d := float64(o) - n/10
			chi2 += d * d / (n / 10)
		}
		if chi2 > critical {
			t.Errorf("position %d: χ² = %.2f > %.2f, counts %v", pos, chi2, critical, c)
		}
	}
	if zero := float64(counts[0][0]) / n; zero < 0.085 || zero > 0.115 {
		t.Errorf("%.1f%% of codes start with 0, want about 10%%", 100*zero)
	}
}

// be returns the big-endian bytes of the given 32-bit values.
func be(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func TestGenerateCode_Rejection(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"OK/Zero", be(0), "000000"},
		{"OK/Padded", be(42), "000042"},
		{"OK/Wraps", be(1_123_456), "123456"},
		{"OK/JustBelowBound", be(codeBound - 1), "999999"},
		{"SkipsBound", be(codeBound, 7), "000007"},
		{"SkipsMax", be(0xffffffff, 0xffffffff, 123_456), "123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GenerateCode(bytes.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if codeBound != 4_294_000_000 {
		t.Errorf("codeBound = %d, want 4294000000", codeBound)
	}
}

func TestGenerateCode_Errors(t *testing.T) {
	t.Run("ShortRead", func(t *testing.T) {
		if code, err := GenerateCode(bytes.NewReader([]byte{1, 2, 3})); err == nil {
			t.Errorf("got %q, want an error", code)
		}
	})
	t.Run("OnlyOutOfRange", func(t *testing.T) {
		r := bytes.NewReader(bytes.Repeat([]byte{0xff}, 4*maxCodeDraws+4))
		if code, err := GenerateCode(r); err == nil {
			t.Errorf("got %q, want an error", code)
		}
	})
	t.Run("ReaderError", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := GenerateCode(errReader{boom})
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want it to wrap %v", err, boom)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

var (
	webOTPLine = regexp.MustCompile(`\n@[^ ]+ #\d{6}$`)
	digitRun   = regexp.MustCompile(`\d+`)
)

func TestCodeBody(t *testing.T) {
	const code = "042917"
	tests := []struct {
		purpose string
		want    string
	}{
		{PurposeLogin, "Your Latchkey sign-in code is 042917. Don't share it.\n\n@login.example.com #042917"},
		{PurposeReauth, "Your Latchkey verification code is 042917. Don't share it.\n\n@login.example.com #042917"},
		{PurposeEnroll, "Your Latchkey code to add this phone is 042917. Don't share it.\n\n@login.example.com #042917"},
		{"other", "Your Latchkey code is 042917. Don't share it.\n\n@login.example.com #042917"},
	}
	for _, tc := range tests {
		t.Run(tc.purpose, func(t *testing.T) {
			got := CodeBody("Latchkey", tc.purpose, "login.example.com", code)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !webOTPLine.MatchString(got) {
				t.Errorf("%q does not end with the WebOTP line", got)
			}
			if !strings.HasSuffix(got, "\n@login.example.com #"+code) {
				t.Errorf("%q does not end with @host #code", got)
			}
			for _, run := range digitRun.FindAllString(got, -1) {
				if run != code {
					t.Errorf("%q contains the digits %q besides the code", got, run)
				}
			}
			if len(got) > 160 {
				t.Errorf("body is %d bytes, longer than one SMS", len(got))
			}
		})
	}
}

func TestCodeBody_Host(t *testing.T) {
	tests := []struct {
		host, wantLast string
	}{
		{"login.example.com", "@login.example.com #123456"},
		{"https://Login.Example.com:8443/path", "@login.example.com #123456"},
		{"login.example.com:443", "@login.example.com #123456"},
		{"", "Your Acme sign-in code is 123456. Don't share it."},
		{"bad host", "Your Acme sign-in code is 123456. Don't share it."},
	}
	for _, tc := range tests {
		got := CodeBody("Acme", PurposeLogin, tc.host, "123456")
		lines := strings.Split(got, "\n")
		if last := lines[len(lines)-1]; last != tc.wantLast {
			t.Errorf("CodeBody(host %q): last line %q, want %q", tc.host, last, tc.wantLast)
		}
	}
}

func TestNoticeBody(t *testing.T) {
	tests := []struct {
		changed bool
		want    string
	}{
		{true, "Latchkey: the phone number on your account was changed. If this wasn't you, contact your administrator."},
		{false, "Latchkey: the phone number on your account was removed. If this wasn't you, contact your administrator."},
	}
	for _, tc := range tests {
		got := NoticeBody("Latchkey", tc.changed)
		if got != tc.want {
			t.Errorf("NoticeBody(%v) = %q, want %q", tc.changed, got, tc.want)
		}
		if digitRun.MatchString(got) {
			t.Errorf("NoticeBody(%v) = %q contains digits", tc.changed, got)
		}
	}
}
