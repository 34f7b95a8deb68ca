package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("webhook-secret-0123456789")
	testNow    = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
)

// receivedPayload is the exact JSON shape a receiver accepts.
type receivedPayload struct {
	To      string `json:"to"`
	Body    string `json:"body"`
	Purpose string `json:"purpose"`
}

// fakeReceiver verifies each request as an operator's receiver would and
// answers status; the decoded payloads are sent on the returned channel.
func fakeReceiver(t *testing.T, status int) (*httptest.Server, <-chan receivedPayload) {
	t.Helper()
	got := make(chan receivedPayload, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		if err := VerifySignature(r.Header.Get(SignatureHeader), raw, testSecret, testNow.Add(2*time.Second), DefaultTolerance); err != nil {
			t.Errorf("VerifySignature: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var p receivedPayload
		if err := dec.Decode(&p); err != nil {
			t.Errorf("decode %s: %v", raw, err)
		}
		if dec.More() {
			t.Errorf("trailing data after the JSON object in %s", raw)
		}
		got <- p
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestWebhook_Send(t *testing.T) {
	now := func() time.Time { return testNow }

	for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusNoContent} {
		t.Run("OK/"+http.StatusText(status), func(t *testing.T) {
			srv, got := fakeReceiver(t, status)
			wh := &Webhook{URL: srv.URL, Secret: testSecret, Now: now}
			if err := wh.Send(context.Background(), testMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := receivedPayload(testMessage)
			if p := <-got; p != want {
				t.Errorf("receiver got %+v, want %+v", p, want)
			}
		})
	}

	t.Run("OK/BodyEndsWithWebOTPLine", func(t *testing.T) {
		srv, got := fakeReceiver(t, http.StatusOK)
		wh := &Webhook{URL: srv.URL, Secret: testSecret, Now: now}
		if err := wh.Send(context.Background(), testMessage); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if p := <-got; !webOTPLine.MatchString(p.Body) {
			t.Errorf("body %q does not end with \\n@host #code", p.Body)
		}
	})

	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusFound, http.StatusBadRequest} {
		t.Run("Err"+strings.ReplaceAll(http.StatusText(status), " ", ""), func(t *testing.T) {
			srv, _ := fakeReceiver(t, status)
			wh := &Webhook{URL: srv.URL, Secret: testSecret, Now: now}
			err := wh.Send(context.Background(), testMessage)
			if !errors.Is(err, ErrDelivery) {
				t.Fatalf("got %v, want ErrDelivery", err)
			}
			assertNoSecrets(t, err)
		})
	}

	t.Run("ErrTimeout", func(t *testing.T) {
		srv := hangingServer(t)
		wh := &Webhook{URL: srv.URL, Secret: testSecret, Now: now, Client: &http.Client{Timeout: 100 * time.Millisecond}}
		if err := wh.Send(context.Background(), testMessage); !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
	})

	t.Run("ErrContextDeadline", func(t *testing.T) {
		srv := hangingServer(t)
		wh := &Webhook{URL: srv.URL, Secret: testSecret, Now: now}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := wh.Send(ctx, testMessage)
		if !errors.Is(err, ErrDelivery) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want ErrDelivery and DeadlineExceeded", err)
		}
	})

	t.Run("ErrConnectionRefused", func(t *testing.T) {
		wh := &Webhook{URL: refusedURL(t) + "/sms?token=url-token", Secret: testSecret, Now: now}
		err := wh.Send(context.Background(), testMessage)
		if !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
		if strings.Contains(err.Error(), "url-token") {
			t.Errorf("error %q contains the URL's token", err)
		}
		assertNoSecrets(t, err)
	})

	t.Run("ErrNoSecret", func(t *testing.T) {
		srv, _ := fakeReceiver(t, http.StatusOK)
		wh := &Webhook{URL: srv.URL}
		if err := wh.Send(context.Background(), testMessage); !errors.Is(err, ErrDelivery) {
			t.Fatalf("got %v, want ErrDelivery", err)
		}
	})
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"to":"+14155552671","body":"x","purpose":"login"}`)
	valid := Sign(testSecret, body, testNow)
	sig := valid[strings.Index(valid, "v1="):]
	tests := []struct {
		name   string
		header string
		body   []byte
		secret []byte
		now    time.Time
		ok     bool
	}{
		{"OK", valid, body, testSecret, testNow, true},
		{"OK/WithinTolerance", valid, body, testSecret, testNow.Add(DefaultTolerance), true},
		{"OK/SlightlyAhead", valid, body, testSecret, testNow.Add(-time.Minute), true},
		{"OK/SpacesAndUnknownKeys", "t=" + ts(testNow) + ", v0=abc, " + sig, body, testSecret, testNow, true},
		{"OK/SecondV1Matches", valid + ",v1=" + strings.Repeat("00", 32), body, testSecret, testNow, true},
		{"OK/FirstV1WrongSecondMatches", "t=" + ts(testNow) + ",v1=" + strings.Repeat("ab", 32) + "," + sig, body, testSecret, testNow, true},
		{"ErrTamperedBody", valid, []byte(`{"to":"+14155550000","body":"x","purpose":"login"}`), testSecret, testNow, false},
		{"ErrOldTimestamp", valid, body, testSecret, testNow.Add(DefaultTolerance + time.Second), false},
		{"ErrFutureTimestamp", valid, body, testSecret, testNow.Add(-DefaultTolerance - time.Second), false},
		{"ErrTimestampSwapped", "t=" + ts(testNow.Add(time.Second)) + "," + sig, body, testSecret, testNow, false},
		{"ErrWrongSecret", valid, body, []byte("other"), testNow, false},
		{"ErrEmptySecret", valid, body, nil, testNow, false},
		{"ErrEmptyHeader", "", body, testSecret, testNow, false},
		{"ErrNoTimestamp", sig, body, testSecret, testNow, false},
		{"ErrNoSignature", "t=" + ts(testNow), body, testSecret, testNow, false},
		{"ErrTwoTimestamps", "t=" + ts(testNow) + ",t=1," + sig, body, testSecret, testNow, false},
		{"ErrSignedTimestamp", "t=+" + ts(testNow) + "," + sig, body, testSecret, testNow, false},
		{"ErrShortSignature", "t=" + ts(testNow) + ",v1=abcd", body, testSecret, testNow, false},
		{"ErrNotHex", "t=" + ts(testNow) + ",v1=" + strings.Repeat("zz", 32), body, testSecret, testNow, false},
		{"ErrMalformed", "garbage", body, testSecret, testNow, false},
		{"ErrTooLong", valid + "," + strings.Repeat("x=y,", 300), body, testSecret, testNow, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.header, tc.body, tc.secret, tc.now, DefaultTolerance)
			if tc.ok && err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("got nil, want an error")
				}
				if !errors.Is(err, ErrSignature) {
					t.Errorf("got %v, want it to wrap ErrSignature", err)
				}
			}
		})
	}
}

// ts is the header form of a signature timestamp.
func ts(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"to":"+14155552671","body":"x","purpose":"login"}`)
	f.Add(Sign(testSecret, body, testNow), body)
	f.Add("t=1,v1=00", body)
	f.Add("t=99999999999999999999,v1=", body)
	f.Add("t=-1,v1="+strings.Repeat("0", 64), body)
	f.Add(",,,==,t=,v1", []byte{})
	f.Add("t=1773500966,v1="+strings.Repeat("f", 64)+",v1=zz", []byte("{}"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifySignature(header, body, testSecret, testNow, DefaultTolerance)
		if err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v does not wrap ErrSignature", err)
		}
		// Whatever is accepted must depend on the secret.
		if err == nil && VerifySignature(header, body, []byte("another secret"), testNow, DefaultTolerance) == nil {
			t.Fatalf("header %q is accepted under two secrets", header)
		}
	})
}
