package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/clientconfig"
)

// staleFile is a file wharf setup wrote that holds a token now revoked, with the setup
// command that writes it again.
type staleFile struct {
	Path  string `json:"path"`
	Setup string `json:"setup"`
}

// filesHolding lists the files wharf setup writes that hold token: conda's token files and
// ~/.condarc, pip's pip.conf and ~/.netrc, twine's ~/.pypirc. Once the token is revoked the
// clients would go on sending it, and the server refuses it (401), public channels included.
func filesHolding(token string) []staleFile {
	if token == "" {
		return nil
	}
	env, err := clientEnv()
	if err != nil {
		return nil
	}
	var out []staleFile
	check := func(path, setup string) {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(token)) {
			out = append(out, staleFile{path, setup})
		}
	}
	if files, err := clientconfig.CondaTokenFiles(env.CondaTokenDir()); err == nil {
		for _, f := range files {
			check(filepath.Join(env.CondaTokenDir(), f.Name), "wharf setup conda")
		}
	}
	check(env.Condarc(), "wharf setup conda")
	check(env.PipConf(), "wharf setup pip")
	check(env.NetrcPath(), "wharf setup pip --netrc")
	check(env.Pypirc(), "wharf setup twine")
	return out
}

// sayStale names on standard error the files that hold the token just revoked.
func sayStale(cmd *cobra.Command, files []staleFile) {
	for _, f := range files {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %s holds the token just revoked, which the server now refuses: write it again with %s (naming the channel, if it was for one), or take it out with %s --remove\n", f.Path, f.Setup, f.Setup)
	}
}
