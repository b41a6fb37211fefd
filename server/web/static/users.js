/* Users page: search with paging, add a person, edit (name, role, disable, password, sessions),
   and the CSV import (a dry run preview first, then the real import with its per-row report). */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const searchForm = document.getElementById("search-form");
  const tableBody = document.querySelector("#users-table tbody");
  const emptyNote = document.getElementById("users-empty");
  const moreButton = document.getElementById("users-more");
  let nextCursor = null;
  const shown = new Map();

  function userRow(user) {
    const status = user.disabled ? P.badge("Disabled", "danger") : P.badge("Active", "success");
    return el(
      "tr",
      { dataset: { userId: user.id } },
      el("td", {}, el("span", { class: "mono" }, user.username)),
      el("td", {}, user.display_name),
      el("td", {}, P.roleLabel(user.role)),
      el("td", {}, status),
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          class: "button button-small",
          "aria-label": `Edit ${user.username}`,
          text: "Edit",
          onclick: () => openEditor(user.id),
        })
      )
    );
  }

  async function search(append = false) {
    const query = { q: searchForm.q.value.trim(), role: searchForm.role.value, limit: 50 };
    if (append) query.cursor = nextCursor;
    try {
      const page = await api("GET", "/api/admin/users", { query });
      if (!append) {
        P.clear(tableBody);
        shown.clear();
      }
      for (const user of page.items) {
        shown.set(user.id, user);
        tableBody.append(userRow(user));
      }
      nextCursor = page.next_cursor;
      moreButton.hidden = !page.has_more;
      emptyNote.hidden = shown.size > 0;
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  function refreshRow(user) {
    shown.set(user.id, user);
    const old = tableBody.querySelector(`tr[data-user-id="${user.id}"]`);
    if (old) old.replaceWith(userRow(user));
  }

  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    search(false);
  });
  moreButton.addEventListener("click", () => search(true));

  /* --- add a person ------------------------------------------------------------------------ */
  const createForm = document.getElementById("create-form");
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    P.formError(createForm, null);
    const data = {
      username: createForm.username.value.trim(),
      display_name: createForm.display_name.value.trim() || null,
      role: createForm.role.value,
      password: createForm.password.value,
    };
    if (!data.username) {
      return P.formError(createForm, new P.ApiError(400, { detail: "Enter a username.", field: "username" }));
    }
    if (data.password.length < 8) {
      return P.formError(createForm, new P.ApiError(400, { detail: "The password needs at least 8 characters.", field: "password" }));
    }
    const button = createForm.querySelector("button[type=submit]");
    await P.busy(button, async () => {
      try {
        const user = await api("POST", "/api/admin/users", { json: data });
        createForm.reset();
        P.flash(`Added ${user.username} (${P.roleLabel(user.role).toLowerCase()}).`);
        searchForm.q.value = user.username;
        await search(false);
      } catch (error) {
        P.formError(createForm, error);
      }
    });
  });

  /* --- edit one person ----------------------------------------------------------------------- */
  const dialog = document.getElementById("edit-dialog");
  const editForm = document.getElementById("edit-form");
  const passwordForm = document.getElementById("password-form");
  const toggleButton = document.getElementById("toggle-disabled");
  const endSessionsButton = document.getElementById("end-sessions");
  const editError = document.getElementById("edit-error");
  let editing = null;

  function showEditError(error) {
    editError.textContent = error ? P.describe(error) : "";
    editError.hidden = !error;
  }

  function fillEditor(user) {
    editing = user;
    document.getElementById("edit-title").textContent = `${user.display_name} (${user.username})`;
    editForm.display_name.value = user.display_name;
    editForm.role.value = user.role;
    passwordForm.reset();
    toggleButton.textContent = user.disabled ? "Enable account" : "Disable account";
    toggleButton.className = user.disabled ? "button button-primary" : "button button-danger";
  }

  async function openEditor(userId) {
    try {
      const user = await api("GET", `/api/admin/users/${userId}`);
      showEditError(null);
      fillEditor(user);
      P.openDialog(dialog);
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showEditError(null);
    const changes = {};
    const name = editForm.display_name.value.trim();
    if (!name) return showEditError(new P.ApiError(400, { detail: "Enter the person's name." }));
    if (name !== editing.display_name) changes.display_name = name;
    if (editForm.role.value !== editing.role) changes.role = editForm.role.value;
    if (!Object.keys(changes).length) return dialog.close();
    try {
      const user = await api("PATCH", `/api/admin/users/${editing.id}`, { json: changes });
      refreshRow(user);
      dialog.close();
      P.flash(`Saved changes to ${user.username}.`);
    } catch (error) {
      showEditError(error);
    }
  });

  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showEditError(null);
    const password = passwordForm.password.value;
    if (password.length < 8) return showEditError(new P.ApiError(400, { detail: "The new password needs at least 8 characters." }));
    try {
      await api("POST", `/api/admin/users/${editing.id}/password`, { json: { password } });
      dialog.close();
      P.flash(`New password set for ${editing.username}; they have been logged out everywhere.`);
    } catch (error) {
      showEditError(error);
    }
  });

  toggleButton.addEventListener("click", async () => {
    showEditError(null);
    const disable = !editing.disabled;
    try {
      const user = await api("PATCH", `/api/admin/users/${editing.id}`, { json: { disabled: disable } });
      refreshRow(user);
      fillEditor(user);
      P.flash(disable ? `${user.username} is disabled and logged out everywhere.` : `${user.username} can log in again.`);
    } catch (error) {
      showEditError(error);
    }
  });

  endSessionsButton.addEventListener("click", async () => {
    showEditError(null);
    try {
      const result = await api("POST", `/api/admin/users/${editing.id}/sessions/revoke`);
      dialog.close();
      const count = result.revoked;
      P.flash(`Ended ${count} session${count === 1 ? "" : "s"} of ${editing.username}.`);
    } catch (error) {
      showEditError(error);
    }
  });

  /* --- CSV import ------------------------------------------------------------------------------ */
  const importForm = document.getElementById("import-form");
  const report = document.getElementById("import-report");
  const confirmButton = document.getElementById("import-confirm");
  const cancelButton = document.getElementById("import-cancel");
  let pendingCsv = null;

  function plural(count, word) {
    if (word === "person") return `${count} ${count === 1 ? "person" : "people"}`;
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  /* The server's validation messages name the rule; say it the way an admin would. */
  const FRIENDLY = {
    username: "Usernames are 1–64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.",
    password: "The password needs at least 8 characters.",
    role: "The role must be pupil, teacher or admin.",
    display_name: "The name must be 1–120 characters.",
  };

  function friendly(problem) {
    if (problem.field && FRIENDLY[problem.field] && /^Expected|^Invalid/.test(problem.message)) return FRIENDLY[problem.field];
    const text = problem.message.replace(/ - at `\$[^`]*`$/, "");
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
  }

  function showReport(result) {
    const errorsBody = document.querySelector("#import-errors tbody");
    const created = document.getElementById("import-created");
    P.clear(errorsBody);
    P.clear(created);
    for (const problem of result.errors) {
      errorsBody.append(
        el("tr", {}, el("td", { class: "num" }, problem.line), el("td", {}, problem.field || "—"), el("td", {}, friendly(problem)))
      );
    }
    for (const name of result.created) created.append(el("li", { class: "chip mono" }, name));
    document.getElementById("import-errors-block").hidden = result.errors.length === 0;
    document.getElementById("import-created-block").hidden = result.created.length === 0;
    const heading = document.getElementById("import-heading");
    const summary = document.getElementById("import-summary");
    const skipped = result.errors.length;
    if (result.dry_run) {
      heading.textContent = "Preview: nothing saved yet";
      document.getElementById("import-created-heading").textContent = "People who will be added";
      summary.textContent = `${plural(result.rows, "row")} read: ${plural(result.created.length, "person")} ready to add` +
        (skipped ? `, ${plural(skipped, "row")} with problems will be skipped.` : ", no problems found.");
      confirmButton.textContent = `Import ${plural(result.created.length, "person")}`;
      confirmButton.hidden = result.created.length === 0;
      cancelButton.hidden = false;
    } else {
      heading.textContent = "Import finished";
      document.getElementById("import-created-heading").textContent = "People added";
      summary.textContent = `${plural(result.created.length, "person")} added` +
        (skipped ? `, ${plural(skipped, "row")} skipped because of the problems below.` : ".");
      confirmButton.hidden = true;
      cancelButton.hidden = true;
    }
    summary.className = skipped ? "notice notice-warning" : "notice notice-success";
    report.hidden = false;
    report.focus();
  }

  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    P.formError(importForm, null);
    const file = importForm.file.files[0];
    if (!file) return P.formError(importForm, "Choose a CSV file first.");
    if (file.size > 2 * 1024 * 1024) return P.formError(importForm, "That file is larger than 2 MiB; split it into smaller files.");
    const button = importForm.querySelector("button[type=submit]");
    await P.busy(button, async () => {
      try {
        const text = await file.text();
        const result = await api("POST", "/api/admin/users/import", { body: text, contentType: "text/csv", query: { dry_run: "true" } });
        pendingCsv = text;
        showReport(result);
      } catch (error) {
        report.hidden = true;
        P.formError(importForm, error);
      }
    });
  });

  confirmButton.addEventListener("click", async () => {
    if (pendingCsv === null) return;
    await P.busy(confirmButton, async () => {
      try {
        const result = await api("POST", "/api/admin/users/import", { body: pendingCsv, contentType: "text/csv" });
        pendingCsv = null;
        importForm.reset();
        showReport(result);
        await search(false);
      } catch (error) {
        P.formError(importForm, error);
      }
    });
  });

  cancelButton.addEventListener("click", () => {
    pendingCsv = null;
    report.hidden = true;
    importForm.reset();
    importForm.file.focus();
  });

  search(false);
})();
