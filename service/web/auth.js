// auth.js - who the page is logged in as, and how its requests prove it.
// Today: a token (POST /api/v2/tokens/ with Basic once, then Bearer), kept in
// sessionStorage so that a reload stays logged in; logout revokes it. The
// session login of /api/login/ (cookie + CSRF) replaces the three functions
// below when the API has it; nothing else in the page knows the difference.

const KEY = "runneld_auth";
let current = load();

// The stored credential, or null.
function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { return null; }
}

// True when the page holds a credential (it may have expired: a 401 says so).
export function loggedIn() { return current !== null; }

// Headers that authenticate a request.
export function authHeaders() {
  return current ? { Authorization: "Bearer " + current.token } : {};
}

// Log in; resolves to null, or to an error message.
export async function login(username, password) {
  const basic = "Basic " + btoa(unescape(encodeURIComponent(username + ":" + password)));
  let r;
  try {
    r = await fetch("/api/v2/tokens/", { method: "POST",
      headers: { Authorization: basic, "Content-Type": "application/json" },
      body: JSON.stringify({ description: "runneld web page", scope: "write" }) });
  } catch (e) { return "The server cannot be reached."; }
  if (r.status !== 201) return r.status === 401 ? "Invalid username or password." : "Login failed (" + r.status + ").";
  const tok = await r.json();
  current = { token: tok.token, id: tok.id };
  sessionStorage.setItem(KEY, JSON.stringify(current));
  return null;
}

// Forget the credential here at once, then end it on the server.
export async function logout() {
  const was = current;
  current = null;
  sessionStorage.removeItem(KEY);
  if (!was) return;
  try {
    await fetch("/api/v2/tokens/" + encodeURIComponent(was.id) + "/", { method: "DELETE",
      headers: { Authorization: "Bearer " + was.token } });
  } catch (e) { /* the server is gone: the token stays revocable from the API */ }
}

// Forget the credential without telling the server (it refused it).
export function forget() {
  current = null;
  sessionStorage.removeItem(KEY);
}
