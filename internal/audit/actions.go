package audit

// Action is what an audit record is about. The set is closed: Append
// refuses any other value, so that the log can be searched by action and
// nobody writes prose into it.
type Action string

// The actions. The Subject each takes is given in brackets.
const (
	// Registration: a NemID was issued to a person: the user, user-ids,
	// temporary password, first key card, key pair and certificate, made
	// all at once. [user]
	Registration Action = "registration"
	// Activation: the first logon with a temporary password set a personal
	// password (after a reset, with a new key pair and certificate). [user]
	Activation Action = "activation"
	// LogonAttempt: a user-id and password were tried at the logon prompt,
	// successfully or not (with the NemID code of the answer). [user]
	LogonAttempt Action = "logon-attempt"
	// OTPUse: a one-time code (key card, key token, code app, voice call)
	// was given, right or wrong. The code itself is never recorded. [user]
	OTPUse Action = "otp-use"
	// Quarantine: wrong passwords put the user in quarantine for a while
	// (LOCK001). [user]
	Quarantine Action = "quarantine"
	// Lock: the user was locked out until the operator unlocks: wrong
	// passwords after a quarantine (LOCK002), or wrong one-time codes
	// (LOCK003). [user]
	Lock Action = "lock"
	// Unlock: a quarantine or lock was lifted, by the operator or (actor
	// System) when it ran out. [user]
	Unlock Action = "unlock"
	// Block: the NemID was blocked, by the user or the operator; its
	// certificate is revoked. [user]
	Block Action = "block"
	// Unblock: the operator lifted a block. [user]
	Unblock Action = "unblock"
	// PasswordReset: the operator issued a new temporary password. [user]
	PasswordReset Action = "password-reset"
	// PasswordChange: the user changed the password. [user]
	PasswordChange Action = "password-change"
	// KeycardIssued: a key card was made for the user (at registration,
	// ordered automatically when few keys remain, or on request). [user]
	KeycardIssued Action = "keycard-issued"
	// KeycardRevoked: a key card was taken out of use (replaced, lost, or
	// after wrong codes). [user]
	KeycardRevoked Action = "keycard-revoked"
	// Sign: the key vault signed with a user's private key, for a logon or a
	// signature, after the user's two-factor authentication. [user]
	Sign Action = "sign"
	// CertificateIssued: the CA issued a certificate. [cert]
	CertificateIssued Action = "certificate-issued"
	// CertificateRevoked: the CA revoked a certificate (final). [cert]
	CertificateRevoked Action = "certificate-revoked"
	// SPRegistered: a service provider agreement was registered. [sp]
	SPRegistered Action = "sp-registered"
	// SPDisabled: a service provider agreement was disabled (final). [sp]
	SPDisabled Action = "sp-disabled"
	// ClientStart: the JS client received a service provider's parameters
	// and started a flow, or refused them (with the code). [sp]
	ClientStart Action = "client-start"
	// ClientEnd: a JS-client flow ended — the response was delivered, or an
	// error code (cancel, time-out, lock-out). [sp]
	ClientEnd Action = "client-end"
)

// actions is the closed set, in the order the constants are documented.
var actions = []Action{
	Registration, Activation, LogonAttempt, OTPUse, Quarantine, Lock, Unlock, Block, Unblock,
	PasswordReset, PasswordChange, KeycardIssued, KeycardRevoked, Sign,
	CertificateIssued, CertificateRevoked, SPRegistered, SPDisabled, ClientStart, ClientEnd,
}

// Actions returns every action, for help texts and documentation.
func Actions() []Action { return append([]Action(nil), actions...) }

// Known reports whether a is one of the actions.
func (a Action) Known() bool {
	for _, k := range actions {
		if a == k {
			return true
		}
	}
	return false
}
