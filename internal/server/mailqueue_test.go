package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// recordingStore records the calls of the store methods that account requests may make, in
// order: the account-dependent ones (addresses, accounts, mailed links) and those every
// request makes (settings, sessions).
type recordingStore struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

func (r *recordingStore) note(name string) {
	r.mu.Lock()
	r.calls = append(r.calls, name)
	r.mu.Unlock()
}

// take returns the calls recorded since the last take.
func (r *recordingStore) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recordingStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	r.note("UserByEmail")
	return r.Store.UserByEmail(ctx, email)
}
func (r *recordingStore) UserByName(ctx context.Context, name string) (store.User, error) {
	r.note("UserByName")
	return r.Store.UserByName(ctx, name)
}
func (r *recordingStore) UserByID(ctx context.Context, id int64) (store.User, error) {
	r.note("UserByID")
	return r.Store.UserByID(ctx, id)
}
func (r *recordingStore) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	r.note("CreateUser")
	return r.Store.CreateUser(ctx, u)
}
func (r *recordingStore) NameFree(ctx context.Context, name string) error {
	r.note("NameFree")
	return r.Store.NameFree(ctx, name)
}
func (r *recordingStore) UpdateUser(ctx context.Context, id int64, up store.UserUpdate) (store.User, error) {
	r.note("UpdateUser")
	return r.Store.UpdateUser(ctx, id, up)
}
func (r *recordingStore) CreateEmailToken(ctx context.Context, t store.EmailToken) error {
	r.note("CreateEmailToken")
	return r.Store.CreateEmailToken(ctx, t)
}
func (r *recordingStore) UseEmailToken(ctx context.Context, purpose, hash string, now time.Time) (store.EmailToken, error) {
	r.note("UseEmailToken")
	return r.Store.UseEmailToken(ctx, purpose, hash, now)
}
func (r *recordingStore) ChannelByName(ctx context.Context, name string) (store.Channel, error) {
	r.note("ChannelByName")
	return r.Store.ChannelByName(ctx, name)
}
func (r *recordingStore) Setting(ctx context.Context, key string) (string, bool, error) {
	r.note("Setting")
	return r.Store.Setting(ctx, key)
}
func (r *recordingStore) SessionByHash(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	r.note("SessionByHash")
	return r.Store.SessionByHash(ctx, hash, now)
}

// gatedSender holds every mail until it is opened, and tells each one that arrives: the
// stand-in for an SMTP server that takes its time.
type gatedSender struct {
	arrived chan mail.Message
	open    chan struct{}
	mu      sync.Mutex
	sent    []mail.Message
}

func (g *gatedSender) Send(ctx context.Context, m mail.Message) error {
	g.arrived <- m
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	g.sent = append(g.sent, m)
	g.mu.Unlock()
	return nil
}

