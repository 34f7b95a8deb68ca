package recovery

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// checkCode fails the test unless code is Length characters of the alphabet.
func checkCode(tb testing.TB, code string) {
	tb.Helper()
	if len(code) != Length {
		tb.Fatalf("got %q (%d characters), want %d", code, len(code), Length)
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(alphabet, rune(code[i])) {
			tb.Fatalf("got %q, want only characters of %s", code, alphabet)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		code, err := Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		checkCode(t, code)
		if seen[code] {
			t.Fatalf("got %s twice, want 1,000 distinct codes", code)
		}
		seen[code] = true
	}
}

// TestGenerate_Golden pins the encoding with known inputs. The expected
// values were computed independently (Python: RFC 4648 base32, then the
// alphabet translated to Crockford's).
func TestGenerate_Golden(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
		want string
	}{
		{"Counting", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, "000G40R40M30E209185GR38E"},
		{"Zeros", make([]byte, 15), "000000000000000000000000"},
		{"Ones", bytes.Repeat([]byte{0xff}, 15), "ZZZZZZZZZZZZZZZZZZZZZZZZ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per Read: Generate must keep reading (io.ReadFull).
			got, err := Generate(iotest.OneByteReader(bytes.NewReader(tc.src)))
			if err != nil || got != tc.want {
				t.Errorf("got (%q, %v), want (%q, nil)", got, err, tc.want)
			}
		})
	}
}

func TestGenerate_ErrShortRandom(t *testing.T) {
	if code, err := Generate(bytes.NewReader(make([]byte, 14))); err == nil {
		t.Errorf("got (%q, nil), want an error", code)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"000G40R40M30E209185GR38E", "000G-40R4-0M30-E209-185G-R38E"},
		{"", ""},
		{"ABC", "ABC"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD-E"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Format(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatNormalize_RoundTrip(t *testing.T) {
	for range 100 {
		code, err := Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		shown := Format(code)
		if len(shown) != Length+Length/4-1 {
			t.Fatalf("got %q, want 6 groups of 4", shown)
		}
		for _, typed := range []string{shown, strings.ToLower(shown), strings.ReplaceAll(shown, "-", " "), code} {
			got, err := Normalize(typed)
			if err != nil || got != code {
				t.Fatalf("Normalize(%q): got (%q, %v), want (%q, nil)", typed, got, err, code)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	const code = "000G40R40M30E209185GR38E"
	for _, tc := range []struct {
		name  string
		input string
		want  string // "" means ErrFormat is expected
	}{
		{"Canonical", code, code},
		{"Formatted", "000G-40R4-0M30-E209-185G-R38E", code},
		{"Lowercase", "000g-40r4-0m30-e209-185g-r38e", code},
		{"Spaces", "000G 40R4 0M30 E209 185G R38E", code},
		{"MixedSeparators", " 000G40R4 - 0M30E209--185GR38E  ", code},
		{"OIsZero", "OOOG-4OR4-OM3O-E2O9-185G-R38E", code},
		{"LowercaseO", "ooog40r40m30e209185gr38e", code},
		{"IAndLAreOne", "ILil" + "0000000000" + "0000000000", "1111" + "00000000000000000000"},
		{"AllLetters", "ABCDEFGHJKMNPQRSTVWXYZ00", "ABCDEFGHJKMNPQRSTVWXYZ00"},
		{"ErrU", "U00G40R40M30E209185GR38E", ""},
		{"ErrLowercaseU", "u00G40R40M30E209185GR38E", ""},
		{"ErrEmpty", "", ""},
		{"ErrOnlySeparators", " - - ", ""},
		{"ErrShort", code[:23], ""},
		{"ErrLong", code + "0", ""},
		{"ErrTab", "000G\t40R40M30E209185GR38E", ""},
		{"ErrPunctuation", "000G.40R40M30E209185GR38E"[:24], ""},
		{"ErrUnicode", "000G40R40M30E209185GR38\u00c9", ""},
		{"ErrNBSP", "000G\u00a040R40M30E209185GR38E", ""},
		{"ErrFullwidth", "000G40R40M30E209185GR38\uff25", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.input)
			if tc.want == "" {
				if !errors.Is(err, ErrFormat) || got != "" {
					t.Errorf("got (%q, %v), want (\"\", ErrFormat)", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got (%q, %v), want (%q, nil)", got, err, tc.want)
			}
		})
	}
}

func TestNormalize_ErrorDoesNotEchoInput(t *testing.T) {
	for _, in := range []string{"SECRETCODE-XYZ", "000G40R40M30E209185GR38E0", "U00G40R40M30E209185GR38E"} {
		_, err := Normalize(in)
		if err == nil {
			t.Fatalf("%q: got nil error, want one", in)
		}
		if strings.Contains(err.Error(), in) || strings.Contains(err.Error(), in[:6]) {
			t.Errorf("got %q, want an error without the input", err)
		}
		if !strings.HasPrefix(err.Error(), "recovery code must be 24 characters") {
			t.Errorf("got %q, want it to start with \"recovery code must be 24 characters\"", err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"000G40R40M30E209185GR38E", "000g-40r4-0m30-e209-185g-r38e", "OOOO-IIII-LLLL-oooo-iiii-llll",
		"", "U", "000G40R40M30E209185GR38E0", "ABCD EFGH", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrFormat) || got != "" {
				t.Fatalf("got (%q, %v), want (\"\", ErrFormat)", got, err)
			}
			return
		}
		checkCode(t, got)
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("not idempotent: got (%q, %v), want (%q, nil)", again, err, got)
		}
		if again, err := Normalize(Format(got)); err != nil || again != got {
			t.Fatalf("Format round trip: got (%q, %v), want (%q, nil)", again, err, got)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	input := "000g-40r4-0m30-e209-185g-r38e"
	for b.Loop() {
		if _, err := Normalize(input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
