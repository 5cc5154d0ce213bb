package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// BenchmarkUpload is one upload of a small conda package (a new file each time) through the
// REST API with a token, on each backend: what the re-check of the credential at commit
// (issue 12, item 10b) adds to an upload is the difference from a build without it.
//
//	go test -run '^$' -bench Upload -benchmem ./internal/server/
func BenchmarkUpload(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be)
			e.createChannel("acme", false)
			body, _ := json.Marshal(map[string]any{"name": "ci", "scopes": []string{"conda"}})
			r := e.do("POST", "/api/v1/tokens", admin, body, "Content-Type", "application/json")
			var out struct{ Token string }
			if err := json.Unmarshal(r.body, &out); err != nil || r.status != http.StatusCreated {
				b.Fatalf("token: %d %s", r.status, r.body)
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				i++
				s := spec(fmt.Sprintf("pkg%06d", i), "1.0", "0", "noarch", condatest.Conda)
				data := condatest.Build(b, s)
				req, _ := http.NewRequestWithContext(b.Context(), "PUT", e.srv.URL+"/api/v1/channels/acme/files/"+s.Filename(), bytes.NewReader(data))
				req.Header.Set("Authorization", "token "+out.Token)
				b.StartTimer()
				res, err := e.srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Fatalf("upload: %d", res.StatusCode)
				}
			}
		})
	}
}

// BenchmarkReupload is the upload of a 16 MiB wheel whose bytes are stored already (the same
// file again, answered 200): what checking the stored blob before keeping it (it is read and
// hashed once, so that an upload repairs a damaged one) adds to such an upload.
//
//	go test -run '^$' -bench Reupload ./internal/server/
func BenchmarkReupload(b *testing.B) {
	e := newEnv(b, backends[0])
	e.createChannel("acme", false)
	payload := make([]byte, 16<<20)
	rand.Read(payload)
	ws := pypitest.Spec{Name: "big", Version: "1.0", ZipStore: true, Files: map[string][]byte{"big/data.bin": payload}}
	wheel := pypitest.Build(b, ws)
	if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.status, r.body)
	}
	b.SetBytes(int64(len(wheel)))
	for b.Loop() {
		if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusOK {
			b.Fatalf("upload again: %d %s", r.status, r.body)
		}
	}
}
