package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium (Debian's /usr/bin/chromium) for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; CI must run the browser tests")
		}
		t.Skip("chromium not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

func withDev() harnessOption {
	return func(s *harnessSetup) { s.web.Dev = true }
}

// steps runs browser actions and fails the test on error.
func steps(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignInPage signs in through the real page in a real browser: the
// form posts to the same service call as the API, the cookie is set, and
// the account page shows the user; with an app, the challenge page asks
// for a code (computed by oathtool) first.
func TestSignInPage(t *testing.T) {
	h := newHarness(t, sqliteDSN(t), withDev())
	h.addUser("page@example.com", pw, "")
	ctx := browser(t)

	steps(t, ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "page@example.com"),
		chromedp.SendKeys(`#password`, "wrong password here"),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`.error`),
	)
	if msg := text(t, ctx, `.error`); !strings.Contains(msg, "incorrect") {
		t.Errorf("error text %q, want it to say the email or password is incorrect", msg)
	}
	steps(t, ctx,
		chromedp.SendKeys(`#password`, pw),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`section.card`),
	)
	if heading, body := text(t, ctx, `h1`), text(t, ctx, `main`); heading != "Password & Security" || !strings.Contains(body, "page@example.com") {
		t.Fatalf("after sign-in got %q / %q", heading, body)
	}

	// Link an app through the API, then sign in again through the pages.
	tok := h.login("page@example.com", pw).str(t, "session_token")
	h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok, body: map[string]string{"method": "password", "password": pw}}).want(t, 200)
	secret := h.do(req{method: "POST", path: "/api/v1/me/totp", token: tok, body: map[string]any{}}).want(t, 201).str(t, "secret")
	h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: tok, body: map[string]string{"code": totpCode(t, secret, h.clock.Now())}}).want(t, 200)
	h.clock.Advance(30 * time.Second) // the confirming step is consumed

	steps(t, ctx,
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "page@example.com"),
		chromedp.SendKeys(`#password`, pw),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`#code`),
	)
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=method][value=totp]').checked`))
	if err != nil {
		t.Fatal(err)
	}
	if heading := text(t, ctx, `h1`); heading != "Verify it's you" || !checked {
		t.Fatalf("challenge page: heading %q, totp pre-selected %v", heading, checked)
	}
	// The account page is closed until the challenge is passed.
	steps(t, ctx, chromedp.Navigate(h.url+"/account"), chromedp.WaitVisible(`h1`))
	if closed := text(t, ctx, `h1`); closed != "Finish signing in" {
		t.Fatalf("account page at aal1 shows %q", closed)
	}
	steps(t, ctx,
		chromedp.Navigate(h.url+"/login/mfa"),
		chromedp.WaitVisible(`#code`),
		chromedp.SendKeys(`#code`, totpCode(t, secret, h.clock.Now())),
		chromedp.Submit(`#code`),
		chromedp.WaitVisible(`section.card`),
	)
	if heading, body := text(t, ctx, `h1`), text(t, ctx, `main`); heading != "Password & Security" || !strings.Contains(body, "Authenticator app: on") {
		t.Fatalf("after the challenge got %q / %q", heading, body)
	}
}
