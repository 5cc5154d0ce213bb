package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/conda/condatest"
)

// cmdVisible uploads packages one at a time and, after each, asks for repodata.json.zst until
// it lists the package: how long an upload takes to be seen, at the channel's size.
func cmdVisible(args []string) error {
	fs := flag.NewFlagSet("visible", flag.ExitOnError)
	wharf := fs.String("wharf", "", "Wharf's base URL")
	name := fs.String("name", "Wharf", "the server's name in the report")
	token := fs.String("token", "", "a token that may upload to the public channel")
	uploads := fs.Int("uploads", 10, "packages to upload")
	fs.Parse(args)

	dec, err := zstd.NewReader(nil)
	if err != nil {
		return err
	}
	defer dec.Close()
	client := &http.Client{Timeout: time.Minute}
	zst := *wharf + "/conda/" + pubChannel + "/linux-64/repodata.json.zst"
	var uploadTimes, visibleTimes []time.Duration
	// A first fetch, so that the cache holds the current repodata as it does on a busy server.
	if _, err := get(client, zst); err != nil {
		return err
	}
	stamp := time.Now().Unix()
	for i := range *uploads {
		spec := condatest.Spec{Name: "visible", Version: fmt.Sprintf("%d.%d", stamp, i), Build: "0", Subdir: "linux-64"}
		data := condatest.Build(builder{}, spec)
		req, err := http.NewRequest(http.MethodPut, *wharf+"/api/v1/channels/"+pubChannel+"/files/"+spec.Filename(), bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "token "+*token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("visible: upload %s: %s: %s", spec.Filename(), resp.Status, body)
		}
		uploaded := time.Since(start)
		want := []byte(`"` + spec.Filename() + `"`)
		for polls := 0; ; polls++ {
			b, err := get(client, zst)
			if err != nil {
				return err
			}
			j, err := dec.DecodeAll(b, nil)
			if err != nil {
				return fmt.Errorf("visible: repodata.json.zst: %w", err)
			}
			if bytes.Contains(j, want) {
				break
			}
			if time.Since(start) > time.Minute {
				return fmt.Errorf("visible: %s not in repodata a minute after its upload", spec.Filename())
			}
		}
		uploadTimes = append(uploadTimes, uploaded)
		visibleTimes = append(visibleTimes, time.Since(start))
	}
	slices.Sort(uploadTimes)
	slices.Sort(visibleTimes)
	fmt.Printf("upload → visible in repodata.json.zst, %s, %d uploads: p50 %s, max %s (the upload's own answer: p50 %s, max %s)\n",
		*name, *uploads, fmtDur(visibleTimes[len(visibleTimes)/2]), fmtDur(visibleTimes[len(visibleTimes)-1]),
		fmtDur(uploadTimes[len(uploadTimes)/2]), fmtDur(uploadTimes[len(uploadTimes)-1]))
	return nil
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}
