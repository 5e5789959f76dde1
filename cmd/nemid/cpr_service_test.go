package main_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The PID/RID-CPR services end to end: `nemid serve` issues its TLS
// certificate, service providers are registered and CPR numbers linked
// with the CLI, and curl (an independent client) calls every interface
// with raw XML bodies, with and without a client certificate.

var httpsLine = regexp.MustCompile(`(?m)^PID/RID-CPR services on (https://\S+)`)

// httpsURL waits for serve to print where the CPR services listen.
func (s *server) httpsURL() string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := httpsLine.FindStringSubmatch(s.stdout.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("serve printed no address of the CPR services:\n%s", s.output())
	return ""
}

// registerSP registers a service provider with a new VOCES certificate and
// returns its SPID and the certificate and key files.
func registerSP(t *testing.T, r *runner, data, name string, rights ...string) (spid, cert, key string) {
	t.Helper()
	cert = filepath.Join(r.dir, name+".pem")
	key = filepath.Join(r.dir, name+".key")
	out := r.ok(append([]string{"sp", "register", "--data", data, "--name", name, "--origin", "https://" + name + ".example",
		"--issue-voces", "--cvr", "30808460", "--organization", "Testfirma A/S", "--cert-out", cert, "--key-out", key, "--json"}, rights...)...)
	var reg struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.ID == 0 {
		t.Fatalf("sp register --json: %v\n%s", err, out)
	}
	return strconv.FormatInt(reg.ID, 10), cert, key
}

// curlPost posts body to url with curl, verifying the server against the
// installation's root, with the client certificate if cert is not empty.
func curlPost(t *testing.T, root, cert, key, url, contentType, body string) string {
	t.Helper()
	args := []string{"-sS", "--fail-with-body", "--max-time", "20", "--cacert", root, "-H", "Content-Type: " + contentType, "--data-binary", "@-"}
	if contentType == "application/x-www-form-urlencoded" {
		args = []string{"-sS", "--fail-with-body", "--max-time", "20", "--cacert", root, "--data-urlencode", "PID_REQUEST@-"}
	}
	if strings.Contains(body, "soap:Envelope") {
		args = append(args, "-H", `SOAPAction: ""`)
	}
	if cert != "" {
		args = append(args, "--cert", cert, "--key", key)
	}
	in := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(in, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if strings.HasSuffix(a, "@-") {
			args[i] = strings.TrimSuffix(a, "-") + in
		}
	}
	return tool(t, "curl", append(args, url)...)
}

