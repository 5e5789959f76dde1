package keys

import (
	"fmt"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11KeyFlags reads boolean attributes of a key held by b straight from
// the token: the private half of a Signer made by b, or the secret key of a
// MasterKey made by b. Exported for the external tests only.
func PKCS11KeyFlags(b *PKCS11Backend, key any) (map[string]bool, error) {
	if mk, ok := key.(*pkcs11MasterKey); ok {
		key = mk.key
	}
	names := map[crypto11.AttributeType]string{
		crypto11.CkaSensitive:        "sensitive",
		crypto11.CkaExtractable:      "extractable",
		crypto11.CkaAlwaysSensitive:  "always-sensitive",
		crypto11.CkaNeverExtractable: "never-extractable",
		crypto11.CkaPrivate:          "private",
		crypto11.CkaSign:             "sign",
		crypto11.CkaDecrypt:          "decrypt",
	}
	var types []crypto11.AttributeType
	for t := range names {
		types = append(types, t)
	}
	attrs, err := b.p11.GetAttributes(key, types)
	if err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for t, name := range names {
		a := attrs[t]
		if a == nil || len(a.Value) != 1 {
			return nil, fmt.Errorf("attribute %s missing or not a CK_BBOOL", name)
		}
		flags[name] = a.Value[0] != 0
	}
	return flags, nil
}

// PKCS11GCMInterop makes a throw-away AES-256 key in the token that, unlike
// a real master key, may be extracted; it returns the key wrapped as a
// MasterKey (sealing inside the token exactly as a real one does) and the
// raw key bytes, so a test can check the token's output against crypto/aes.
func PKCS11GCMInterop(b *PKCS11Backend, label string) (MasterKey, []byte, error) {
	id, err := newCKAID()
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, nil, err
	}
	_ = tmpl.Set(crypto11.CkaSensitive, false)
	_ = tmpl.Set(crypto11.CkaExtractable, true)
	key, err := b.p11.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES)
	if err != nil {
		return nil, nil, err
	}
	value, err := b.p11.GetAttribute(key, crypto11.CkaValue)
	if err != nil {
		return nil, nil, err
	}
	mk, err := b.newMasterKey(label, key)
	if err != nil {
		return nil, nil, err
	}
	return mk, value.Value, nil
}
