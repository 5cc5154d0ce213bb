package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/config"
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
	typos := map[string]bool{"channel lst": true, "help channel lst": true} // the docs' own example of a mistyped command
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

// docs/configuration.md has a row for every flag of wharf serve, with the environment variable
// the flag's help names and the flag's default, and names every variable the configuration
// reads.
func TestConfigurationDocListsEveryServeSetting(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows := map[string][]string{} // flag name → its row's cells
	for _, l := range strings.Split(doc, "\n") {
		if m := regexp.MustCompile("^\\| `--([a-z-]+)` \\|").FindStringSubmatch(l); m != nil {
			cells := strings.Split(l, " | ")
			for i := range cells {
				cells[i] = strings.Trim(cells[i], "|` ")
			}
			rows[m[1]] = cells
		}
	}
	var keys []string // every variable the configuration reads
	if _, err := config.Default().FromEnv(func(k string) string { keys = append(keys, k); return "" }); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		t.Setenv(k, "") // the flags' defaults, not this environment's
	}
	envOf := regexp.MustCompile(`\[(WHARF_[A-Z_]+)\]`)
	serveCmd().Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		row, ok := rows[f.Name]
		if !ok || len(row) < 4 {
			t.Errorf("docs/configuration.md has no row for --%s", f.Name)
			return
		}
		if m := envOf.FindStringSubmatch(f.Usage); m == nil || row[1] != m[1] {
			t.Errorf("--%s: the row names %q, the flag's help %v", f.Name, row[1], m)
		}
		def := f.DefValue
		if def == "" || def == "[]" {
			return // the default is derived (<data>/wharf.db, http://<listen>) or none
		}
		if d, err := time.ParseDuration(def); err == nil {
			if dd, err := time.ParseDuration(row[2]); err != nil || dd != d {
				t.Errorf("--%s: docs say the default is %q, the flag %s", f.Name, row[2], def)
			}
		} else if row[2] != def {
			t.Errorf("--%s: docs say the default is %q, the flag %q", f.Name, row[2], def)
		}
	})
	for _, k := range keys {
		if !strings.Contains(doc, "| `"+k+"` |") {
			t.Errorf("docs/configuration.md has no row for %s", k)
		}
	}
	if len(keys) < 15 {
		t.Errorf("only %d variables read: the walk is broken", len(keys))
	}
}
