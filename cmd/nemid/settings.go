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

// keyring is where an installation's keys live: the back-end of the CA
// keys, and the operator master key that seals the users' data (the key
// vault's outer layer, auth's MAC key, the outbox). With a master key file
// the file's key is both the CA keys' seal and the master key; with a
// PKCS#11 token the master key is an AES key in the token, labelled
// pkcs11MasterKeyLabel, next to the CA keys.
type keyring struct {
	keys.Backend
	file  *keys.FileMasterKey // nil with PKCS#11
	token *keys.PKCS11Backend // nil with a master key file
}

// pkcs11MasterKeyLabel labels the master key in a PKCS#11 token.
const pkcs11MasterKeyLabel = "nemid-master"

// keyBackend opens where the CA keys live. create makes the master key file
// when it does not exist yet (only a first initialisation does that).
func (c *common) keyBackend(create bool) (*keyring, error) {
	if c.pkcs11.Module != "" || c.pkcs11.TokenLabel != "" {
		c.pkcs11.PIN = os.Getenv("NEMID_PKCS11_PIN")
		token, err := keys.NewPKCS11Backend(c.pkcs11)
		if err != nil {
			return nil, err
		}
		return &keyring{Backend: token, token: token}, nil
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
		mk.Close()
		return nil, err
	}
	return &keyring{Backend: keys.NewFileBackend(c.keyDir(), mk), file: mk}, nil
}

// masterKey returns the master key that seals the users' data. In a
// PKCS#11 token it is made on first need when create is set: by `nemid
// init` for a new installation, and by the first command that seals
// something (registering a user) for an installation made before the
// token held one. Commands that only open what is sealed pass create
// false: with no master key there is nothing sealed to open. The key stays
// usable until the keyring is closed.
func (k *keyring) masterKey(ctx context.Context, create bool) (keys.MasterKey, error) {
	if k.file != nil {
		return k.file, nil
	}
	mk, err := k.token.LoadMasterKey(ctx, pkcs11MasterKeyLabel)
	if !errors.Is(err, keys.ErrKeyNotFound) {
		return mk, err
	}
	if !create {
		return nil, fmt.Errorf("the PKCS#11 token holds no master key %q yet, so nothing has been sealed under one: it is made by `nemid init` and by the first `nemid user create`", pkcs11MasterKeyLabel)
	}
	mk, err = k.token.GenerateMasterKey(ctx, pkcs11MasterKeyLabel)
	if errors.Is(err, keys.ErrKeyExists) {
		// Another process made it meanwhile: use that one.
		return k.token.LoadMasterKey(ctx, pkcs11MasterKeyLabel)
	}
	return mk, err
}

// Close closes the back-end and wipes the master key file's key.
func (k *keyring) Close() error {
	err := k.Backend.Close()
	if k.file != nil {
		k.file.Close()
	}
	return err
}
