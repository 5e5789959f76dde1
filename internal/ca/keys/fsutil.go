package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// errFileExists is returned by writeFileExclusive when the target exists;
// callers turn it into an ErrKeyExists with their own wording.
var errFileExists = errors.New("file exists")

// writeFileExclusive writes data to dir/name with mode 0600, atomically and
// without ever replacing an existing file.
//
// The data goes to a temporary file in the same directory first, is
// fsynced, and is then hard-linked to the final name. link(2) fails with
// EEXIST if the name is taken, which makes "never overwrite" race-free even
// between processes (a rename would silently replace). A crash at any point
// leaves either no file under the final name or the complete one; at worst
// a stray ".*.tmp" file remains. The directory is fsynced last so that the
// new name survives a power loss.
func writeFileExclusive(dir, name string, data []byte) (err error) {
	final := filepath.Join(dir, name)
	// Cheap early refusal; the link below is what makes it race-free.
	if _, err := os.Lstat(final); err == nil {
		return errFileExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	// The temporary name is removed in every case: after a successful link
	// the data lives on under the final name.
	defer func() {
		if rmErr := os.Remove(tmpName); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("removing temporary file: %w", rmErr)
		}
	}()
	if err := writeSyncClose(tmp, data); err != nil {
		return err
	}
	if err := os.Link(tmpName, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errFileExists
		}
		return err
	}
	return syncDir(dir)
}

// writeSyncClose writes data, forces it to stable storage and closes f,
// reporting the first error.
func writeSyncClose(f *os.File, data []byte) error {
	// CreateTemp already uses 0600; Chmod makes the mode independent of how
	// the file was made.
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that entries created in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
