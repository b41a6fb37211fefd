/* Sessions page: everyone logged in now; revoke one session or all of one person's. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const tableBody = document.querySelector("#sessions-table tbody");
  const emptyNote = document.getElementById("sessions-empty");
  const countNote = document.getElementById("sessions-count");
  const filter = document.getElementById("sessions-filter");
  let sessions = [];

  function clientLabel(session) {
    return session.client === "desktop" ? "Desktop app" : session.client === "web" ? "Web console" : session.client;
  }

  function row(session) {
    return el(
      "tr",
      { dataset: { sessionId: session.id } },
      el("th", { scope: "row" }, el("span", { class: "mono" }, session.username)),
      el(
        "td",
        {},
        el(
          "span",
          {},
          clientLabel(session),
          session.user_agent ? el("span", { class: "muted small block", title: session.user_agent }, session.user_agent.slice(0, 48)) : null
        )
      ),
      el("td", {}, el("time", { datetime: session.last_seen_at, title: P.formatTime(session.last_seen_at, true) }, P.ago(session.last_seen_at))),
      el("td", {}, P.timeElement(session.created_at)),
      el("td", {}, P.timeElement(session.expires_at)),
      el("td", { class: "mono" }, session.client_ip || "—"),
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          class: "button button-small button-danger",
          "aria-label": `Revoke session ${session.id} of ${session.username}`,
          text: "Revoke",
          onclick: (event) => revoke(session, event.currentTarget),
        }),
        el("button", {
          type: "button",
          class: "button button-small",
          "aria-label": `Revoke every session of ${session.username}`,
          text: "Revoke every session",
          onclick: (event) => revokeAll(session, event.currentTarget),
        })
      )
    );
  }

  function render() {
    const wanted = filter.user.value.trim().toLowerCase();
    const visible = wanted ? sessions.filter((s) => s.username.includes(wanted)) : sessions;
    P.clear(tableBody);
    for (const session of visible) tableBody.append(row(session));
    emptyNote.hidden = visible.length > 0;
    emptyNote.textContent = wanted ? `No active sessions for “${wanted}”.` : "No active sessions.";
    const people = new Set(visible.map((s) => s.user_id)).size;
    countNote.textContent = `${visible.length} active session${visible.length === 1 ? "" : "s"} of ${people} ${people === 1 ? "person" : "people"}.`;
  }

  async function load() {
    try {
      sessions = await api("GET", "/api/admin/sessions", { query: { limit: 500 } });
      render();
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  async function revoke(session, button) {
    await P.busy(button, async () => {
      try {
        await api("DELETE", `/api/admin/sessions/${session.id}`);
        P.flash(`Revoked ${session.username}'s ${clientLabel(session).toLowerCase()} session.`);
      } catch (error) {
        P.flash(P.describe(error), "error");
      }
    });
    await load();
  }

  async function revokeAll(session, button) {
    if (!window.confirm(`Log ${session.username} out on every device?`)) return;
    await P.busy(button, async () => {
      try {
        const result = await api("POST", `/api/admin/users/${session.user_id}/sessions/revoke`);
        P.flash(`Revoked ${result.revoked} session${result.revoked === 1 ? "" : "s"} of ${session.username}.`);
      } catch (error) {
        P.flash(P.describe(error), "error");
      }
    });
    await load();
  }

  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    render();
  });
  filter.user.addEventListener("input", render);
  document.getElementById("sessions-refresh").addEventListener("click", load);
  load();
})();
