// Sign-in: the authorization code flow with PKCE, `state` and `nonce` checked. In AWS the
// authorization server is Cognito's hosted UI; in `make dev` the local issuer serves the same
// flow (devstack/local_auth.py). A token in the URL fragment (the implicit flow) is ignored.
import { api, setToken } from "./api.js";
import { el } from "./ui.js";

const content = document.getElementById("content");
const FLOW = "wafleet.signin";
const config = await fetch("/config.json").then((r) => r.json()).catch(() => null);

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}/index.html`;

async function start() {
  const flow = { state: random(), nonce: random(), verifier: random() };
  sessionStorage.setItem(FLOW, JSON.stringify(flow));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(flow.verifier)));
  const query = new URLSearchParams({
    response_type: "code", client_id: config.clientId, redirect_uri: redirectUri(),
    scope: "openid email", state: flow.state, nonce: flow.nonce,
    code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${config.authorizeUrl}?${query}`);
}

function claims(idToken) {
  const part = idToken.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}

async function finish(params) {
  const flow = JSON.parse(sessionStorage.getItem(FLOW) || "null");
  sessionStorage.removeItem(FLOW);
  history.replaceState(null, "", "/index.html");  // the code is single-use: drop it from the URL
  if (!flow || params.get("state") !== flow.state) throw new Error("This sign-in link was not started here. Sign in again.");
  const response = await fetch(config.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), client_id: config.clientId,
      redirect_uri: redirectUri(), code_verifier: flow.verifier,
    }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body?.id_token) throw new Error("Sign-in failed. Please try again.");
  if (claims(body.id_token).nonce !== flow.nonce) throw new Error("Sign-in failed (nonce). Please try again.");
  setToken(body.id_token);
  const me = await api("/portal/me");
  location.href = me.role === "admin" ? "/admin.html" : "/status.html";
}

function offerSignIn(message) {
  content.replaceChildren(
    message ? el("p", { class: "field-error", role: "alert", text: message }) : "",
    el("p", { class: "muted", text: config?.auth === "local"
      ? "Local development: make dev seeds owner@demo.example and admin@demo.example."
      : "Sign in with your wafleet account." }),
    el("p", {}, el("button", { type: "button", id: "sign-in", text: "Sign in", onclick: () => start() })));
}

const params = new URLSearchParams(location.search);
if (!config?.authorizeUrl) {
  content.replaceChildren(el("p", { class: "field-error", text: "Sign-in is not configured." }));
} else if (params.get("code")) {
  finish(params).catch((error) => offerSignIn(error.message));
} else {
  offerSignIn(params.get("error_description") || params.get("error") || "");
}
