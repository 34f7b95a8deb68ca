package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the request header that carries a webhook signature.
const SignatureHeader = "Latchkey-Signature"

// DefaultTolerance is the clock difference a receiver should accept between
// the signature timestamp and its own clock.
const DefaultTolerance = 5 * time.Minute

// ErrSignature is wrapped by every error VerifySignature returns.
var ErrSignature = errors.New("sms: invalid webhook signature")

// maxSignatureHeader bounds the header VerifySignature parses, so a hostile
// sender cannot make it decode megabytes of hex.
const maxSignatureHeader = 1024

// Webhook hands each message to an operator-run HTTP endpoint that relays
// it to an SMS gateway. It POSTs {"to","body","purpose"} as JSON with a
// Latchkey-Signature header (see Sign).
type Webhook struct {
	URL    string           // endpoint, https in production
	Secret []byte           // HMAC key shared with the receiver; must not be empty
	Client *http.Client     // nil: a client with Timeout that does not follow redirects
	Now    func() time.Time // clock for the signature timestamp; time.Now when nil
}

// webhookPayload is the JSON body of a webhook request. It has Message's
// fields so Send can convert one; a field added to Message stops the build
// here until someone decides whether receivers should see it.
type webhookPayload struct {
	To      string `json:"to"`
	Body    string `json:"body"`
	Purpose string `json:"purpose"`
}

// Send POSTs m to w.URL and waits at most Timeout for an answer. Any 2xx
// status is success; any other status, a timeout or a transport error
// returns an error wrapping ErrDelivery. Redirects are not followed by the
// default client. A missing URL or secret is a failed send too.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if w.URL == "" || len(w.Secret) == 0 {
		return deliveryErr("webhook: URL and secret are required")
	}
	body, err := json.Marshal(webhookPayload(m))
	if err != nil {
		return deliveryErr("webhook: encode: %v", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}

	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		// The URL may hold a token; say only that it is unusable.
		return deliveryErr("webhook: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.Secret, body, now()))

	resp, err := httpClient(w.Client).Do(req)
	if err != nil {
		return transportErr("webhook", err)
	}
	defer resp.Body.Close()
	// Read a bounded part of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return deliveryErr("webhook: http %d", resp.StatusCode)
	}
	return nil
}

// Sign returns the Latchkey-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by secret>".
// The timestamp is inside the MAC so a captured request cannot be replayed
// later with a fresh timestamp; receivers bound its age (VerifySignature).
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks a Latchkey-Signature header against the raw
// request body, for webhook receivers (and the tests of this package).
// The header is "t=<unix seconds>,v1=<hex>"; several v1 entries are
// allowed (any may match, e.g. while secrets rotate), unknown keys are
// ignored. It returns an error wrapping ErrSignature when the header is
// malformed, the timestamp is more than tolerance away from now (in either
// direction), no v1 matches, or secret is empty.
func VerifySignature(header string, body, secret []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrSignature)
	}
	if len(header) > maxSignatureHeader {
		return fmt.Errorf("%w: header too long", ErrSignature)
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed header", ErrSignature)
		}
		switch k {
		case "t":
			if ts != "" || !allDigits(v) || len(v) > 18 {
				return fmt.Errorf("%w: malformed timestamp", ErrSignature)
			}
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: missing timestamp or v1 signature", ErrSignature)
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // at most 18 digits: cannot fail
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrSignature)
	}
	want := mac(secret, ts, body)
	ok := false
	for _, sig := range sigs {
		// Constant-time, so timing does not reveal how many leading bytes
		// of a forged signature were right.
		if hmac.Equal(sig, want) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: no matching signature", ErrSignature)
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
