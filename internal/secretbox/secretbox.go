// Package secretbox seals small secrets at rest (TOTP seeds) with AES-256-GCM
// and computes keyed hashes (recovery codes) under a keyring of master keys
// that can be rotated without downtime.
//
// Master keys are never used directly. Each use gets its own key derived by
// HKDF-SHA256 with a distinct info string ("latchkey seal v1", "latchkey mac
// v1 <purpose>"), so a sealing key can never act as a MAC key, nor a MAC key
// of one purpose as that of another.
//
// # Sealed format (version 1)
//
// A sealed value is binary and self-describing:
//
//	offset  size  field
//	0       2     version: the ASCII bytes "v1"
//	2       1     n, the length of the key id (1..32)
//	3       n     key id, ASCII [A-Za-z0-9_-]
//	3+n     12    GCM nonce, random
//	15+n    m     ciphertext (m = len(plaintext))
//	15+n+m  16    GCM tag
//
// so it is 31+n+len(plaintext) bytes long (83 bytes for a 20-byte TOTP seed
// under a 32-byte id). The GCM additional data is the header (version, n and
// key id) followed by the caller's aad, so neither the header nor the
// binding to the owner can be changed without Open failing.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the size of a master key: 256 bits.
const KeySize = 32

// maxIDLen bounds a key id, which is stored in every sealed value.
const maxIDLen = 32

// version is the first field of every sealed value.
const version = "v1"

const (
	nonceSize = 12 // crypto/cipher's GCM standard nonce
	tagSize   = 16
	// minSealedLen is a sealed empty plaintext under a 1-byte key id.
	minSealedLen = len(version) + 1 + 1 + nonceSize + tagSize
)

// HKDF info strings. Changing one changes every derived key, so they carry
// a version of their own.
const (
	infoSeal      = "latchkey seal v1"
	infoMACPrefix = "latchkey mac v1 "
)

// ErrOpen is the only error Open returns. It does not say whether the key id,
// the additional data or the ciphertext was wrong: an attacker probing
// sealed values learns nothing, and no plaintext can leak through an error.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

// ErrUnknownKey is returned (wrapped; match it with errors.Is) by MAC for a
// key id that is not in the keyring: typically a key removed from the
// configuration while values hashed under it are still stored. Such a value
// can no longer be checked; HasKey answers the same question up front.
var ErrUnknownKey = errors.New("secretbox: unknown key id")

// errMalformed is returned by SealedKeyID for a value with no valid header.
var errMalformed = errors.New("secretbox: malformed sealed value")

// Key is a master key and its id. The id is stored with every sealed value
// and every keyed hash, so it must stay the same for the life of the key.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// String returns the key id only, so that a Key printed by mistake does not
// reveal the secret.
func (k Key) String() string { return "secretbox.Key{ID: " + k.ID + ", Secret: REDACTED}" }

// Format makes every fmt verb (%v, %#v, %x, %d...) print String, so no verb
// reveals the secret.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// Keyring holds master keys by id. The first key is primary: it seals new
// values and keys new MACs. Every key opens the values sealed under it and
// computes MACs by id, so a new primary can be added in front of the old one
// and old values re-sealed at leisure. A Keyring is safe for concurrent use.
// Make one with NewKeyring; the zero Keyring seals nothing and opens nothing.
type Keyring struct {
	primary string
	ids     []string // in configured order, primary first
	keys    map[string]*masterKey
}

// masterKey is one key of a Keyring. The secret sits behind a pointer:
// fmt shows a nested pointer as an address, so even a Keyring printed with a
// verb that expands structs (%s, %d) shows no key bytes.
type masterKey struct {
	secret *[KeySize]byte
	seal   cipher.AEAD // AES-256-GCM under HKDF(secret, infoSeal)
}

