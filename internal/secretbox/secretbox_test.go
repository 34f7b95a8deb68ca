package secretbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// mustKey returns a key whose secret is 32 copies of b.
func mustKey(tb testing.TB, id string, b byte) Key {
	tb.Helper()
	return Key{ID: id, Secret: bytes.Repeat([]byte{b}, KeySize)}
}

// mustKeyring returns a keyring of keys, failing the test on error.
func mustKeyring(tb testing.TB, keys ...Key) *Keyring {
	tb.Helper()
	kr, err := NewKeyring(keys)
	if err != nil {
		tb.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

// mustSeal seals plaintext, failing the test on error.
func mustSeal(tb testing.TB, kr *Keyring, plaintext, aad []byte) []byte {
	tb.Helper()
	sealed, _, err := kr.Seal(plaintext, aad)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return sealed
}

func TestKeyring_SealOpen(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1))
	for _, tc := range []struct {
		name           string
		plaintext, aad []byte
	}{
		{"OK", []byte("12345678901234567890"), []byte("totp:1:2")},
		{"EmptyPlaintext", nil, []byte("totp:1:2")},
		{"EmptyAAD", []byte("secret"), nil},
		{"Large", bytes.Repeat([]byte{0xee}, 1<<16), []byte("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, keyID, err := kr.Seal(tc.plaintext, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if keyID != "k1" {
				t.Errorf("got key id %q, want k1", keyID)
			}
			if got, want := len(sealed), 31+len("k1")+len(tc.plaintext); got != want {
				t.Errorf("got %d sealed bytes, want %d", got, want)
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("got the plaintext inside the sealed value")
			}
			got, err := kr.Open(sealed, tc.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("got %x, want %x", got, tc.plaintext)
			}
		})
	}
}

func TestKeyring_Seal_Format(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "primary_2024-01", 1))
	sealed := mustSeal(t, kr, []byte("seed"), []byte("aad"))
	if !bytes.HasPrefix(sealed, []byte("v1\x0fprimary_2024-01")) {
		t.Errorf("got header %q, want v1, 15, primary_2024-01", sealed[:18])
	}
	// Random nonces: sealing the same value twice gives different bytes.
	if again := mustSeal(t, kr, []byte("seed"), []byte("aad")); bytes.Equal(sealed, again) {
		t.Error("got identical sealed values, want different nonces")
	}
}

// TestKeyring_Open_Independent: a value sealed by another implementation
// of the format opens, which pins the algorithm (AES-256-GCM) and the key
// derivation (HKDF-SHA256, no salt, info "latchkey seal v1", 32 bytes). The
// want was made with Python's cryptography package:
//
//	dk = HKDF(SHA256(), 32, salt=None, info=b"latchkey seal v1").derive(b"\x01" * 32)
//	hdr = b"v1\x02k1"; nonce = bytes(range(12))
//	hdr + nonce + AESGCM(dk).encrypt(nonce, b"12345678901234567890", hdr + b"totp:1:1")
func TestKeyring_Open_Independent(t *testing.T) {
	sealed, err := hex.DecodeString("7631026b31000102030405060708090a0b0db2363c804e2da532a092af323ef198b59b26cf4664a28b9d7504d8661bb9febceeae0c")
	if err != nil {
		t.Fatal(err)
	}
	kr := mustKeyring(t, mustKey(t, "k1", 1))
	got, err := kr.Open(sealed, []byte("totp:1:1"))
	if err != nil || string(got) != "12345678901234567890" {
		t.Errorf("got %q, %v; want the plaintext", got, err)
	}
}

// TestKeyring_Open_WrongAAD is the row-swap test: a sealed seed copied to
// another user's or factor's row does not open there.
func TestKeyring_Open_WrongAAD(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1))
	sealed := mustSeal(t, kr, []byte("seed of user 1"), []byte("totp:1:10"))
	for _, aad := range []string{"totp:2:10", "totp:1:11", "totp:1:1", "totp:1:100", "", "totp:1:10 "} {
		t.Run(fmt.Sprintf("%q", aad), func(t *testing.T) {
			got, err := kr.Open(sealed, []byte(aad))
			if !errors.Is(err, ErrOpen) || got != nil {
				t.Errorf("got (%q, %v), want (nil, ErrOpen)", got, err)
			}
		})
	}
}

