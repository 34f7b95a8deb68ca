package password

import (
	"errors"
	"strings"
	"testing"
)

// Base64 of 16 and 32 zero bytes: a valid salt and key.
var (
	salt16 = strings.Repeat("A", 22)
	key32  = strings.Repeat("A", 43)
)

// phcWith builds an argon2id v=19 PHC string from its last three fields.
func phcWith(params, salt, key string) string {
	return "$argon2id$v=19$" + params + "$" + salt + "$" + key
}

// malformedPHC are strings parsePHC must refuse. Verify tests use them too.
var malformedPHC = []struct {
	name string
	phc  string
}{
	{"Empty", ""},
	{"NotPHC", "correct horse battery staple"},
	{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	{"Argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"Argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"UpperCaseAlgorithm", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"Version16", "$argon2id$v=16$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"VersionLeadingZero", "$argon2id$v=019$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"NoVersion", "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"NoLeadingDollar", "argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"TrailingDollar", phcWith("m=64,t=1,p=1", salt16, key32) + "$"},
	{"ExtraField", phcWith("m=64,t=1,p=1", salt16, key32) + "$" + key32},
	{"NoHash", "$argon2id$v=19$m=64,t=1,p=1$" + salt16},
	{"LeadingSpace", " " + phcWith("m=64,t=1,p=1", salt16, key32)},
	{"TrailingNewline", phcWith("m=64,t=1,p=1", salt16, key32) + "\n"},
	{"ParamOrder", phcWith("t=1,m=64,p=1", salt16, key32)},
	{"ParamMissing", phcWith("m=64,t=1", salt16, key32)},
	{"ParamExtra", phcWith("m=64,t=1,p=1,keyid=abc", salt16, key32)},
	{"ParamSpace", phcWith("m=64, t=1,p=1", salt16, key32)},
	{"ParamEmpty", phcWith("m=,t=1,p=1", salt16, key32)},
	{"ParamLeadingZero", phcWith("m=064,t=1,p=1", salt16, key32)},
	{"ParamPlus", phcWith("m=+64,t=1,p=1", salt16, key32)},
	{"ParamNegative", phcWith("m=-64,t=1,p=1", salt16, key32)},
	{"ParamHex", phcWith("m=0x40,t=1,p=1", salt16, key32)},
	{"ParamOverflow", phcWith("m=18446744073709551680,t=1,p=1", salt16, key32)},
	{"MemoryZero", phcWith("m=0,t=1,p=1", salt16, key32)},
	{"MemoryOver1GiB", phcWith("m=1048577,t=1,p=1", salt16, key32)},
	{"MemoryBelow8PerLane", phcWith("m=15,t=1,p=2", salt16, key32)},
	{"TimeZero", phcWith("m=64,t=0,p=1", salt16, key32)},
	{"TimeOver100", phcWith("m=64,t=101,p=1", salt16, key32)},
	{"ThreadsZero", phcWith("m=64,t=1,p=0", salt16, key32)},
	{"ThreadsOver64", phcWith("m=1024,t=1,p=65", salt16, key32)},
	{"ThreadsOver255", phcWith("m=4096,t=1,p=257", salt16, key32)},
	{"SaltEmpty", phcWith("m=64,t=1,p=1", "", key32)},
	{"SaltShort", phcWith("m=64,t=1,p=1", "AAAAAA", key32)},               // 4 bytes
	{"SaltLong", phcWith("m=64,t=1,p=1", strings.Repeat("A", 88), key32)}, // 66 bytes
	{"SaltPadded", phcWith("m=64,t=1,p=1", salt16+"==", key32)},
	{"SaltURLAlphabet", phcWith("m=64,t=1,p=1", "AAAAAAAAAAAAAAAAAAAA-_", key32)},
	{"SaltLineBreak", phcWith("m=64,t=1,p=1", "AAAAAAAAAAA\nAAAAAAAAAAA", key32)},
	{"SaltCarriageReturn", phcWith("m=64,t=1,p=1", "AAAAAAAAAAA\rAAAAAAAAAAA", key32)},
	{"SaltNonCanonical", phcWith("m=64,t=1,p=1", strings.Repeat("A", 21)+"B", key32)},
	{"SaltBadLength", phcWith("m=64,t=1,p=1", strings.Repeat("A", 21), key32)},
	{"HashEmpty", phcWith("m=64,t=1,p=1", salt16, "")},
	{"HashShort", phcWith("m=64,t=1,p=1", salt16, strings.Repeat("A", 11))}, // 8 bytes
	{"HashLong", phcWith("m=64,t=1,p=1", salt16, strings.Repeat("A", 88))},  // 66 bytes
	{"HashNonCanonical", phcWith("m=64,t=1,p=1", salt16, strings.Repeat("A", 42)+"B")},
	{"TooLong", phcWith("m=64,t=1,p=1", salt16, key32) + strings.Repeat("A", 600)},
	{"NUL", phcWith("m=64,t=1,p=1", salt16, key32[:42]+"\x00")},
}

func TestParsePHC(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name string
			phc  string
			want Params
		}{
			{"Cheap", phcWith("m=64,t=1,p=1", salt16, key32), Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
			{"Default", phcWith("m=19456,t=2,p=1", salt16, key32), DefaultParams()},
			{"Bounds", phcWith("m=1048576,t=100,p=64", strings.Repeat("A", 86), strings.Repeat("A", 86)),
				Params{Memory: 1 << 20, Time: 100, Threads: 64, SaltLen: 64, KeyLen: 64}},
			{"Minimums", phcWith("m=8,t=1,p=1", strings.Repeat("A", 11), strings.Repeat("A", 22)),
				Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p, salt, key, err := parsePHC(tc.phc)
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if p != tc.want {
					t.Errorf("got %+v, want %+v", p, tc.want)
				}
				if got := encodePHC(p, salt, key); got != tc.phc {
					t.Errorf("re-encoded: got %q, want %q", got, tc.phc)
				}
			})
		}
	})

	for _, tc := range malformedPHC {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := parsePHC(tc.phc)
			if !errors.Is(err, errMalformedHash) {
				t.Fatalf("got error %v, want errMalformedHash", err)
			}
			// The message names the problem without echoing the stored hash.
			if strings.Contains(err.Error(), key32[:16]) || strings.Contains(err.Error(), "$") {
				t.Errorf("got message %q, want one without the input", err)
			}
		})
	}
}

// FuzzParsePHC checks that parsePHC never panics on hostile input, and that
// whatever it accepts is within bounds and is exactly what encodePHC makes.
func FuzzParsePHC(f *testing.F) {
	f.Add(phcWith("m=64,t=1,p=1", salt16, key32))
	f.Add(phcWith("m=19456,t=2,p=1", "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"))
	f.Add(phcWith("m=1048576,t=100,p=64", strings.Repeat("A", 86), strings.Repeat("A", 86)))
	for _, tc := range malformedPHC {
		f.Add(tc.phc)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, errMalformedHash) {
				t.Fatalf("got error %v, want errMalformedHash", err)
			}
			return
		}
		if err := p.check(); err != nil {
			t.Fatalf("accepted out-of-bounds params %+v: %v", p, err)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("got SaltLen %d, KeyLen %d, want %d, %d", p.SaltLen, p.KeyLen, len(salt), len(key))
		}
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("re-encoded: got %q, want %q", got, s)
		}
	})
}
