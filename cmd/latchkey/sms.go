package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/sms"
	"github.com/latchkey/latchkey/internal/web"
)

// smsFlags configure the SMS method.
type smsFlags struct {
	methods            config.StringList
	provider           string
	publicHost         string
	defaultRegion      string
	countries          config.StringList
	twilioBaseURL      string
	twilioAccountSID   string
	twilioAuthToken    string
	twilioFrom         string
	twilioMessagingSID string
	webhookURL         string
	webhookSecret      string
	webhookSecretFile  string
	smsNumberPerHour   int
	smsNumberPerDay    int
	smsAccountPerHour  int
	smsIPPerHour       int
	smsGlobalPerHour   int
	smsCooldown        time.Duration
}

// register defines the SMS flags; the caps default to def.
func (f *smsFlags) register(fs *flag.FlagSet, def auth.SMSLimits) {
	f.methods = config.StringList{"totp", "sms"}
	fs.Var(&f.methods, "methods", "second factors offered: totp,sms (drop sms to switch SMS off)")
	fs.StringVar(&f.provider, "sms-provider", "", "twilio, webhook or outbox (outbox: --dev only, and its default)")
	fs.StringVar(&f.publicHost, "public-host", "localhost", "the host users sign in at; SMS end with \"@<host> #<code>\" for one-time-code autofill")
	fs.StringVar(&f.defaultRegion, "sms-default-region", "US", "region assumed for phone numbers typed without a country code")
	fs.Var(&f.countries, "sms-countries", "comma-separated ISO country codes numbers may belong to (empty: all), e.g. US,CA,GB")
	fs.StringVar(&f.twilioBaseURL, "twilio-base-url", "https://api.twilio.com", "Twilio API base URL")
	fs.StringVar(&f.twilioAccountSID, "twilio-account-sid", "", "Twilio account SID")
	fs.StringVar(&f.twilioAuthToken, "twilio-auth-token", "", "Twilio auth token")
	fs.StringVar(&f.twilioFrom, "twilio-from", "", "Twilio sender number (or use --twilio-messaging-service-sid)")
	fs.StringVar(&f.twilioMessagingSID, "twilio-messaging-service-sid", "", "Twilio messaging service SID")
	fs.StringVar(&f.webhookURL, "sms-webhook-url", "", "URL the webhook provider POSTs each SMS to")
	fs.StringVar(&f.webhookSecret, "sms-webhook-secret", "", "secret signing webhook requests (Latchkey-Signature)")
	fs.StringVar(&f.webhookSecretFile, "sms-webhook-secret-file", "", "file holding --sms-webhook-secret")
	fs.DurationVar(&f.smsCooldown, "sms-cooldown", def.NumberCooldown, "minimum time between two SMS to one number")
	fs.IntVar(&f.smsNumberPerHour, "sms-number-per-hour", def.NumberPerHour, "SMS to one number per hour")
	fs.IntVar(&f.smsNumberPerDay, "sms-number-per-day", def.NumberPerDay, "SMS to one number per day")
	fs.IntVar(&f.smsAccountPerHour, "sms-account-per-hour", def.AccountPerHour, "SMS for one account per hour")
	fs.IntVar(&f.smsIPPerHour, "sms-ip-per-hour", def.IPPerHour, "SMS caused from one IP per hour")
	fs.IntVar(&f.smsGlobalPerHour, "sms-global-per-hour", def.GlobalPerHour, "SMS in all per hour")
}

// limits returns the sending caps the flags set.
func (f *smsFlags) limits() auth.SMSLimits {
	return auth.SMSLimits{
		NumberCooldown: f.smsCooldown, NumberPerHour: f.smsNumberPerHour, NumberPerDay: f.smsNumberPerDay,
		AccountPerHour: f.smsAccountPerHour, IPPerHour: f.smsIPPerHour, GlobalPerHour: f.smsGlobalPerHour,
	}
}

// gateway builds the SMS gateway, or nil when SMS is switched off. The
// outbox (which shows codes on a web page) is refused outside --dev.
func (f *smsFlags) gateway(dev bool, reg prometheus.Registerer) (*sms.Gateway, *sms.Outbox, error) {
	for _, m := range f.methods {
		if m != "totp" && m != "sms" {
			return nil, nil, fmt.Errorf("--methods: unknown method %q (want totp, sms)", m)
		}
	}
	if !slices.Contains(f.methods, "sms") {
		return nil, nil, nil
	}
	provider := f.provider
	if provider == "" && dev {
		provider = "outbox"
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var sender sms.Sender
	var outbox *sms.Outbox
	switch provider {
	case "":
		return nil, nil, nil // SMS not configured: the method is off
	case "outbox":
		if !dev {
			return nil, nil, errors.New("--sms-provider outbox shows codes on a web page: only with --dev")
		}
		outbox = sms.NewOutbox(time.Now)
		sender = outbox
	case "twilio":
		if f.twilioAccountSID == "" || f.twilioAuthToken == "" || (f.twilioFrom == "" && f.twilioMessagingSID == "") {
			return nil, nil, errors.New("--sms-provider twilio needs --twilio-account-sid, --twilio-auth-token and --twilio-from or --twilio-messaging-service-sid")
		}
		sender = &sms.Twilio{BaseURL: f.twilioBaseURL, AccountSID: f.twilioAccountSID, AuthToken: f.twilioAuthToken,
			From: f.twilioFrom, MessagingServiceSID: f.twilioMessagingSID, Client: client}
	case "webhook":
		secret := f.webhookSecret
		if secret == "" && f.webhookSecretFile != "" {
			b, err := os.ReadFile(f.webhookSecretFile)
			if err != nil {
				return nil, nil, fmt.Errorf("read --sms-webhook-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if f.webhookURL == "" || secret == "" {
			return nil, nil, errors.New("--sms-provider webhook needs --sms-webhook-url and --sms-webhook-secret")
		}
		sender = &sms.Webhook{URL: f.webhookURL, Secret: []byte(secret), Client: client}
	default:
		return nil, nil, fmt.Errorf("--sms-provider: unknown provider %q (want twilio, webhook or outbox)", provider)
	}
	countries := make([]string, len(f.countries))
	for i, c := range f.countries {
		countries[i] = strings.ToUpper(c)
	}
	return &sms.Gateway{
		Sender: sms.Counting(sender, reg), Product: "Latchkey", Host: f.publicHost,
		DefaultRegion: f.defaultRegion, Countries: countries, Rand: rand.Reader,
	}, outbox, nil
}

// outboxMessages adapts the development outbox to the page.
func outboxMessages(o *sms.Outbox) func() []web.OutboxMessage {
	if o == nil {
		return nil
	}
	return func() []web.OutboxMessage {
		var out []web.OutboxMessage
		for _, m := range o.Messages() {
			out = append(out, web.OutboxMessage{To: m.To, Body: m.Body, Purpose: m.Purpose, At: m.At})
		}
		return out
	}
}
