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
	"strings"
	"syscall"
)

// command is one command or subcommand: its name, a one-line summary for
// the usage that lists it, and what runs it with the arguments after its
// name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

// commands are nemid's commands, in the order its usage lists them: set up
// and run the installation, its CA, its users, its service providers, its
// audit log.
var commands = []command{
	{"init", "create the CA environment (root, issuing CA, OCSP responder) in a new data directory", runInit},
	{"serve", "start the servers: HTTP (health, metrics, CA certificates, CRLs, OCSP), LDAP, PID/RID-CPR over HTTPS", runServe},
	{"demo-sp", "run the example service provider (Demo-butikken): NemID logon, signing, evidence, PID-CPR match", runDemoSP},
	{"ca", "issue, revoke, list and export certificates", caCommands.run},
	{"user", "register users, show, list, block, unblock them and reset their passwords", userCommands.run},
	{"keycard", "issue a user a new key card, or print their latest key-card letter", keycardCommands.run},
	{"outbox", "read the SIMULATED post and SMS outbox: letters with temporary passwords and key cards", outboxCommands.run},
	{"sp", "register, list, show and disable service providers", spCommands.run},
	{"cpr", "link PIDs and RIDs to CPR numbers (the operator's test tool)", cprCommands.run},
	{"params", "sign and verify NemID client parameter sets (as a service provider)", paramsCommands.run},
	{"response", "validate a NemID client response (as a service provider): signature, chain, revocation, identity", responseCommands.run},
	{"audit", "verify, list and take the head of the tamper-evident audit log", auditCommands.run},
	{"bench", "measure a running server: complete logons per second, latency, and the bound the cryptography sets", benchCommands.run},
	{"version", "print the version", runVersion},
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
	cmd, ok := findCommand(commands, args[0])
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, args[1:], out)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: nemid <command> [flags]   (nemid <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	printCommands(w, commands)
	fmt.Fprintln(w, "\nEvery flag can also be set as NEMID_<FLAG> (e.g. NEMID_DATA) or in a --config file.")
}

// commandGroup is a command made of subcommands, `nemid <name> <subcommand>
// [flags]`, such as `nemid ca issue`.
type commandGroup struct {
	name string
	// subcommands are listed in this order in the group's usage.
	subcommands []command
	// about, if not "", follows the list in the group's usage.
	about string
}

// run runs the subcommand args[0] names. Without a subcommand, or with -h
// or --help, it prints the group's usage; without one, that is an error
// too.
func (g *commandGroup) run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		g.usage(out)
		if len(args) == 0 {
			return fmt.Errorf("no %s command given", g.name)
		}
		return nil
	}
	cmd, ok := findCommand(g.subcommands, args[0])
	if !ok {
		return fmt.Errorf("unknown %s command %q: want %s", g.name, args[0], orList(commandNames(g.subcommands)))
	}
	return cmd.run(ctx, args[1:], out)
}

func (g *commandGroup) usage(w io.Writer) {
	names := commandNames(g.subcommands)
	sub, ref := "<"+strings.Join(names, "|")+">", "<command>"
	if len(names) == 1 {
		sub, ref = names[0], names[0]
	}
	fmt.Fprintf(w, "Usage: nemid %s %s [flags]   (nemid %s %s -h for its flags)\n", g.name, sub, g.name, ref)
	printCommands(w, g.subcommands)
	if g.about != "" {
		fmt.Fprintln(w, "\n"+strings.TrimSpace(g.about))
	}
}

// printCommands lists commands with their summaries, one a line.
func printCommands(w io.Writer, cmds []command) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
}

func findCommand(cmds []command, name string) (command, bool) {
	for _, c := range cmds {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func commandNames(cmds []command) []string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return names
}

// orList joins names as a sentence does: "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
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
