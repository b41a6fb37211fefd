/* Audit log page: filters, cursor paging (a stack of the cursors behind us for "Newer"), and a
   details dialog for one entry. The filters and page live in the URL so a view can be shared. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const PAGE_SIZE = 50;
  const form = document.getElementById("audit-filter");
  const errorBox = document.getElementById("audit-error");
  const tableBody = document.querySelector("#audit-table tbody");
  const emptyNote = document.getElementById("audit-empty");
  const position = document.getElementById("audit-position");
  const previousButton = document.getElementById("audit-prev");
  const nextButton = document.getElementById("audit-next");
  const dialog = document.getElementById("audit-dialog");

  let filters = {};
  let cursors = [null]; // cursors[i] fetches page i+1; the last one is the page on screen
  let nextCursor = null;

  function describeAction(action) {
    return action.replace(/[._]/g, " ");
  }

  function row(entry) {
    return el(
      "tr",
      { dataset: { entryId: entry.id } },
      el("td", { class: "nowrap" }, P.timeElement(entry.at, true)),
      el("td", {}, el("code", {}, entry.action)),
      el("td", {}, entry.actor || el("span", { class: "muted" }, "—")),
      el("td", {}, entry.target || el("span", { class: "muted" }, "—")),
      el("td", { class: "mono" }, entry.client_ip || "—"),
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          class: "button button-small",
          "aria-label": `Details of entry ${entry.id}, ${describeAction(entry.action)}`,
          text: "Details",
          onclick: () => showDetails(entry.id),
        })
      )
    );
  }

  function readFilters() {
    const since = form.since.value;
    let sinceIso = "";
    if (since) {
      const date = new Date(since);
      if (Number.isNaN(date.getTime())) throw new Error("since");
      sinceIso = date.toISOString();
    }
    return {
      actor: form.actor.value.trim().toLowerCase(),
      target: form.target.value.trim(),
      action: form.action.value.trim(),
      since: sinceIso,
    };
  }

  async function load() {
    errorBox.hidden = true;
    const cursor = cursors[cursors.length - 1];
    try {
      const page = await api("GET", "/api/admin/audit", { query: { ...filters, cursor, limit: PAGE_SIZE } });
      P.clear(tableBody);
      for (const entry of page.items) tableBody.append(row(entry));
      nextCursor = page.has_more ? page.next_cursor : null;
      emptyNote.hidden = page.items.length > 0;
      const number = cursors.length;
      const first = (number - 1) * PAGE_SIZE + 1;
      position.textContent = page.items.length
        ? `Page ${number}: entries ${first}–${first + page.items.length - 1}${page.has_more ? "" : " (the oldest)"}`
        : "";
      previousButton.disabled = cursors.length <= 1;
      nextButton.disabled = !nextCursor;
    } catch (error) {
      errorBox.textContent = P.describe(error);
      errorBox.hidden = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      filters = readFilters();
    } catch (error) {
      errorBox.textContent = "“Since” is not a date and time.";
      errorBox.hidden = false;
      return;
    }
    cursors = [null];
    load();
  });

  form.addEventListener("reset", () => {
    filters = {};
    cursors = [null];
    setTimeout(load, 0);
  });

  nextButton.addEventListener("click", async () => {
    if (!nextCursor) return;
    cursors.push(nextCursor);
    await load();
    (nextButton.disabled ? previousButton : nextButton).focus();
  });

  previousButton.addEventListener("click", async () => {
    if (cursors.length <= 1) return;
    cursors.pop();
    await load();
    (previousButton.disabled ? nextButton : previousButton).focus();
  });

  async function showDetails(entryId) {
    try {
      const entry = await api("GET", `/api/admin/audit/${entryId}`);
      const list = P.clear(document.getElementById("audit-details"));
      const facts = [
        ["When", P.formatTime(entry.at, true)],
        ["Action", entry.action],
        ["Who", entry.actor || "—"],
        ["Done to", entry.target || "—"],
        ["IP address", entry.client_ip || "—"],
        ["Browser or app", entry.user_agent || "—"],
        ["Entry number", String(entry.id)],
      ];
      for (const [term, value] of facts) list.append(el("dt", {}, term), el("dd", {}, value));
      document.getElementById("audit-dialog-title").textContent = `${entry.action} · ${P.formatTime(entry.at)}`;
      const details = entry.details && Object.keys(entry.details).length ? JSON.stringify(entry.details, null, 2) : "No further details.";
      document.getElementById("audit-json").textContent = details;
      P.openDialog(dialog);
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  load();
})();