func TestKeyring_Open_Tampered(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1), mustKey(t, "k2", 2))
	plaintext, aad := []byte("12345678901234567890"), []byte("totp:1:2")
	sealed := mustSeal(t, kr, plaintext, aad)
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			mod := append([]byte(nil), sealed...)
			mod[i] ^= bit
			got, err := kr.Open(mod, aad)
			if !errors.Is(err, ErrOpen) || got != nil {
				t.Fatalf("byte %d ^ %#x: got (%q, %v), want (nil, ErrOpen)", i, bit, got, err)
			}
		}
	}
	// Changing the id to another key of the ring ("k1" -> "k2") also fails.
	mod := append([]byte(nil), sealed...)
	mod[4] = '2'
	if _, err := kr.Open(mod, aad); !errors.Is(err, ErrOpen) {
		t.Errorf("key id swapped: got %v, want ErrOpen", err)
	}
}

func TestKeyring_Open_Truncated(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1))
	sealed := mustSeal(t, kr, []byte("secret"), nil)
	for n := range len(sealed) {
		if _, err := kr.Open(sealed[:n], nil); !errors.Is(err, ErrOpen) {
			t.Fatalf("first %d of %d bytes: got %v, want ErrOpen", n, len(sealed), err)
		}
	}
	// Extra bytes are not ignored either.
	if _, err := kr.Open(append(sealed, 0), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("one byte appended: got %v, want ErrOpen", err)
	}
}

func TestKeyring_Open_UnknownKeyID(t *testing.T) {
	sealed := mustSeal(t, mustKeyring(t, mustKey(t, "old", 1)), []byte("secret"), nil)
	// Same secret under another id: the id, not just the key bytes, matters.
	other := mustKeyring(t, mustKey(t, "new", 1))
	if _, err := other.Open(sealed, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("got %v, want ErrOpen", err)
	}
}

func TestKeyring_Open_ErrorHidesDetails(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1))
	plaintext := []byte("PLAINTEXT-SEED-VALUE")
	sealed := mustSeal(t, kr, plaintext, []byte("totp:1:2"))
	_, err := kr.Open(sealed, []byte("totp:9:9"))
	if err == nil || err.Error() != ErrOpen.Error() {
		t.Fatalf("got %v, want exactly ErrOpen", err)
	}
	if strings.Contains(err.Error(), "totp") || strings.Contains(err.Error(), "k1") {
		t.Errorf("got %q, want an error naming neither aad nor key id", err)
	}
}

// TestKeyring_Rotation follows `latchkey keys rotate`: add k2 in front of k1,
// re-seal, then drop k1.
func TestKeyring_Rotation(t *testing.T) {
	k1, k2 := mustKey(t, "k1", 1), mustKey(t, "k2", 2)
	plaintext, aad := []byte("seed"), []byte("totp:7:8")

	old := mustSeal(t, mustKeyring(t, k1), plaintext, aad)
	if id, err := SealedKeyID(old); err != nil || id != "k1" {
		t.Fatalf("SealedKeyID: got (%q, %v), want (k1, nil)", id, err)
	}

	both := mustKeyring(t, k2, k1)
	if both.PrimaryID() != "k2" {
		t.Fatalf("got primary %q, want k2", both.PrimaryID())
	}
	got, err := both.Open(old, aad)
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("[k2,k1] opens k1 value: got (%q, %v), want (%q, nil)", got, err, plaintext)
	}
	resealed, keyID, err := both.Seal(got, aad)
	if err != nil || keyID != "k2" {
		t.Fatalf("reseal: got (%q, %v), want (k2, nil)", keyID, err)
	}
	if id, _ := SealedKeyID(resealed); id != "k2" {
		t.Fatalf("SealedKeyID: got %q, want k2", id)
	}

	only2 := mustKeyring(t, k2)
	if got, err := only2.Open(resealed, aad); err != nil || !bytes.Equal(got, plaintext) {
		t.Errorf("[k2] opens resealed: got (%q, %v), want (%q, nil)", got, err, plaintext)
	}
	if _, err := only2.Open(old, aad); !errors.Is(err, ErrOpen) {
		t.Errorf("[k2] opens the k1 value: got %v, want ErrOpen", err)
	}
}

func TestSealedKeyID_Errors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sealed []byte
	}{
		{"ErrEmpty", nil},
		{"ErrShort", []byte("v1\x02k1")},
		{"ErrVersion", append([]byte("v2\x02k1"), make([]byte, 28)...)},
		{"ErrZeroIDLength", append([]byte("v1\x00"), make([]byte, 30)...)},
		{"ErrIDTooLong", append([]byte("v1\x21"), make([]byte, 80)...)},
		{"ErrIDCharacters", append([]byte("v1\x02k:"), make([]byte, 28)...)},
		{"ErrIDPastEnd", append([]byte("v1\x20k1"), make([]byte, 28)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, err := SealedKeyID(tc.sealed); err == nil {
				t.Errorf("got (%q, nil), want an error", id)
			}
		})
	}
}

