// The lead panel's editing helpers, the reason asked when a lead is lost (panel, board,
// bulk), and the tasks' badge and reminders. Loaded on every dashboard page, after app.js.
(function () {
  "use strict";

  // -- a lead lost: ask why --------------------------------------------------------------
  // The panel's stage select moves the lead at once, but for Lost: then it shows the
  // reason fields, and the lead moves when they are sent.
  document.addEventListener("change", (e) => {
    const select = e.target.closest("[data-stage-select]");
    if (!select) return;
    const fields = select.form.querySelector("[data-lost-fields]");
    if (select.value === "lost" && fields) {
      fields.hidden = false;
      fields.querySelector("select, input")?.focus();
      return;
    }
    if (fields) fields.hidden = true;
    select.form.requestSubmit();
  });
  document.addEventListener("click", (e) => {
    const cancel = e.target.closest("[data-lost-cancel]");
    if (!cancel) return;
    const form = cancel.closest("form");
    const select = form.querySelector("[data-stage-select]");
    select.value = select.dataset.current;
    form.querySelector("[data-lost-fields]").hidden = true;
  });

  // The board's and bulk's question: a small dialog with the workspace's reasons; what
  // was given, or null when cancelled.
  function askLostReason() {
    const dialog = document.getElementById("lost-dialog");
    if (!dialog) return Promise.resolve(null);
    const reason = dialog.querySelector("[data-lost-reason]");
    const note = dialog.querySelector("[data-lost-note]");
    const error = dialog.querySelector("[data-lost-error]");
    reason.value = "";
    note.value = "";
    error.hidden = true;
    return new Promise((resolve) => {
      function closed() {
        dialog.removeEventListener("close", closed);
        if (dialog.returnValue !== "ok") return resolve(null);
        resolve({ lost_reason: reason.value, lost_note: note.value.trim() });
      }
      dialog.addEventListener("close", closed);
      dialog.returnValue = "";
      dialog.showModal();
      reason.focus();
    });
  }
  // Refuse "Mark lost" with neither a reason nor words (the server would too).
  document.addEventListener("submit", (e) => {
    const dialog = e.target.closest("#lost-dialog");
    if (!dialog || e.submitter?.value !== "ok") return;
    const given = dialog.querySelector("[data-lost-reason]").value || dialog.querySelector("[data-lost-note]").value.trim();
    if (!given) {
      e.preventDefault();
      dialog.querySelector("[data-lost-error]").hidden = false;
    }
  });
  window.leadpipeAskLostReason = askLostReason;

  // Bulk: moving the selected leads to Lost asks once, for all of them.
  document.addEventListener(
    "submit",
    (e) => {
      const form = e.target;
      if (form.id !== "bulk" || e.submitter?.getAttribute("formaction")) return;
      const action = form.querySelector("[name=action]")?.value;
      const stage = form.querySelector("[name=stage]")?.value;
      if (action !== "stage" || stage !== "lost" || form.querySelector("input[name=lost_reason]")) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      askLostReason().then((given) => {
        if (!given) return;
        for (const [name, value] of Object.entries(given)) {
          const input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.value = value;
          input.dataset.lostGiven = "1";
          form.appendChild(input);
        }
        form.requestSubmit(e.submitter);
        form.querySelectorAll("[data-lost-given]").forEach((el) => el.remove());
      });
    },
    true,
  );

  // -- tasks: the top bar's badge, and a reminder when one falls due ---------------------
  const reminded = new Set(JSON.parse(sessionStorage.getItem("leadpipe-reminded") || "[]"));
  const timers = new Map();
  let nextAsk = null;

  function showBadge(due) {
    const badge = document.querySelector("[data-tasks-badge]");
    if (!badge) return;
    badge.textContent = due > 0 ? String(due) : "";
    badge.hidden = due <= 0;
    badge.title = due + " task" + (due === 1 ? "" : "s") + " due";
  }

  function remind(task) {
    if (reminded.has(task.id)) return;
    reminded.add(task.id);
    sessionStorage.setItem("leadpipe-reminded", JSON.stringify([...reminded]));
    window.leadpipeToast?.("Task due", task.title, "info");
    askDue();
  }

  function askDue() {
    if (!document.querySelector("[data-tasks-badge]")) return;
    fetch("/app/tasks/due", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        showBadge(data.due);
        timers.forEach((timer) => clearTimeout(timer));
        timers.clear();
        for (const task of data.soon) {
          timers.set(task.id, setTimeout(() => remind(task), Math.max(0, task.in_seconds * 1000)));
        }
        clearTimeout(nextAsk);
        nextAsk = setTimeout(askDue, data.ask_again_in_seconds * 1000);
      })
      .catch(() => {});
  }
  document.addEventListener("tasksChanged", askDue);
  document.addEventListener("DOMContentLoaded", askDue);
})();
