package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// smallBuffers accepts connections whose send buffers are small, so that a large answer is
// still being written when its client gives up (on loopback the kernel would otherwise take
// megabytes at once).
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A client that resets the connection while a large answer is being written (it gave up, or
// was killed) is a client that left: the failed write is not an outage, so it is neither
// answered nor logged as a 503 (nor any 5xx).
func TestClientThatLeavesMidAnswerIsNoOutage(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var adminID int64
	if u, err := e.store.UserByName(t.Context(), "admin"); err != nil {
		t.Fatal(err)
	} else {
		adminID = u.ID
	}
	// About 50 KiB of JSON: far more than the buffers of the connection hold.
	for i := range 300 {
		if _, err := e.store.CreateChannel(t.Context(), store.NewChannel{Name: fmt.Sprintf("channel-%03d", i), OwnerUserID: adminID, ActorID: adminID}); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewUnstartedServer(e.server.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs.Listener = smallBuffers{ln}
	hs.Start()
	defer hs.Close()

	for _, path := range []string{"/api/v1/channels", "/"} { // the API's JSON, a page
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		c, err := d.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: wharf.test\r\n\r\n", path)
		if _, err := io.ReadFull(c, make([]byte, 100)); err != nil {
			t.Fatalf("%s: the answer did not start: %v", path, err)
		}
		c.(*net.TCPConn).SetLinger(0) // reset, as a killed client's connection is
		c.Close()

		status := waitAccessLog(t, logs, path)
		if status >= 500 {
			t.Errorf("GET %s by a client that left mid-answer: logged as status %d, want 499 (the client left)", path, status)
		}
	}
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("a client that left mid-answer is logged as an error: %s", line)
		}
	}
}

// waitAccessLog waits for the access log line of a GET of path and returns its status.
func waitAccessLog(t *testing.T, logs *syncBuffer, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for line := range strings.Lines(logs.String()) {
			var l struct {
				Msg, Method, Path string
				Status            int
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Method == "GET" && l.Path == path {
				return l.Status
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for GET %s in:\n%s", path, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
