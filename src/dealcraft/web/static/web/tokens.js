// The "Copy" button next to a new API token: shown only where the clipboard can be written.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector(".copy-status");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = "Copied to the clipboard."; }
      }, function () {
        field.select();
        if (status) { status.textContent = "Select the token and copy it yourself."; }
      });
    });
  });
  var secret = document.getElementById("token-secret");
  if (secret) { secret.addEventListener("focus", function () { secret.select(); }); }
})();
