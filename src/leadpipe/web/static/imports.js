// The imports page: the chosen file's columns, each with what it will be read as (the
// server reads the file's first bytes as the import will), and an import's progress,
// polled every second until it ends. Runs under the dashboard's CSP (no inline code).
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const number = (n) => Number(n || 0).toLocaleString("en-US");

  // -- the upload form -------------------------------------------------------------------
  function showProblem(form, text) {
    const box = form.querySelector("[data-file-problem]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function refusal(body, status) {
    if (!body || body.success !== false) return "The server answered " + status;
    const details = (body.details || []).map((d) => d.field + ": " + d.message).join("; ");
    return [body.error, details].filter(Boolean).join(" — ");
  }

  // The file's first bytes, cut after a line's end (a byte no UTF-8 character holds), so
  // that the server decodes the header as it will decode the whole file.
  async function firstBytes(file, size) {
    const bytes = new Uint8Array(await file.slice(0, size).arrayBuffer());
    if (file.size <= size) return bytes;
    const end = bytes.lastIndexOf(10);
    return end >= 0 ? bytes.subarray(0, end + 1) : bytes;
  }

  function option(value, text) {
    const item = document.createElement("option");
    item.value = value;
    item.textContent = text; // text, never HTML: column names come from the file
    return item;
  }

  // A column and the field it is read as. Left at "by name", it sends nothing: the
  // server reads it by the aliases. Another choice sends COLUMN=FIELD, as the API's map.
  function columnChoice(column, fields) {
    const row = document.createElement("label");
    row.className = "column-choice";
    const name = document.createElement("span");
    name.className = "column-name";
    name.textContent = column.name;
    const select = document.createElement("select");
    select.name = "map";
    select.setAttribute("aria-label", "Read " + column.name + " as");
    select.appendChild(option("", column.read_as + " (by name)"));
    fields.filter((f) => f !== column.read_as).forEach((f) => {
      select.appendChild(option(column.name + "=" + f, f));
    });
    if (column.name.includes("=")) {
      select.disabled = true; // COLUMN=FIELD cannot name it
      select.title = "A column whose name holds '=' is read by its name";
    }
    row.append(name, select);
    return row;
  }

  let chosen = 0; // the latest file chosen: an answer about an earlier one is dropped

  async function showColumns(form, file) {
    const box = form.querySelector("[data-columns]");
    const list = form.querySelector("[data-column-choices]");
    const asked = ++chosen;
    list.replaceChildren();
    box.hidden = true;
    showProblem(form, "");
    if (!file) return;
    if (file.size > Number(form.dataset.maxBytes)) {
      showProblem(form, "This file is larger than " + number(form.dataset.maxBytes) + " bytes: split it, then import each part.");
      return;
    }
    let response;
    let body = null;
    try {
      response = await fetch(form.dataset.columnsUrl, {
        method: "POST",
        // As htmx asks: a refusal comes back in the envelope, not as a page.
        headers: { "X-CSRF-Token": csrf(), "Content-Type": "text/csv", "HX-Request": "true" },
        body: await firstBytes(file, Number(form.dataset.sampleBytes)),
        credentials: "same-origin",
      });
      body = await response.json();
    } catch (_) {
      if (asked === chosen) showProblem(form, "The server could not be reached; the columns will be read by their names.");
      return;
    }
    if (asked !== chosen) return;
    if (!response.ok) {
      showProblem(form, refusal(body, response.status));
      return;
    }
    body.data.columns.forEach((column) => list.appendChild(columnChoice(column, body.data.fields)));
    box.hidden = false;
  }

  function startForm(form) {
    const input = form.querySelector("[data-import-file]");
    input.addEventListener("change", () => showColumns(form, input.files[0]));
    if (input.files[0]) showColumns(form, input.files[0]); // kept by the browser on back
    form.addEventListener("submit", (e) => {
      const file = input.files[0];
      if (file && file.size > Number(form.dataset.maxBytes)) {
        e.preventDefault();
        showProblem(form, "This file is larger than " + number(form.dataset.maxBytes) + " bytes: split it, then import each part.");
        return;
      }
      form.querySelector("button[type=submit]").disabled = true; // one upload per click
    });
    // Back to the page from the browser's cache: the button works again.
    window.addEventListener("pageshow", () => {
      form.querySelector("button[type=submit]").disabled = false;
    });
  }

  // -- an import's progress ----------------------------------------------------------------
  const STATES = { pending: "Waiting", running: "Importing", done: "Done", failed: "Failed" };
  const ended = (imp) => imp.status === "done" || imp.status === "failed";

  function showProgress(panel, imp) {
    panel.dataset.status = imp.status;
    const bar = panel.querySelector("[data-bar]");
    bar.max = imp.rows_total || 1;
    bar.value = imp.rows_total ? imp.rows_done : imp.status === "done" ? 1 : 0;
    bar.textContent = imp.rows_done + " / " + imp.rows_total;
    document.querySelectorAll('[data-import="' + imp.id + '"] [data-count]').forEach((el) => {
      el.textContent = number(imp[el.dataset.count]);
    });
    document.querySelectorAll('[data-import="' + imp.id + '"] [data-state]').forEach((el) => {
      el.textContent = imp.resumable && imp.status !== "failed" ? "Stopped" : STATES[imp.status];
      el.className = "import-state state-" + imp.status;
    });
    panel.querySelector("[data-refused]").classList.toggle("some", imp.refused > 0);
    const failure = panel.querySelector("[data-failure]");
    failure.textContent = imp.failure || "";
    failure.hidden = !imp.failure;
    panel.querySelector("[data-errors-link]").hidden = !(ended(imp) && imp.refused > 0);
    const resume = panel.querySelector("[data-resume]");
    if (resume) {
      resume.hidden = !imp.resumable;
      resume.querySelector("[data-next-row]").textContent = number(imp.rows_done + 1);
    }
    return ended(imp) || imp.resumable;
  }

  function watch(panel) {
    if (ended(panel.dataset) || panel.dataset.resumable === "true") return;
    const tick = async () => {
      try {
        const response = await fetch(panel.dataset.progressUrl, {
          headers: { "HX-Request": "true" },
          credentials: "same-origin",
        });
        if (response.ok && showProgress(panel, (await response.json()).data)) return;
      } catch (_) {
        // The server is restarting, or the network dropped: the next second asks again.
      }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("import-form");
    if (form) startForm(form);
    const panel = document.getElementById("import-progress");
    if (panel) watch(panel);
  });
})();
