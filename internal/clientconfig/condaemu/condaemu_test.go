package condaemu

import "testing"

// The emulation gives what conda was seen to request (shared/clients.md §A.1, marked
// [observed] there, with conda 24.11.3 and 26.7.1) and what conda's own doctests say.
func TestEmulationMatchesWhatCondaWasSeenToDo(t *testing.T) {
	file := func(url, tok string) TokenFile {
		return TokenFile{Name: quotePlusForTest(url) + ".token", Content: tok}
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		channel string
		subdir  string
		want    string
	}{
		{"a token in a URL channel stays where it is", Config{}, "http://H/t/TK/repo/main", "noarch",
			"http://h/t/TK/repo/main/noarch/repodata.json"},
		{"channel_alias with a path and a token file: after the alias", Config{ChannelAlias: "http://h/repo", TokenFiles: []TokenFile{file("http://h/repo", "TK")}}, "main", "linux-64",
			"http://h/repo/t/TK/main/linux-64/repodata.json"},
		{"a token file for the server and a channel URL without a name", Config{TokenFiles: []TokenFile{file("http://127.0.0.1:8765", "tk-from-file-1")}}, "http://127.0.0.1:8765/", "noarch",
			"http://127.0.0.1:8765/t/tk-from-file-1/noarch/repodata.json"},
		{"conda-token's file for repo/", Config{TokenFiles: []TokenFile{file("http://127.0.0.1:8765/repo/", "tk-ce-777")}}, "http://127.0.0.1:8765/repo/main", "noarch",
			"http://127.0.0.1:8765/t/tk-ce-777/repo/main/noarch/repodata.json"},
		{"anaconda login's api file serves conda.anaconda.org", Config{TokenFiles: []TokenFile{file("https://api.anaconda.org", "TK")}}, "owner", "linux-64",
			"https://conda.anaconda.org/t/TK/owner/linux-64/repodata.json"},
		{"a channel URL under /conda: the segment goes to the location", Config{TokenFiles: []TokenFile{file("http://h:8080/conda/", "TK")}}, "http://h:8080/conda/acme", "noarch",
			"http://h:8080/conda/t/TK/acme/noarch/repodata.json"},
		{"a custom channel's token, in its URL", Config{CustomChannels: []Custom{{"acme", "http://h:8080/t/TK/conda"}}}, "acme/label/dev", "noarch",
			"http://h:8080/conda/t/TK/acme/label/dev/noarch/repodata.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Fetch(tc.channel, tc.subdir, "repodata.json")
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tc.want {
				t.Errorf("Fetch(%q) = %s\nwant %s", tc.channel, got.URL, tc.want)
			}
		})
	}
}

// conda's own doctests of split_anaconda_token (conda/common/url.py).
func TestSplitAnacondaToken(t *testing.T) {
	for _, tc := range []struct{ in, url, tok string }{
		{"https://1.2.3.4/t/tk-123-456/path", "https://1.2.3.4/path", "tk-123-456"},
		{"https://some.domain/api/t/tk-123-456/path", "https://some.domain/api/path", "tk-123-456"},
		{"https://1.2.3.4/conda/t/tk-123-456/path", "https://1.2.3.4/conda/path", "tk-123-456"},
		{"https://1.2.3.4/path", "https://1.2.3.4/path", ""},
		{"https://10.2.3.4:8080/conda/t/tk-123-45", "https://10.2.3.4:8080/conda", "tk-123-45"},
	} {
		if u, tok := splitAnacondaToken(tc.in); u != tc.url || tok != tc.tok {
			t.Errorf("splitAnacondaToken(%q) = %q, %q", tc.in, u, tok)
		}
	}
}

// The first matching token file wins, whichever it is: two files that both match make the
// token depend on the order, which Orders lists in full.
func TestTheFirstMatchingTokenFileWins(t *testing.T) {
	cfg := Config{ChannelAlias: "http://h/conda", TokenFiles: []TokenFile{
		{quotePlusForTest("http://h/conda/") + ".token", "SERVER"},
		{quotePlusForTest("http://h/conda/acme/") + ".token", "ACME"},
		{quotePlusForTest("https://other/conda/") + ".token", "OTHER"},
	}}
	seen := map[string]int{}
	orders := cfg.Orders()
	if len(orders) != 6 {
		t.Fatalf("%d orders of 3 files", len(orders))
	}
	for _, o := range orders {
		r, err := o.Fetch("acme", "noarch", "repodata.json")
		if err != nil {
			t.Fatal(err)
		}
		seen[r.Token]++
		if r.Path() != "/conda/acme/noarch/repodata.json" {
			t.Errorf("path %s", r.Path())
		}
	}
	if seen["SERVER"] != 3 || seen["ACME"] != 3 {
		t.Errorf("tokens sent over the orders: %v; want each of the two matching files half the time", seen)
	}
}

// Entries of custom_channels that nest catch the shorter channel's URLs: conda zips the
// segments (tokenized_startswith), so acme/dev's entry takes acme's requests to a wrong path.
func TestNestedCustomChannelsBreakTheParent(t *testing.T) {
	cfg := Config{ChannelAlias: "http://h/conda", CustomChannels: []Custom{{"acme/dev", "http://h/t/DEV/conda"}}}
	r, err := cfg.Fetch("acme", "noarch", "repodata.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Token != "DEV" || r.Path() == "/conda/acme/noarch/repodata.json" {
		t.Errorf("Fetch(acme) = %s; the emulation lost conda's zip", r.URL)
	}
}

func quotePlusForTest(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// Where conda 24.11.3 and 26.7.1 read a channel differently, each version's answer, as their
// own source gives it (Channel(ch).urls(True, [subdir])[0], then Channel(url).url(True) joined
// with the file, then add_binstar_token; run from both tags' source).
func TestVersionsDiffer(t *testing.T) {
	acme := Config{CustomChannels: []Custom{{"acme", "http://h:8080/t/TK/conda"}}}
	for _, tc := range []struct {
		cfg                   Config
		channel, subdir, file string
		conda24, conda26      string
	}{
		// 24.11.3: the channel's own platform wins over the subdir asked for.
		{acme, "acme/linux-64", "noarch", "repodata.json",
			"http://h:8080/conda/t/TK/acme/linux-64/repodata.json", "http://h:8080/conda/t/TK/acme/noarch/repodata.json"},
		// 26.7.1 percent-decodes the channel's name.
		{Config{}, "http://h:8080/conda/ac%41me", "noarch", "repodata.json",
			"http://h:8080/conda/ac%41me/noarch/repodata.json", "http://h:8080/conda/acAme/noarch/repodata.json"},
		// A platform is found whatever its case (split_platform ignores it), so it is one.
		{Config{}, "acme/Linux-64", "noarch", "repodata.json",
			"https://conda.anaconda.org/acme/Linux-64/repodata.json", "https://conda.anaconda.org/acme/noarch/repodata.json"},
	} {
		for v, want := range map[string]string{Conda24: tc.conda24, Conda26: tc.conda26, "": tc.conda26} {
			cfg := tc.cfg
			cfg.Version = v
			got, err := cfg.Fetch(tc.channel, tc.subdir, tc.file)
			if err != nil || got.URL != want {
				t.Errorf("conda %q: Fetch(%q, %s) = %s, %v\nwant %s", v, tc.channel, tc.subdir, got.URL, err, want)
			}
		}
	}
	if _, err := (Config{Version: "25.1.0"}).Fetch("acme", "noarch", "repodata.json"); err == nil {
		t.Error("conda 25.1.0 emulated")
	}
}
