package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

// server is one server under test.
type server struct {
	name, url string
	pid       int
	token     string // a read token of the account that owns the private channel (Wharf only)
	nginx     bool
}

// req is one request wrk repeats.
type req struct {
	path    string
	headers []string
	status  int
}

// row is one line of the table: a request per server.
type row struct {
	name string
	goal float64
	mbps bool // measured in MB/s rather than requests/s
	req  func(s *server) (req, error)
}

// sample is one wrk run.
type sample struct {
	rps, mbps  float64
	requests   int64
	p99        time.Duration
	cpuTicks   int64
	non2xx     int64
	socket     [4]int64 // wrk's socket errors: connect, read, write, timeout
	rssKB      int64
	transferMB float64
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	infoPath := fs.String("info", "", "gen's info file, after mirror")
	root := fs.String("root", "", "nginx's document root (the bytes Wharf must serve too)")
	secs := fs.Int("secs", 5, "seconds per wrk run")
	rounds := fs.Int("rounds", 3, "runs per path and server, interleaved; the median is kept")
	threads := fs.Int("threads", 2, "wrk threads")
	conns := fs.Int("conns", 32, "wrk connections")
	user := fs.String("user", "bench", "the account for Basic")
	password := fs.String("password", "", "its password")
	only := fs.String("only", "", "measure only the rows whose name contains this")
	var servers multiFlag
	fs.Var(&servers, "server", "name=URL,pid=PID[,token=T][,nginx]; repeat, nginx first")
	fs.Parse(args)
	info, err := readInfo(*infoPath)
	if err != nil {
		return err
	}
	var ss []*server
	for _, spec := range servers {
		s, err := parseServer(spec)
		if err != nil {
			return err
		}
		ss = append(ss, s)
	}
	if len(ss) < 2 || !ss[0].nginx {
		return errors.New("run: want nginx first and at least one Wharf (-server)")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("run: wrk is not installed (apt-get install -y wrk)")
	}
	pub, priv := pathsOf(info, pubChannel), pathsOf(info, privChannel)
	basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(*user+":"+*password))
	plain := func(p string) func(s *server) (req, error) {
		return func(*server) (req, error) { return req{path: p, status: 200}, nil }
	}
	private := func(how string) func(s *server) (req, error) {
		return func(s *server) (req, error) {
			switch {
			case s.nginx:
				return req{path: pub.Zst, status: 200}, nil
			case how == "token":
				return req{path: priv.Zst, headers: []string{"Authorization: token " + s.token}, status: 200}, nil
			case how == "t":
				return req{path: "/t/" + s.token + priv.Zst, status: 200}, nil
			default:
				return req{path: priv.Zst, headers: []string{basic}, status: 200}, nil
			}
		}
	}
	rows := []row{
		{name: "repodata.json.zst, anonymous", goal: 0.8, req: plain(pub.Zst)},
		{name: "same, private, token header", goal: 0.8, req: private("token")},
		{name: "same, private, /t/TOKEN/", goal: 0.8, req: private("t")},
		{name: "same, private, Basic password", goal: 0.8, req: private("basic")},
		{name: "If-None-Match → 304", goal: 0.7, req: func(s *server) (req, error) {
			etag, err := etagOf(s.url + pub.Zst)
			return req{path: pub.Zst, headers: []string{"If-None-Match: " + etag}, status: 304}, err
		}},
		{name: "1 MB package, MB/s", goal: 0.8, mbps: true, req: plain(pub.Big)},
		{name: "shard index", goal: 0.7, req: plain(pub.ShardIndex)},
		{name: "one shard", goal: 0.7, req: plain(pub.Shard)},
		{name: fmt.Sprintf("PyPI page, %s files", thousands(float64(info.PyPIFiles))), goal: 0.8, req: plain(pub.PyPI)},
	}

	type result struct {
		samples map[string][]sample
		reqs    map[string]req
	}
	var results []result
	var measured []row
	for _, r := range rows {
		if *only != "" && !strings.Contains(r.name, *only) {
			continue
		}
		res := result{samples: map[string][]sample{}, reqs: map[string]req{}}
		for _, s := range ss {
			q, err := r.req(s)
			if err != nil {
				return fmt.Errorf("run: %s on %s: %w", r.name, s.name, err)
			}
			// The same bytes on every server, or the comparison means nothing.
			if err := check(s, q, *root); err != nil {
				return fmt.Errorf("run: %s on %s: %w", r.name, s.name, err)
			}
			res.reqs[s.name] = q
		}
		for range *rounds {
			for _, s := range ss {
				sm, err := wrk(s, res.reqs[s.name], *threads, *conns, *secs)
				if err != nil {
					return fmt.Errorf("run: %s on %s: %w", r.name, s.name, err)
				}
				res.samples[s.name] = append(res.samples[s.name], sm)
				fmt.Fprintf(os.Stderr, "%-32s %-18s %10.0f req/s  p99 %8s  cpu %.3f ms/req %s\n", r.name, s.name, sm.rps, sm.p99, perReq(sm.cpuTicks, sm.requests), sm.errorText())
			}
		}
		results = append(results, res)
		measured = append(measured, r)
	}

	// The table.
	fmt.Printf("\nwrk -t%d -c%d -d%ds, %d interleaved rounds, median; %d records per subdir\n\n", *threads, *conns, *secs, *rounds, info.N)
	head := "| path | " + ss[0].name
	sep := "|---|---:"
	for _, s := range ss[1:] {
		head += " | " + s.name + " | ratio"
		sep += "|---:|---:"
	}
	if len(ss) == 3 {
		head += " | PostgreSQL/SQLite"
		sep += "|---:"
	}
	fmt.Println(head + " | goal |")
	fmt.Println(sep + "|---|")
	for i, r := range measured {
		med := map[string]float64{}
		for _, s := range ss {
			med[s.name] = median(results[i].samples[s.name], r.mbps)
		}
		line := fmt.Sprintf("| %s | %s", r.name, thousands(med[ss[0].name]))
		for _, s := range ss[1:] {
			line += fmt.Sprintf(" | %s | %.2f", thousands(med[s.name]), med[s.name]/med[ss[0].name])
		}
		if len(ss) == 3 {
			line += fmt.Sprintf(" | %.2f", med[ss[2].name]/med[ss[1].name])
		}
		fmt.Printf("%s | ≥ %.1f |\n", line, r.goal)
	}
	if len(ss) == 3 {
		fmt.Println("\n(goal for PostgreSQL/SQLite: ≥ 0.9 on every row)")
	}

	fmt.Printf("\nCPU per request (ms, user+system of the server's processes over all rounds) and wrk's p99 latency (median of rounds)\n\n")
	head, sep = "| path", "|---"
	for _, s := range ss {
		head += " | " + s.name + " CPU | p99"
		sep += "|---:|---:"
	}
	fmt.Println(head + " |")
	fmt.Println(sep + "|")
	var problems []string
	for i, r := range measured {
		line := "| " + r.name
		for _, s := range ss {
			var ticks, n int64
			var p99s []time.Duration
			var errs sample // summed over the rounds
			for _, sm := range results[i].samples[s.name] {
				ticks += sm.cpuTicks
				n += sm.requests
				p99s = append(p99s, sm.p99)
				errs.non2xx += sm.non2xx
				for k := range errs.socket {
					errs.socket[k] += sm.socket[k]
				}
			}
			if e := errs.errorText(); e != "" {
				problems = append(problems, fmt.Sprintf("%s on %s: %s", r.name, s.name, e))
			}
			slices.Sort(p99s)
			line += fmt.Sprintf(" | %.3f | %s", perReq(ticks, n), fmtDur(p99s[len(p99s)/2]))
		}
		fmt.Println(line + " |")
	}
	fmt.Println()
	for _, s := range ss {
		var maxRSS int64
		for _, res := range results {
			for _, sm := range res.samples[s.name] {
				maxRSS = max(maxRSS, sm.rssKB)
			}
		}
		fmt.Printf("RSS %s: %.0f MB at most after a run, %.0f MB now\n", s.name, float64(maxRSS)/1024, float64(rss(s.pid))/1024)
	}
	if len(problems) > 0 {
		fmt.Printf("\nErrors wrk reported, summed over the %d rounds (a timeout is a request that took over 2 s):\n", *rounds)
		for _, p := range problems {
			fmt.Println("- " + p)
		}
	}
	return nil
}

