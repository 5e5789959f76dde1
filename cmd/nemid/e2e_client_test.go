package main_test

// The NemID client inside the shop's page, driven as a user drives it: real
// mouse clicks and key presses (input events of the DevTools protocol) on the
// launcher's own fields and buttons, which script in the launcher's document
// finds, scrolls into view and reads.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// client is the launcher in the shop's iframe #nemid_iframe. The launcher
// (127.0.0.1:A) and the shop (127.0.0.1:B) are one site, so the browser runs
// the frame in the page's process, and the frame's script context is found
// by the iframe element's frame id. chromedp's element queries from the
// iframe's node are not used: that node keeps the frame's first, empty
// document when the launcher's document replaces it later.
type client struct {
	b     *tab
	frame *chromedp.Node
}

// client waits for the shop's client page and for the launcher in its
// iframe.
func (b *tab) client() *client {
	b.t.Helper()
	frame := run(b, "waiting for the client's iframe", chromedp.Nodes(chromedp.ID("nemid_iframe")))[0]
	c := &client{b: b, frame: frame}
	inFrame[bool](c, "waiting for the launcher in the iframe", `document.getElementById("screen-loading") !== null`)
	return c
}

// jsString quotes s for a script.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// shownJS defines shown(el): the element is laid out (neither it nor an
// ancestor is hidden).
const shownJS = `const shown = (el) => !!el && el.getClientRects().length > 0;`

