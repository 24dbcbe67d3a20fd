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
  document.addEventListener("htmx:beforeSwap", function (event) {
    ours = fromDealPage(event.detail) && event.detail.shouldSwap;
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

  document.addEventListener("DOMContentLoaded", toast);
}());
