package demo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// NemID keeps no copy of what a user signs (spec §4.1): the signed XML
// document is the service provider's evidence. The shop keeps each one as
// DataDir/documents/<id>.xml, exactly the bytes the client sent, and lists
// them in DataDir/index.json (who signed what, when). Both are written to a
// temporary file that is then renamed, so a crash leaves either the old or
// the new file, never half of one.

// Record is one signed document in the evidence index.
type Record struct {
	ID       string    `json:"id"`
	SignedAt time.Time `json:"signedAt"`
	// Format is the SIGNTEXT_FORMAT (TEXT, HTML); Title names the
	// agreement.
	Format string `json:"format"`
	Title  string `json:"title"`
	// Signer is the certificate's subject serialNumber (PID:…, CVR:…-RID:…),
	// Name its common name, CertificateSerial its serial number in hex.
	Signer            string `json:"signer"`
	Name              string `json:"name"`
	CertificateSerial string `json:"certificateSerial"`
	RequestIssuer     string `json:"requestIssuer"`
	// SHA256 is the hex SHA-256 of the document file; File its name under
	// the data directory.
	SHA256 string `json:"sha256"`
	File   string `json:"file"`
}

// evidenceID is the form of a document id: 128 random bits in hex.
var evidenceID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// evidence is the document store.
type evidence struct {
	dir   string
	mu    sync.Mutex
	index []Record
}

func openEvidence(dir string) (*evidence, error) {
	if err := os.MkdirAll(filepath.Join(dir, "documents"), 0o700); err != nil {
		return nil, fmt.Errorf("demo: evidence directory: %w", err)
	}
	e := &evidence{dir: dir}
	b, err := os.ReadFile(e.indexPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return e, nil
	case err != nil:
		return nil, fmt.Errorf("demo: evidence index: %w", err)
	}
	if err := json.Unmarshal(b, &e.index); err != nil {
		// Refuse to start rather than overwrite an index we cannot read.
		return nil, fmt.Errorf("demo: evidence index %s is not readable JSON: %w", e.indexPath(), err)
	}
	return e, nil
}

func (e *evidence) indexPath() string { return filepath.Join(e.dir, "index.json") }

func (e *evidence) documentPath(id string) string {
	return filepath.Join(e.dir, "documents", id+".xml")
}

// store writes doc as a new piece of evidence and adds rec (ID, SHA256 and
// File filled in here) to the index.
func (e *evidence) store(doc []byte, rec Record) (Record, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return Record{}, err
	}
	rec.ID = hex.EncodeToString(b)
	sum := sha256.Sum256(doc)
	rec.SHA256 = hex.EncodeToString(sum[:])
	rec.File = filepath.Join("documents", rec.ID+".xml")

	e.mu.Lock()
	defer e.mu.Unlock()
	path := e.documentPath(rec.ID)
	if err := writeFileAtomic(path, doc); err != nil {
		return Record{}, fmt.Errorf("demo: storing a signed document: %w", err)
	}
	index, err := json.MarshalIndent(append(e.index[:len(e.index):len(e.index)], rec), "", "  ")
	if err != nil {
		os.Remove(path)
		return Record{}, err
	}
	if err := writeFileAtomic(e.indexPath(), append(index, '\n')); err != nil {
		// A document the index does not list is evidence nobody finds:
		// take it back and report the failure.
		os.Remove(path)
		return Record{}, fmt.Errorf("demo: updating the evidence index: %w", err)
	}
	e.index = append(e.index, rec)
	return rec, nil
}

// read returns the document with this id.
func (e *evidence) read(id string) ([]byte, error) {
	if !evidenceID.MatchString(id) {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(e.documentPath(id))
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced before it is renamed over path (mode 0600).
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
