// auth.js - who the page is logged in as, and how its requests prove it:
// AWX's session login. POST /api/login/ (form fields, the CSRF token of the
// csrftoken cookie in X-CSRFToken) sets the awx_sessionid cookie (HttpOnly:
// no script on the page can read it), which the browser then sends with
// every request of the page, event streams included; requests that change
// something carry the CSRF token. Logout is POST /api/logout/: the server
// ends the session. sessionStorage only remembers that the page believes it
// is logged in (a reload asks the server, and a 401 shows the login form).

const KEY = "runneld_session";

// The value of a cookie readable by the page, or "".
function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

// True when the page believes it holds a session (the server has the last word).
export function loggedIn() { return sessionStorage.getItem(KEY) !== null; }

// Headers a request of method needs beyond the session cookie.
export function authHeaders(method = "GET") {
  return ["GET", "HEAD", "OPTIONS"].includes(method) ? {} : { "X-CSRFToken": cookie("csrftoken") };
}

// Log in; resolves to null, or to an error message.
export async function login(username, password) {
  try {
    await fetch("/api/login/", { credentials: "same-origin" }); // the csrftoken cookie
    const body = new URLSearchParams({ username, password, next: "/api/v2/" });
    const r = await fetch("/api/login/", { method: "POST", body, redirect: "manual", credentials: "same-origin",
      headers: { "X-CSRFToken": cookie("csrftoken") } });
    if (r.status === 401) return "Invalid username or password.";
    if (!(r.type === "opaqueredirect" || r.ok)) return "Login failed (" + r.status + ").";
    const me = await fetch("/api/v2/me/", { credentials: "same-origin" });
    if (!me.ok) return "Login failed (" + me.status + ").";
  } catch (e) { return "The server cannot be reached."; }
  sessionStorage.setItem(KEY, username);
  return null;
}

// Forget the session here at once, then end it on the server.
export async function logout() {
  sessionStorage.removeItem(KEY);
  try {
    await fetch("/api/logout/", { method: "POST", redirect: "manual", credentials: "same-origin",
      headers: { "X-CSRFToken": cookie("csrftoken") } });
  } catch (e) { /* the server is gone: the session ends with its idle expiry */ }
}

// Forget the session without telling the server (it refused it).
export function forget() { sessionStorage.removeItem(KEY); }
