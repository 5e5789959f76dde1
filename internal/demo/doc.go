// Package demo is the example service provider: "Demo-butikken", a small
// shop on its own origin where a user logs on with NemID (key card), signs a
// plain text or an HTML agreement, sees the identity NemID vouched for and,
// when the service provider has the right, matches the PID (or RID) to a CPR
// number.
//
// It is the integrator's reference, so it uses nothing but the standard
// library and package ooapi (with ooapi/revocation, ooapi/cpr and
// ooapi/xmldsig): a service provider can copy it as it is. The parts to copy:
//
//   - building the client's parameters (ooapi.SPSigner.Logon and Sign) and
//     keeping the challenge server-side, keyed by the session (flows.go);
//   - the page with the client's iframe and the parameter element, and the
//     few lines of JavaScript that answer the client's postMessage commands
//     (templates/client.html, static/sp.js);
//   - validating the response (ooapi.Validator.Logon and Sign) and telling
//     the user what went wrong: the client's error code, or why the response
//     was refused (flows.go);
//   - keeping signed documents as evidence, since NemID keeps none
//     (evidence.go).
//
// Sessions live in memory: a restart logs everybody out. The evidence
// survives in Config.DataDir.
package demo
