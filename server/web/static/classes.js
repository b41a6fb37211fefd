/* Classes page: list, add (with a teacher), and one class's panel: rename, change teacher,
   find and enrol pupils, remove pupils. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const tableBody = document.querySelector("#classes-table tbody");
  const emptyNote = document.getElementById("classes-empty");
  const createForm = document.getElementById("class-form");
  const detail = document.getElementById("class-detail");
  const renameForm = document.getElementById("rename-form");
  const detailError = document.getElementById("detail-error");
  const pupilSearch = document.getElementById("pupil-search-form");
  const enrolForm = document.getElementById("enrol-form");
  const results = document.getElementById("pupil-results");
  const resultsEmpty = document.getElementById("pupil-results-empty");
  const enrolButton = document.getElementById("enrol-button");
  const members = document.getElementById("members");
  const membersEmpty = document.getElementById("members-empty");
  let classes = [];
  let current = null;

  function showDetailError(error) {
    detailError.textContent = error ? P.describe(error) : "";
    detailError.hidden = !error;
  }

  async function loadTeachers() {
    try {
      const [teachers, admins] = await Promise.all([
        api("GET", "/api/admin/users", { query: { role: "teacher", limit: 200 } }),
        api("GET", "/api/admin/users", { query: { role: "admin", limit: 200 } }),
      ]);
      const staff = [...teachers.items, ...admins.items].filter((user) => !user.disabled);
      staff.sort((a, b) => a.display_name.localeCompare(b.display_name));
      for (const select of document.querySelectorAll(".teacher-select")) {
        const first = select.options[0];
        P.clear(select).append(first);
        for (const user of staff) {
          const label = `${user.display_name} (${user.username})${user.role === "admin" ? " · admin" : ""}`;
          select.append(el("option", { value: user.id }, label));
        }
      }
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  function classRow(schoolClass) {
    return el(
      "tr",
      { dataset: { classId: schoolClass.id } },
      el("th", { scope: "row" }, schoolClass.name),
      el("td", {}, schoolClass.teacher ? schoolClass.teacher.display_name : el("span", { class: "muted" }, "No teacher")),
      el("td", { class: "num" }, schoolClass.pupils.length),
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          class: "button button-small",
          "aria-label": `Manage ${schoolClass.name}`,
          text: "Manage",
          onclick: () => openClass(schoolClass.id),
        }),
        " ",
        el("a", {
          class: "button button-small",
          href: `/api/teacher/classes/${schoolClass.id}/marks.csv`,
          download: "",
          "aria-label": `Marks CSV of ${schoolClass.name}`,
          text: "Marks CSV",
        })
      )
    );
  }

  function renderList() {
    P.clear(tableBody);
    for (const schoolClass of classes) tableBody.append(classRow(schoolClass));
    emptyNote.hidden = classes.length > 0;
  }

  async function loadClasses() {
    try {
      classes = await api("GET", "/api/admin/classes");
      renderList();
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  function replaceClass(schoolClass) {
    const index = classes.findIndex((c) => c.id === schoolClass.id);
    if (index >= 0) classes[index] = schoolClass;
    else classes.push(schoolClass);
    classes.sort((a, b) => a.name.localeCompare(b.name));
    renderList();
    if (current && current.id === schoolClass.id) showClass(schoolClass);
  }

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    P.formError(createForm, null);
    const name = createForm.name.value.trim();
    if (!name) return P.formError(createForm, new P.ApiError(400, { detail: "Give the class a name.", field: "name" }));
    const teacher = createForm.teacher_id.value;
    const button = createForm.querySelector("button[type=submit]");
    await P.busy(button, async () => {
      try {
        const schoolClass = await api("POST", "/api/admin/classes", {
          json: { name, teacher_id: teacher ? Number(teacher) : null },
        });
        createForm.reset();
        replaceClass(schoolClass);
        P.flash(`Added the class ${schoolClass.name}.`);
        openClass(schoolClass.id);
      } catch (error) {
        P.formError(createForm, error);
      }
    });
  });

  /* --- one class ------------------------------------------------------------------------------- */
  function showClass(schoolClass) {
    current = schoolClass;
    document.getElementById("detail-title").textContent = schoolClass.name;
    renameForm.name.value = schoolClass.name;
    renameForm.teacher_id.value = schoolClass.teacher ? String(schoolClass.teacher.id) : "";
    P.clear(members);
    for (const pupil of schoolClass.pupils) {
      members.append(
        el(
          "li",
          {},
          el("span", {}, pupil.display_name, " ", el("span", { class: "muted mono" }, `(${pupil.username})`)),
          el("button", {
            type: "button",
            class: "button button-small button-quiet",
            "aria-label": `Remove ${pupil.username} from ${schoolClass.name}`,
            text: "Remove",
            onclick: () => removePupil(pupil),
          })
        )
      );
    }
    membersEmpty.hidden = schoolClass.pupils.length > 0;
  }

  function openClass(classId) {
    const schoolClass = classes.find((c) => c.id === classId);
    if (!schoolClass) return;
    showDetailError(null);
    P.clear(results).append(el("legend", { class: "visually-hidden" }, "Pupils found"));
    results.hidden = true;
    resultsEmpty.hidden = true;
    enrolButton.disabled = true;
    pupilSearch.reset();
    showClass(schoolClass);
    detail.hidden = false;
    detail.scrollIntoView({ behavior: "smooth", block: "start" });
    detail.focus({ preventScroll: true });
  }

  document.getElementById("detail-close").addEventListener("click", () => {
    detail.hidden = true;
    current = null;
  });

  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showDetailError(null);
    const name = renameForm.name.value.trim();
    if (!name) return showDetailError(new P.ApiError(400, { detail: "Give the class a name." }));
    const teacher = renameForm.teacher_id.value;
    const changes = {};
    if (name !== current.name) changes.name = name;
    const currentTeacher = current.teacher ? String(current.teacher.id) : "";
    if (teacher !== currentTeacher) changes.teacher_id = teacher ? Number(teacher) : null;
    if (!Object.keys(changes).length) return P.flash("Nothing to change.", "info");
    try {
      const schoolClass = await api("PATCH", `/api/admin/classes/${current.id}`, { json: changes });
      replaceClass(schoolClass);
      P.flash(`Saved ${schoolClass.name}.`);
    } catch (error) {
      showDetailError(error);
    }
  });

  pupilSearch.addEventListener("submit", async (event) => {
    event.preventDefault();
    showDetailError(null);
    try {
      const page = await api("GET", "/api/admin/users", { query: { q: pupilSearch.q.value.trim(), role: "pupil", limit: 50 } });
      const enrolled = new Set(current.pupils.map((p) => p.id));
      P.clear(results).append(el("legend", { class: "visually-hidden" }, "Pupils found"));
      for (const pupil of page.items) {
        const id = `pick-${pupil.id}`;
        const already = enrolled.has(pupil.id);
        results.append(
          el(
            "div",
            { class: "pick" },
            el("input", { type: "checkbox", id, name: "pupil", value: pupil.id, disabled: already }),
            el("label", { for: id }, pupil.display_name, " ", el("span", { class: "muted mono" }, `(${pupil.username})`), already ? " — already in this class" : "")
          )
        );
      }
      results.hidden = page.items.length === 0;
      resultsEmpty.hidden = page.items.length > 0;
      enrolButton.disabled = true;
    } catch (error) {
      showDetailError(error);
    }
  });

  results.addEventListener("change", () => {
    enrolButton.disabled = !results.querySelector("input:checked");
  });

  enrolForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showDetailError(null);
    const ids = [...results.querySelectorAll("input:checked")].map((input) => Number(input.value));
    if (!ids.length) return;
    await P.busy(enrolButton, async () => {
      try {
        const schoolClass = await api("POST", `/api/admin/classes/${current.id}/pupils`, { json: { pupil_ids: ids } });
        replaceClass(schoolClass);
        for (const input of results.querySelectorAll("input:checked")) {
          input.checked = false;
          input.disabled = true;
        }
        P.flash(`Enrolled ${ids.length} pupil${ids.length === 1 ? "" : "s"} in ${schoolClass.name}.`);
      } catch (error) {
        showDetailError(error);
      }
    });
    enrolButton.disabled = true;
  });

  async function removePupil(pupil) {
    showDetailError(null);
    try {
      const schoolClass = await api("DELETE", `/api/admin/classes/${current.id}/pupils/${pupil.id}`);
      replaceClass(schoolClass);
      P.flash(`Removed ${pupil.username} from ${schoolClass.name}.`);
      members.focus();
    } catch (error) {
      showDetailError(error);
    }
  }

  loadTeachers();
  loadClasses();
})();
