package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf/internal/repodata"
)

// Paths is where the measured files are, the same on Wharf (public channel) and nginx.
type Paths struct {
	Zst, ShardIndex, Shard, Big, PyPI string
}

func readInfo(path string) (Info, error) {
	var info Info
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

// pathsOf names the files, on the public channel; priv swaps in the private channel.
func pathsOf(info Info, channel string) Paths {
	sd := "/conda/" + channel + "/linux-64/"
	return Paths{
		Zst:        sd + "repodata.json.zst",
		ShardIndex: sd + "repodata_shards.msgpack.zst",
		Shard:      strings.Replace(info.ShardPath, "/conda/"+pubChannel+"/", "/conda/"+channel+"/", 1),
		Big:        "/conda/" + channel + "/" + info.BigFile,
		PyPI:       "/pypi/" + channel + "/simple/" + info.PyPIProj + "/",
	}
}

// cmdMirror copies what Wharf serves for the measured paths into a directory nginx serves,
// under the same paths, and records the shard's path in the info file.
func cmdMirror(args []string) error {
	fs := flag.NewFlagSet("mirror", flag.ExitOnError)
	wharf := fs.String("wharf", "", "Wharf's base URL")
	root := fs.String("root", "", "nginx's document root")
	infoPath := fs.String("info", "", "gen's info file (the shard's path is added)")
	fs.Parse(args)
	info, err := readInfo(*infoPath)
	if err != nil {
		return err
	}
	p := pathsOf(info, pubChannel)
	get := func(path string) ([]byte, error) {
		resp, err := http.Get(*wharf + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, err
	}
	idx, err := get(p.ShardIndex)
	if err != nil {
		return err
	}
	si, err := repodata.DecodeShardIndex(idx)
	if err != nil {
		return fmt.Errorf("the shard index: %w", err)
	}
	h, ok := si.Shards[info.ShardName]
	if !ok {
		return errors.New("the shard index has no shard for " + info.ShardName)
	}
	info.ShardPath = "/conda/" + pubChannel + "/linux-64/shards/" + hex.EncodeToString(h[:]) + ".msgpack.zst"
	for _, path := range []string{p.Zst, p.ShardIndex, info.ShardPath, p.Big, p.PyPI} {
		b, err := get(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(*root, filepath.FromSlash(path))
		if strings.HasSuffix(path, "/") {
			dst = filepath.Join(dst, "index.html")
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	return os.WriteFile(*infoPath, b, 0o644)
}
