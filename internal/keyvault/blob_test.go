package keyvault

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// openInnerLayer opens a stored row's outer layer, as the test (holding
// the master key) may.
func openInnerLayer(t *testing.T, mk keys.MasterKey, row store.VaultKey) []byte {
	t.Helper()
	b := binding{userID: row.UserID, version: row.Version, publicKey: row.PublicKey}
	pt, err := mk.Open(row.Blob[blobHeaderLen:], b.outerAAD(row.Blob[:blobHeaderLen]))
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// sealInnerLayer seals an inner layer for a row as the vault would.
func sealInnerLayer(t *testing.T, mk keys.MasterKey, row store.VaultKey, innerLayer []byte) []byte {
	t.Helper()
	b := binding{userID: row.UserID, version: row.Version, publicKey: row.PublicKey}
	header := newBlobHeader()
	sealed, err := mk.Seal(innerLayer, b.outerAAD(header))
	if err != nil {
		t.Fatal(err)
	}
	return append(header, sealed...)
}

// TestBlobLayout checks a stored blob against the layout the package
// documentation gives, field by field.
func TestBlobLayout(t *testing.T) {
	st := storetest.OpenSQLite(t)
	mk := masterKey(t)
	v := newVault(t, st, mk)
	k := create(t, v, 42, "layout123")
	row := activeRow(t, st, 42)
	spki, _ := x509.MarshalPKIXPublicKey(k.Public)
	if !bytes.Equal(row.PublicKey, spki) {
		t.Fatal("the stored public key is not the DER SubjectPublicKeyInfo of the returned key")
	}
	blob := row.Blob
	if blob[0] != 1 || blob[1] != 1 || blob[2] != keys.SealedFormatV1 || blob[3] != 1 {
		t.Fatalf("blob header % x, want 01 01 01 01", blob[:4])
	}
	in := openInnerLayer(t, mk, row)
	// 2 header bytes, then keys' 2 + 12 nonce + inner + 16 tag.
	if len(blob) != 2+2+12+len(in)+16 {
		t.Fatalf("blob is %d bytes, inner layer %d: outer framing is not as documented", len(blob), len(in))
	}
	if in[0] != 1 || in[1] != 1 {
		t.Fatalf("inner format/KDF = %d/%d, want 1/1", in[0], in[1])
	}
	p := KDFParams{Memory: binary.BigEndian.Uint32(in[2:6]), Time: binary.BigEndian.Uint32(in[6:10]), Threads: in[10]}
	if p != testKDF {
		t.Fatalf("stored parameters %v, want %v", p, testKDF)
	}
	const s = 16
	if in[11] != s || in[12+s] != 1 {
		t.Fatalf("salt length %d, cipher %d; want 16 and 1", in[11], in[12+s])
	}
	salt, nonce, ct := in[12:12+s], in[13+s:25+s], in[25+s:]
	// Decrypt independently of the vault's own parsing.
	kek := argon2id([]byte("layout123"), salt, testKDF)
	a, err := gcm(kek)
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("nemid vault v1\x00inner\x00")
	aad = binary.BigEndian.AppendUint64(aad, 42)
	aad = binary.BigEndian.AppendUint64(aad, 1)
	aad = append(aad, in[:25+s]...)
	pkcs8, err := a.Open(nil, nonce, ct, aad)
	if err != nil {
		t.Fatalf("inner layer does not open as documented: %v", err)
	}
	priv, err := privateKey(pkcs8, k.Public)
	if err != nil {
		t.Fatalf("inner plaintext is not the PKCS#8 private key: %v", err)
	}
	wipe(priv)

	// A second wrapping draws a fresh salt and nonces.
	if err := v.ChangePassword(ctx(t), 42, "layout123", "layout123"); err != nil {
		t.Fatal(err)
	}
	in2 := openInnerLayer(t, mk, activeRow(t, st, 42))
	if bytes.Equal(in2[12:12+s], salt) || bytes.Equal(in2[13+s:25+s], nonce) {
		t.Fatal("re-wrapping reused the salt or the nonce")
	}
}

// flipPositions samples bit positions of an n-byte buffer: every bit of
// the first head bytes and the last tail bytes, and one bit of every other
// byte (a different bit each time).
func flipPositions(n, head, tail int) []int {
	var out []int
	for i := range n {
		if i < head || i >= n-tail {
			for bit := range 8 {
				out = append(out, i*8+bit)
			}
			continue
		}
		out = append(out, i*8+i%8)
	}
	return out
}

func flipped(b []byte, pos int) []byte {
	c := bytes.Clone(b)
	c[pos/8] ^= 1 << (pos % 8)
	return c
}

// TestFlippedBitsStored (3): any flipped bit of a stored blob is found by
// the outer layer before a password is tried; the key is never used.
func TestFlippedBitsStored(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	k := create(t, v, 1, "flip12345")
	good := activeRow(t, st, 1).Blob
	derivations := 0
	v.kdf = func(pw, salt []byte, p KDFParams) []byte { derivations++; return argon2id(pw, salt, p) }

	// All of the 2-byte header, the master key's header and nonce and the
	// first inner bytes; the whole tag; one bit of every byte between.
	positions := flipPositions(len(good), 40, 16)
	for _, pos := range positions {
		putBlob(t, st, 1, flipped(good, pos))
		sig, err := v.Sign(ctx(t), 1, "flip12345", digestOf("x"), crypto.SHA256)
		if !errors.Is(err, ErrCorrupt) || sig != nil {
			t.Fatalf("bit %d (byte %d) flipped: Sign = %x, %v; want ErrCorrupt", pos, pos/8, sig, err)
		}
	}
	// Truncated and extended blobs too.
	for _, b := range [][]byte{nil, good[:1], good[:2], good[:30], good[:len(good)-1], append(bytes.Clone(good), 0)} {
		if len(b) == 0 {
			continue // the store refuses an empty blob
		}
		putBlob(t, st, 1, b)
		signFails(t, v, 1, "flip12345", ErrCorrupt)
	}
	if derivations != 0 {
		t.Fatalf("%d derivations ran for corrupt blobs; the outer layer must refuse them first", derivations)
	}
	t.Logf("%d flipped bits of a %d-byte blob, all refused", len(positions), len(good))
	putBlob(t, st, 1, good)
	mustSign(t, v, 1, "flip12345", "restored", k.Public)
}

// TestFlippedBitsInner (3): a flipped bit inside the password layer,
// resealed with the master key (only the master key's holder can do that),
// is never used either: the inner header's checks or the inner tag stop it.
func TestFlippedBitsInner(t *testing.T) {
	st := storetest.OpenSQLite(t)
	mk := masterKey(t)
	v := newVault(t, st, mk)
	k := create(t, v, 1, "flip12345")
	row := activeRow(t, st, 1)
	in := openInnerLayer(t, mk, row)
	const headerLen = 25 + 16

	var positions []int
	for i := range headerLen {
		switch {
		case i == 2 || i == 3 || i == 6 || i == 7 || i == 8:
			// High bytes of memory and time: every flip asks for more than
			// the ceiling, except bit 0-3 of byte 3 (memory +64 MiB to
			// +512 MiB): those are valid, only slow, so bit 0 stands for them.
			positions = append(positions, i*8+7)
			if i == 3 {
				positions = append(positions, i*8)
			}
		case i >= 12 && i < 28 || i >= 29:
			positions = append(positions, i*8+i%8) // salt and nonce: one bit a byte
		default:
			for bit := range 8 {
				positions = append(positions, i*8+bit) // every other header bit
			}
		}
	}
	for _, i := range []int{headerLen, headerLen + 100, headerLen + 700, len(in) - 17} {
		positions = append(positions, i*8+3) // ciphertext
	}
	for i := len(in) - 16; i < len(in); i++ {
		positions = append(positions, i*8+i%8) // tag
	}

	outcomes := map[string]int{}
	for _, pos := range positions {
		putBlob(t, st, 1, sealInnerLayer(t, mk, row, flipped(in, pos)))
		sig, err := v.Sign(ctx(t), 1, "flip12345", digestOf("x"), crypto.SHA256)
		if sig != nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongPassword)) {
			t.Fatalf("inner bit %d (byte %d) flipped: Sign = %x, %v; want no signature", pos, pos/8, sig, err)
		}
		// The format, KDF and cipher bytes must be refused as corrupt,
		// before any derivation. (A changed salt length is too, unless the
		// byte that then sits where the cipher byte was happens to read 1;
		// the inner tag stops it then.)
		if at := pos / 8; (at == 0 || at == 1 || at == 28) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("inner byte %d flipped: %v, want ErrCorrupt", at, err)
		}
		outcomes[fmt.Sprint(errors.Is(err, ErrCorrupt))]++
	}
	t.Logf("%d inner flips: %d refused as corrupt, %d as a wrong key", len(positions), outcomes["true"], outcomes["false"])
	putBlob(t, st, 1, sealInnerLayer(t, mk, row, in))
	mustSign(t, v, 1, "flip12345", "restored", k.Public)
}
