// Package keyvault is the only code that ever holds a user's private key in
// clear (a "factotum": unwrap, sign, forget). Each user has an RSA-2048 key
// pair, made at registration; the private key is stored only wrapped twice,
// and a signature is made inside one call that takes the user's password,
// unwraps the key, signs, checks its own signature, wipes what it can, and
// returns the signature alone.
//
// # Layers
//
// The private key (PKCS#8 DER) is encrypted with AES-256-GCM under a key
// derived from the user's password with Argon2id (the inner layer); the
// result is sealed by the operator's master key, a key file or an AES key
// in a PKCS#11 token (the outer layer, [keys.MasterKey]). The outer layer
// authenticates every stored byte, so a damaged or edited blob fails there
// ([ErrCorrupt]) before any password is tried, and a failure of the inner
// layer's tag can only mean a wrong password ([ErrWrongPassword]).
//
// The additional data of both layers binds the blob to its place: the
// purpose "nemid vault v1", the user id and the key version, and in the
// outer layer the SHA-256 of the public key stored beside the blob. A blob
// copied to another user or version, or next to another public key, does
// not open.
//
// # Blob format, version 1
//
// All integers are big-endian.
//
//	stored blob
//	  0     1  blob format: 1
//	  1     1  outer layer: 1 = sealed by a keys.MasterKey
//	  2     …  the master key's sealed output (keys.SealedFormatV1:
//	           version 1, algorithm 1 = AES-256-GCM, 12-byte nonce,
//	           ciphertext, 16-byte tag) of the inner layer
//
//	outer additional data
//	  "nemid vault v1\x00outer\x00" ‖ user id (8) ‖ key version (8)
//	  ‖ SHA-256 of the DER SubjectPublicKeyInfo (32) ‖ stored bytes 0-1
//
//	inner layer (the outer layer's plaintext)
//	  0     1  inner format: 1
//	  1     1  key derivation: 1 = Argon2id (version 0x13)
//	  2     4  memory in KiB
//	  6     4  time (passes)
//	  10    1  parallelism (lanes)
//	  11    1  salt length S (16 to 64; 16 when written)
//	  12    S  salt
//	  12+S  1  cipher: 1 = AES-256-GCM
//	  13+S 12  nonce
//	  25+S  …  ciphertext of the PKCS#8 DER private key, then the 16-byte tag
//
//	inner additional data
//	  "nemid vault v1\x00inner\x00" ‖ user id (8) ‖ key version (8)
//	  ‖ inner bytes 0 to 24+S (the whole header)
//
// The key-encryption key is Argon2id(password, salt, memory, time,
// parallelism) with a 32-byte output. A fresh salt and nonce are drawn
// from crypto/rand at every wrapping, so no key-encryption key is used for
// two stored blobs (a PendingKey sealed again when its transaction is
// retried reuses its derived key with a fresh nonce; one blob is stored).
// The parameters are read from the blob, checked against fixed bounds
// ([KDFParams.Validate]), and may differ from the vault's current ones; a
// blob with weaker parameters is re-wrapped with the current ones the next
// time its password is given.
//
// # Versions and life cycle
//
// A user's key pairs are numbered 1, 2, 3, …; one is active at most.
// [Vault.Create] makes version 1. [Vault.Replace] (after an operator reset,
// when the old password is gone) makes the next version and erases the old
// blob: the old key cannot be unwrapped by anyone any more, its certificate
// is revoked as superseded, so keeping it would keep a risk and no use.
// [Vault.Destroy] (when a NemID is blocked) erases the active blob for the
// same reason: the certificate is revoked, and a blocked NemID is reopened
// with a new key pair ([Vault.Replace]), never with the old one, which may
// be compromised. Erased rows keep their version, public key and times.
//
// # Wiping
//
// Plaintext key bytes, the derived key and the password's byte copy are
// overwritten when a call ends. This is best effort: the password arrives
// as a Go string, which cannot be wiped; crypto/rsa keeps precomputed
// values of the key that this package cannot reach; the garbage collector
// may have copied any buffer; the Argon2id memory is left to the collector.
// Erased blobs may survive in database pages, write-ahead logs and backups
// until those are overwritten.
//
// docs/keyvault.md describes the threat model and the parameter choices.
package keyvault