func parseServer(spec string) (*server, error) {
	s := &server{}
	for i, f := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch {
		case i == 0:
			s.name, s.url = k, strings.TrimSuffix(v, "/")
		case k == "pid":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("run: -server %s: pid %q", spec, v)
			}
			s.pid = n
		case k == "token":
			s.token = v
		case k == "nginx":
			s.nginx = true
		default:
			return nil, fmt.Errorf("run: -server %s: unknown %q", spec, k)
		}
	}
	if s.url == "" || s.pid == 0 {
		return nil, fmt.Errorf("run: -server %s: want name=URL,pid=PID", spec)
	}
	return s, nil
}

func newRequest(s *server, q req) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodGet, s.url+q.path, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range q.headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	return r, nil
}

// check makes the request once: the status wrk will count as success, and for a 200 the
// very bytes nginx serves from root.
func check(s *server, q req, root string) error {
	r, err := newRequest(s, q)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != q.status {
		return fmt.Errorf("GET %s: %s, want %d", redactPath(q.path), resp.Status, q.status)
	}
	if q.status != http.StatusOK {
		return nil
	}
	path := strings.Replace(q.path, "/conda/"+privChannel+"/", "/conda/"+pubChannel+"/", 1)
	if i := strings.Index(path, "/conda/"); strings.HasPrefix(path, "/t/") && i > 0 {
		path = path[i:]
	}
	file := filepath.Join(root, filepath.FromSlash(path))
	if strings.HasSuffix(path, "/") {
		file = filepath.Join(file, "index.html")
	}
	want, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if strings.HasSuffix(path, "repodata_shards.msgpack.zst") {
		// The index says when it was built: the same shards, another created_at.
		a, errA := repodata.DecodeShardIndex(body)
		b, errB := repodata.DecodeShardIndex(want)
		if errA != nil || errB != nil || !maps.Equal(a.Shards, b.Shards) || a.Info.Subdir != b.Info.Subdir {
			return fmt.Errorf("GET %s: not the shard index nginx serves (%v, %v)", q.path, errA, errB)
		}
		return nil
	}
	if !bytes.Equal(body, want) {
		return fmt.Errorf("GET %s: %d bytes that are not the %d bytes of %s", redactPath(q.path), len(body), len(want), file)
	}
	return nil
}

