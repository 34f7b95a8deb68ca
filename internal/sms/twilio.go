package sms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// TwilioBaseURL is Twilio's REST API root.
const TwilioBaseURL = "https://api.twilio.com"

// Twilio sends SMS through Twilio's Messages API
// (POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json).
type Twilio struct {
	BaseURL             string       // API root; TwilioBaseURL when empty (tests point it at a fake)
	AccountSID          string       // "AC..."; also the basic-auth user name
	AuthToken           string       // basic-auth password
	From                string       // sending number in E.164, used when MessagingServiceSID is empty
	MessagingServiceSID string       // "MG..."; preferred over From when set
	Client              *http.Client // nil: a client with Timeout that does not follow redirects
}

// twilioMessage is the part of Twilio's Message resource that Send reads.
type twilioMessage struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// twilioError is the part of Twilio's error answer
// {"code","message","more_info","status"} that Send reads: the message is
// skipped because it can quote the recipient's number.
type twilioError struct {
	Code int `json:"code"`
}

// Send creates one outgoing message with To, Body and either
// MessagingServiceSid or From, form-encoded, authenticated with HTTP basic
// auth AccountSID:AuthToken, and waits at most Timeout for the answer.
//
// Success is a 2xx answer whose JSON carries a message sid and a status
// other than failed, undelivered or canceled. Anything else returns an
// error wrapping ErrDelivery that names the HTTP status and, when Twilio
// sent one, its error code (e.g. 21211, invalid "To" number). Twilio's
// error message text is left out because it can quote the recipient.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	if t.AccountSID == "" || t.AuthToken == "" || (t.From == "" && t.MessagingServiceSID == "") {
		return deliveryErr("twilio: account SID, auth token and a from number or messaging service SID are required")
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if t.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.MessagingServiceSID)
	} else {
		form.Set("From", t.From)
	}
	base := t.BaseURL
	if base == "" {
		base = TwilioBaseURL
	}
	endpoint := strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"

	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return deliveryErr("twilio: build request: %v", err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := httpClient(t.Client).Do(req)
	if err != nil {
		return transportErr("twilio", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, drainLimit))
	if err != nil {
		return transportErr("twilio", err)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var te twilioError
		if json.Unmarshal(raw, &te) == nil && te.Code != 0 {
			return deliveryErr("twilio: http %d, error %d", resp.StatusCode, te.Code)
		}
		return deliveryErr("twilio: http %d", resp.StatusCode)
	}
	var msg twilioMessage
	if err := json.Unmarshal(raw, &msg); err != nil || msg.SID == "" {
		return deliveryErr("twilio: http %d without a message sid", resp.StatusCode)
	}
	switch msg.Status {
	case "failed", "undelivered", "canceled":
		return deliveryErr("twilio: http %d, message status %s", resp.StatusCode, msg.Status)
	}
	return nil
}

// httpClient returns c, or a client with Timeout that does not follow
// redirects: a redirect would resend the signed or authenticated request
// somewhere the operator did not configure.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{
		Timeout: Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
