package sms

import (
	"context"
	"errors"
	"io"

	"github.com/latchkey/latchkey/internal/phone"
)

// Gateway is the SMS method's outside world as the auth service sees it:
// number parsing with the country allow-list, message texts, codes and
// delivery through a Sender.
type Gateway struct {
	Sender        Sender
	Product       string    // named in every message, e.g. "Latchkey"
	Host          string    // the public host for the WebOTP line, e.g. "login.example.com"
	DefaultRegion string    // region for national input, e.g. "US"
	Countries     []string  // allowed regions (ISO 3166); empty allows all
	Rand          io.Reader // crypto/rand.Reader in production
}

// errCountry is shown when a number's country is not on the allow-list.
var errCountry = errors.New("phone numbers from this country are not accepted here")

// ParseNumber returns input in E.164 if it is a valid number of an allowed
// country.
func (g *Gateway) ParseNumber(input string) (string, error) {
	n, err := phone.Parse(input, g.DefaultRegion)
	if err != nil {
		return "", err
	}
	// Toll fraud targets premium ranges in far-away countries: a deployment
	// that only serves some countries should not send anywhere else.
	if !phone.Allowed(n, g.Countries) {
		return "", errCountry
	}
	return n, nil
}

// Mask hides all but the country code and the last four digits.
func (g *Gateway) Mask(number string) string { return phone.Mask(number) }

// NewCode returns six uniformly random digits.
func (g *Gateway) NewCode() (string, error) { return GenerateCode(g.Rand) }

// CodeText is the SMS carrying a code, ending with the WebOTP line.
func (g *Gateway) CodeText(purpose, code string) string {
	return CodeBody(g.Product, purpose, g.Host, code)
}

// NoticeText is the SMS telling a number it was changed or removed.
func (g *Gateway) NoticeText(changed bool) string { return NoticeBody(g.Product, changed) }

// Send delivers one SMS.
func (g *Gateway) Send(ctx context.Context, to, text, purpose string) error {
	return g.Sender.Send(ctx, Message{To: to, Body: text, Purpose: purpose})
}
