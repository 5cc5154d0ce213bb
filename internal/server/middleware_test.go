package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsNeverShowThePathToken(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.createChannel("acme", false)
	const secret = "wrfs-SECRETsecretSECRET123"
	for _, p := range []string{"/t/" + secret + "/conda/acme/noarch/repodata.json", "/conda/t/" + secret + "/acme/noarch/repodata.json", "/t/" + secret + "/conda/nope/noarch/x.conda"} {
		e.do("GET", p, "", nil)
	}
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("a path token reached the logs:\n%s", out)
	}
	if !strings.Contains(out, "/t/<redacted>/conda/acme/noarch/repodata.json") || !strings.Contains(out, "/conda/t/<redacted>/acme/noarch/repodata.json") {
		t.Errorf("the redacted paths are not logged:\n%s", out)
	}
}

func TestStalledUploadIsDropped(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) { o.UploadIdleTimeout = 300 * time.Millisecond })
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/channels/acme/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: %d\r\n\r\n",
		s.Filename(), basic("admin", adminPassword), len(data))
	conn.Write(data[:100])
	// Send nothing more: the server must give up on its own.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	if res.StatusCode != http.StatusRequestTimeout {
		b, _ := io.ReadAll(res.Body)
		t.Errorf("stalled upload: %d %s, want 408", res.StatusCode, b)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("stalled upload stored: %v", got)
	}
	waitEmpty(t, e.tempDir)
}
