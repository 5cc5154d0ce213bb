package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// cmdToken makes a token for the account with its password and prints the secret.
func cmdToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	wharf := fs.String("wharf", "", "Wharf's base URL")
	user := fs.String("user", "bench", "account")
	password := fs.String("password", "", "its password")
	fs.Parse(args)
	body, _ := json.Marshal(map[string]any{"name": "sidebyside", "description": "bench/sidebyside.sh"})
	req, err := http.NewRequest(http.MethodPost, *wharf+"/api/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(*user, *password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("token: POST /api/v1/tokens: %s: %s", resp.Status, b)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		return fmt.Errorf("token: no token in %s", b)
	}
	fmt.Println(out.Token)
	return nil
}

// cmdPorts prints n free loopback ports.
func cmdPorts(args []string) error {
	n := 1
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// cmdWait waits until url answers 200, for at most a minute.
func cmdWait(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("wait: want one URL")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(args[0])
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait: %s did not answer 200 within a minute (last: %v)", args[0], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
