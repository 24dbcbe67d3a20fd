/* The pipeline board's behaviour on top of htmx: dragging cards between stages and showing
 * the move panel. Every action also works without this file, through the card's
 * "Move to…" form, which is what a drop submits. */
(function () {
  "use strict";

  var PANEL = "board-panel";
  var SWAPPED_ERRORS = [400, 403, 409, 422];

  function panel() {
    return document.getElementById(PANEL);
  }

  function focusPanel() {
    var box = panel();
    var target = box && box.querySelector("[data-panel], .panel");
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  /* A dropped card is moved back where it came from unless the server moved the deal. */
  var pending = new WeakMap();

  function putBack(card) {
    var origin = pending.get(card);
    pending.delete(card);
    if (!origin) {
      return;
    }
    if (origin.next && origin.next.parentNode === origin.list) {
      origin.list.insertBefore(card, origin.next);
    } else {
      origin.list.appendChild(card);
    }
  }

  function submitMove(card, stage, origin) {
    var form = card.querySelector("form.move-form");
    var select = form && form.querySelector("select[name=to]");
    var option = select && select.querySelector('option[value="' + CSS.escape(stage) + '"]');
    if (!option) {
      origin.list.insertBefore(card, origin.next);
      return;
    }
    select.value = stage;
    pending.set(card, origin);
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      htmx.trigger(form, "submit");
    }
  }

  function makeSortable(list) {
    if (typeof Sortable === "undefined" || Sortable.get(list)) {
      return;
    }
    Sortable.create(list, {
      group: "board",
      sort: false,
      draggable: ".deal-card.is-movable",
      filter: "button, select, summary, input, textarea, label",
      preventOnFilter: false,
      animation: 120,
      ghostClass: "is-ghost",
      chosenClass: "is-chosen",
      onEnd: function (evt) {
        if (evt.to === evt.from) {
          return;
        }
        var origin = { list: evt.from, next: evt.from.children[evt.oldIndex] || null };
        submitMove(evt.item, evt.to.getAttribute("data-stage"), origin);
      },
    });
  }

  function wire(root) {
    if (!document.querySelector("[data-board]")) {
      return;
    }
    var lists = [];
    if (root.matches && root.matches(".board .card-list")) {
      lists.push(root);
    }
    if (root.querySelectorAll) {
      lists = lists.concat(Array.prototype.slice.call(root.querySelectorAll(".board .card-list")));
    }
    lists.forEach(makeSortable);
  }

  /* Deferred, so the document is parsed; htmx.onLoad also covers columns swapped in later. */
  function start() {
    if (typeof htmx === "undefined") {
      return;
    }
    htmx.onLoad(wire);
    wire(document.body);

    /* Refusals and errors carry a panel worth showing: swap it instead of dropping it. */
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      var target = evt.detail.target;
      if (target && target.id === PANEL && SWAPPED_ERRORS.indexOf(evt.detail.xhr.status) >= 0) {
        evt.detail.shouldSwap = true;
        evt.detail.isError = false;
      }
    });

    document.body.addEventListener("htmx:afterRequest", function (evt) {
      var form = evt.detail.elt;
      var card = form && form.closest && form.closest(".deal-card");
      if (!card || !pending.has(card)) {
        return;
      }
      if (evt.detail.xhr.getResponseHeader("X-Board-Move") === "moved") {
        pending.delete(card);
      } else {
        putBack(card);
      }
    });

    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === PANEL) {
        focusPanel();
      }
    });

    document.body.addEventListener("click", function (evt) {
      var close = evt.target.closest && evt.target.closest("[data-close-panel]");
      if (close && document.querySelector("[data-board]") && panel().contains(close)) {
        evt.preventDefault();
        panel().replaceChildren();
      }
    });
  }

  start();
})();
