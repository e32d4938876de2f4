// Command mcks-seed writes clusters into an MCKS server's store with the
// server's own code (model.Cluster.PutStore), before the server starts: the
// store is embedded NUTSDB files the running server keeps to itself.
//
// It is built inside a copy of the cb-mcks module (see buildSeeder), not
// with this repository: it reads a JSON array of model.Cluster on stdin, in
// the environment the server runs with (CBSTORE_ROOT).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/cloud-barista/cb-ladybug/src/core/model"
)

func main() {
	var clusters []model.Cluster
	if err := json.NewDecoder(os.Stdin).Decode(&clusters); err != nil {
		fmt.Fprintln(os.Stderr, "mcks-seed: read clusters:", err)
		os.Exit(2)
	}
	for i := range clusters {
		c := &clusters[i]
		if c.Name == "" || c.Namespace == "" {
			fmt.Fprintf(os.Stderr, "mcks-seed: cluster %d lacks its name or namespace\n", i+1)
			os.Exit(2)
		}
		if err := c.PutStore(); err != nil {
			fmt.Fprintf(os.Stderr, "mcks-seed: put cluster %s/%s: %v\n", c.Namespace, c.Name, err)
			os.Exit(1)
		}
	}
}
