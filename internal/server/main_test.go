package server_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// suiteLogs is everything the servers of this package's tests logged (unless a test installs
// its own logger); issued is every token secret they handed out. After the tests, no secret
// may appear in the logs.
var (
	suiteLogs = &syncBuffer{}

	issuedMu sync.Mutex
	issued   []string
)

func noteIssued(secret string) {
	issuedMu.Lock()
	issued = append(issued, secret)
	issuedMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	logs := suiteLogs.String()
	leaked := 0
	for _, s := range issued {
		if strings.Contains(logs, s) {
			leaked++
			fmt.Fprintf(os.Stderr, "a token secret (%s…) is in the server logs\n", s[:8])
		}
	}
	if leaked > 0 {
		code = 1
	} else if len(issued) > 0 {
		fmt.Fprintf(os.Stderr, "no secret of the %d tokens issued is in the %d bytes the servers logged\n", len(issued), len(logs))
	}
	os.Exit(code)
}