func TestNewKeyring_Errors(t *testing.T) {
	good := mustKey(t, "k1", 1)
	for _, tc := range []struct {
		name string
		keys []Key
	}{
		{"ErrNone", nil},
		{"ErrDuplicateID", []Key{good, mustKey(t, "k1", 2)}},
		{"ErrEmptyID", []Key{mustKey(t, "", 1)}},
		{"ErrIDTooLong", []Key{mustKey(t, strings.Repeat("a", 33), 1)}},
		{"ErrIDColon", []Key{mustKey(t, "k:1", 1)}},
		{"ErrIDComma", []Key{mustKey(t, "k,1", 1)}},
		{"ErrIDNonASCII", []Key{mustKey(t, "ключ", 1)}},
		{"ErrShortSecret", []Key{{ID: "k1", Secret: make([]byte, 16)}}},
		{"ErrLongSecret", []Key{{ID: "k1", Secret: make([]byte, 33)}}},
		{"ErrSecondKeyBad", []Key{good, {ID: "k2", Secret: nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if kr, err := NewKeyring(tc.keys); err == nil {
				t.Errorf("got (%v, nil), want an error", kr)
			}
		})
	}
	t.Run("MaxID", func(t *testing.T) {
		if _, err := NewKeyring([]Key{mustKey(t, strings.Repeat("Az0_-", 6)+"xy", 1)}); err != nil {
			t.Errorf("got %v, want nil for a 32-character id", err)
		}
	})
}

func TestKeyring_Zero(t *testing.T) {
	var kr Keyring
	if _, _, err := kr.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal: got nil error, want one")
	}
	if _, err := kr.Open([]byte("v1\x02k1"+strings.Repeat("x", 40)), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open: got %v, want ErrOpen", err)
	}
	if _, err := kr.MAC("k1", "p", nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("MAC: got %v, want ErrUnknownKey", err)
	}
	if kr.HasKey("k1") || len(kr.IDs()) != 0 {
		t.Errorf("got HasKey %v, IDs %v; want false, none", kr.HasKey("k1"), kr.IDs())
	}
}

