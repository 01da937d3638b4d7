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

  // New leads in a burst share one toast, which counts them ("10 new leads") and names the
  // latest, instead of stacking one each over the table.
  let leadToast = null;
  let leadToastCount = 0;
  function newLeadToast(text) {
    if (!leadToast || !leadToast.isConnected) {
      leadToastCount = 0;
      leadToast = document.createElement("div");
      leadToast.className = "toast success";
      leadToast.append(document.createElement("strong"), document.createElement("div"));
      document.getElementById("toasts")?.appendChild(leadToast);
    }
    leadToastCount += 1;
    leadToast.classList.remove("leaving");
    leadToast.firstChild.textContent = leadToastCount === 1 ? "New Lead Received" : leadToastCount + " new leads";
    leadToast.lastChild.textContent = (leadToastCount === 1 ? "" : "Latest: ") + text; // text, never HTML
    clearTimeout(leadToast.leaveTimer);
    clearTimeout(leadToast.removeTimer);
    const item = leadToast;
    item.leaveTimer = setTimeout(() => item.classList.add("leaving"), 4500);
    item.removeTimer = setTimeout(() => item.remove(), 5000);
  }

  function errorMessage(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      const details = (body.details || []).map((d) => d.field + ": " + d.message).join("; ");
      return [body.error, details].filter(Boolean).join(" — ");
    } catch (_) {
      return "The server answered " + xhr.status;
    }
  }
  window.leadpipeErrorMessage = errorMessage;

  // -- htmx ------------------------------------------------------------------------------
  document.addEventListener("htmx:configRequest", (e) => {
    e.detail.headers["X-CSRF-Token"] = csrf();
    keepUrlState(e);
  });

  // -- the lead table's state: the URL ----------------------------------------------------
  // The URL holds the table's whole state (filters, sort, page size, the metrics' period).
  // The filters' form sends what its fields say; what it has no field for (the page size
  // the pager chose) is kept from the URL. A filter changed starts again on page 1.
  const filters = () => document.getElementById("filters");
  const tableState = () => new URLSearchParams(document.getElementById("lead-rows")?.dataset.rowQuery || "");

  function fieldNames(form) {
    return new Set(Array.from(form.elements).map((el) => el.name).filter(Boolean));
  }
  function keepUrlState(e) {
    const form = filters();
    const from = e.detail.elt;
    if (!form || e.detail.verb !== "get" || !(from === form || form.contains(from) || from.form === form)) return;
    const own = fieldNames(form);
    const data = e.detail.formData;
    tableState().forEach((value, name) => {
      if (!own.has(name) && name !== "page" && data && !data.has(name)) data.append(name, value);
    });
  }
  // After the table is redrawn by a link (a sort, a page size), the filters' fields show
  // the state it was drawn with, so that the next filter change keeps it.
  function syncFilters() {
    const form = filters();
    if (!form) return;
    const state = tableState();
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el === document.activeElement || el.type === "hidden") return;
      const values = state.getAll(el.name);
      if (el.type === "checkbox") el.checked = values.includes(el.value);
      else if (el.tagName === "SELECT") el.value = values[0] || el.dataset.default || el.options[0]?.value || "";
      else el.value = el.name === "tag" ? values.join(", ") : values[0] || "";
    });
    form.querySelectorAll("details.multi").forEach(describeChoices);
  }
  // A several-values filter's summary says what is chosen.
  function describeChoices(details) {
    const chosen = Array.from(details.querySelectorAll("input:checked")).map((box) => box.parentElement.textContent.trim());
    const summary = details.querySelector("summary");
    const label = summary.querySelector(".sr-only");
    summary.textContent = chosen.length ? chosen.join(", ") : details.dataset.any;
    if (label) summary.prepend(label);
  }
  document.addEventListener("click", (e) => {
    // One several-values filter (or the column chooser) open at a time; a click
    // elsewhere closes it.
    document.querySelectorAll("details.multi[open], details.columns-menu[open]").forEach((d) => {
      if (!d.contains(e.target)) d.open = false;
    });
  });
  // The column chooser sends the table's query as it is now (filters, sort and page have
  // changed since the page loaded), so that the table comes back as it was, columns apart.
  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt.matches && e.detail.elt.matches("[data-columns-form]")) {
      e.detail.parameters.query = rowQuery();
    }
  });
  document.addEventListener("submit", (e) => {
    if (e.target.matches("[data-columns-form]")) e.target.elements.query.value = rowQuery();
  });
  // A bulk delete asks first (the button sends through htmx: its confirm step).
  document.addEventListener("htmx:confirm", (e) => {
    const confirmer = e.target.closest && e.target.closest("[data-confirm-delete]");
    if (!confirmer || document.getElementById("bulk-action")?.value !== "delete") return;
    e.preventDefault();
    if (window.confirm(confirmer.dataset.confirmDelete)) e.detail.issueRequest(true);
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
    if (el.id === "period") document.body.dispatchEvent(new Event("refreshMetrics"));
    const multi = el.closest("details.multi");
    if (multi) describeChoices(multi);
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
    return htmx.ajax("GET", "/app/leads/" + row.dataset.leadId, { target: "#detail" }).then(() => {
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
    const row = e.target.closest(".lead-row");
    if (row && !e.target.closest("input, a, label, button")) openLead(row);
  });
  // Shortcuts of the lead table, away from fields: / search, j and k move, Enter opens,
  // e edits, ? lists them.
  function typing(target) {
    return target.closest && target.closest("input, select, textarea, [contenteditable], dialog");
  }
  function moveFocus(by) {
    const rows = Array.from(document.querySelectorAll("#lead-rows .lead-row"));
    if (!rows.length) return;
    const at = rows.indexOf(document.activeElement.closest?.(".lead-row") || document.querySelector(".lead-row.current"));
    const next = rows[Math.min(rows.length - 1, Math.max(0, at < 0 ? 0 : at + by))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }
  async function editLead() {
    const row = document.activeElement.closest?.(".lead-row") || document.querySelector(".lead-row.current");
    if (!row) return;
    if (!document.querySelector('#detail .detail-body[data-lead-id="' + row.dataset.leadId + '"]')) await openLead(row);
    document.querySelector("#detail select:not([disabled]), #detail input:not([type=hidden]), #detail textarea")?.focus();
  }
  document.addEventListener("keydown", (e) => {
    if (!document.getElementById("lead-rows") || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const actions = {
      "/": () => document.getElementById("q")?.focus(),
      j: () => moveFocus(1),
      k: () => moveFocus(-1),
      e: editLead,
      "?": () => document.getElementById("shortcuts")?.showModal(),
    };
    if (!actions[e.key]) return;
    e.preventDefault();
    actions[e.key]();
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
      el.hidden = !el.dataset.forAction.split(" ").includes(action);
    });
  }
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "lead-table") {
      syncFilters();
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

  function rowQuery() {
    return document.getElementById("lead-rows")?.dataset.rowQuery || "";
  }

  async function fetchRows(url) {
    const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    if (response.status !== 200) return [];
    const holder = document.createElement("tbody");
    holder.innerHTML = await response.text();
    return Array.from(holder.querySelectorAll("tr"));
  }
  async function fetchRow(leadId) {
    const url = "/app/leads/" + encodeURIComponent(leadId) + "/row" + (rowQuery() ? "?" + rowQuery() : "");
    return (await fetchRows(url))[0] || null;
  }

  // Leads the user changed in the sidebar a moment ago: the live news of that change is
  // the user's own too.
  const mine = new Set();
  document.addEventListener("htmx:beforeRequest", (e) => {
    const body = e.target.closest && e.target.closest("#detail")?.querySelector(".detail-body");
    if (!body || e.detail.requestConfig?.verb !== "post") return;
    const id = body.dataset.leadId;
    mine.add(id);
    setTimeout(() => mine.delete(id), 5000);
  });

  // A row redrawn as its lead is now, whoever changed it. One that no longer matches the
  // table's filters gives way to a short note that says so.
  async function refreshRow(leadId, { own = false } = {}) {
    const existing = document.getElementById("lead-" + leadId);
    if (!existing) return;
    const row = await fetchRow(leadId);
    if (!existing.isConnected) return; // another refresh of this row came first
    if (!row) {
      replaceWithNote(existing, own || mine.has(leadId));
      changeCount(-1);
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
  function replaceWithNote(row, own) {
    const name = row.querySelector(".name")?.textContent || "This lead";
    const detail = document.querySelector('#detail .detail-body[data-lead-id="' + row.dataset.leadId + '"]');
    const chosen = (field) => (own && detail ? detail.querySelector("select[name=" + field + "] option:checked") : null);
    const stage = chosen("stage")?.textContent;
    const assignee = chosen("assigned_user_id");
    const change = stage
      ? " is now " + stage + (assignee?.value ? ", assigned to " + assignee.textContent + "," : "") + " and"
      : own ? "" : " was changed by someone else and";
    const note = document.createElement("tr");
    note.className = "row-note";
    note.setAttribute("role", "status");
    const cell = document.createElement("td");
    cell.colSpan = row.cells.length;
    cell.textContent = name + change + " no longer matches this view."; // text, never HTML: names come from lead providers
    note.appendChild(cell);
    row.replaceWith(note);
    setTimeout(() => note.remove(), NOTE_SHOWN_MS);
  }

  function flash(row) {
    row.classList.add("fresh");
    setTimeout(() => row.classList.remove("fresh"), 2000);
  }

  // New leads are gathered for a moment and asked for at once: a burst is one request,
  // its rows go on top newest first, and only those that match the table are counted.
  const GATHER_MS = 250;
  let arriving = [];
  let gatherTimer = null;
  function leadCreated(data) {
    if (!document.getElementById("lead-rows")) return;
    arriving.push(data.lead_id);
    if (!gatherTimer) gatherTimer = setTimeout(showArrivals, GATHER_MS);
  }
  async function showArrivals() {
    gatherTimer = null;
    const ids = arriving.splice(0, 100);
    const body = document.getElementById("lead-rows");
    if (!ids.length || !body) return;
    const query = new URLSearchParams(rowQuery());
    ids.forEach((id) => query.append("id", id));
    const rows = (await fetchRows("/app/leads/rows?" + query)).filter((row) => !document.getElementById(row.id));
    if (arriving.length && !gatherTimer) gatherTimer = setTimeout(showArrivals, 0);
    if (!rows.length) return;
    const canPrepend = body.dataset.livePrepend === "true" && selectedCount() === 0 && pendingNew === 0;
    if (!canPrepend) {
      pendingNew += rows.length;
      showNewBanner();
      return;
    }
    body.querySelector("tr.empty")?.remove();
    body.prepend(...rows);
    rows.forEach(flash);
    changeCount(rows.length);
    const size = Number(document.getElementById("page-size")?.value || 50);
    while (body.querySelectorAll("tr.lead-row").length > size) body.querySelector("tr.lead-row:last-of-type")?.remove();
    rows.forEach((row) => row.dispatchEvent(new CustomEvent("leadpipe:row-shown", { bubbles: true, detail: { lead_id: row.dataset.leadId } })));
  }

  // "1–50 of 1,234 leads" follows the rows that come and go live.
  function changeCount(by) {
    const count = document.getElementById("lead-count");
    if (!count || !count.dataset.total) return;
    const total = Math.max(0, Number(count.dataset.total) + by);
    const first = Number(count.dataset.first);
    const last = Math.min(total, first - 1 + Number(count.dataset.size));
    count.dataset.total = String(total);
    const n = (x) => x.toLocaleString("en-US");
    count.textContent = total ? n(first) + "–" + n(last) + " of " + n(total) + " leads" : "0 leads";
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
        newLeadToast(name + (data.webhook_name ? " via " + data.webhook_name : ""));
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
      let received;
      try { received = JSON.parse(e.data); } catch (_) { return; }
      // A burst that waited on the server comes as one array of events.
      for (const message of Array.isArray(received) ? received : [received]) heard(message);
    });
    function heard(message) {
      if (message.type === "ready") {
        status.textContent = "Live";
        status.classList.add("on");
        document.documentElement.dataset.live = "ready";
        attempt = 0;
        return;
      }
      if (message.type !== "ping") onEvent(message);
    }
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
    connect(0);
  });
})();
