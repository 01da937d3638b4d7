// leadpipe dashboard: CSRF for htmx, the live socket, selection and bulk actions.
// No build step; runs under a strict Content-Security-Policy (no inline code, no eval).
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // -- toasts --------------------------------------------------------------------------
  function toast(title, text, kind) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast " + (kind || "info");
    const strong = document.createElement("strong");
    strong.textContent = title; // text, never HTML: names come from lead providers
    item.appendChild(strong);
    if (text) {
      const p = document.createElement("div");
      p.textContent = text;
      item.appendChild(p);
    }
    box.appendChild(item);
    setTimeout(() => item.classList.add("leaving"), 4500);
    setTimeout(() => item.remove(), 5000);
  }
  window.leadpipeToast = toast;

  function errorMessage(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      const details = (body.details || []).map((d) => d.field + ": " + d.message).join("; ");
      return [body.error, details].filter(Boolean).join(" — ");
    } catch (_) {
      return "The server answered " + xhr.status;
    }
  }

  // -- htmx ------------------------------------------------------------------------------
  document.addEventListener("htmx:configRequest", (e) => {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:responseError", (e) => {
    toast("Not done", errorMessage(e.detail.xhr), "error");
  });
  document.addEventListener("htmx:sendError", () => {
    toast("Not done", "The server could not be reached; try again.", "error");
  });
  // The user changed the lead shown in the sidebar: its row follows at once.
  document.addEventListener("leadChanged", () => {
    const detail = document.querySelector("#detail .detail-body");
    if (detail) refreshRow(detail.dataset.leadId, { own: true });
    refreshMetricsSoon();
  });

  document.addEventListener("change", (e) => {
    const el = e.target;
    if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
    if (el.matches("[data-select-row]")) selectionChanged();
    if (el.matches("[data-select-all]")) {
      rowBoxes().forEach((box) => { box.checked = el.checked; });
      selectionChanged();
    }
    if (el.matches("#bulk-action")) showActionInputs(el.value);
  });

  // -- rows and the sidebar ------------------------------------------------------------------
  function openLead(row) {
    document.querySelectorAll(".lead-row.current").forEach((r) => r.classList.remove("current"));
    row.classList.add("current");
    htmx.ajax("GET", "/app/leads/" + row.dataset.leadId, { target: "#detail" }).then(() => {
      document.getElementById("detail")?.focus({ preventScroll: true });
    });
  }
  function closeLead() {
    const detail = document.getElementById("detail");
    if (!detail || !detail.innerHTML) return;
    detail.innerHTML = "";
    const current = document.querySelector(".lead-row.current");
    current?.classList.remove("current");
    current?.focus();
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-close-detail]")) {
      closeLead();
      return;
    }
    if (e.target.closest("[data-clear-selection]")) {
      rowBoxes().forEach((box) => { box.checked = false; });
      const all = document.querySelector("[data-select-all]");
      if (all) all.checked = false;
      selectionChanged();
      return;
    }
    const confirmer = e.target.closest("[data-confirm-delete]");
    if (confirmer && document.getElementById("bulk-action")?.value === "delete") {
      if (!window.confirm(confirmer.dataset.confirmDelete)) e.preventDefault();
      return;
    }
    const row = e.target.closest(".lead-row");
    if (row && !e.target.closest("input, a, label, button")) openLead(row);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeLead();
    const row = e.target.closest && e.target.closest(".lead-row");
    if (row && e.key === "Enter" && e.target === row) openLead(row);
    if (row && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.classList.contains("lead-row")) { next.focus(); e.preventDefault(); }
    }
  });

  // -- selection and bulk actions ----------------------------------------------------------
  const rowBoxes = () => Array.from(document.querySelectorAll("[data-select-row]"));
  const selectedCount = () => rowBoxes().filter((b) => b.checked).length;

  function selectionChanged() {
    const bar = document.querySelector(".bulk-bar");
    if (!bar) return;
    const n = selectedCount();
    bar.hidden = n === 0;
    bar.querySelector(".bulk-count").textContent = n + " selected";
    rowBoxes().forEach((b) => b.closest("tr")?.classList.toggle("selected", b.checked));
  }
  function showActionInputs(action) {
    document.querySelectorAll("[data-for-action]").forEach((el) => {
      el.hidden = el.dataset.forAction !== action;
    });
  }
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "lead-table") {
      selectionChanged();
      pendingNew = 0;
      hideNewBanner();
    }
  });

  // -- live updates ----------------------------------------------------------------------
  let pendingNew = 0;

  // The metrics follow a live lead at once, then are redrawn at most once a second however
  // fast leads arrive: each redraw is a request, and every watching agent makes it.
  const METRICS_EVERY_MS = 1000;
  let metricsDrawnAt = 0;
  let metricsTimer = null;
  function refreshMetricsSoon() {
    if (metricsTimer) return;
    const wait = Math.max(0, metricsDrawnAt + METRICS_EVERY_MS - Date.now());
    metricsTimer = setTimeout(() => {
      metricsTimer = null;
      metricsDrawnAt = Date.now();
      document.body.dispatchEvent(new Event("refreshMetrics"));
    }, wait);
  }

  // More than a few new leads a second are counted on the "new leads" button instead of
  // fetched row by row: a flood must not turn every watcher into a stream of requests.
  const BURST = 5;
  let recent = [];
  function inBurst() {
    const now = Date.now();
    recent = recent.filter((t) => now - t < 1000);
    recent.push(now);
    return recent.length > BURST;
  }

  function rowQuery() {
    return document.getElementById("lead-rows")?.dataset.rowQuery || "";
  }

  async function fetchRow(leadId) {
    const url = "/app/leads/" + encodeURIComponent(leadId) + "/row" + (rowQuery() ? "?" + rowQuery() : "");
    const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    if (response.status !== 200) return null;
    const holder = document.createElement("tbody");
    holder.innerHTML = await response.text();
    return holder.querySelector("tr");
  }

  // A row redrawn as its lead is now. One that no longer matches the table's filters is
  // dimmed in place when someone else changed it (the table never reshuffles under the
  // user), and gives way to a short note when the user changed it in the sidebar.
  async function refreshRow(leadId, { own = false } = {}) {
    const existing = document.getElementById("lead-" + leadId);
    if (!existing) return;
    const row = await fetchRow(leadId);
    if (!existing.isConnected) return; // another refresh of this row came first
    if (!row) {
      if (own) replaceWithNote(existing);
      else existing.classList.add("stale");
      selectionChanged();
      return;
    }
    const box = existing.querySelector("[data-select-row]");
    if (box && box.checked) row.querySelector("[data-select-row]").checked = true;
    if (existing.classList.contains("current")) row.classList.add("current");
    existing.replaceWith(row);
    if (!own) flash(row);
    selectionChanged();
  }

  const NOTE_SHOWN_MS = 6000;
  function replaceWithNote(row) {
    const name = row.querySelector(".name")?.textContent || "This lead";
    const stage = document.querySelector(
      '#detail .detail-body[data-lead-id="' + row.dataset.leadId + '"] select[name=stage] option:checked'
    )?.textContent;
    const note = document.createElement("tr");
    note.className = "row-note";
    note.setAttribute("role", "status");
    const cell = document.createElement("td");
    cell.colSpan = row.cells.length;
    cell.textContent = // text, never HTML: names come from lead providers
      name + (stage ? " is now " + stage + " and" : "") + " no longer matches this view.";
    note.appendChild(cell);
    row.replaceWith(note);
    setTimeout(() => note.remove(), NOTE_SHOWN_MS);
  }

  function flash(row) {
    row.classList.add("fresh");
    setTimeout(() => row.classList.remove("fresh"), 2000);
  }

  async function leadCreated(data) {
    const body = document.getElementById("lead-rows");
    if (!body) return;
    const canPrepend =
      body.dataset.livePrepend === "true" && selectedCount() === 0 && !inBurst() && pendingNew === 0;
    if (!canPrepend) {
      pendingNew += 1;
      showNewBanner();
      return;
    }
    const row = await fetchRow(data.lead_id);
    if (!row) return;
    document.getElementById("lead-" + data.lead_id)?.remove();
    body.querySelector("tr.empty")?.remove();
    body.prepend(row);
    flash(row);
    const size = Number(document.getElementById("page-size")?.value || 50);
    while (body.querySelectorAll("tr.lead-row").length > size) body.lastElementChild.remove();
    row.dispatchEvent(new CustomEvent("leadpipe:row-shown", { bubbles: true, detail: data }));
  }

  function showNewBanner() {
    let banner = document.getElementById("new-leads");
    const table = document.getElementById("lead-table");
    if (!table) return;
    if (!banner) {
      banner = document.createElement("button");
      banner.id = "new-leads";
      banner.type = "button";
      banner.className = "new-leads";
      banner.addEventListener("click", () => {
        htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#lead-table" });
      });
      table.prepend(banner);
    }
    banner.textContent = pendingNew + (pendingNew === 1 ? " new lead" : " new leads") + " — show";
  }
  function hideNewBanner() {
    document.getElementById("new-leads")?.remove();
  }

  function onEvent(message) {
    const data = message.data || {};
    switch (message.type) {
      case "webhook:contact_created": {
        const name = [data.firstname, data.lastname].filter(Boolean).join(" ") || "A new contact";
        toast("New Lead Received", name + (data.webhook_name ? " via " + data.webhook_name : ""), "success");
        break;
      }
      case "lead.created":
        leadCreated(data);
        refreshMetricsSoon();
        break;
      case "lead.updated":
        refreshRow(data.lead_id);
        refreshMetricsSoon();
        break;
      default:
        break;
    }
    document.dispatchEvent(new CustomEvent("leadpipe:event", { detail: message }));
  }

  // The server's close codes (web/live.py) for a right that is gone.
  const SIGNED_OUT = 4401;
  const EXCLUDED = 4403;

  function connect(attempt) {
    const status = document.getElementById("live-status");
    if (!status) return; // signed out: no socket
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + "/live");
    socket.addEventListener("message", (e) => {
      let message;
      try { message = JSON.parse(e.data); } catch (_) { return; }
      if (message.type === "ready") {
        status.textContent = "Live";
        status.classList.add("on");
        document.documentElement.dataset.live = "ready";
        attempt = 0;
        return;
      }
      if (message.type !== "ping") onEvent(message);
    });
    socket.addEventListener("close", (e) => {
      status.classList.remove("on");
      delete document.documentElement.dataset.live;
      if (e.code === SIGNED_OUT) {
        // The session ended (signed out, a new password) or the key was revoked.
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
        return;
      }
      if (e.code === EXCLUDED) {
        // No longer a member here, or the account disabled: reconnecting cannot help.
        status.textContent = "Not live";
        document.documentElement.dataset.live = "revoked";
        toast("Live updates stopped", "You no longer have access to this workspace.", "error");
        return;
      }
      status.textContent = "Reconnecting…";
      setTimeout(() => connect(attempt + 1), Math.min(10000, 500 * 2 ** attempt));
    });
  }

  // -- the pipeline board ----------------------------------------------------------------
  function boardMoved(evt) {
    const card = evt.item;
    const to = evt.to.closest("[data-stage]").dataset.stage;
    const from = evt.from.closest("[data-stage]").dataset.stage;
    if (to === from) return;
    const form = new URLSearchParams({ stage: to });
    if (to === "lost") {
      // Losing a lead asks why (panel.js's dialog); cancelled, the card goes back.
      window.leadpipeAskLostReason().then((given) => {
        if (!given) return evt.from.insertBefore(card, evt.from.children[evt.oldIndex] || null);
        Object.entries(given).forEach(([name, value]) => form.append(name, value));
        sendMove(evt, card, form);
      });
      return;
    }
    sendMove(evt, card, form);
  }
  function sendMove(evt, card, form) {
    fetch("/app/pipeline/leads/" + card.dataset.leadId + "/stage", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true" },
      body: form,
      credentials: "same-origin",
    }).then(async (response) => {
      if (!response.ok) {
        evt.from.insertBefore(card, evt.from.children[evt.oldIndex] || null);
        toast("Not moved", errorMessage({ responseText: await response.text(), status: response.status }), "error");
      }
      htmx.ajax("GET", "/app/pipeline/columns", { target: "#board", swap: "outerHTML" });
    });
  }
  function startBoard() {
    if (!window.Sortable) return;
    document.querySelectorAll("[data-board-column]").forEach((column) => {
      if (column.dataset.sortable) return;
      column.dataset.sortable = "1";
      window.Sortable.create(column, {
        group: "board",
        animation: 120,
        disabled: column.dataset.readonly === "true",
        onEnd: boardMoved,
      });
    });
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

  // A form that asks first (deleting a webhook).
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  // An error page's way back: to the page the user was on (a refused export's table, its
  // filters and selection), or to the leads when there is none.
  document.addEventListener("click", (e) => {
    if (!e.target.closest("[data-go-back]") || window.history.length < 2) return;
    e.preventDefault();
    window.history.back();
  });

  // -- copy buttons ----------------------------------------------------------------------
  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    navigator.clipboard?.writeText(source.textContent).then(() => toast("Copied", "", "success"));
  });

  document.addEventListener("DOMContentLoaded", () => {
    // On a phone the navigation scrolls sideways: the current page's link in sight.
    document.querySelector(".mainnav [aria-current]")?.scrollIntoView({ block: "nearest", inline: "nearest" });
    selectionChanged();
    showActionInputs(document.getElementById("bulk-action")?.value || "stage");
    startBoard();
    connect(0);
  });
})();