func TestKeyring_IDs(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k2", 2), mustKey(t, "k1", 1), mustKey(t, "k0", 3))
	if got, want := kr.IDs(), []string{"k2", "k1", "k0"}; !slices.Equal(got, want) {
		t.Errorf("IDs: got %v, want %v (configured order, primary first)", got, want)
	}
	kr.IDs()[0] = "changed"
	if kr.IDs()[0] != "k2" {
		t.Error("IDs: changing the answer changed the keyring")
	}
	tests := []struct {
		id   string
		want bool
	}{{"k2", true}, {"k0", true}, {"k3", false}, {"", false}, {"K2", false}}
	for _, tc := range tests {
		if got := kr.HasKey(tc.id); got != tc.want {
			t.Errorf("HasKey(%q): got %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestNewKeyring_CopiesSecret(t *testing.T) {
	k := mustKey(t, "k1", 1)
	kr := mustKeyring(t, k)
	sealed := mustSeal(t, kr, []byte("x"), nil)
	mac1, _ := kr.MAC("k1", "p", []byte("d"))
	for i := range k.Secret {
		k.Secret[i] = 0 // the caller wipes its copy
	}
	if _, err := kr.Open(sealed, nil); err != nil {
		t.Errorf("got %v after the caller changed its slice, want nil", err)
	}
	if mac2, _ := kr.MAC("k1", "p", []byte("d")); !bytes.Equal(mac1, mac2) {
		t.Error("got a different MAC after the caller changed its slice")
	}
}

func TestParseKeys(t *testing.T) {
	k1 := bytes.Repeat([]byte{0xfb}, 32) // 0xfb gives '+' '/' in std, '-' '_' in url
	k2 := bytes.Repeat([]byte{0x02}, 32)
	std1 := base64.StdEncoding.EncodeToString(k1)
	url1 := base64.RawURLEncoding.EncodeToString(k1)
	url2 := base64.RawURLEncoding.EncodeToString(k2)
	short := base64.StdEncoding.EncodeToString(k1[:31])
	long := base64.RawURLEncoding.EncodeToString(append(k1, 1))

	for _, tc := range []struct {
		name  string
		input string
		want  []Key // nil means an error is expected
	}{
		{"OneStd", "k1:" + std1, []Key{{"k1", k1}}},
		{"OneRawURL", "k1:" + url1, []Key{{"k1", k1}}},
		{"TwoPrimaryFirst", "new:" + url2 + ",old:" + std1, []Key{{"new", k2}, {"old", k1}}},
		{"Spaces", " new:" + url2 + " , old:" + std1 + "\n", []Key{{"new", k2}, {"old", k1}}},
		{"ErrEmpty", "", nil},
		{"ErrBlank", "  ", nil},
		{"ErrNoColon", std1, nil},
		{"ErrEmptyID", ":" + std1, nil},
		{"ErrBadID", "k 1:" + std1, nil},
		{"ErrBadBase64", "k1:" + strings.Repeat("!", 43), nil},
		{"ErrStdWithoutPadding", "k1:" + strings.TrimSuffix(std1, "="), nil},
		{"ErrURLWithPadding", "k1:" + url1 + "=", nil},
		{"ErrShort", "k1:" + short, nil},
		{"ErrLong", "k1:" + long, nil},
		{"ErrEmptyKey", "k1:", nil},
		{"ErrDuplicateID", "k1:" + url1 + ",k1:" + url2, nil},
		{"ErrTrailingComma", "k1:" + url1 + ",", nil},
		{"ErrSwapped", url1 + ":k1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeys(tc.input)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got (%v, nil), want an error", got)
				}
				for _, part := range []string{std1, url1, url2, short, long, strings.TrimSuffix(std1, "=")} {
					if strings.Contains(err.Error(), part) {
						t.Errorf("got error %q, want one without key material", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].ID != tc.want[i].ID || !bytes.Equal(got[i].Secret, tc.want[i].Secret) {
					t.Errorf("key %d: got %s %x, want %s %x", i, got[i].ID, got[i].Secret, tc.want[i].ID, tc.want[i].Secret)
				}
			}
		})
	}
}

func TestFormatKeys_RoundTrip(t *testing.T) {
	var keys []Key
	for _, id := range []string{"2025-06", "2024_01", "a"} {
		k, err := GenerateKey(rand.Reader, id)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	s := FormatKeys(keys)
	got, err := ParseKeys(s)
	if err != nil {
		t.Fatalf("ParseKeys(FormatKeys): %v", err)
	}
	if FormatKeys(got) != s {
		t.Errorf("got %q, want %q", FormatKeys(got), s)
	}
	if strings.ContainsAny(s, "+/= ") {
		t.Errorf("got %q, want no characters that need quoting", s)
	}
}

func TestGenerateKey(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		a, err := GenerateKey(rand.Reader, "k1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := GenerateKey(rand.Reader, "k1")
		if a.ID != "k1" || len(a.Secret) != KeySize || bytes.Equal(a.Secret, b.Secret) {
			t.Errorf("got %s with %d bytes (distinct: %v), want k1, %d bytes, distinct", a.ID, len(a.Secret), !bytes.Equal(a.Secret, b.Secret), KeySize)
		}
	})
	t.Run("ErrBadID", func(t *testing.T) {
		if _, err := GenerateKey(rand.Reader, "a:b"); err == nil {
			t.Error("got nil error, want one")
		}
	})
	t.Run("ErrShortRandom", func(t *testing.T) {
		if _, err := GenerateKey(bytes.NewReader(make([]byte, 31)), "k1"); err == nil {
			t.Error("got nil error, want one")
		}
	})
}

// TestKey_PrintingHidesSecret checks that a Key or Keyring logged by mistake
// does not reveal key material.
func TestKey_PrintingHidesSecret(t *testing.T) {
	k := Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789ABCDEF")}
	kr := mustKeyring(t, k)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%T"} {
		for name, v := range map[string]any{"Key": k, "[]Key": []Key{k}, "*Keyring": kr, "Keyring": *kr} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "0123456789") || strings.Contains(out, "48 49 50") ||
				strings.Contains(out, "3031323334") ||
				strings.Contains(out, base64.RawURLEncoding.EncodeToString(k.Secret)[:10]) {
				t.Errorf("%s with %s: got %q, want no key material", name, verb, out)
			}
		}
	}
}

