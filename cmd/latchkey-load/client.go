package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// requestTimeout bounds the wait for every answer's headers, so a stuck
// server cannot hang a scenario past its duration by more than this. It is a
// transport setting rather than http.Client.Timeout, which would add a
// deadline context and timer to every request of the hot loop.
const requestTimeout = 30 * time.Second

// loopbackURL parses raw and accepts it only if it is an http(s) URL whose
// host is a loopback address: "localhost", 127.0.0.0/8 or ::1 (also as an
// IPv4-mapped IPv6 address). Anything else is refused, because this tool may
// only send traffic to the machine it runs on. The returned URL has no
// trailing slash, query or fragment.
//
// Host names other than "localhost" are refused even if they would resolve
// to a loopback address (DNS could change between check and dial); the
// dialer checks the address it actually connects to as well.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--url %q: scheme must be http or https", raw)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("--url %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--url %q: must not have a query or fragment", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("--url %q: host %q is not a loopback address (localhost, 127.0.0.0/8, ::1); this tool only loads the local machine", raw, u.Hostname())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// isLoopbackHost reports whether host (without port or brackets) is
// "localhost" or a loopback IP literal without a zone.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return false
	}
	return addr.Unmap().IsLoopback()
}

// dialLoopbackOnly is a net.Dialer Control function that refuses any
// connection whose remote address is not a loopback IP: a second line of
// defence behind loopbackURL (e.g. if "localhost" resolved elsewhere).
func dialLoopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refusing to dial %s: %w", address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("refusing to dial %s: not a loopback address", address)
	}
	return nil
}

// client talks to one Latchkey server. Every request goes through one
// shared http.Transport.
type client struct {
	base       string // scheme://host[:port][/prefix], no trailing slash
	http       *http.Client
	adminToken string
}

// newClient returns a client for base with a transport that keeps up to
// concurrency idle connections (one per worker), never uses a proxy from the
// environment, never follows redirects and only dials loopback addresses.
func newClient(base *url.URL, adminToken string, concurrency int) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: dialLoopbackOnly}
	tr := &http.Transport{
		Proxy:                 nil, // HTTP_PROXY must never divert load off this machine
		DialContext:           dialer.DialContext,
		MaxIdleConns:          0, // no global cap; the per-host cap below applies
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	return &client{
		base: base.String(),
		http: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		adminToken: adminToken,
	}
}

// closeIdle closes idle connections (after a flood opened hundreds).
func (c *client) closeIdle() { c.http.CloseIdleConnections() }

// outcome is the result of one request (or one multi-request operation).
type outcome struct {
	ok     bool   // the expected answer came back
	status int    // HTTP status (0 if no answer)
	code   string // the API error code of a non-2xx answer
	err    error  // transport error (no answer) or undecodable answer
}

// key names the outcome in the error table: "429 rate_limited",
// "200 unexpected" or "transport: <error>".
func (o outcome) key() string {
	switch {
	case o.err != nil && o.status == 0:
		return "transport: " + shortError(o.err)
	case o.err != nil:
		return fmt.Sprintf("%d %s", o.status, shortError(o.err))
	case o.code != "":
		return fmt.Sprintf("%d %s", o.status, o.code)
	default:
		return fmt.Sprintf("%d unexpected", o.status)
	}
}

// shortError strips the URL wrapper (method and address repeat in every
// transport error and would split one cause into several table rows).
func shortError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// errorBody is the API error document.
type errorBody struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// call sends one request with an optional bearer token and JSON body. A 2xx
// answer is decoded into out (if not nil) and ok is set when the status is
// want; otherwise the error code is taken from the body.
func (c *client) call(ctx context.Context, method, path, token string, body, out any, want int) outcome {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return outcome{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, token, rd)
	if err != nil {
		return outcome{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out, want)
}

// newRequest builds a request to the server with an optional bearer token.
// A request without a body may be sent again with send once the previous
// send returned, which the session scenario does to keep the tool's own
// cost per request low.
func (c *client) newRequest(ctx context.Context, method, path, token string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// send sends req and reads the answer to the end (so the connection is
// reused): a want answer is decoded into out if out is not nil; for a
// status of 300 or more the API error code is taken from the body.
func (c *client) send(req *http.Request, out any, want int) outcome {
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	o := outcome{status: resp.StatusCode}
	switch {
	case resp.StatusCode == want && out != nil:
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			o.err = fmt.Errorf("decode answer: %w", err)
			break
		}
		o.ok = true
	case resp.StatusCode == want:
		o.ok = true
	case resp.StatusCode >= 300:
		var eb errorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil {
			o.code = eb.Error.Code
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return o
}

// loginAnswer is the part of POST /api/v1/login's answer the tool uses.
type loginAnswer struct {
	SessionToken string `json:"session_token"`
	AAL          int    `json:"aal"`
	MFARequired  bool   `json:"mfa_required"`
}

// login signs in with a password.
func (c *client) login(ctx context.Context, email, password string) (loginAnswer, outcome) {
	var a loginAnswer
	o := c.call(ctx, http.MethodPost, "/api/v1/login", "",
		map[string]string{"email": email, "password": password}, &a, http.StatusOK)
	return a, o
}

// loginMFA completes an aal1 session's challenge with a TOTP code and
// returns the new aal2 token.
func (c *client) loginMFA(ctx context.Context, token, code string) (string, outcome) {
	var a struct {
		SessionToken string `json:"session_token"`
	}
	o := c.call(ctx, http.MethodPost, "/api/v1/login/mfa", token,
		map[string]string{"method": "totp", "code": code}, &a, http.StatusOK)
	return a.SessionToken, o
}

// createUser creates a user through the admin API.
func (c *client) createUser(ctx context.Context, email, password string) outcome {
	return c.call(ctx, http.MethodPost, "/api/v1/admin/users", c.adminToken,
		map[string]string{"email": email, "password": password, "role": "user"}, nil, http.StatusCreated)
}

// failed turns a failed outcome into an error for setup steps.
func (o outcome) failed(step string) error {
	if o.ok {
		return nil
	}
	return fmt.Errorf("%s: %s", step, o.key())
}

// checkServer makes sure the server answers /healthz and that the admin
// token works, so a typo fails fast instead of as thousands of errors.
func (c *client) checkServer(ctx context.Context) error {
	if o := c.call(ctx, http.MethodGet, "/healthz", "", nil, nil, http.StatusOK); !o.ok {
		return fmt.Errorf("server at %s is not healthy: %s", c.base, o.key())
	}
	o := c.call(ctx, http.MethodGet, "/api/v1/admin/users?email=nobody%40load.invalid", c.adminToken, nil, nil, http.StatusOK)
	if !o.ok {
		return fmt.Errorf("admin token refused (GET /api/v1/admin/users): %s", o.key())
	}
	return nil
}
