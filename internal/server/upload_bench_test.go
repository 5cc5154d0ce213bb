package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
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
