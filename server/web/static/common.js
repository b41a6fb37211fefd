/* Post16 Lessons admin console: what every page shares.
   The API helper (cookie session + X-CSRF-Token), safe DOM building (text only, never HTML strings),
   messages, dates, dialogs, the phone menu and logging out. Exposed as window.P16. */
(function () {
  "use strict";

  const TIME = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });
  const TIME_SECONDS = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium" });
  const NUMBER = new Intl.NumberFormat("en-GB");

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || "The request failed.");
      this.status = status;
      this.code = body && body.code;
      this.field = body && body.field;
      this.requestId = body && body.request_id;
      this.retryAfter = body && body.retry_after;
    }
  }

  function goToLogin() {
    const next = encodeURIComponent(location.pathname).replace(/%2F/g, "/");
    location.assign(`/admin/login?next=${next}&ended=1`);
  }

  /* fetch() against our API. Options: json (object body), body + contentType (raw body), query
     (object of parameters, empty ones dropped), login (do not redirect on 401). */
  async function api(method, path, options = {}) {
    const headers = { Accept: "application/json" };
    let body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers["Content-Type"] = options.contentType || "text/plain";
      body = options.body;
    }
    if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
    let url = path;
    if (options.query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(options.query)) {
        if (value !== undefined && value !== null && value !== "") params.set(key, value);
      }
      const text = params.toString();
      if (text) url += (url.includes("?") ? "&" : "?") + text;
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body, credentials: "same-origin", cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, { detail: "The server could not be reached. Check the network connection and try again." });
    }
    if (response.status === 401 && !options.login) {
      goToLogin();
      throw new ApiError(401, { detail: "Your session has ended. Please log in again." });
    }
    if (!response.ok) {
      let payload = null;
      try {
        payload = await response.json();
      } catch (error) {
        payload = null;
      }
      if (!payload || typeof payload.detail !== "string") {
        payload = { detail: `The server answered with an error (${response.status}). Please try again.` };
      }
      throw new ApiError(response.status, payload);
    }
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /* A message fit for people: the API's own explanation, with the request id for IT on a server fault. */
  function describe(error) {
    if (!(error instanceof ApiError)) return "Something went wrong in this page. Reload it and try again.";
    let text = error.message.charAt(0).toUpperCase() + error.message.slice(1);
    if (!/[.!?]$/.test(text)) text += ".";
    if (error.status === 429 && error.retryAfter) text += ` Try again in ${error.retryAfter} seconds.`;
    if (error.status >= 500 && error.requestId) text += ` (Request id ${error.requestId}.)`;
    return text;
  }

  /* el("td", {class: "num", dataset: {id: 3}}, "text", childNode, ...) — text children are never parsed as HTML. */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  let flashTimer = null;
  /* A short message at the top of the page (announced to screen readers). */
  function flash(message, kind = "success") {
    const region = document.getElementById("flash");
    if (!region) return;
    clear(region);
    region.append(el("p", { class: `notice notice-${kind}` }, message));
    clearTimeout(flashTimer);
    if (kind === "success") flashTimer = setTimeout(() => clear(region), 8000);
  }

  /* Show an API error on a form: the message in its .form-error, the named field marked invalid. */
  function formError(form, error) {
    const box = form.querySelector(".form-error") || form.parentElement.querySelector(".form-error");
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (!error) {
      if (box) {
        box.hidden = true;
        box.textContent = "";
      }
      return;
    }
    const message = typeof error === "string" ? error : describe(error);
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      flash(message, "error");
    }
    const field = error && error.field && form.querySelector(`[name="${CSS.escape(error.field)}"]`);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  async function busy(button, work) {
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }
  }

  function formatTime(value, seconds = false) {
    if (!value) return "—";
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return (seconds ? TIME_SECONDS : TIME).format(date);
  }

  function timeElement(value, seconds = false) {
    return el("time", { datetime: value }, formatTime(value, seconds));
  }

  function ago(value) {
    const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return formatTime(value);
  }

  function formatNumber(value) {
    return NUMBER.format(value);
  }

  function roleLabel(role) {
    return { pupil: "Pupil", teacher: "Teacher", admin: "Admin" }[role] || role;
  }

  function badge(text, kind) {
    return el("span", { class: `badge badge-${kind}` }, text);
  }

  /* Dialogs: buttons marked data-close close them; focus goes back where it was. */
  function openDialog(dialog) {
    const opener = document.activeElement;
    dialog.addEventListener("close", () => opener && opener.focus && opener.focus(), { once: true });
    dialog.showModal();
  }

  function setUpDialogs() {
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close());
    }
  }

  function setUpMenu() {
    const toggle = document.getElementById("nav-toggle");
    const nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    document.body.classList.add("has-menu-toggle");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }

  function setUpLogout() {
    const button = document.getElementById("logout");
    if (!button) return;
    button.addEventListener("click", async () => {
      try {
        await api("POST", "/api/auth/logout", { login: true });
      } catch (error) {
        /* already logged out, or the server is away: the login page is the right place either way */
      }
      location.assign("/admin/login");
    });
  }

  /* Phone widths show each table row as a card: every cell carries its column's heading. */
  function labelCells(table) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, index) => {
        if (headings[index] && !cell.dataset.label) cell.dataset.label = headings[index];
      });
    }
  }

  function setUpTables() {
    for (const table of document.querySelectorAll("table.data")) {
      const body = table.querySelector("tbody");
      if (!body) continue;
      labelCells(table);
      new MutationObserver(() => labelCells(table)).observe(body, { childList: true });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpTables();
    setUpMenu();
    setUpLogout();
    setUpDialogs();
  });

  window.P16 = {
    ApiError,
    api,
    ago,
    badge,
    busy,
    clear,
    describe,
    el,
    flash,
    formError,
    formatNumber,
    formatTime,
    openDialog,
    roleLabel,
    timeElement,
  };
})();