// NewKeyring returns a keyring whose primary key is keys[0]. It returns an
// error if keys is empty, an id is invalid (it must match
// ^[A-Za-z0-9_-]{1,32}$), an id repeats, or a secret is not KeySize bytes.
// The secrets are copied.
func NewKeyring(keys []Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no keys")
	}
	kr := &Keyring{primary: keys[0].ID, keys: make(map[string]*masterKey, len(keys))}
	for i, k := range keys {
		if err := checkKey(k.ID, k.Secret); err != nil {
			return nil, fmt.Errorf("secretbox: key %d: %w", i+1, err)
		}
		if _, dup := kr.keys[k.ID]; dup {
			return nil, fmt.Errorf("secretbox: key %d: duplicate id", i+1)
		}
		secret := new([KeySize]byte)
		copy(secret[:], k.Secret)
		aead, err := newSealAEAD(secret[:])
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %d: %w", i+1, err)
		}
		kr.keys[k.ID] = &masterKey{secret: secret, seal: aead}
		kr.ids = append(kr.ids, k.ID)
	}
	return kr, nil
}

// newSealAEAD returns AES-256-GCM with random nonces under the sealing key
// derived from secret.
func newSealAEAD(secret []byte) (cipher.AEAD, error) {
	// HKDF purpose separation: the sealing key is not the master key, so
	// the same master key can also feed MAC keys safely.
	dk, err := hkdf.Key(sha256.New, secret, nil, infoSeal, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	// Random 96-bit nonces from crypto/rand: safe for about 2^32 seals per
	// key (NIST SP 800-38D), far more than one row per TOTP enrolment will
	// ever use; rotate keys long before that.
	return cipher.NewGCMWithRandomNonce(block)
}

// checkKey validates an id and a secret. Its errors name neither.
func checkKey(id string, secret []byte) error {
	if !validID(id) {
		return errors.New("id must be 1-32 characters of A-Z, a-z, 0-9, '_' and '-'")
	}
	if len(secret) != KeySize {
		return fmt.Errorf("secret must be %d bytes", KeySize)
	}
	return nil
}

// validID reports whether id matches ^[A-Za-z0-9_-]{1,32}$.
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// GenerateKey returns a new key with the given id and KeySize bytes read
// from rand with io.ReadFull. Pass crypto/rand.Reader in production.
func GenerateKey(rand io.Reader, id string) (Key, error) {
	if !validID(id) {
		return Key{}, errors.New("secretbox: key id must be 1-32 characters of A-Z, a-z, 0-9, '_' and '-'")
	}
	secret := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return Key{}, fmt.Errorf("secretbox: generate key: %w", err)
	}
	return Key{ID: id, Secret: secret}, nil
}

