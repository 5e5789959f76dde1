package ooapi

import (
	"encoding/base64"
	"fmt"
	"slices"
)

// ClientOptions are the JS-client parameters common to logon and signing.
// The zero value asks for nothing optional; Origin is required.
type ClientOptions struct {
	// Origin is the origin of the page that embeds the client,
	// scheme://host[:port] exactly as the browser reports it (lower case,
	// punycode host, no default port, no path), e.g. "https://sp.example.dk"
	// (ORIGIN). The client refuses parameters posted from any other origin.
	// NemID made ORIGIN optional but "highly recommended"; this package
	// requires it, since without it any page may post the parameters.
	Origin string
	// Language is the client's language: DA (the client's default when
	// empty), EN or KL (LANGUAGE).
	Language Language
	// RememberUserID shows the "remember user id" check box
	// (REMEMBER_USERID, empty). RememberUserIDToken is the token an earlier
	// response returned (property rememberUseridToken); it implies
	// RememberUserID and fills in the user id.
	RememberUserID      bool
	RememberUserIDToken string
	// RememberUserIDUnchecked starts the check box unchecked
	// (REMEMBER_USERID_INITIAL_STATUS=FALSE; responsive mode only).
	RememberUserIDUnchecked bool
	// TransactionContext is the text the code app shows when the user
	// approves there, at most MaxTransactionContext characters
	// (TRANSACTION_CONTEXT, sent in base64).
	TransactionContext string
	// SuppressPushToDevice sends no push notification to the code app
	// (SUPPRESS_PUSH_TO_DEVICE=TRUE).
	SuppressPushToDevice bool
	// EnableAwaitingAppApprovalEvent makes the client post
	// AwaitingAppApproval while it waits for the code app
	// (ENABLE_AWAITING_APP_APPROVAL_EVENT=TRUE).
	EnableAwaitingAppApprovalEvent bool
	// PreventOTPCard forbids the key card (PREVENT_OTP_CARD=TRUE; AUTH019
	// if the user has nothing else).
	PreventOTPCard bool
	// DoNotShowCancel hides the Cancel button in standard mode
	// (DO_NOT_SHOW_CANCEL=TRUE).
	DoNotShowCancel bool
	// Extra are further JS-client parameters, with values as sent (for
	// example CLIENTMODE or ALLOW_STEPUP). Each must be a parameter of
	// spec 2 that the options above do not already set.
	Extra []Param
}

// LogonOptions are the parameters of a logon (CLIENTFLOW=OCESLOGIN2).
type LogonOptions struct {
	ClientOptions
	// CredentialUpdate asks the user to change the password ("PASSWORD")
	// or the user alias and the password ("ALIAS") (CREDENTIAL_UPDATE).
	CredentialUpdate string
}

// SignOptions are the parameters of a signing (CLIENTFLOW=OCESSIGN2).
type SignOptions struct {
	ClientOptions
	// Text is the document to sign.
	Text SignText
	// MonospaceFont shows a plain-text document in a fixed-width font
	// (SIGNTEXT_MONOSPACEFONT=TRUE).
	MonospaceFont bool
}

// Logon builds and signs the parameters of a JS-client logon. It returns
// the set and the fresh challenge it put into SIGN_PROPERTIES, which the
// service provider keeps server-side to check the response against.
//
// The set holds CLIENTFLOW, SP_CERT, TIMESTAMP (see FormatTimestamp),
// SIGN_PROPERTIES ("challenge=<challenge>"), ORIGIN and the options given,
// in normalization order (the order of the digested string), followed by
// PARAMS_DIGEST and DIGEST_SIGNATURE.
func (s *SPSigner) Logon(opts LogonOptions) (*ParameterSet, Challenge, error) {
	b, err := s.newJSBuilder(FlowLogon, opts.ClientOptions)
	if err != nil {
		return nil, "", err
	}
	switch opts.CredentialUpdate {
	case "":
	case "PASSWORD", "ALIAS":
		b.add(ParamCredentialUpdate, opts.CredentialUpdate)
	default:
		return nil, "", fmt.Errorf("ooapi: CredentialUpdate %q: want PASSWORD or ALIAS", opts.CredentialUpdate)
	}
	return b.finish(opts.Extra)
}

// Sign builds and signs the parameters of a JS-client signing, like Logon,
// with the document's SIGNTEXT_FORMAT and SIGNTEXT (base64), or for a
// remote PDF SIGNTEXT_URI and SIGNTEXT_REMOTE_HASH, and for XML
// SIGNTEXT_TRANSFORMATION (base64) and SIGNTEXT_TRANSFORMATION_ID. The
// document is checked as the client would check it (see SignText); a
// document the client would refuse (APP002) is an error here.
func (s *SPSigner) Sign(opts SignOptions) (*ParameterSet, Challenge, error) {
	b, err := s.newJSBuilder(FlowSign, opts.ClientOptions)
	if err != nil {
		return nil, "", err
	}
	st := opts.Text
	if err := st.check(); err != nil {
		return nil, "", fmt.Errorf("ooapi: sign text: %w", err)
	}
	b.add(ParamSignTextFormat, st.format)
	if st.uri != "" {
		b.add(ParamSignTextURI, st.uri)
		b.add(ParamSignTextRemoteHash, base64.StdEncoding.EncodeToString(st.remoteHash))
	} else {
		b.add(ParamSignText, base64.StdEncoding.EncodeToString(st.content))
	}
	if st.format == FormatXML {
		b.add(ParamSignTextTransformation, base64.StdEncoding.EncodeToString(st.transformation))
		if st.transformationID != "" {
			b.add(ParamSignTextTransformationID, st.transformationID)
		}
	}
	if opts.MonospaceFont {
		if st.format != FormatText {
			return nil, "", fmt.Errorf("ooapi: MonospaceFont applies to a plain-text document, not %s", st.format)
		}
		b.add(ParamSignTextMonospaceFont, "TRUE")
	}
	return b.finish(opts.Extra)
}

