// Command nemid runs the NemID operator's infrastructure and its tools: the
// OCES certificate authority and, in `nemid serve`, the network roles.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

var commands = map[string]command{
	"init":     {"create the CA environment (root, issuing CA, OCSP responder) in a new data directory", runInit},
	"ca":       {"issue, revoke, list and export certificates", runCA},
	"serve":    {"start the servers: HTTP (health, metrics, CA certificates, CRLs, OCSP), LDAP, PID/RID-CPR over HTTPS", runServe},
	"params":   {"sign and verify NemID client parameter sets (as a service provider)", runParams},
	"response": {"validate a NemID client response (as a service provider): signature, chain, revocation, identity", runResponse},
	"sp":       {"register, list, show and disable service providers", runSP},
	"cpr":      {"link PIDs and RIDs to CPR numbers (the operator's test tool)", runCPR},
	"audit":    {"verify, list and take the head of the tamper-evident audit log", runAudit},
	"outbox":   {"read the SIMULATED post and SMS outbox: letters with temporary passwords and key cards", runOutbox},
	"user":     {"register users, show, list, block, unblock them and reset their passwords", runUser},
	"keycard":  {"issue a user a new key card, or print their latest key-card letter", runKeycard},
	"version":  {"print the version", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "nemid:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(out)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, args[1:], out)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: nemid <command> [flags]   (nemid <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery flag can also be set as NEMID_<FLAG> (e.g. NEMID_DATA) or in a --config file.")
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func runVersion(_ context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid version", "Prints the version of this nemid binary.")
	var c common
	c.register(fs) // accepted everywhere, so scripts can pass the same settings to every subcommand
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(out, "nemid", version)
	return err
}

// newFlagSet makes a subcommand's flag set with a usage text.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nFlags:\n", name, strings.TrimSpace(synopsis))
		fs.PrintDefaults()
	}
	return fs
}