// inFrame evaluates expr in the launcher's document until it is truthy, and
// returns its value. Until the launcher has replaced the iframe's first
// document the evaluation may fail (its context goes away): it is tried
// again in the frame's new context.
func inFrame[T any](c *client, what, expr string) T {
	c.b.t.Helper()
	deadline := time.Now().Add(e2eStepTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(c.b.ctx, deadline)
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingInFrame(c.frame),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return v
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	c.b.fail("%s: %v", what, lastErr)
	var zero T
	return zero
}

// point is a position in CSS pixels.
type point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// click clicks the centre of a shown, enabled element of the client (a CSS
// selector), with the mouse, as a user does.
func (c *client) click(selector string) {
	c.b.t.Helper()
	in := inFrame[point](c, "finding the client's "+selector, `(() => { `+shownJS+`
		const el = document.querySelector(`+jsString(selector)+`);
		if (!shown(el) || el.disabled || el.readOnly) return null;
		el.scrollIntoView({block: "nearest"});
		const r = el.getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2};
	})()`)
	frame := run(c.b, "finding the client's frame", chromedp.Evaluate[point](`(() => {
		const f = document.getElementById("nemid_iframe");
		f.scrollIntoView({block: "nearest"});
		const r = f.getBoundingClientRect();
		return {x: r.left + f.clientLeft, y: r.top + f.clientTop};
	})()`))
	c.b.do("clicking the client's "+selector, chromedp.MouseClickXY(frame.X+in.X, frame.Y+in.Y))
}

// waitScreen waits until the client shows a screen (#screen-<name>) and no
// call to the server is under way.
func (c *client) waitScreen(name string) {
	c.b.t.Helper()
	inFrame[bool](c, "waiting for the client's "+name+" screen", `(() => { `+shownJS+`
		return shown(document.getElementById(`+jsString("screen-"+name)+`)) &&
			document.getElementById("main").getAttribute("aria-busy") === "false";
	})()`)
}

// typeInto clicks into a field of the client and types, key by key.
func (c *client) typeInto(id, text string) {
	c.b.t.Helper()
	c.click("#" + id)
	inFrame[bool](c, "focusing the client's #"+id, `document.activeElement !== null && document.activeElement.id === `+jsString(id))
	c.b.do("typing into the client's #"+id, chromedp.KeyEvent(text))
	inFrame[bool](c, "checking what was typed into #"+id, `document.getElementById(`+jsString(id)+`).value === `+jsString(text))
}

// text is the text of a shown element of the client.
func (c *client) text(id string) string {
	c.b.t.Helper()
	v := inFrame[struct {
		Text string `json:"text"`
	}](c, "reading the client's #"+id, `(() => { `+shownJS+`
		const el = document.getElementById(`+jsString(id)+`);
		return shown(el) ? {text: el.textContent} : null;
	})()`)
	return strings.TrimSpace(v.Text)
}

// value is what a field of the client holds.
func (c *client) value(id string) string {
	c.b.t.Helper()
	return inFrame[struct {
		Value string `json:"value"`
	}](c, "reading the client's #"+id, `({value: document.getElementById(`+jsString(id)+`).value})`).Value
}

// credentials fills in user-id and password and goes on.
func (c *client) credentials(userID, password string) {
	c.b.t.Helper()
	c.waitScreen("credentials")
	c.typeInto("userid", userID)
	c.typeInto("password", password)
	c.click("#credentials-form button[type=submit]")
}

// challenge is the key the client asks for; it checks that the card named
// is the user's.
func (c *client) challenge(u *demoUser) (key string) {
	c.b.t.Helper()
	c.waitScreen("otp")
	if card := c.text("otp-card"); card != u.card.Number {
		c.b.fail("the client asks for a key of card %q, want %s's card %s", card, u.alias, u.card.Number)
	}
	key = c.text("otp-key")
	if !regexp.MustCompile(`^\d{4}$`).MatchString(key) {
		c.b.fail("the client asks for key %q, want 4 digits", key)
	}
	return key
}

// enterCode types the code from the card and submits it.
func (c *client) enterCode(code string) {
	c.b.t.Helper()
	c.typeInto("code", code)
	c.click("#otp-submit")
}

// waitRetry waits until the client has answered a step with a retry: the
// field's error text shown, the field marked invalid, the form usable again.
// It returns the text.
func (c *client) waitRetry(field string) string {
	c.b.t.Helper()
	inFrame[bool](c, "waiting for the client to ask again for #"+field, fmt.Sprintf(`(() => { `+shownJS+`
		const f = document.getElementById(%s), e = document.getElementById(%s);
		return !f.readOnly && shown(e) && e.textContent !== "" && f.getAttribute("aria-invalid") === "true";
	})()`, jsString(field), jsString(field+"-error")))
	return c.text(field + "-error")
}

// signText reads the sign text the client shows in its nested, sandboxed
// frame: a document of its own, posted from the launcher, which the browser
// runs in a process of its own (a sandboxed frame has an opaque origin), so
// it is reached as a target of its own.
func (c *client) signText() string {
	c.b.t.Helper()
	ctx, cancel := context.WithTimeout(c.b.ctx, e2eStepTimeout)
	defer cancel()
	for {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			c.b.fail("listing the browser's targets: %v", err)
		}
		for _, info := range targets {
			if info.Type != "iframe" || info.URL != c.b.e.launcher+"/launcher/signtext" {
				continue
			}
			// Detach on cancel: closing would remove the frame from the client.
			frameCtx, cancelFrame := chromedp.NewContext(c.b.root, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			readCtx, cancelRead := context.WithTimeout(frameCtx, 5*time.Second)
			text, err := chromedp.Run(readCtx, chromedp.Text(chromedp.CSS("body"), chromedp.NodeVisible))
			cancelRead()
			cancelFrame()
			if err == nil && strings.TrimSpace(text) != "" {
				return strings.TrimSpace(text)
			}
		}
		select {
		case <-ctx.Done():
			c.b.fail("no sign-text frame shows a text")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// finish holds the form the shop's page submits when the client has
// answered (changeResponseAndSubmit), runs the user's last action, keeps the
// client's end screen and reads its text while the answer is held, and then
// lets the page submit it to the shop. It returns the end text and the answer
// the client handed to the page (base64-decoded).
//
// The hold is in the page, not in the network: while a navigation is pending
// the browser defers every DevTools command to the page, so nothing of the
// client could be read while a post was held by request interception.
func (b *tab) finish(state string, lastAction func()) (endText string, answer []byte) {
	b.t.Helper()
	b.do("holding the shop's response form", chromedp.Evaluate[chromedp.Void](`(() => {
		const form = document.getElementById("nemid_form");
		window.nemidE2EAnswer = null;
		form.submit = function () { window.nemidE2EAnswer = form.elements.response.value; };
	})()`))
	lastAction()
	posted := run(b, "waiting for the client's answer", chromedp.Poll[string]("window.nemidE2EAnswer",
		chromedp.WithPollingTimeout(e2eStepTimeout)))
	answer, err := base64.StdEncoding.DecodeString(posted)
	if err != nil {
		b.fail("the client's answer is not base64: %v", err)
	}
	c := b.client()
	c.waitScreen("done")
	endText = c.text("done-text")
	b.screenshot(state + "-client")
	b.do("submitting the held response form", chromedp.Evaluate[chromedp.Void](`(() => {
		const form = document.getElementById("nemid_form");
		delete form.submit;
		form.submit();
	})()`))
	return endText, answer
}
