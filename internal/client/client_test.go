package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseServer(t *testing.T) {
	const tok = "wrfs-s3cretS3cretS3cret"
	cases := []struct {
		in   string
		want Endpoint
		bad  bool
	}{
		{in: "http://127.0.0.1:8080", want: Endpoint{Server: "http://127.0.0.1:8080"}},
		{in: "https://wharf.example.com/", want: Endpoint{Server: "https://wharf.example.com"}},
		{in: "https://wharf.example.com/wharf/", want: Endpoint{Server: "https://wharf.example.com/wharf"}},
		{in: "https://alice:s3cret@wharf.example.com", want: Endpoint{Server: "https://wharf.example.com", Username: "alice", Password: "s3cret"}},
		{in: "https://wharf.example.com/t/" + tok, want: Endpoint{Server: "https://wharf.example.com", Token: tok}},
		{in: "https://wharf.example.com/t/" + tok + "/", want: Endpoint{Server: "https://wharf.example.com", Token: tok}},
		{in: "https://wharf.example.com/t/" + tok + "/wharf", want: Endpoint{Server: "https://wharf.example.com/wharf", Token: tok}},
		{in: "wharf.example.com", bad: true},
		{in: "ftp://wharf.example.com", bad: true},
		{in: "http://alice:s3cret@[::1", bad: true},
		{in: "http://[::1/t/" + tok, bad: true},
	}
	for _, c := range cases {
		got, err := ParseServer(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseServer(%q) accepted", c.in)
			} else if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("ParseServer(%q) error shows a secret: %v", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseServer(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/channels/nope":
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":"not_found","message":"channel \"nope\" not found"}}`))
		case "/api/v1/channels/acme/dev/packages/demo":
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":"not_found","message":"package \"demo\" not found"}}`))
		case "/api/v1/channels/acme":
			w.WriteHeader(403)
			w.Write([]byte(`{"error":{"code":"forbidden","message":"you may not do this"}}`))
		default:
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"code":"unauthorized","message":"sign in"}}`))
		}
	}))
	defer hs.Close()
	c := New(hs.URL, "bob", "pw")
	ctx := context.Background()
	_, err := c.Channel(ctx, "nope")
	if err == nil || !strings.Contains(err.Error(), "wharf channel create") {
		t.Errorf("missing channel: %v; want a hint to create it", err)
	}
	_, err = c.SetPackagePrivate(ctx, "acme/dev", "demo", true)
	if err == nil || !strings.Contains(err.Error(), "`wharf file list acme/dev`") {
		t.Errorf("missing package: %v; want a hint to list the channel's files", err)
	}
	_, err = c.Channel(ctx, "acme")
	if err == nil || !strings.Contains(err.Error(), "as bob on "+hs.URL) {
		t.Errorf("forbidden: %v; want who and where", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("forbidden: %T %v; want an *APIError with status 403", err, err)
	}
	_, err = New(hs.URL, "", "").Whoami(ctx)
	if err == nil || !strings.Contains(err.Error(), "WHARF_USERNAME") || !strings.Contains(err.Error(), "wharf login") {
		t.Errorf("anonymous 401: %v; want a hint to sign in", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	_, err = New(addr, "", "").Channels(ctx)
	if err == nil || !strings.Contains(err.Error(), "--server") || !strings.Contains(err.Error(), addr) {
		t.Errorf("unreachable server: %v; want the address and a hint", err)
	}
}
