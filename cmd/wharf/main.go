// Command wharf runs the Wharf package server and talks to one.
package main

import (
	"context"
	"os"

	"github.com/wharfhq/wharf/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), cli.Root(), os.Args[1:]))
}
