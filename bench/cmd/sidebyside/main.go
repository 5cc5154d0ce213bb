// Command sidebyside is the Go half of bench/sidebyside.sh, the side-by-side benchmark of
// Wharf and nginx serving the same bytes (docs/performance.md):
//
//	sidebyside gen -db DSN [-db DSN2] -storage DIR [-n 10000]   fill stores with a channel
//	sidebyside mirror -wharf URL -root DIR …                     copy Wharf's answers for nginx
//	sidebyside run …                                             wrk, interleaved; the table
//	sidebyside visible …                                         upload → visible in repodata
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sidebyside gen|mirror|run|visible [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{"gen": cmdGen, "mirror": cmdMirror, "run": cmdRun, "visible": cmdVisible,
		"token": cmdToken, "ports": cmdPorts, "wait": cmdWait}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "sidebyside: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}
