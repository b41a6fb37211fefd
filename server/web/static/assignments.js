/* Assignments page: every assignment of the school, soonest due first, with its markbook CSV. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const tableBody = document.querySelector("#assignments-table tbody");
  const emptyNote = document.getElementById("assignments-empty");
  const countNote = document.getElementById("assignments-count");
  const filter = document.getElementById("assignments-filter");
  let assignments = [];

  function work(assignment) {
    const scope = assignment.whole_lesson
      ? `the whole lesson “${assignment.lesson_title}”`
      : `${assignment.activity_ids.length} activit${assignment.activity_ids.length === 1 ? "y" : "ies"} of “${assignment.lesson_title}”`;
    return el(
      "span",
      {},
      assignment.title,
      el("span", { class: "muted small block" }, scope),
      assignment.removed ? el("span", { class: "badge" }, "Withdrawn") : null
    );
  }

  function row(assignment) {
    const overdue = !assignment.removed && new Date(assignment.due_at) < new Date();
    return el(
      "tr",
      { dataset: { assignmentId: assignment.id } },
      el("th", { scope: "row" }, assignment.class_name),
      el("td", {}, work(assignment)),
      el("td", {}, P.timeElement(assignment.due_at), overdue ? el("span", { class: "muted small block" }, "past due") : null),
      el("td", { class: "mono" }, assignment.set_by || "—"),
      el("td", {}, P.timeElement(assignment.updated_at)),
      el(
        "td",
        { class: "actions" },
        el("a", {
          class: "button button-small",
          href: `/api/teacher/assignments/${assignment.id}/marks.csv`,
          download: "",
          "aria-label": `Marks CSV of ${assignment.title} for ${assignment.class_name}`,
          text: "Marks CSV",
        })
      )
    );
  }

  function render() {
    const wanted = filter.class_name.value.trim().toLowerCase();
    const withdrawn = filter.withdrawn.checked;
    const visible = assignments.filter(
      (a) => (withdrawn || !a.removed) && (!wanted || a.class_name.toLowerCase().includes(wanted))
    );
    P.clear(tableBody);
    for (const assignment of visible) tableBody.append(row(assignment));
    emptyNote.hidden = visible.length > 0;
    emptyNote.textContent = wanted ? `No assignments for “${wanted}”.` : "No assignments yet.";
    countNote.textContent = `${visible.length} assignment${visible.length === 1 ? "" : "s"}.`;
  }

  async function load() {
    try {
      assignments = await api("GET", "/api/admin/assignments");
      render();
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    render();
  });
  filter.withdrawn.addEventListener("change", render);
  document.getElementById("assignments-refresh").addEventListener("click", load);
  load();
})();