func TestKeyring_MAC(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, "k1", 1), mustKey(t, "k2", 2))
	data := []byte("0123456789ABCDEFGHJKMNPQ")
	mac := func(keyID, purpose string, data []byte) []byte {
		t.Helper()
		m, err := kr.MAC(keyID, purpose, data)
		if err != nil {
			t.Fatalf("MAC(%s, %s): %v", keyID, purpose, err)
		}
		if len(m) != sha256.Size {
			t.Fatalf("got %d bytes, want %d", len(m), sha256.Size)
		}
		return m
	}
	base := mac("k1", "recovery", data)
	if !bytes.Equal(base, mac("k1", "recovery", data)) {
		t.Error("got a different MAC for the same input, want a deterministic one")
	}
	plain := sha256.Sum256(data)
	for name, other := range map[string][]byte{
		"OtherKey":     mac("k2", "recovery", data),
		"OtherPurpose": mac("k1", "sms", data),
		"OtherData":    mac("k1", "recovery", []byte("0123456789ABCDEFGHJKMNPR")),
		"PlainSHA256":  plain[:],
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s: got the same value, want a different one", name)
		}
	}
	// A purpose cannot be confused with a longer one through the prefix.
	if bytes.Equal(mac("k1", "a", []byte("bc")), mac("k1", "ab", []byte("c"))) {
		t.Error("got equal MACs for (a, bc) and (ab, c)")
	}

	t.Run("ErrUnknownKey", func(t *testing.T) {
		if _, err := kr.MAC("k3", "recovery", data); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("got %v, want ErrUnknownKey", err)
		}
	})
	t.Run("ErrEmptyPurpose", func(t *testing.T) {
		if _, err := kr.MAC("k1", "", data); err == nil {
			t.Error("got nil error, want one")
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	k := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, s := range []string{
		"k1:" + k, "k1:" + k + ",k2:" + k, "a:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"", ",", ":", "k1:", "k1:" + k[:20], "k1:" + k + "=", " k1:" + k + " ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseKeys(s)
		if err != nil {
			// Errors never echo an entry's key part.
			for _, e := range strings.Split(s, ",") {
				if _, b64, ok := strings.Cut(e, ":"); ok && len(strings.TrimSpace(b64)) >= 16 &&
					strings.Contains(err.Error(), strings.TrimSpace(b64)) {
					t.Fatalf("got error %q containing input key material", err)
				}
			}
			return
		}
		if _, err := NewKeyring(keys); err != nil {
			t.Fatalf("NewKeyring rejects ParseKeys output: %v", err)
		}
		again, err := ParseKeys(FormatKeys(keys))
		if err != nil || FormatKeys(again) != FormatKeys(keys) {
			t.Fatalf("round trip: got (%v, %v)", again, err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	kr := mustKeyring(f, mustKey(f, "k1", 1), mustKey(f, "k2", 2))
	plaintext := []byte("12345678901234567890")
	valid := mustSeal(f, kr, plaintext, []byte("totp:1:2"))
	f.Add(valid, []byte("totp:1:2"))
	f.Add(valid[:len(valid)-1], []byte("totp:1:2"))
	f.Add([]byte("v1\x02k2"), []byte(""))
	f.Add([]byte("v1\xffk1"), []byte("x"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := kr.Open(sealed, aad)
		if err != nil {
			if err != ErrOpen || pt != nil {
				t.Fatalf("got (%q, %v), want (nil, ErrOpen)", pt, err)
			}
			return
		}
		// Only a genuine seal opens, and only with its aad. (Compare the
		// contents, not the bytes: each fuzz worker process seals its own
		// copy of the seed value under a fresh random nonce.)
		if !bytes.Equal(pt, plaintext) || string(aad) != "totp:1:2" {
			t.Fatalf("opened a forged value %x with aad %q", sealed, aad)
		}
		if _, err := SealedKeyID(sealed); err != nil {
			t.Fatalf("SealedKeyID fails on a value Open accepts: %v", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1", 1))
	pt, aad := make([]byte, 20), []byte("totp:123456:654321")
	for b.Loop() {
		if _, _, err := kr.Seal(pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1", 1))
	aad := []byte("totp:123456:654321")
	sealed := mustSeal(b, kr, make([]byte, 20), aad)
	for b.Loop() {
		if _, err := kr.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1", 1))
	data := []byte("0123456789ABCDEFGHJKMNPQ")
	for b.Loop() {
		if _, err := kr.MAC("k1", "recovery", data); err != nil {
			b.Fatal(err)
		}
	}
}
