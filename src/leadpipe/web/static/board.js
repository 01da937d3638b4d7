// leadpipe's pipeline board: dragging cards (SortableJS), moving them with the keyboard,
// opening one in the side panel, following other users' changes live, and reordering
// stages. Loaded on the pipeline page only, after app.js (its toasts and error messages).
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const toast = (...args) => window.leadpipeToast?.(...args);
  const board = () => document.getElementById("board");
  let dragging = false;
  let focusAfterRedraw = null;

  // -- redrawing ------------------------------------------------------------------------
  // The board is redrawn from the server (its counts, values and cards) after a move here,
  // and within a second of a change anywhere else; never under a card being dragged.
  let redrawTimer = null;
  function redrawSoon(wait) {
    if (redrawTimer) return;
    redrawTimer = setTimeout(() => {
      redrawTimer = null;
      if (dragging) { redrawSoon(300); return; }
      const current = board();
      if (!current) return;
      htmx.ajax("GET", current.dataset.boardUrl, { target: "#board", swap: "outerHTML" });
    }, wait);
  }
  // An admin changed the stages below the board: its columns follow.
  document.addEventListener("stagesChanged", () => redrawSoon(0));
  document.addEventListener("leadpipe:event", (e) => {
    const type = e.detail && e.detail.type;
    if (type === "lead.created" || type === "lead.updated") redrawSoon(250);
  });

  // -- moving a card ----------------------------------------------------------------------
  async function move(leadId, to) {
    const form = new URLSearchParams({ stage: to });
    if (to === "lost" && window.leadpipeAskLostReason) {
      // Losing a lead asks why (panel.js's dialog); cancelled, the card goes back.
      const given = await window.leadpipeAskLostReason();
      if (!given) { redrawSoon(0); return false; }
      Object.entries(given).forEach(([name, value]) => form.append(name, value));
    }
    const response = await fetch("/app/pipeline/leads/" + leadId + "/stage", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true" },
      body: form,
      credentials: "same-origin",
    });
    if (!response.ok) {
      const message = window.leadpipeErrorMessage
        ? window.leadpipeErrorMessage({ responseText: await response.text(), status: response.status })
        : "The server answered " + response.status;
      toast("Not moved", message, "error");
    }
    redrawSoon(0);
    return response.ok;
  }

  function dropped(evt) {
    dragging = false;
    const to = evt.to.closest("[data-stage]").dataset.stage;
    const from = evt.from.closest("[data-stage]").dataset.stage;
    if (to === from) return;
    move(evt.item.dataset.leadId, to).then((moved) => {
      if (!moved) evt.from.insertBefore(evt.item, evt.from.children[evt.oldIndex] || null);
    });
  }

  // Shift + arrow moves the focused card to the stage beside its own.
  function moveWithKeys(card, step) {
    const columns = Array.from(document.querySelectorAll("#board [data-stage]"));
    const here = columns.indexOf(card.closest("[data-stage]"));
    const next = columns[here + step];
    if (!next || card.closest("[data-board-column]").dataset.readonly === "true") return;
    const name = next.dataset.stageName;
    focusAfterRedraw = card.dataset.leadId;
    next.querySelector("[data-board-column]").prepend(card);
    card.focus();
    move(card.dataset.leadId, next.dataset.stage).then((moved) => {
      const said = document.getElementById("board-said");
      if (said) said.textContent = moved ? "Moved to " + name : "Not moved";
    });
  }

  // -- the side panel ----------------------------------------------------------------------
  function openCard(card) {
    document.querySelectorAll(".board-card.current").forEach((c) => c.classList.remove("current"));
    card.classList.add("current");
    htmx.ajax("GET", "/app/leads/" + card.dataset.leadId, { target: "#detail" }).then(() => {
      document.getElementById("detail")?.focus({ preventScroll: true });
    });
  }
  document.addEventListener("click", (e) => {
    const card = e.target.closest(".board-card");
    if (card && !e.target.closest("a")) openCard(card);
  });
  document.addEventListener("keydown", (e) => {
    const card = e.target.closest && e.target.closest(".board-card");
    if (!card) return;
    if (e.key === "Enter") { e.preventDefault(); openCard(card); }
    if (e.shiftKey && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      moveWithKeys(card, e.key === "ArrowRight" ? 1 : -1);
    }
  });

  // -- dragging ---------------------------------------------------------------------------
  function startBoard() {
    if (!window.Sortable) return;
    document.querySelectorAll("[data-board-column]").forEach((column) => {
      if (column.dataset.sortable) return;
      column.dataset.sortable = "1";
      window.Sortable.create(column, {
        group: "board",
        animation: 120,
        disabled: column.dataset.readonly === "true",
        onStart: () => { dragging = true; },
        onEnd: dropped,
      });
    });
    if (focusAfterRedraw) {
      document.querySelector('.board-card[data-lead-id="' + focusAfterRedraw + '"]')?.focus();
      focusAfterRedraw = null;
    }
    const stages = document.querySelector("[data-stage-order]");
    if (stages && !stages.dataset.sortable) {
      stages.dataset.sortable = "1";
      window.Sortable.create(stages, {
        handle: ".drag-handle",
        animation: 120,
        onEnd: () => {
          const order = Array.from(stages.querySelectorAll("[data-slug]")).map((el) => el.dataset.slug);
          htmx.ajax("POST", "/app/pipeline/stages/order", {
            target: "#stage-list", swap: "outerHTML", values: { order: order.join(",") },
          });
        },
      });
    }
  }
  document.addEventListener("htmx:afterSettle", startBoard);
  document.addEventListener("DOMContentLoaded", startBoard);
})();
