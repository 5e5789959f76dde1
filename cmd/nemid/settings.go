package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/store"
)

// Every setting is a flag; a flag not given on the command line is taken from
// the environment variable NEMID_<NAME> (dashes become underscores), and then
// from the config file named by --config / NEMID_CONFIG (lines "name = value",
// # comments). Flags win over the environment, the environment over the file.

// common are the settings every subcommand accepts.
type common struct {
	data       string
	database   string
	configFile string
	pkcs11     keys.PKCS11Config
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "./nemid-data", "data directory: master key, sealed CA keys and the SQLite database")
	fs.StringVar(&c.database, "database", "", "PostgreSQL URL (postgres://…); empty: SQLite inside the data directory")
	fs.StringVar(&c.configFile, "config", "", "optional config file of `name = value` lines")
	fs.StringVar(&c.pkcs11.Module, "pkcs11-module", "", "PKCS#11 module (.so) holding the CA keys; empty: keys sealed under the master key file")
	fs.StringVar(&c.pkcs11.TokenLabel, "pkcs11-token", "", "label of the PKCS#11 token (the PIN comes from NEMID_PKCS11_PIN only)")
}

// parse parses args into fs and fills unset flags from the environment and
// the config file.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see %s -h)", fs.Arg(0), fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := "NEMID_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
			set[f.Name] = true
		}
	})
	cfgFlag := fs.Lookup("config")
	if cfgFlag == nil || cfgFlag.Value.String() == "" {
		return errors.Join(errs...)
	}
	file := cfgFlag.Value.String()
	values, err := readConfigFile(file)
	if err != nil {
		return err
	}
	for name, v := range values {
		f := fs.Lookup(name)
		if f == nil {
			// A shared config file names settings of several subcommands.
			continue
		}
		if set[name] {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", file, name, err))
		}
	}
	return errors.Join(errs...)
}

func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want `name = value`", path, n)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return out, sc.Err()
}

func (c *common) masterKeyPath() string { return filepath.Join(c.data, "master.key") }
func (c *common) keyDir() string        { return filepath.Join(c.data, "keys") }

// openStore opens the database, running migrations.
func (c *common) openStore(ctx context.Context) (store.Store, error) {
	return store.Open(ctx, c.database, c.data)
}

// keyBackend opens where the CA keys live. create makes the master key file
// when it does not exist yet (only `nemid init` does that).
func (c *common) keyBackend(create bool) (keys.Backend, error) {
	if c.pkcs11.Module != "" || c.pkcs11.TokenLabel != "" {
		c.pkcs11.PIN = os.Getenv("NEMID_PKCS11_PIN")
		return keys.NewPKCS11Backend(c.pkcs11)
	}
	path := c.masterKeyPath()
	if create {
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := keys.CreateMasterKeyFile(path); err != nil {
				return nil, err
			}
		}
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no master key at %s: run `nemid init` first, or point --data at the right directory", path)
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.keyDir(), 0o700); err != nil {
		return nil, err
	}
	return keys.NewFileBackend(c.keyDir(), mk), nil
}
