package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliDoc is docs/cli.md split at its "## " headings: the text before the first (what every
// command shares: --server, --token, --json, …) and each section with its subsections.
func cliDoc(t *testing.T) (intro string, sections []string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := regexp.MustCompile(`(?m)^## `).Split(string(b), -1)
	return parts[0], parts[1:]
}

// documents says whether text names the command path ("wharf channel set-private"), also in
// the form that lists a command's siblings, "wharf completion bash|zsh|fish|powershell".
func documents(text string, c *cobra.Command) bool {
	parent := regexp.QuoteMeta(c.Parent().CommandPath())
	re := regexp.MustCompile(parent + ` (?:[a-z-]+\|)*` + regexp.QuoteMeta(c.Name()) + "(?:[|` \\]]|$)")
	return re.MatchString(text)
}

// docFlag says whether text names the flag, by its long name or its shorthand.
func docFlag(text string, f *pflag.Flag) bool {
	if regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(text) {
		return true
	}
	return f.Shorthand != "" && regexp.MustCompile("[` \\[(]-"+regexp.QuoteMeta(f.Shorthand)+"[` \\])]").MatchString(text)
}

// Every command, and every flag of it, is in docs/cli.md: the command by its full name, a flag
// in the section that names the command, or among the flags every command shares at the top.
func TestDocsCoverEveryCommandAndFlag(t *testing.T) {
	intro, sections := cliDoc(t)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			walk(sub)
			var in []string
			for _, s := range sections {
				if documents(s, sub) {
					in = append(in, s)
				}
			}
			if len(in) == 0 {
				if !documents(intro, sub) {
					t.Errorf("docs/cli.md does not name %s", sub.CommandPath())
				}
				continue
			}
			sub.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" || docFlag(intro, f) {
					return
				}
				for _, s := range in {
					if docFlag(s, f) {
						return
					}
				}
				t.Errorf("docs/cli.md does not name --%s of %s in the section that describes it", f.Name, sub.CommandPath())
			})
		}
	}
	walk(Root())
}

// The commands docs/cli.md and the README show exist: each "wharf …" in a code span or an
// example is a command line that finds a command and no unknown subcommand.
func TestDocsNameOnlyCommandsThatExist(t *testing.T) {
	line := regexp.MustCompile("(?m)(?:^|`|\\$\\(|\\| |\\./)wharf ([^`\\n|)]*)")
	typos := map[string]bool{"channel lst": true} // the docs' own example of a mistyped command
	for _, file := range []string{"../../docs/cli.md", "../../README.md", "../../docs/configuration.md", "../../docs/api.md", "../../docs/web.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range line.FindAllStringSubmatch(string(b), -1) {
			var words []string
			for _, w := range strings.Fields(m[1]) {
				if strings.HasPrefix(w, "-") || strings.ContainsAny(w, "[]<>…'\"=$#ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					break
				}
				words = append(words, w)
			}
			if len(words) == 0 || typos[strings.Join(words, " ")] || strings.ContainsAny(words[0][:1], "0123456789") {
				continue // a placeholder, or the version wharf prints
			}
			cmd, rest, err := Root().Find(words)
			if err != nil {
				t.Errorf("%s: wharf %s: %v", file, strings.Join(words, " "), err)
				continue
			}
			if cmd == Root() || (cmd.HasSubCommands() && len(rest) > 0 && !cmd.Runnable()) {
				t.Errorf("%s: wharf %s: no such command", file, strings.Join(words, " "))
			}
			if cmd.HasSubCommands() && len(rest) > 0 && cmd.Name() != "auth" && cmd.Name() != "help" {
				t.Errorf("%s: wharf %s: %q is not a subcommand of %s", file, strings.Join(words, " "), rest[0], cmd.CommandPath())
			}
		}
	}
}
