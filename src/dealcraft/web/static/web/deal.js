/* The deal page: show a refused form in place, then take the reader to what needs them. */
(function () {
  "use strict";

  var ours = false;

  // `detail.elt` is the element the event fires on (the swap target); the form that asked
  // is the request's own element.
  function fromDealPage(detail) {
    var elt = detail.requestConfig && detail.requestConfig.elt;
    return Boolean(elt && elt.closest && elt.closest("#deal-page"));
  }

  // A refused form comes back (as 200, with X-Deal-Refused) holding the page around its error.
  // Only answers that replace the page count; the account picker's suggestions do not.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    ours = fromDealPage(event.detail) && event.detail.shouldSwap &&
      Boolean(target && target.id === "main");
  });

  function toast() {
    var box = document.querySelector(".page-deal > .messages");
    if (!box) {
      return;
    }
    box.classList.add("toast");
    window.setTimeout(function () { box.remove(); }, 6000);
  }

  function focusWhatNeedsAttention() {
    var page = document.getElementById("deal-page");
    if (!page) {
      return;
    }
    var target = page.querySelector("[data-testid=refusal], [data-testid=conflict]") ||
      page.querySelector("[aria-invalid=true]") ||
      page.querySelector("[data-testid=form-error]");
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
    }
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (!ours) {
      return;
    }
    ours = false;
    toast();
    focusWhatNeedsAttention();
  });

  // The account picker: its suggestions are asked for as `?q=`, and a name picked from them
  // is sent by id, so two accounts of the same name cannot be confused. A name typed by hand
  // that no suggestion carries goes by name alone; the server settles it.
  function isAccountSearch(elt) {
    return Boolean(elt && elt.matches && elt.matches("[data-account-search]"));
  }

  function syncAccountId(input) {
    var hidden = input.form && input.form.querySelector("[data-account-id]");
    if (!hidden) {
      return;
    }
    var found = [];
    if (input.list) {
      Array.prototype.forEach.call(input.list.options, function (option) {
        if (option.value === input.value) {
          found.push(option.getAttribute("data-id"));
        }
      });
    }
    hidden.value = found.length === 1 ? found[0] : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (isAccountSearch(event.detail.elt)) {
      delete event.detail.parameters.account_name;
      event.detail.parameters.q = event.detail.elt.value.trim();
    }
  });

  document.addEventListener("input", function (event) {
    if (isAccountSearch(event.target)) {
      syncAccountId(event.target);
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "account-options") {
      syncAccountId(document.getElementById("account-name"));
    }
  });

  document.addEventListener("DOMContentLoaded", toast);
}());
