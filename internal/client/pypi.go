package client

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/store"
)

// Kinds of package file, as FileKind names them and the API's "kind" field does.
const (
	KindConda = "conda"
	KindPyPI  = "pypi"
)

// FileKind tells from a filename what an upload is: a conda package (.conda, .tar.bz2), a
// Python distribution (.whl, .tar.gz, .zip), or neither (""), which the server refuses.
func FileKind(filename string) string {
	switch {
	case strings.HasSuffix(filename, ".conda"), strings.HasSuffix(filename, ".tar.bz2"):
		return KindConda
	case strings.HasSuffix(filename, ".whl"), strings.HasSuffix(filename, ".tar.gz"), strings.HasSuffix(filename, ".zip"):
		return KindPyPI
	}
	return ""
}

// yankRequest is the body of both yank routes. The reason is left out when empty (always,
// to unyank: the server forgets it then).
type yankRequest struct {
	Yanked bool   `json:"yanked"`
	Reason string `json:"reason,omitempty"`
}

// YankedRelease is the server's answer to yanking or unyanking a release.
type YankedRelease struct {
	Channel string `json:"channel"`
	Project string `json:"project"`
	Version string `json:"version"`
	Yanked  bool   `json:"yanked"`
	Files   int    `json:"files"` // how many files of the release changed
}

// YankRelease yanks (PEP 592) or unyanks every file of one version of a Python project: pip
// then installs it only when a requirement pins that version (==1.0). The project is sent in
// its PEP 503 normal form ("Demo_Lib" is demo-lib), the version as given (the server reads
// it as PEP 440). An unyank sends no reason.
func (c *Client) YankRelease(ctx context.Context, channel, project, version string, yanked bool, reason string) (YankedRelease, error) {
	var out YankedRelease
	if !yanked {
		reason = ""
	}
	path := channelPath(channel) + "/packages/" + url.PathEscape(pypi.NormalizeName(project)) + "/releases/" + url.PathEscape(version)
	return out, c.doJSON(ctx, "PATCH", path, yankRequest{Yanked: yanked, Reason: reason}, &out)
}

// YankFile yanks or unyanks one Python distribution of a channel, named by its filename
// (a leading "pypi/", as `wharf file list` shows it, is taken off). The answer is the file.
func (c *Client) YankFile(ctx context.Context, channel, filename string, yanked bool, reason string) (api.FileInfo, error) {
	var out api.FileInfo
	if !yanked {
		reason = ""
	}
	filename = strings.TrimPrefix(filename, store.PyPISubdir+"/")
	if strings.Contains(filename, "/") || FileKind(filename) != KindPyPI {
		return out, fmt.Errorf("%q: only Python distributions (.whl, .tar.gz, .zip) are yanked; name one by its filename", filename)
	}
	path := channelPath(channel) + "/files/" + url.PathEscape(store.PyPISubdir) + "/" + url.PathEscape(filename)
	return out, c.doJSON(ctx, "PATCH", path, yankRequest{Yanked: yanked, Reason: reason}, &out)
}