func TestCPRServicesWithCurl(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	const pid, cpr = "9208-2002-2-143168190719", "1111111118"
	const cvr, rid = "30808460", "45490598"
	full, fullCert, fullKey := registerSP(t, r, data, "fuldbutik", "--allow-cpr-match", "--allow-cpr-lookup")
	none, noneCert, noneKey := registerSP(t, r, data, "udenret")
	r.ok("cpr", "link", "--data", data, "--pid", pid, "--cpr", cpr)
	r.ok("cpr", "link", "--data", data, "--rid", rid, "--cvr", cvr, "--cpr", cpr)

	s := startServe(t, r, "--data", data, "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0")
	base := s.httpsURL()
	root := filepath.Join(exportCA(t, r, data), "root.pem")
	// The server's certificate chains to the installation's root and names
	// 127.0.0.1: curl checks both on every call below.

	pidxml := func(spid string, withCPR bool) string {
		c := ""
		if withCPR {
			c = "<cpr>" + cpr + "</cpr>"
		}
		return `<?xml version="1.0" encoding="iso-8859-1"?><method name="pidCprRequest" version="1.0"><request id="e2e-1"><serviceId>` +
			spid + `</serviceId><pid>` + pid + `</pid>` + c + `</request></method>`
	}
	pidws := func(spid string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
			`<pid xmlns="http://localhost/"><pIDRequests><PIDRequest xmlns="java:dk.certifikat.pid.webservices">` +
			`<CPR>` + cpr + `</CPR><PID>PID:` + pid + `</PID><id>e2e-2</id><serviceId>` + spid + `</serviceId>` +
			`</PIDRequest></pIDRequests></pid></soap:Body></soap:Envelope>`
	}
	ridMatch := func(spid string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
			`<MatchRidAndCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><SubjectSerialNumberIdentifier>CVR:` + cvr + `-RID:` + rid +
			`</SubjectSerialNumberIdentifier><cpr:PersonCivilRegistrationIdentifier xmlns:cpr="http://rep.oio.dk/cpr.dk/xml/schemas/core/2005/03/18/">` + cpr +
			`</cpr:PersonCivilRegistrationIdentifier><ServiceProviderIdentifier>` + spid + `</ServiceProviderIdentifier></MatchRidAndCprInput></soap:Body></soap:Envelope>`
	}
	const (
		pidxmlPath = "/pid_serviceprovider_server/pidxml/"
		pidwsPath  = "/pid_serviceprovider_server/pidws/"
		ridPath    = "/rid_serviceprovider_oio_server/v1.0.0/"
	)
	for _, c := range []struct {
		name, cert, key, path, contentType, body string
		want                                     []string
	}{
		{"pidxml match", fullCert, fullKey, pidxmlPath, "text/xml", pidxml(full, true),
			[]string{`<response id="e2e-1"><status statusCode="0"><statusText language="DK">OK</statusText><statusText language="UK">OK</statusText></status>`}},
		{"pidxml look-up as a form", fullCert, fullKey, pidxmlPath, "application/x-www-form-urlencoded", pidxml(full, false),
			[]string{`<status statusCode="0">`, `<cpr>` + cpr + `</cpr>`}},
		{"pidws match", fullCert, fullKey, pidwsPath, "text/xml; charset=utf-8", pidws(full),
			[]string{`<pidResponse xmlns="http://localhost/"><result><PIDReply xmlns="java:dk.certifikat.pid.webservices">`, `<id>e2e-2</id>`, `<statusCode>0</statusCode>`}},
		{"rid match", fullCert, fullKey, ridPath, "text/xml; charset=utf-8", ridMatch(full),
			[]string{`<MatchRidAndCprOutput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><RequestStatusCode>0</RequestStatusCode><EmployeeIdentifierLookupStatusText>Ok</EmployeeIdentifierLookupStatusText><MatchIndicator>true</MatchIndicator>`}},

		{"pidxml without a client certificate", "", "", pidxmlPath, "text/xml", pidxml(full, true),
			[]string{`<status statusCode="8195"><statusText language="DK">Klient certifikat ikke præsenteret</statusText><statusText language="UK">No client certificate presented</statusText>`}},
		{"pidws without a client certificate", "", "", pidwsPath, "text/xml; charset=utf-8", pidws(full),
			[]string{`<statusCode>8195</statusCode>`}},
		{"rid without a client certificate", "", "", ridPath, "text/xml; charset=utf-8", ridMatch(full),
			[]string{`<RequestStatusCode>8195</RequestStatusCode><EmployeeIdentifierLookupStatusText>MissingClientCert</EmployeeIdentifierLookupStatusText>`}},

		{"pidxml from an SP without the right", noneCert, noneKey, pidxmlPath, "text/xml", pidxml(none, true),
			[]string{`<status statusCode="17">`, `Caller not authorized for service lookup`}},
		{"pidws from an SP without the right", noneCert, noneKey, pidwsPath, "text/xml; charset=utf-8", pidws(none),
			[]string{`<statusCode>17</statusCode>`}},
		{"rid from an SP without the right", noneCert, noneKey, ridPath, "text/xml; charset=utf-8", ridMatch(none),
			[]string{`<RequestStatusCode>17</RequestStatusCode><EmployeeIdentifierLookupStatusText>NotAuthorizedForServiceLookup</EmployeeIdentifierLookupStatusText><MatchIndicator>false</MatchIndicator>`}},
		{"another SP's SPID", noneCert, noneKey, pidxmlPath, "text/xml", pidxml(full, true),
			[]string{`<status statusCode="17">`}},
	} {
		out := curlPost(t, root, c.cert, c.key, base+c.path, c.contentType, c.body)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the answer lacks %s:\n%s", c.name, w, out)
			}
		}
	}

	// The answers are counted on /metrics, and no CPR number reaches the log.
	metrics := string(get(t, s.base+"/metrics").body)
	for _, m := range []string{`nemid_cpr_answers_total{interface="pidxml",status="0"} 2`, `nemid_cpr_answers_total{interface="rid",status="8195"} 1`,
		`nemid_cpr_answers_total{interface="pidws",status="17"} 1`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	s.stop()
	if strings.Contains(s.stderr.String(), cpr) {
		t.Errorf("the log holds the CPR number:\n%s", s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), `msg="PID/RID-CPR services serving" https=`+base) {
		t.Errorf("the log does not say where the CPR services listen:\n%s", s.stderr.String())
	}
}

// TestCPRServicesOff: --tls-listen off serves no CPR services and issues
// no TLS certificate; the flag wins over NEMID_TLS_LISTEN.
func TestCPRServicesOff(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	s := startServe(t, r, "--data", data, "--listen", "127.0.0.1:0", "--tls-listen=off")
	s.stop() // after the exit, stdout is complete
	if strings.Contains(s.stdout.String(), "PID/RID-CPR") {
		t.Errorf("CPR services started with --tls-listen off:\n%s", s.output())
	}
	for _, row := range r.list("--data", data) {
		if row.Profile == "tls-server" {
			t.Errorf("a TLS certificate was issued with --tls-listen off: %+v", row)
		}
	}
	// A taken port is reported, and no certificate is issued for it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res := r.fail("serve", "--data", data, "--listen", "127.0.0.1:0", "--ldap-listen", "off", "--tls-listen", ln.Addr().String())
	if !strings.Contains(res.stderr, "listen on "+ln.Addr().String()) {
		t.Errorf("a taken --tls-listen port:\n%s", res)
	}
	for _, row := range r.list("--data", data) {
		if row.Profile == "tls-server" {
			t.Errorf("a TLS certificate was issued for a port that was taken: %+v", row)
		}
	}
	s = startServe(t, r.withEnv("NEMID_TLS_LISTEN=off"), "--data", data, "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0")
	s.stop()
	if !strings.Contains(s.stdout.String(), "PID/RID-CPR services on https://127.0.0.1:") {
		t.Errorf("--tls-listen did not win over NEMID_TLS_LISTEN=off:\n%s", s.output())
	}
}
