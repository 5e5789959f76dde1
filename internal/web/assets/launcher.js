/* The NemID JS client: the script of the launcher page.
 *
 * It speaks NemID's postMessage protocol with the service provider's page
 * (spec 1.4) and our JSON API with the server (docs/idp.md). The flow secret
 * travels only in request bodies; nothing secret is ever written to the
 * console, a URL or the page's attributes. Every failure ends the flow with
 * an error code for the service provider: the client fails closed.
 */
(function () {
  "use strict";

  var API = "/launcher/api/";
  // A request that has not answered after this long is treated as a network
  // failure, so the user is never left waiting without an end.
  var REQUEST_TIMEOUT_MS = 45000;
  // setTimeout cannot wait longer than this.
  var MAX_TIMER_MS = 2147483647;

  var mode = document.body.getAttribute("data-mode") === "std" ? "std" : "lmt";

  // phase: "waiting" for the parameters, "starting" while api/start runs,
  // "active" once a flow exists, "finished" after the answer was posted.
  var state = {
    phase: "waiting",
    flow: "",
    origin: "",         // where api/start says the answer goes
    parametersOrigin: "", // event.origin of the parameters message
    texts: null,
    language: "da",
    action: "logon",
    sp: "",
    showCancel: true,
    aliasAllowed: false,
    updating: false,    // the new-password screen changes a password (update), not a temporary one
    busy: false,
    timeoutMs: 0,
    timer: 0
  };

  function $(id) { return document.getElementById(id); }

  /* ---- texts ---- */

  // t returns the catalogue text for key; before the server sent the
  // catalogue only the technical-error text is known, from the page itself.
  function t(key) {
    var texts = state.texts;
    if (texts && typeof texts[key] === "string" && texts[key] !== "") {
      return texts[key];
    }
    if (key === "technicalError") {
      var fallback = $("fallback");
      return fallback.getAttribute("data-" + state.language) || fallback.getAttribute("data-da") || "";
    }
    return key;
  }

  // fill replaces {name} placeholders with values, as plain text.
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function knownLanguage(lang) {
    lang = typeof lang === "string" ? lang.toLowerCase() : "";
    return lang === "da" || lang === "en" || lang === "kl" ? lang : "";
  }

  // languageOfParameters reads LANGUAGE (any case) from the parameters, so
  // that a failure before api/start answers is told in the right language.
  function languageOfParameters(content) {
    var params;
    try { params = JSON.parse(content); } catch (e) { return ""; }
    if (!params || typeof params !== "object") { return ""; }
    for (var name in params) {
      if (Object.prototype.hasOwnProperty.call(params, name) && name.toUpperCase() === "LANGUAGE") {
        return knownLanguage(params[name]);
      }
    }
    return "";
  }

  function setLanguage(lang) {
    state.language = lang;
    document.documentElement.lang = lang;
  }

  function applyTexts() {
    var i, el, nodes;
    nodes = document.querySelectorAll("[data-t]");
    for (i = 0; i < nodes.length; i++) {
      el = nodes[i];
      el.textContent = t(el.getAttribute("data-t"));
    }
    nodes = document.querySelectorAll("[data-t-label]");
    for (i = 0; i < nodes.length; i++) {
      el = nodes[i];
      el.setAttribute("aria-label", t(el.getAttribute("data-t-label")));
    }
    nodes = document.querySelectorAll("[data-t-title]");
    for (i = 0; i < nodes.length; i++) {
      el = nodes[i];
      el.setAttribute("title", t(el.getAttribute("data-t-title")));
    }
    var title = state.sp
      ? fill(t(state.action === "sign" ? "signTitle" : "logonTitle"), { sp: state.sp })
      : t(state.action === "sign" ? "sign" : "logOn");
    nodes = document.querySelectorAll("[data-title]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].textContent = title;
    }
    $("otp-submit").textContent = t(state.action === "sign" ? "sign" : "logOn");
  }

  /* ---- screens, focus, announcements ---- */

  var screens = ["loading", "signtext", "credentials", "otp", "activate", "done"];

  function show(name, focusTarget) {
    for (var i = 0; i < screens.length; i++) {
      $("screen-" + screens[i]).hidden = screens[i] !== name;
    }
    $("main").setAttribute("aria-busy", "false");
    $("close").hidden = !(mode === "lmt" && state.phase === "active");
    if (focusTarget) {
      focusTarget.focus();
    }
  }

  // announce speaks text at once through the assertive live region; the
  // region is emptied first so that the same text twice is spoken twice.
  function announce(text) {
    var region = $("alert");
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function errorOf(input) { return $(input.id + "-error"); }

  function describedBy(input, id, on) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) {
      return x !== "" && x !== id;
    });
    if (on) { ids.push(id); }
    if (ids.length) {
      input.setAttribute("aria-describedby", ids.join(" "));
    } else {
      input.removeAttribute("aria-describedby");
    }
  }

  function showFieldError(input, text) {
    var error = errorOf(input);
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    describedBy(input, error.id, true);
    announce(text);
    input.focus();
    if (typeof input.select === "function") { input.select(); }
    // Focus scrolled the field into view; its message below must show too.
    error.scrollIntoView({ block: "nearest" });
  }

  function clearErrors(form) {
    var inputs = form.querySelectorAll("input");
    for (var i = 0; i < inputs.length; i++) {
      var error = errorOf(inputs[i]);
      if (!error) { continue; }
      error.textContent = "";
      error.hidden = true;
      inputs[i].removeAttribute("aria-invalid");
      describedBy(inputs[i], error.id, false);
    }
  }

  function clearSecrets() {
    var ids = ["password", "code", "current-password", "new-password", "repeat-password", "signtext-flow"];
    for (var i = 0; i < ids.length; i++) { $(ids[i]).value = ""; }
  }

  // setBusy disables every control while a call is in flight, so that
  // nothing is sent twice.
  function setBusy(busy) {
    state.busy = busy;
    var controls = document.querySelectorAll("button, input");
    for (var i = 0; i < controls.length; i++) {
      var el = controls[i];
      if (el.tagName === "BUTTON" || el.type === "checkbox") {
        el.disabled = busy;
      } else if (el.type !== "hidden") {
        el.readOnly = busy;
      }
    }
    $("main").setAttribute("aria-busy", busy ? "true" : "false");
  }

  /* ---- postMessage ---- */

  function post(message, targetOrigin) {
    if (typeof targetOrigin !== "string" || targetOrigin === "" || targetOrigin === "*") {
      return;
    }
    try {
      window.parent.postMessage(JSON.stringify(message), targetOrigin);
    } catch (e) {
      // An origin the browser cannot post to (e.g. "null"): nothing to do.
    }
  }

  // asOrigin returns s when it is a serialised http(s) origin, else "".
  function asOrigin(s) {
    if (typeof s !== "string" || s === "") { return ""; }
    try {
      var u = new URL(s);
      return (u.protocol === "https:" || u.protocol === "http:") && u.origin === s ? s : "";
    } catch (e) {
      return "";
    }
  }

  /* ---- the end of a flow ---- */

  function finish(answer) {
    var target = asOrigin(answer.origin) || state.origin || state.parametersOrigin;
    var failed = typeof answer.message === "string" && answer.message !== "";
    var text = failed ? answer.message : t(state.action === "sign" ? "doneSign" : "doneLogon");
    end(text, failed);
    post({ command: "changeResponseAndSubmit", content: answer.done }, target);
  }

  // fail ends the flow after a failed call: the user sees the technical
  // error text and the service provider gets SRV004, or APP010 when the
  // client never started.
  function fail() {
    if (state.phase === "finished") { return; }
    var started = state.phase === "active";
    var target = started ? state.origin : state.parametersOrigin;
    end(t("technicalError"), true);
    post({ command: "changeResponseAndSubmit", content: window.btoa(started ? "SRV004" : "APP010") }, target);
  }

  function end(text, failed) {
    state.phase = "finished";
    stopTimer();
    clearSecrets();
    state.flow = "";
    setBusy(false);
    var mark = $("done-mark");
    mark.className = "done-mark " + (failed ? "error" : "ok");
    var done = $("done-text");
    done.setAttribute("role", failed ? "alert" : "status");
    done.className = "done-text " + (failed ? "error" : "ok") + (text.length > 100 ? " long" : "");
    done.textContent = text;
    show("done", done);
  }

  /* ---- the server API ---- */

  function call(step, payload) {
    if (state.busy) { return; }
    setBusy(true);
    stopTimer();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var abortTimer = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : 0;
    fetch(API + step, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status !== 200) { throw new Error("HTTP status " + response.status); }
      return response.json();
    }).then(function (answer) {
      window.clearTimeout(abortTimer);
      setBusy(false);
      handle(answer);
    }).catch(function () {
      window.clearTimeout(abortTimer);
      fail();
    });
  }

  function handle(answer) {
    if (!answer || typeof answer !== "object") { throw new Error("not an object"); }
    if (typeof answer.done === "string") {
      finish(answer);
      return;
    }
    if (state.phase === "starting") {
      started(answer);
    } else if (typeof answer.retry === "string") {
      retry(answer);
    } else if (answer.step === "otp") {
      askCode(answer);
    } else if (answer.step === "activate" || answer.step === "update") {
      askNewPassword(answer);
    } else {
      throw new Error("unexpected answer");
    }
    armTimer();
  }

  function started(answer) {
    if (answer.step !== "credentials" || typeof answer.flow !== "string" || answer.flow === "" ||
        !asOrigin(answer.origin) || !answer.texts || typeof answer.texts !== "object") {
      throw new Error("unexpected start answer");
    }
    state.phase = "active";
    state.flow = answer.flow;
    state.origin = answer.origin;
    state.texts = answer.texts;
    state.action = answer.action === "sign" ? "sign" : "logon";
    state.sp = typeof answer.sp === "string" ? answer.sp : "";
    state.showCancel = mode === "lmt" || answer.showCancel !== false;
    var seconds = Number(answer.timeoutSeconds);
    state.timeoutMs = seconds > 0 ? Math.min(seconds * 1000, MAX_TIMER_MS) : 0;
    setLanguage(knownLanguage(answer.language) || state.language);
    applyTexts();

    $("remember-row").hidden = answer.showRemember !== true;
    $("remember").checked = answer.showRemember === true && answer.rememberChecked !== false;
    if (typeof answer.rememberedUserId === "string") {
      $("userid").value = answer.rememberedUserId;
    }
    $("credentials-cancel").hidden = !state.showCancel;

    if (state.action === "sign" && answer.signText) {
      showSignText();
    } else {
      showCredentials();
    }
  }

  function showSignText() {
    // The text arrives as its own document in the nested frame: the form
    // posts the flow secret in a body, never in the frame's URL.
    var flowField = $("signtext-flow");
    flowField.value = state.flow;
    $("signtext-form").submit();
    flowField.value = "";
    show("signtext", $("signtext-title"));
  }

  function showCredentials() {
    var userId = $("userid");
    show("credentials", userId.value === "" ? userId : $("password"));
  }

  function setChallenge(answer) {
    if (typeof answer.card !== "string" || typeof answer.key !== "string" ||
        answer.card === "" || answer.key === "") {
      throw new Error("no key to ask for");
    }
    $("otp-card").textContent = answer.card;
    $("otp-key").textContent = answer.key;
    $("code-hint").textContent = fill(t("codeHint"), { card: answer.card, key: answer.key });
  }

  function askCode(answer) {
    setChallenge(answer);
    $("password").value = "";
    $("code").value = "";
    show("otp", $("code"));
  }

  // askNewPassword shows the new-password screen: the first personal
  // password after a temporary one (activate), or a change the service
  // provider asked for (update), which needs the current password too.
  function askNewPassword(answer) {
    state.updating = answer.step === "update";
    state.aliasAllowed = answer.aliasAllowed === true;
    $("alias-row").hidden = !state.aliasAllowed;
    $("current-password-row").hidden = !state.updating;
    $("activate-title").textContent = t(state.updating ? "updateTitle" : "activateTitle");
    $("activate-intro").textContent = t(state.updating ? "updateIntro" : "activateIntro");
    $("code").value = "";
    $("current-password").value = "";
    show("activate", state.updating ? $("current-password") : $("new-password"));
  }

  var retryFields = {
    userid: "userid",
    password: "password",
    code: "code",
    newPassword: "new-password",
    alias: "alias"
  };

  function retry(answer) {
    var id = retryFields[answer.field];
    if (answer.field === "password" && state.updating) {
      id = "current-password";
    }
    var input = id ? $(id) : null;
    if (!input || input.closest(".screen").hidden) {
      throw new Error("retry for a field not shown");
    }
    if (answer.field === "code") {
      setChallenge(answer);
    }
    if (answer.field === "password" && state.updating) {
      $("current-password").value = "";
    } else if (answer.field === "userid" || answer.field === "password") {
      $("password").value = "";
    } else if (answer.field === "code") {
      $("code").value = "";
    } else if (answer.field === "newPassword") {
      $("new-password").value = "";
      $("repeat-password").value = "";
    }
    showFieldError(input, answer.retry);
  }

  /* ---- the user's actions ---- */

  function cancel() {
    if (state.phase !== "active" || state.busy) { return; }
    call("cancel", { flow: state.flow });
  }

  function onCredentials(event) {
    event.preventDefault();
    if (state.phase !== "active" || state.busy) { return; }
    var form = $("credentials-form");
    clearErrors(form);
    var userId = $("userid"), password = $("password");
    var id = userId.value.trim();
    if (id === "") { showFieldError(userId, t("fieldRequired")); return; }
    if (password.value === "") { showFieldError(password, t("fieldRequired")); return; }
    call("password", {
      flow: state.flow,
      userId: id,
      password: password.value,
      remember: !$("remember-row").hidden && $("remember").checked
    });
  }

  function onCode(event) {
    event.preventDefault();
    if (state.phase !== "active" || state.busy) { return; }
    clearErrors($("otp-form"));
    var input = $("code");
    var code = input.value.replace(/\s+/g, "");
    if (code === "") { showFieldError(input, t("fieldRequired")); return; }
    if (!/^[0-9]{6}$/.test(code)) { showFieldError(input, t("codeFormat")); return; }
    call("otp", { flow: state.flow, code: code });
  }

  function onNewPassword(event) {
    event.preventDefault();
    if (state.phase !== "active" || state.busy) { return; }
    clearErrors($("activate-form"));
    var current = $("current-password"), first = $("new-password"), second = $("repeat-password");
    if (state.updating && current.value === "") { showFieldError(current, t("fieldRequired")); return; }
    if (first.value === "") { showFieldError(first, t("fieldRequired")); return; }
    if (second.value === "") { showFieldError(second, t("fieldRequired")); return; }
    if (first.value !== second.value) {
      second.value = "";
      showFieldError(second, t("passwordMismatch"));
      return;
    }
    var body = {
      flow: state.flow,
      newPassword: first.value,
      alias: state.aliasAllowed ? $("alias").value.trim() : ""
    };
    if (state.updating) {
      body.password = current.value;
    }
    call(state.updating ? "update" : "activate", body);
  }

  /* ---- inactivity ---- */

  function stopTimer() {
    if (state.timer) {
      window.clearTimeout(state.timer);
      state.timer = 0;
    }
  }

  function armTimer() {
    stopTimer();
    if (state.phase === "active" && !state.busy && state.timeoutMs > 0) {
      state.timer = window.setTimeout(onIdle, state.timeoutMs);
    }
  }

  function onIdle() {
    state.timer = 0;
    if (state.phase !== "active" || state.busy) { return; }
    call("timeout", { flow: state.flow });
  }

  function onUserInput() {
    if (state.phase === "active" && !state.busy) { armTimer(); }
  }

  /* ---- start ---- */

  function onMessage(event) {
    if (state.phase !== "waiting" || window.parent === window || event.source !== window.parent) {
      return;
    }
    if (typeof event.data !== "string") { return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (!message || typeof message !== "object" || message.command !== "parameters" ||
        typeof message.content !== "string") {
      return;
    }
    state.phase = "starting";
    state.parametersOrigin = event.origin;
    var lang = languageOfParameters(message.content);
    if (lang) { setLanguage(lang); }
    call("start", { parameters: message.content, origin: event.origin, mode: mode });
  }

  function init() {
    $("credentials-form").addEventListener("submit", onCredentials);
    $("otp-form").addEventListener("submit", onCode);
    $("activate-form").addEventListener("submit", onNewPassword);
    $("signtext-continue").addEventListener("click", function () {
      if (state.phase === "active" && !state.busy) { showCredentials(); }
    });
    var cancels = document.querySelectorAll("[data-cancel], #close");
    for (var i = 0; i < cancels.length; i++) {
      cancels[i].addEventListener("click", cancel);
    }
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && mode === "lmt") {
        event.preventDefault();
        cancel();
      }
    });
    ["keydown", "input", "pointerdown"].forEach(function (type) {
      document.addEventListener(type, onUserInput, true);
    });
    window.addEventListener("message", onMessage);

    if (window.parent === window) {
      // Not in a frame: no service provider to talk to.
      fail();
      return;
    }
    window.parent.postMessage(JSON.stringify({ command: "SendParameters" }), "*");
  }

  init();
}());
