// Command gendocs writes the command reference of both plugins into
// docs/commands/ as Markdown, from the cobra command trees themselves, so the
// reference cannot drift from the code (a test checks it is up to date).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/openmcp-plugins/kubectl-openmcp/hack/gendocs/reference"
)

func main() {
	out := flag.String("out", "docs/commands", "folder to write the Markdown files into")
	flag.Parse()
	if err := reference.Write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
