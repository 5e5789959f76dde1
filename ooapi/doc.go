// Package ooapi is the service provider's library for NemID, the Danish
// logon and signing system: the Go counterpart of DanID's OOAPI
// ("OpenOcesAPI"). A service provider (a web shop, a bank, a public
// authority) uses it to start the NemID clients with signed parameters and
// to validate what the clients send back, which gives it the user's PID
// (or RID and CVR) — or a NemID error code. The sub-packages hold the parts:
// xmldsig the strict XMLDSig verifier of the responses, revocation the
// OCSP and CRL checks, cpr the clients of NemID's PID-CPR and RID-CPR
// services.
//
// The package imports only the standard library, golang.org/x and
// github.com/nemid-dk/nemid/oces, so a service provider can vendor it
// alone. Section numbers below refer to the protocol specification
// (nemid-protocol.md).
//
// # The flow
//
//  1. The service provider's server builds a parameter set with an SPSigner:
//     Logon or Sign for the JavaScript client (the "client with OTP": key
//     card, key token, code app), CodeFileLogon or CodeFileSign for the
//     CodeFile client (OCES key files). Each call returns the signed set and
//     a fresh Challenge.
//  2. The server keeps the challenge in the user's session and writes
//     ParameterSet.ScriptElement into the page, next to the client's iframe.
//  3. When the client posts {"command":"SendParameters"}, the page answers
//     with {"command":"parameters","content":<the element's text>} (a
//     string, not an object), posted to the client's origin only.
//  4. The user logs on or signs; the client posts changeResponseAndSubmit
//     with base64 of either the signed XML response or an error Code; the
//     page forwards it to the server.
//  5. The server validates it with a Validator (Logon or Sign), which takes
//     the session's challenge out of the ChallengeStore, and gets a Result:
//     the identity (PID for a person; RID and CVR for an employee), the
//     certificate's status, the remember-user-id token. A ClientError
//     carries the code to explain to the user (Code.Text).
//
// # Building parameters
//
// An SPSigner holds the service provider's VOCES certificate (SP_CERT) and
// its RSA key; ParseSPSigner reads both from PEM files. Its methods add the
// mandatory parameters — CLIENTFLOW, SP_CERT, TIMESTAMP, SIGN_PROPERTIES
// with the challenge, ORIGIN — and the options asked for in LogonOptions,
// SignOptions or CodeFileOptions (LANGUAGE, REMEMBER_USERID,
// TRANSACTION_CONTEXT and the other parameters of section 2), check every
// value as NemID would, and sign.
//
// A document to sign is a SignText: PlainSignText, HTMLSignText (checked
// against the client's HTML whitelist by ValidateHTML and refused, never
// cleaned, if it breaks it), XMLSignText with its XSLT transformation,
// PDFSignText (inline) or RemotePDFSignText (fetched by the client, checked
// against its SHA-256).
//
// Choices this package makes where NemID allowed several:
//
//   - TIMESTAMP is base64 of the time in UTC as "yyyy-MM-dd HH:mm:ss+0000"
//     (FormatTimestamp), as DanID's own example sent it; the CodeFile
//     client needs base64 anyway.
//   - The challenge is 128 random bits as 32 lower-case hex digits, sent as
//     SIGN_PROPERTIES "challenge=<hex>".
//   - ORIGIN is required, and must be exactly the origin a browser reports.
//   - JSON members come in normalization order, then PARAMS_DIGEST and
//     DIGEST_SIGNATURE, with <, > and & escaped (ParameterSet.JSON).
//
// For parameter sets the builders do not make, SignParameters (or
// SPSigner.SignParams) signs any list of parameters as it is.
//
// # Normalization and signature
//
// PARAMS_DIGEST and DIGEST_SIGNATURE cover the normalized parameters
// (section 3, Normalize): all parameters but those two, sorted by name as
// Java's String.CASE_INSENSITIVE_ORDER sorts ("_" before letters, so
// SIGN_PROPERTIES < SIGNTEXT < SIGNTEXT_FORMAT), each name as written
// followed by its value as sent, in UTF-8. PARAMS_DIGEST is base64 of its
// SHA-256, DIGEST_SIGNATURE base64 of its RSASSA-PKCS1-v1_5 SHA-256
// signature by the VOCES key. Two names that differ only in case are an
// error. Both published test vectors (sections 3.3 and 3.4) are reproduced
// bit for bit by the tests.
//
// # Checking parameters
//
// ParseParameters reads a parameter set's JSON strictly (one object of
// string members, no duplicate names in any case, size limits); its errors
// carry APP001. VerifyParameters then makes NemID's checks at a given time
// and returns every Problem with the Code NemID answers for it: unknown or
// missing parameters (APP007), unsupported values or a wrong PARAMS_DIGEST
// (APP001), invalid combinations (APP008), a sign text outside the rules
// (APP002), a DIGEST_SIGNATURE that does not verify (SRV001), an SP_CERT that
// is not a valid VOCES (SRV005), a TIMESTAMP more than 3 minutes off
// (SRV003), a TRANSACTION_CONTEXT over 100 characters (SRV011). Whether the
// VOCES is registered for a service provider, chains to an OCES root and is
// unrevoked is for the NemID server to decide; VerifyParameters does not
// claim to know. `nemid params verify` prints the same problems.
//
// # Validating responses
//
// A Validator is configured once (Config) with a Trust environment —
// PreproductionTrust and ProductionTrust ship the real OCES II roots,
// ParseTrust takes your own CA's (`nemid ca export`) — a revocation
// Checker (revocation.OCSP by default in OOAPI's last versions; full CRL
// over HTTP and partitioned CRL over LDAP too), the ChallengeStore and the
// service provider's friendly name(s). Validator.Logon and Validator.Sign
// then check, and refuse with a *ValidationError naming the Reason:
//
//   - the response's form: base64 of XML or of an error code (ClientError);
//   - the strict XMLDSig profile of package xmldsig: one Signature, one
//     Reference to the one signed Object, RSA-SHA256 over inclusive C14N,
//     no transforms, no DTDs, properties read only from the signed bytes;
//   - the action (logon or sign), the one-time challenge (constant-time),
//     the RequestIssuer against the friendly names;
//   - for Sign, that the signed text is the agreement and was visible;
//   - the chain from the signer through the issuing CA to a root of the
//     Trust, every KeyInfo certificate part of it, CAs valid and allowed to
//     sign certificates;
//   - an OCES end-entity subject, exactly one policy, under the
//     environment's prefix for the certificate's type; key usage
//     digitalSignature;
//   - validity at the clock's time, and revocation of the signer and its
//     issuing CA. A status that cannot be established refuses the response.
//
// An expired, not-yet-valid or revoked certificate gives the Result (with
// its Status) and an error: an integration that only checks err is safe.
//
// # From PID to CPR
//
// The certificate names a person by PID, not CPR number (an employee by RID
// and CVR). A service provider with the right in its agreement asks NemID's
// PID-CPR service whether a PID belongs to the CPR number the user typed
// (cpr.PIDClient.Match), or, with the further right, which CPR number it is
// (LookupCPR); RID-CPR does the same for employees (cpr.RIDClient). Both
// authenticate with the service provider's VOCES in mutual TLS; see package
// cpr.
//
// # Error codes
//
// Code is NemID's error code, shared with the NemID server side. Text gives
// the user text in Danish or English, Description the technical meaning for
// developers and logs.
package ooapi
