package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
)

// channelURLs prints where conda, pip and twine find a channel.
func channelURLs(cmd *cobra.Command, server, channel string) {
	base := strings.TrimRight(server, "/")
	say(cmd, "conda: %s/conda/%s", base, channel)
	say(cmd, "pip:   %s/pypi/%s/simple/", base, channel)
	say(cmd, "twine: %s/pypi/%s/", base, channel)
}

// yankedFile is what `wharf yank --file --json` prints.
type yankedFile struct {
	Channel  string `json:"channel"`
	Project  string `json:"project"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	Yanked   bool   `json:"yanked"`
	Reason   string `json:"reason,omitempty"`
}

// yankCmd is `wharf yank` or, with yank false, `wharf unyank`.
func yankCmd(yank bool) *cobra.Command {
	var file, reason string
	verb, done := "yank", "yanked"
	short := "Yank a release or one file of a Python project: pip skips it unless a requirement pins its version (PEP 592)"
	if !yank {
		verb, done = "unyank", "unyanked"
		short = "Unyank a release or one file of a Python project: pip installs it again as any other"
	}
	use := "unyank CHANNEL {PROJECT VERSION | --file FILENAME}"
	if yank {
		use = "yank CHANNEL {PROJECT VERSION | --file FILENAME} [--reason REASON]"
	}
	args := func(cmd *cobra.Command, args []string) error {
		switch {
		case file != "" && len(args) != 1:
			return fmt.Errorf("with --file, give only the CHANNEL: wharf %s CHANNEL --file FILENAME", verb)
		case file == "" && len(args) != 3:
			return errors.New("name a release as CHANNEL PROJECT VERSION, or one file as CHANNEL --file FILENAME")
		}
		for _, a := range args {
			if strings.TrimSpace(a) == "" {
				return errors.New("an argument is empty")
			}
		}
		return nil
	}
	cmd := remoteCmd(use, short, args,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			channel := args[0]
			if file != "" {
				f, err := c.YankFile(cmd.Context(), channel, file, yank, reason)
				if err != nil {
					return err
				}
				out := yankedFile{Channel: f.Channel, Project: f.Package, Version: f.Version, Filename: f.Filename, Yanked: yank}
				if yank {
					out.Reason = reason
				}
				if r.asJSON {
					return printJSON(cmd, out)
				}
				say(cmd, "%s %s of %s %s in %s%s", done, f.Filename, f.Package, f.Version, f.Channel, because(out.Reason))
				return nil
			}
			rel, err := c.YankRelease(cmd.Context(), channel, args[1], args[2], yank, reason)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, rel)
			}
			files := "files"
			if rel.Files == 1 {
				files = "file"
			}
			why := ""
			if yank {
				why = because(reason)
			}
			say(cmd, "%s %s %s in %s (%d %s)%s", done, rel.Project, rel.Version, rel.Channel, rel.Files, files, why)
			return nil
		})
	cmd.Long = short + `.
PROJECT VERSION names every file of a release (the project in any spelling: Demo_Lib is
demo-lib); --file one distribution, as its filename (or pypi/FILENAME, as wharf file list
shows it). A yanked file stays on the index page, marked yanked, and stays downloadable.
To take a file away altogether, use wharf file remove CHANNEL pypi/FILENAME.`
	cmd.Flags().StringVar(&file, "file", "", "one distribution instead of a whole release: its `FILENAME`")
	if yank {
		cmd.Flags().StringVar(&reason, "reason", "", "why it is yanked: pip shows the `REASON` when a pinned requirement installs it anyway (at most 1000 characters)")
	}
	return cmd
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}