// paramBuilder collects the parameters of one set.
type paramBuilder struct {
	signer    *SPSigner
	client    Client
	params    []Param
	challenge Challenge
}

func (b *paramBuilder) add(name, value string) { b.params = append(b.params, Param{name, value}) }

func (s *SPSigner) newJSBuilder(flow string, o ClientOptions) (*paramBuilder, error) {
	b, err := s.newBuilder(JSClient)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(o.Origin); err != nil {
		return nil, fmt.Errorf("ooapi: %w", err)
	}
	b.add(ParamClientFlow, flow)
	b.add(ParamSPCert, s.SPCert())
	b.add(ParamTimestamp, FormatTimestamp(s.now()))
	b.add(ParamSignProperties, "challenge="+string(b.challenge))
	b.add(ParamOrigin, o.Origin)
	if o.Language != "" {
		lang := Language(upperASCII(string(o.Language)))
		if lang != DA && lang != EN && lang != KL {
			return nil, fmt.Errorf("ooapi: Language %q: want DA, EN or KL", o.Language)
		}
		b.add(ParamLanguage, string(lang))
	}
	if o.RememberUserIDToken != "" {
		if _, err := decodeBase64(o.RememberUserIDToken); err != nil {
			return nil, fmt.Errorf("ooapi: RememberUserIDToken: %v", err)
		}
	}
	if o.RememberUserID || o.RememberUserIDToken != "" {
		b.add(ParamRememberUserID, o.RememberUserIDToken)
	}
	if o.RememberUserIDUnchecked {
		if !o.RememberUserID && o.RememberUserIDToken == "" {
			return nil, fmt.Errorf("ooapi: RememberUserIDUnchecked needs RememberUserID")
		}
		b.add(ParamRememberUserIDInitialStatus, "FALSE")
	}
	if o.TransactionContext != "" {
		if n := javaLength(o.TransactionContext); n > MaxTransactionContext {
			return nil, fmt.Errorf("ooapi: TransactionContext has %d characters, at most %d are allowed (SRV011)", n, MaxTransactionContext)
		}
		b.add(ParamTransactionContext, base64.StdEncoding.EncodeToString([]byte(o.TransactionContext)))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{
		{o.SuppressPushToDevice, ParamSuppressPushToDevice},
		{o.EnableAwaitingAppApprovalEvent, ParamEnableAwaitingAppApprovalEvent},
		{o.PreventOTPCard, ParamPreventOTPCard},
		{o.DoNotShowCancel, ParamDoNotShowCancel},
	} {
		if f.on {
			b.add(f.name, "TRUE")
		}
	}
	return b, nil
}

func (s *SPSigner) newBuilder(client Client) (*paramBuilder, error) {
	if s.Cert == nil || s.Key == nil {
		return nil, fmt.Errorf("ooapi: the SPSigner needs Cert and Key")
	}
	c, err := NewChallenge()
	if err != nil {
		return nil, err
	}
	return &paramBuilder{signer: s, client: client, challenge: c}, nil
}

// finish adds the extra parameters, sorts the set into normalization order
// and signs it.
func (b *paramBuilder) finish(extra []Param) (*ParameterSet, Challenge, error) {
	for _, p := range extra {
		if err := b.checkExtra(p.Name); err != nil {
			return nil, "", err
		}
	}
	params := append(b.params, extra...)
	// Sorting first makes the JSON read in the order of the digested
	// string. A case-only duplicate among the extras makes Normalize fail.
	slices.SortStableFunc(params, func(x, y Param) int { return compareNames(x.Name, y.Name) })
	ps, err := b.signer.SignParams(params)
	if err != nil {
		return nil, "", err
	}
	ps.client = b.client
	return ps, b.challenge, nil
}

func (b *paramBuilder) checkExtra(name string) error {
	known := false
	if b.client == CodeFileClient {
		_, known = codeFileParams[name]
	} else {
		_, _, known = lookupJSParam(name)
	}
	if !known {
		return fmt.Errorf("ooapi: extra parameter %q is not a parameter of the %s client", name, b.client)
	}
	if isSignatureParam(name) {
		return fmt.Errorf("ooapi: %s is added by the signer", name)
	}
	for _, p := range b.params {
		if compareNames(p.Name, name) == 0 {
			return fmt.Errorf("ooapi: extra parameter %s is already set by the options", name)
		}
	}
	return nil
}