func redactPath(p string) string {
	if strings.HasPrefix(p, "/t/") {
		if i := strings.Index(p[3:], "/"); i >= 0 {
			return "/t/<token>" + p[3+i:]
		}
	}
	return p
}

func etagOf(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("GET %s: no ETag", url)
	}
	return etag, nil
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(\w+), ([0-9.]+)(\w+) read`)
	reP99      = regexp.MustCompile(`\n\s+99%\s+([0-9.]+)(us|ms|s|m)\b`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrk runs wrk once against s and reads the server's CPU time around it.
func wrk(s *server, q req, threads, conns, secs int) (sample, error) {
	args := []string{fmt.Sprintf("-t%d", threads), fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", secs), "--latency"}
	for _, h := range q.headers {
		args = append(args, "-H", h)
	}
	args = append(args, s.url+q.path)
	before := cpuTicks(s.pid)
	out, err := exec.Command("wrk", args...).CombinedOutput()
	after := cpuTicks(s.pid)
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	sm, err := parseWrk(string(out))
	if err != nil {
		return sm, err
	}
	sm.cpuTicks = after - before
	sm.rssKB = rss(s.pid)
	return sm, nil
}

// parseWrk reads what wrk --latency prints.
func parseWrk(text string) (sample, error) {
	var sm sample
	m := reRPS.FindStringSubmatch(text)
	if m == nil {
		return sm, fmt.Errorf("wrk printed no Requests/sec: %s", text)
	}
	sm.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reRequests.FindStringSubmatch(text); m != nil {
		sm.requests, _ = strconv.ParseInt(m[1], 10, 64)
		d, _ := time.ParseDuration(m[2] + m[3])
		sm.transferMB = sizeMB(m[4], m[5])
		if d > 0 {
			sm.mbps = sm.transferMB / d.Seconds()
		}
	}
	if m := reP99.FindStringSubmatch(text); m != nil {
		d, _ := time.ParseDuration(m[1] + m[2])
		sm.p99 = d
	}
	if m := reNon2xx.FindStringSubmatch(text); m != nil {
		sm.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSocket.FindStringSubmatch(text); m != nil {
		for k := range sm.socket {
			sm.socket[k], _ = strconv.ParseInt(m[k+1], 10, 64)
		}
	}
	return sm, nil
}

// errorText says what went wrong in a run, or "".
func (sm sample) errorText() string {
	var errs []string
	if sm.non2xx > 0 {
		errs = append(errs, fmt.Sprintf("%d answers not 2xx or 3xx", sm.non2xx))
	}
	for k, what := range []string{"connect", "read", "write", "timeout"} {
		if n := sm.socket[k]; n > 0 {
			errs = append(errs, fmt.Sprintf("%d %s errors", n, what))
		}
	}
	return strings.Join(errs, ", ")
}

func sizeMB(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	mul := map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[unit]
	return f * mul / 1e6
}

// processes is pid and its descendants (nginx's workers).
func processes(pid int) []int {
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pids[i]))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil {
					pids = append(pids, n)
				}
			}
		}
	}
	return pids
}

// cpuTicks is utime+stime of pid and its descendants, in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) int64 {
	var sum int64
	for _, p := range processes(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses and may hold spaces.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += ut + st
	}
	return sum
}

// rss is VmRSS of pid and its descendants, in KiB.
func rss(pid int) int64 {
	var sum int64
	for _, p := range processes(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// perReq is ms of CPU per request; a tick is 10 ms.
func perReq(ticks, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(ticks) * 10 / float64(requests)
}

func median(ss []sample, mbps bool) float64 {
	var v []float64
	for _, s := range ss {
		if mbps {
			v = append(v, s.mbps)
		} else {
			v = append(v, s.rps)
		}
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
}
