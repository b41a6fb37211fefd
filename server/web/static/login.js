/* Login page: post the form to the API as a web client (the server sets the session cookie). */
(function () {
  "use strict";
  const { api, describe } = window.P16;
  const form = document.getElementById("login-form");
  const errorBox = document.getElementById("login-error");

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      showError("Enter your username and password.");
      (username ? form.password : form.username).focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api("POST", "/api/auth/login", {
        json: { username, password, client: "web" },
        login: true,
      });
      // A non-admin lands on a page that says this console is for admins only.
      location.assign(result.user.role === "admin" ? form.dataset.next : "/admin/");
    } catch (error) {
      if (error.status === 401 || error.status === 400) {
        showError("That username and password do not match. Check them and try again.");
      } else {
        showError(describe(error));
      }
      form.password.value = "";
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
  form.username.focus();
})();
