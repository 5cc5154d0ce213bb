// Command wharf runs the Wharf package server and talks to one.
package main

import (
	"fmt"
	"os"

	"github.com/wharfhq/wharf/internal/cli"
)

func main() {
	if err := cli.Root().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "wharf:", err)
		os.Exit(1)
	}
}
