package main_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// TestServeRestartMidLogon stops the nemid serve process between the
// password and the key-card code and starts it again on the same data: the
// logon goes on where it was (its state is in the store and the browser),
// and the response validates with ooapi, OCSP included, against the new
// process.
func TestServeRestartMidLogon(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	listen, shop := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	args := []string{"--data", data, "--listen", listen, "--demo", "--demo-listen", shop, "--ldap-listen", "off"}
	srv := startServe(t, r, args...)
	users := demoUserLine.FindAllStringSubmatch(srv.stdout.String(), -1)
	if len(users) == 0 {
		t.Fatalf("serve --demo lists no demo users:\n%s", srv.output())
	}
	alias, temporary := users[0][3], users[0][4]
	card := printedKeyCard(t, r, []string{"--data", data}, alias)
	// The bench of a service provider: the demo shop's own VOCES signs the
	// parameters, for the shop's origin.
	certPEM, err := os.ReadFile(filepath.Join(data, "demo-sp", "sp.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(data, "demo-sp", "sp-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ooapi.ParseSPSigner(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + shop
	ps, challenge, err := signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: origin}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := &idpclient.Client{BaseURL: "http://" + listen}
	flow, a, err := client.Start(ctx, ps.JSON(), origin, idpclient.ModeLimited)
	if err != nil || flow == nil {
		t.Fatalf("start: %+v, %v", a, err)
	}
	if a, err = flow.Password(ctx, alias, temporary, false); err != nil || a.Step != "otp" {
		t.Fatalf("password: %+v, %v", a, err)
	}
	code, ok := card.Code(a.Key)
	if !ok {
		t.Fatalf("the card has no key %s", a.Key)
	}

	srv.stop()
	srv = startServe(t, r, args...)

	flow = client.Resume(flow.Secret())
	if a, err = flow.OTP(ctx, code); err != nil || a.Step != "activate" {
		t.Fatalf("the code after the restart: %+v, %v", a, err)
	}
	if a, err = flow.Activate(ctx, "Genstart42hus", ""); err != nil || !a.Ended() {
		t.Fatalf("activation after the restart: %+v, %v", a, err)
	}
	exported := filepath.Join(r.dir, "ca")
	r.ok("ca", "export", "--out", exported, "--data", data)
	challenges := &ooapi.MemoryChallenges{}
	if err := challenges.Put(ctx, "session", challenge); err != nil {
		t.Fatal(err)
	}
	v, err := ooapi.NewValidator(ooapi.Config{Trust: exportedTrust(t, exported), Revocation: &revocation.OCSP{}, Challenges: challenges,
		RequestIssuers: []string{"Demo-butikken"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Logon(ctx, "session", a.Done)
	if err != nil {
		t.Fatalf("the response after the restart does not validate: %v", err)
	}
	if want := r.userShow([]string{"--data", data}, alias).PID; res.Identity.PID != want || res.Revocation.Method != "ocsp" {
		t.Errorf("validated PID %q (want %q), revocation %+v", res.Identity.PID, want, res.Revocation)
	}
}
