// Package sms sends the SMS messages Latchkey needs: one-time codes for
// sign-in, step-up and phone enrolment, and notices to an old or removed
// number. It holds the Sender interface, the providers behind it (Twilio, a
// signed webhook, and an in-memory outbox for --dev), code generation, and
// the message texts.
//
// It knows nothing of users, storage or HTTP handlers: callers decide when a
// message may be sent (rate limits, allow-lists) and keep only a hash of the
// code.
package sms

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Purposes of a message. They select the text of a code message and label
// the send counter.
const (
	PurposeLogin  = "login"  // the second step of signing in
	PurposeReauth = "reauth" // step-up ("verify it's you") before a settings change
	PurposeEnroll = "enroll" // confirming a new phone number
	PurposeNotice = "notice" // a notice without a code
)

// Message is one SMS.
type Message struct {
	To      string // recipient in E.164 form, e.g. "+14155552671"
	Body    string // the text; for a code message it contains the code
	Purpose string // PurposeLogin, PurposeReauth, PurposeEnroll or PurposeNotice
}

// Sender delivers SMS.
//
// A failed delivery (a non-2xx answer, a timeout, a refused connection, a
// misconfigured provider) returns an error that wraps ErrDelivery. The error
// text may name the provider's error code and HTTP status, but never the
// message body, the code in it or the recipient.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrDelivery is wrapped by every error a Sender returns.
var ErrDelivery = errors.New("sms: delivery failed")

// Timeout bounds one request to a provider. A slow provider must fail the
// send rather than hold the user's request open (the webhook contract
// promises that no answer within 10 s is a failed send).
const Timeout = 10 * time.Second

// CodeDigits is the length of a code from GenerateCode.
const CodeDigits = 6

// codeSpace is the number of distinct codes, 10^CodeDigits.
const codeSpace = 1_000_000

// codeBound is the largest multiple of codeSpace that fits in 32 bits.
// Values at or above it are drawn again: folding them in with a modulo would
// make the codes 000000–967295 slightly likelier than the rest.
const codeBound = (1 << 32) / codeSpace * codeSpace

// maxCodeDraws caps the redraws so a broken reader (one that returns only
// 0xff bytes) gives an error instead of a loop. With a sound reader a redraw
// happens with probability 2.3e-4, so 32 in a row never occur.
const maxCodeDraws = 32

// GenerateCode returns a code of 6 ASCII digits, zero-padded, uniform over
// 000000–999999. It reads 4 bytes at a time from rand with io.ReadFull and
// uses rejection sampling, so there is no modulo bias. Pass crypto/rand.Reader
// in production. A short read is an error, never a weaker code.
func GenerateCode(rand io.Reader) (string, error) {
	var buf [4]byte
	for range maxCodeDraws {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return "", fmt.Errorf("sms: generate code: %w", err)
		}
		if v := binary.BigEndian.Uint32(buf[:]); v < codeBound {
			return fmt.Sprintf("%06d", v%codeSpace), nil
		}
	}
	return "", errors.New("sms: generate code: random source keeps returning out-of-range values")
}

// CodeBody returns the text of a code message, for example
//
//	Your Latchkey sign-in code is 123456. Don't share it.
//
//	@login.example.com #123456
//
// The wording follows purpose: "sign-in code" (login), "verification code"
// (reauth), "code to add this phone" (enroll), "code" otherwise. product is
// the product name ("Latchkey" when empty). The last line is the WebOTP /
// one-time-code autofill line "@<host> #<code>": browsers offer the code
// only on that origin, which blunts phishing pages. host is the public host
// name; a scheme, port or path given by mistake is dropped. When host is
// empty the autofill line is left out. The text carries no other personal
// data.
func CodeBody(product, purpose, host, code string) string {
	if product == "" {
		product = "Latchkey"
	}
	var what string
	switch purpose {
	case PurposeLogin:
		what = "sign-in code"
	case PurposeReauth:
		what = "verification code"
	case PurposeEnroll:
		what = "code to add this phone"
	default:
		what = "code"
	}
	body := fmt.Sprintf("Your %s %s is %s. Don't share it.", product, what, code)
	if h := bareHost(host); h != "" {
		body += "\n\n@" + h + " #" + code
	}
	return body
}

// bareHost reduces a configured public host to the bare name WebOTP wants:
// "https://login.example.com:8443/x" becomes "login.example.com".
func bareHost(host string) string {
	host = strings.TrimSpace(host)
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.ContainsAny(host, " \t\r\n") {
		return ""
	}
	return strings.ToLower(host)
}

// NoticeBody returns the text sent to an old or removed number when the
// phone on an account is changed (changed true) or removed (changed false).
// It contains no code and no personal data. product is the product name
// ("Latchkey" when empty).
func NoticeBody(product string, changed bool) string {
	if product == "" {
		product = "Latchkey"
	}
	what := "removed"
	if changed {
		what = "changed"
	}
	return fmt.Sprintf("%s: the phone number on your account was %s. If this wasn't you, contact your administrator.", product, what)
}

// deliveryErr wraps ErrDelivery with provider context. format and args must
// never carry the message body or the recipient.
func deliveryErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDelivery}, args...)...)
}

// transportErr describes a failed HTTP round trip without the request URL,
// which *url.Error would otherwise print (a webhook URL may carry a token).
func transportErr(provider string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return deliveryErr("%s: %w", provider, err)
}

// drainLimit caps how much of a provider's answer is read.
const drainLimit = 64 << 10
