// The service provider's side of NemID's postMessage protocol (spec 1.4).
// The page carries the signed parameters in <script type="text/x-nemid"
// id="nemid_parameters">, the client in <iframe id="nemid_iframe"> whose
// data-origin is the launcher's origin, and the form that takes the answer.
(function () {
  'use strict';
  var frame = document.getElementById('nemid_iframe');
  var params = document.getElementById('nemid_parameters');
  var form = document.getElementById('nemid_form');
  if (!frame || !params || !form) {
    return;
  }
  var launcherOrigin = frame.getAttribute('data-origin');
  var submitted = false;

  window.addEventListener('message', function (event) {
    // Only the client in our iframe, from the launcher's origin.
    if (event.origin !== launcherOrigin || event.source !== frame.contentWindow) {
      return;
    }
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return; // not JSON: not for us
    }
    if (!message || typeof message.command !== 'string') {
      return;
    }
    if (message.command === 'SendParameters') {
      // content is the element's text, a string, not an object; posted to
      // the launcher's origin only, never to "*".
      frame.contentWindow.postMessage(JSON.stringify({
        command: 'parameters',
        content: params.textContent
      }), launcherOrigin);
    } else if (message.command === 'changeResponseAndSubmit') {
      if (submitted || typeof message.content !== 'string') {
        return;
      }
      submitted = true;
      form.elements.response.value = message.content;
      form.submit();
    }
  });
}());
