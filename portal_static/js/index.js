// Sign-in. Locally ("make dev") the local issuer signs in by e-mail; in AWS, Cognito's hosted UI.
import { setToken } from "./api.js";
import { el } from "./ui.js";

const content = document.getElementById("content");
const config = await fetch("/config.json").then((r) => r.json()).catch(() => ({ auth: "local" }));

function landing(role) { location.href = role === "admin" ? "/admin.html" : "/status.html"; }

if (config.auth === "cognito") {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("id_token")) {
    setToken(params.get("id_token"));
    history.replaceState(null, "", "/index.html");
    landing(null);
  } else {
    const url = `${config.domain}/login?response_type=token&client_id=${encodeURIComponent(config.clientId)}&redirect_uri=${encodeURIComponent(location.origin + "/index.html")}&scope=openid+email`;
    content.replaceChildren(el("p", {}, el("a", { class: "button", href: url, text: "Sign in" })));
  }
} else {
  const error = el("p", { id: "email-error", class: "field-error", role: "alert" });
  const input = el("input", { id: "email", type: "email", name: "email", autocomplete: "email", required: true, "aria-describedby": "email-error" });
  const form = el("form", { novalidate: true },
    el("p", { class: "muted", text: "Local development sign-in: enter the e-mail of a user (make dev seeds owner@demo.example and admin@demo.example)." }),
    el("label", { for: "email", text: "E-mail" }), input, error,
    el("p", {}, el("button", { type: "submit", text: "Sign in" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!input.value.includes("@")) { error.textContent = "Enter an e-mail address."; input.focus(); return; }
    const response = await fetch("/local-auth/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: input.value }) }).catch(() => null);
    const body = await response?.json().catch(() => null);
    if (!response?.ok) { error.textContent = body?.error?.message || "Cannot reach the server."; input.focus(); return; }
    setToken(body.token);
    landing(body.role);
  });
  content.replaceChildren(form);
  input.focus();
}
