// Command gatehouse is the Gatehouse identity center: one binary for the
// server and its administration.
package main

import (
	"os"

	"github.com/gatehouse-id/gatehouse/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
