/* Lessons page: the loaded manifest, the errors of a refused reload, and a Reload button. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const manifest = document.getElementById("manifest");
  const errorsCard = document.getElementById("errors-card");
  const errorsList = document.getElementById("errors");
  const noErrors = document.getElementById("no-errors");
  const reloadButton = document.getElementById("reload");

  function render(status) {
    P.clear(manifest);
    const facts = [
      ["Version", status.loaded_version || "none loaded"],
      ["Lessons", status.lesson_count === null || status.lesson_count === undefined ? "—" : String(status.lesson_count)],
      ["Loaded", status.loaded_at ? P.formatTime(status.loaded_at, true) : "—"],
      ["Folder", status.directory || "—"],
    ];
    for (const [term, value] of facts) manifest.append(el("dt", {}, term), el("dd", { class: term === "Folder" || term === "Version" ? "mono" : "" }, value));
    const errors = status.errors || [];
    P.clear(errorsList);
    for (const message of errors) errorsList.append(el("li", {}, el("code", {}, String(message))));
    errorsCard.hidden = errors.length === 0;
    noErrors.hidden = errors.length > 0;
    document.getElementById("errors-when").textContent = status.last_error_at
      ? `Refused at ${P.formatTime(status.last_error_at, true)}. The lessons above are still being served. Fix these and reload.`
      : "The lessons above are still being served. Fix these and reload.";
  }

  async function load() {
    try {
      render(await api("GET", "/api/admin/lessons"));
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  reloadButton.addEventListener("click", async () => {
    await P.busy(reloadButton, async () => {
      try {
        const result = await api("POST", "/api/admin/lessons/reload");
        if (result.errors && result.errors.length) {
          P.flash(`The lesson files have ${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}; the last good lessons are still in use.`, "warning");
        } else if (result.changed) {
          P.flash(`Loaded lessons version ${result.loaded_version}.`);
        } else {
          P.flash("The lessons have not changed since the last load.", "info");
        }
      } catch (error) {
        P.flash(P.describe(error), "error");
      }
    });
    await load();
  });

  const codeForm = document.getElementById("code-execution");
  const saveCode = document.getElementById("save-code-execution");

  async function loadSettings() {
    try {
      const settings = await api("GET", "/api/settings");
      for (const input of codeForm.querySelectorAll("input[name=code_execution]")) {
        input.checked = input.value === settings.code_execution;
      }
    } catch (error) {
      P.flash(P.describe(error), "error");
    }
  }

  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = codeForm.querySelector("input[name=code_execution]:checked");
    if (!chosen) return;
    await P.busy(saveCode, async () => {
      try {
        const settings = await api("PUT", "/api/admin/settings", { json: { code_execution: chosen.value } });
        P.flash(settings.code_execution === "server_only"
          ? "Saved: pupils' code now runs on the server only."
          : "Saved: pupils' code runs on the laptop first.");
      } catch (error) {
        P.formError(codeForm, error);
      }
    });
  });

  load();
  loadSettings();
})();
