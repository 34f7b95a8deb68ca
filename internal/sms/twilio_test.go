package sms

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tok3n-s3cret"
	testCode  = "493027"
)

var testMessage = Message{
	To:      "+14155552671",
	Body:    CodeBody("Latchkey", PurposeLogin, "login.example.com", testCode),
	Purpose: PurposeLogin,
}

// fakeTwilio answers like Twilio's Messages API after checking the request;
// it reports what it saw in *got.
func fakeTwilio(t *testing.T, status int, answer string, got *url.Values) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; r.URL.Path != want {
			t.Errorf("path %q, want %q", r.URL.Path, want)
		}
		if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
			t.Errorf("basic auth %q:%q (%v), want the account SID and token", user, pass, ok)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q, want application/x-www-form-urlencoded", ct)
		}
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Errorf("form: %v", err)
		}
		*got = form
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const twilioCreated = `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","body":"...","to":"+14155552671"}`

const twilio21211 = `{"code":21211,"message":"The 'To' number +14155552671 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`

func TestTwilio_Send(t *testing.T) {
	t.Run("OK/From", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusCreated, twilioCreated, &form)
		tw := &Twilio{BaseURL: srv.URL + "/", AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		if err := tw.Send(context.Background(), testMessage); err != nil {
			t.Fatalf("Send: %v", err)
		}
		want := url.Values{"To": {testMessage.To}, "From": {"+15005550006"}, "Body": {testMessage.Body}}
		if form.Encode() != want.Encode() {
			t.Errorf("form %v, want %v", form, want)
		}
	})

	t.Run("OK/MessagingService", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusCreated, twilioCreated, &form)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"}
		if err := tw.Send(context.Background(), testMessage); err != nil {
			t.Fatalf("Send: %v", err)
		}
		want := url.Values{"To": {testMessage.To}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {testMessage.Body}}
		if form.Encode() != want.Encode() {
			t.Errorf("form %v, want %v", form, want)
		}
	})

	t.Run("ErrInvalidTo", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusBadRequest, twilio21211, &form)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		err := tw.Send(context.Background(), testMessage)
		if !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
		if !strings.Contains(err.Error(), "21211") || !strings.Contains(err.Error(), "400") {
			t.Errorf("error %q does not name the Twilio code and status", err)
		}
		assertNoSecrets(t, err)
	})

	t.Run("ErrServerNotJSON", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusServiceUnavailable, "<html>down</html>", &form)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		err := tw.Send(context.Background(), testMessage)
		if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("got %v, want ErrDelivery naming 503", err)
		}
	})

	t.Run("ErrFailedStatus", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusCreated, `{"sid":"SMx","status":"failed"}`, &form)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		if err := tw.Send(context.Background(), testMessage); !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
	})

	t.Run("ErrNoSid", func(t *testing.T) {
		var form url.Values
		srv := fakeTwilio(t, http.StatusOK, `not json`, &form)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		if err := tw.Send(context.Background(), testMessage); !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
	})

	t.Run("ErrTimeout", func(t *testing.T) {
		srv := hangingServer(t)
		tw := &Twilio{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: "+15005550006",
			Client: &http.Client{Timeout: 100 * time.Millisecond}}
		start := time.Now()
		err := tw.Send(context.Background(), testMessage)
		if !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v, want it to give up at the client timeout", d)
		}
		assertNoSecrets(t, err)
	})

	t.Run("ErrConnectionRefused", func(t *testing.T) {
		tw := &Twilio{BaseURL: refusedURL(t), AccountSID: testSID, AuthToken: testToken, From: "+15005550006"}
		err := tw.Send(context.Background(), testMessage)
		if !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
		assertNoSecrets(t, err)
	})

	t.Run("ErrNotConfigured", func(t *testing.T) {
		tw := &Twilio{AccountSID: testSID, AuthToken: testToken}
		if err := tw.Send(context.Background(), testMessage); !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
	})
}

// hangingServer reads the request and never answers until the client goes
// away or the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: cleanups are LIFO
	return srv
}

// refusedURL returns the URL of a server that has been shut down, so a
// connection to it is refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// assertNoSecrets fails when err names the message body, the code, the
// recipient or the auth token.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{testCode, testMessage.To, testMessage.Body, testToken, "4155552671"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains %q", msg, secret)
		}
	}
}
