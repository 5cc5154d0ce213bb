package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The body timeout runs again from a handler's first read: a client that waits for "100
// Continue" (curl does, for large bodies) sends its body only then, and a handler that was
// slow to start reading (a password hash queued behind others) must not have spent the
// client's time.
func TestBodyTimeoutRunsFromTheFirstRead(t *testing.T) {
	s := &Server{opts: Options{BodyTimeout: 500 * time.Millisecond}, log: slog.New(slog.DiscardHandler)}
	got := make(chan string, 1)
	h := s.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(800 * time.Millisecond) // longer than the body timeout
		b, err := io.ReadAll(r.Body)
		if err != nil {
			got <- "error: " + err.Error()
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		got <- string(b)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"x"}`
	fmt.Fprintf(conn, "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(body))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("waiting for 100 Continue: %q, %v", line, err)
	}
	br.ReadString('\n') // the empty line after it
	time.Sleep(100 * time.Millisecond)
	io.WriteString(conn, body)
	if b := <-got; b != body {
		t.Errorf("the handler read %q, want the body", b)
	}
}