// Password reset, a new confirmation link and sign-up, on the API and in the pages, do the
// same work before they answer whether or not the address has an account (the same store
// calls, in the same order, and no mail), and answer before any mail is made: the account
// work waits in the mail queue. Timing them told which addresses have accounts.
func TestAccountMailAnswersAlike(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bl, err := blob.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rs := &recordingStore{Store: st}
	sender := &gatedSender{arrived: make(chan mail.Message, 100), open: make(chan struct{})}
	plenty := ratelimit.Limit{Burst: 1000, Interval: time.Millisecond}
	srv, err := server.New(rs, bl, server.Options{TempDir: t.TempDir(), Mail: sender, Signup: server.SignupOpen, MailWorkers: 1,
		Mails: ratelimit.NewLogins(ratelimit.Config{PerAccount: plenty, PerAddress: plenty}), PublicURL: "https://wharf.example.com",
		Logger: slog.New(slog.NewJSONHandler(suiteLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	hs.Client().Timeout = 10 * time.Second // a request that waits on the mailer fails here
	e := &env{t: t, srv: hs, server: srv}
	hash, _ := access.HashPassword(adminPassword)
	for _, u := range []store.NewUser{
		{Name: "admin", Email: "admin@example.com", EmailVerified: true, PasswordHash: hash, Admin: true},
		{Name: "known", Email: "known@example.com", EmailVerified: true, PasswordHash: hash},
		{Name: "pending", Email: "pending@example.com", PasswordHash: hash},
	} {
		if _, err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	// The one mail worker takes a first mail and is held in the sender: nothing queued after
	// it runs until the test opens the gate.
	e.mustDo("POST", "/api/v1/invites", admin, map[string]string{"email": "plug@example.com"}, 202)
	if m := <-sender.arrived; m.To != "plug@example.com" {
		t.Fatalf("first mail to %s", m.To)
	}

	form := func(path string, v url.Values) resp {
		return e.do("POST", path, "", []byte(v.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
	}
	apiCall := func(path string, body map[string]string) resp {
		b, _ := json.Marshal(body)
		return e.do("POST", path, "", b, "Content-Type", "application/json")
	}
	n := 0
	for _, tc := range []struct {
		name        string
		with, witho string // an address with an account (for resend: waiting for confirmation) and one without
		ask         func(addr string) resp
	}{
		{"API reset", "known@example.com", "nobody@example.com", func(a string) resp { return apiCall("/api/v1/password-reset", map[string]string{"email": a}) }},
		{"page reset", "known@example.com", "nobody@example.com", func(a string) resp { return form("/account/reset", url.Values{"email": {a}}) }},
		{"API resend", "pending@example.com", "nobody@example.com", func(a string) resp {
			return apiCall("/api/v1/account/verify/resend", map[string]string{"email": a})
		}},
		{"page resend", "pending@example.com", "nobody@example.com", func(a string) resp { return form("/account/verify/resend", url.Values{"email": {a}}) }},
		{"API sign-up", "known@example.com", "fresh1@example.com", func(a string) resp {
			n++
			return apiCall("/api/v1/signup", map[string]string{"username": "new" + string(rune('a'+n)), "email": a, "password": "a long enough password"})
		}},
		{"page sign-up", "known@example.com", "fresh2@example.com", func(a string) resp {
			n++
			return form("/signup", url.Values{"username": {"new" + string(rune('a'+n))}, "email": {a}, "password": {"a long enough password"}})
		}},
	} {
		rs.take()
		with := tc.ask(tc.with)
		callsWith := rs.take()
		without := tc.ask(tc.witho)
		callsWithout := rs.take()
		if with.status != http.StatusAccepted || without.status != with.status {
			t.Errorf("%s: %d for an address with an account, %d without; want 202 both", tc.name, with.status, without.status)
		}
		if a, b := requestIDRE.ReplaceAllString(string(with.body), ""), requestIDRE.ReplaceAllString(string(without.body), ""); a != b {
			t.Errorf("%s: answers differ:\n%s\n%s", tc.name, a, b)
		}
		if !slices.Equal(callsWith, callsWithout) {
			t.Errorf("%s: store calls before the answer differ:\nwith an account    %v\nwithout an account %v", tc.name, callsWith, callsWithout)
		}
		for _, c := range callsWith {
			if c == "UserByEmail" || c == "CreateEmailToken" || c == "CreateUser" {
				t.Errorf("%s: %s before the answer", tc.name, c)
			}
		}
		select {
		case m := <-sender.arrived:
			t.Errorf("%s: a mail to %s was made before the answer", tc.name, m.To)
		default:
		}
	}

	// Then the queue does the work, and the mails that tell go where they should.
	close(sender.open)
	if err := srv.WaitMail(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, m := range sender.sent {
		got[m.To] = append(got[m.To], m.Subject)
	}
	want := map[string][]string{
		"plug@example.com":    {"You are invited to Wharf"},
		"known@example.com":   {"Reset your Wharf password", "Reset your Wharf password", "Someone tried to sign up to Wharf with your address", "Someone tried to sign up to Wharf with your address"},
		"pending@example.com": {"Confirm your Wharf account", "Confirm your Wharf account"},
		"fresh1@example.com":  {"Confirm your Wharf account"},
		"fresh2@example.com":  {"Confirm your Wharf account"},
	}
	for addr, subjects := range want {
		g := got[addr]
		slices.Sort(g)
		slices.Sort(subjects)
		if !slices.Equal(g, subjects) {
			t.Errorf("mails to %s: %q, want %q", addr, g, subjects)
		}
	}
	if len(got["nobody@example.com"]) != 0 {
		t.Errorf("mails to an address without an account: %q", got["nobody@example.com"])
	}
	if users, _ := st.ListUsers(ctx); len(users) != 5 {
		t.Errorf("%d accounts after two sign-ups of new addresses and two of known@, want 5", len(users))
	}
}

// BenchmarkPasswordReset measures what a client sees of a reset request: the time to the
// first byte of the answer and to its end, for an address with an account and one without,
// taken in turns, each on an idle server (the work a request queued runs between the
// measured requests); it reports the medians in milliseconds.
//
//	go test ./internal/server -run '^$' -bench PasswordReset -benchtime 300x
func BenchmarkPasswordReset(b *testing.B) {
	plenty := ratelimit.Limit{Burst: 1 << 30, Interval: time.Nanosecond}
	e := newEnv(b, backends[0], func(o *server.Options) {
		o.Mails = ratelimit.NewLogins(ratelimit.Config{PerAccount: plenty, PerAddress: plenty})
	})
	e.user("known", "a long enough password")
	first, whole := map[string][]time.Duration{}, map[string][]time.Duration{}
	addrs := []string{"known@example.com", "nobody@example.com"}
	for b.Loop() {
		for _, addr := range addrs {
			req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/password-reset", strings.NewReader(`{"email":"`+addr+`"}`))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			var got time.Time
			req = req.WithContext(httptrace.WithClientTrace(b.Context(), &httptrace.ClientTrace{GotFirstResponseByte: func() { got = time.Now() }}))
			start := time.Now()
			res, err := e.srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			end := time.Now()
			if res.StatusCode != http.StatusAccepted {
				b.Fatalf("%s: %d", addr, res.StatusCode)
			}
			first[addr] = append(first[addr], got.Sub(start))
			whole[addr] = append(whole[addr], end.Sub(start))
			b.StopTimer()
			e.server.WaitMail(b.Context())
			b.StartTimer()
		}
		addrs[0], addrs[1] = addrs[1], addrs[0]
	}
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(median(first["known@example.com"]), "ms-first-byte-account")
	b.ReportMetric(median(first["nobody@example.com"]), "ms-first-byte-no-account")
	b.ReportMetric(median(whole["known@example.com"]), "ms-whole-account")
	b.ReportMetric(median(whole["nobody@example.com"]), "ms-whole-no-account")
}