// ParseKeys parses the --secret-keys value: comma-separated "id:base64key"
// entries, the first being the primary key. A key is 32 bytes in standard
// base64 (with '=' padding) or URL-safe base64 without padding (what
// FormatKeys writes). Spaces around an entry are ignored. Errors name an
// entry by its position only: they never contain key material, nor an id,
// which could be key material pasted into the wrong place.
func ParseKeys(s string) ([]Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("secretbox: no keys")
	}
	entries := strings.Split(s, ",")
	keys := make([]Key, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for i, e := range entries {
		id, b64, found := strings.Cut(strings.TrimSpace(e), ":")
		if !found {
			return nil, fmt.Errorf("secretbox: key %d: want id:base64key", i+1)
		}
		secret, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %d: not valid base64", i+1)
		}
		if err := checkKey(id, secret); err != nil {
			return nil, fmt.Errorf("secretbox: key %d: %w", i+1, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("secretbox: key %d: duplicate id", i+1)
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

// decodeKey decodes standard padded or URL-safe unpadded base64. Its error
// never includes the input (base64's CorruptInputError holds only an
// offset, but the caller discards it anyway).
func decodeKey(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// FormatKeys returns keys in the form ParseKeys reads, with URL-safe base64
// without padding (no characters that need quoting in a shell or an
// environment file). The result is secret.
func FormatKeys(keys []Key) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.ID)
		b.WriteByte(':')
		b.WriteString(base64.RawURLEncoding.EncodeToString(k.Secret))
	}
	return b.String()
}

// PrimaryID returns the id of the primary key.
func (k *Keyring) PrimaryID() string { return k.primary }

// IDs returns the key ids in configured order, the primary first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// HasKey reports whether keyID is in the keyring, i.e. whether values sealed
// or hashed under it can still be opened or checked.
func (k *Keyring) HasKey(keyID string) bool {
	_, ok := k.keys[keyID]
	return ok
}

// Seal encrypts plaintext under the primary key and returns the sealed value
// (see the package comment for its format) and the id of the key used.
//
// aad is authenticated but not stored. Callers bind the value to its owner,
// e.g. "totp:<user id>:<factor id>", so a sealed seed copied into another
// user's row fails to open.
func (k *Keyring) Seal(plaintext, aad []byte) (sealed []byte, keyID string, err error) {
	mk := k.keys[k.primary]
	if mk == nil {
		return nil, "", errors.New("secretbox: keyring has no keys (use NewKeyring)")
	}
	hdr := header(k.primary)
	out := make([]byte, len(hdr), len(hdr)+nonceSize+len(plaintext)+tagSize)
	copy(out, hdr)
	// NewGCMWithRandomNonce writes nonce || ciphertext || tag.
	out = mk.seal.Seal(out, nil, plaintext, additionalData(hdr, aad))
	return out, k.primary, nil
}

// Open decrypts a value sealed by Seal under any key of the keyring, with
// the same aad. Every failure (unknown key id, wrong aad, a changed or
// truncated value, an unknown version) returns ErrOpen.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	id, rest, ok := parseHeader(sealed)
	if !ok {
		return nil, ErrOpen
	}
	mk, ok := k.keys[id]
	if !ok {
		return nil, ErrOpen
	}
	hdr := sealed[:len(sealed)-len(rest)]
	pt, err := mk.seal.Open(nil, nil, rest, additionalData(hdr, aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealedKeyID returns the id of the key that sealed a value, so that a
// rotation job can find values still sealed under an old key. It checks the
// header only, not the ciphertext.
func SealedKeyID(sealed []byte) (string, error) {
	id, _, ok := parseHeader(sealed)
	if !ok {
		return "", errMalformed
	}
	return id, nil
}

// MAC returns HMAC-SHA256 of data under a key derived by HKDF-SHA256 from
// the master key keyID with info "latchkey mac v1 " + purpose. Store keyID
// next to the MAC, recompute with it to verify, and compare with
// hmac.Equal. purpose must not be empty. A keyID not in the keyring gives
// an error matching ErrUnknownKey.
//
// Recovery codes are stored this way: at 120 bits a code needs no slow
// password hash, but a keyed hash means a stolen database alone does not
// allow checking guesses, and the value differs from a plain SHA-256.
func (k *Keyring) MAC(keyID, purpose string, data []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("secretbox: mac purpose is empty")
	}
	mk, ok := k.keys[keyID]
	if !ok {
		// The id is not secret (it is stored beside every MAC), but it is
		// left out like everywhere else here: the caller knows it and
		// decides whether to log it.
		return nil, ErrUnknownKey
	}
	// HKDF purpose separation: each purpose gets its own MAC key, and none
	// equals the sealing key.
	dk, err := hkdf.Key(sha256.New, mk.secret[:], nil, infoMACPrefix+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("secretbox: derive mac key: %w", err)
	}
	m := hmac.New(sha256.New, dk)
	m.Write(data)
	return m.Sum(nil), nil
}

// header returns the version, id length and id of a sealed value.
func header(id string) []byte {
	h := make([]byte, 0, len(version)+1+len(id))
	h = append(h, version...)
	h = append(h, byte(len(id)))
	return append(h, id...)
}

// parseHeader splits a sealed value into its key id and the rest (nonce,
// ciphertext, tag). ok is false if the version is unknown, the id is
// invalid, or the value is too short to hold a nonce and a tag.
func parseHeader(sealed []byte) (id string, rest []byte, ok bool) {
	if len(sealed) < minSealedLen || string(sealed[:len(version)]) != version {
		return "", nil, false
	}
	n := int(sealed[len(version)])
	start := len(version) + 1
	if n == 0 || n > maxIDLen || len(sealed) < start+n+nonceSize+tagSize {
		return "", nil, false
	}
	id = string(sealed[start : start+n])
	if !validID(id) {
		return "", nil, false
	}
	return id, sealed[start+n:], true
}

// additionalData returns the GCM additional data: the header, which has its
// own length prefix, then the caller's aad. The split is unambiguous, so no
// two (header, aad) pairs give the same bytes.
func additionalData(hdr, aad []byte) []byte {
	ad := make([]byte, 0, len(hdr)+len(aad))
	ad = append(ad, hdr...)
	return append(ad, aad...)
}
