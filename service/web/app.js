// app.js - runneld's page: log in (a token from /api/v2/tokens/), list the
// unified jobs, follow one: status, host summaries, live output (polled
// from /stdout/?format=json&start_line=N), cancel.
"use strict";

const state = { token: sessionStorage.getItem("runneld_token"), tokenId: sessionStorage.getItem("runneld_token_id"),
  job: null, line: 0, timer: null, session: 0 };
const $ = (id) => document.getElementById(id);

// Call the API with the token; a 401 sends back to the login form.
async function api(path, options = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
  if (state.token && !headers.Authorization) headers.Authorization = "Bearer " + state.token;
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401) { showLogin(); throw new Error("not logged in"); }
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// Forget the session and clear everything on screen, then show the login form.
function showLogin() {
  clearInterval(state.timer);
  Object.assign(state, { token: null, tokenId: null, job: null, line: 0, timer: null, session: state.session + 1 });
  sessionStorage.removeItem("runneld_token");
  sessionStorage.removeItem("runneld_token_id");
  for (const id of ["jobs-body", "summaries-body", "stdout", "detail-fields", "detail-title", "detail-status",
                    "detail-explanation", "who", "login-error"]) $(id).textContent = "";
  $("detail").hidden = true; $("cancel").hidden = true;
  $("login-form").reset();
  $("login").hidden = false; $("app").hidden = true; $("logout").hidden = true;
}

// Revoke a token on the server (DELETE /api/v2/tokens/N/ with the token itself).
async function revoke(id, token) {
  try {
    await fetch("/api/v2/tokens/" + encodeURIComponent(id) + "/", { method: "DELETE",
      headers: { Authorization: "Bearer " + token } });
  } catch (e) { /* the server is gone: the token stays revocable from the API */ }
}

// Log out: clear the page, then revoke its token on the server.
async function logout() {
  const id = state.tokenId, token = state.token;
  showLogin();
  if (id && token) await revoke(id, token);
}

// Log in with Basic once to get a token.
async function login(ev) {
  ev.preventDefault();
  const f = ev.target;
  const session = state.session;
  const basic = "Basic " + btoa(f.username.value + ":" + f.password.value);
  const r = await fetch("/api/v2/tokens/", { method: "POST", headers: { Authorization: basic, "Content-Type": "application/json" },
    body: JSON.stringify({ description: "runneld web page", scope: "write" }) });
  if (r.status !== 201) { $("login-error").textContent = "Login failed."; return; }
  const tok = await r.json();
  // logged out while the token was on its way: it is revoked, never used
  if (state.session !== session) { await revoke(tok.id, tok.token); return; }
  state.token = tok.token;
  state.tokenId = String(tok.id);
  sessionStorage.setItem("runneld_token", tok.token);
  sessionStorage.setItem("runneld_token_id", String(tok.id));
  f.password.value = "";
  await start();
}

// Text as HTML, with the ANSI colors ansible uses turned into spans.
function ansiToHtml(text) {
  const esc = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const colors = { 31: "red", 32: "green", 33: "yellow", 34: "blue", 35: "magenta", 36: "cyan" };
  let open = false;
  return esc.replace(/\x1b\[([0-9;]*)m/g, (m, codes) => {
    let out = open ? "</span>" : "";
    open = false;
    for (const c of codes.split(";")) {
      const n = parseInt(c, 10) % 60; // 91 bright red -> 31
      if (colors[n]) { out += '<span class="ansi-' + colors[n] + '">'; open = true; break; }
    }
    return out;
  }).replace(/\x1b\[[0-9;]*[A-Za-z]/g, "") + (open ? "</span>" : "");
}

// Fill the jobs table.
async function refreshJobs() {
  const r = await api("/api/v2/unified_jobs/?order_by=-id&page_size=50");
  if (!state.token) return; // logged out meanwhile: show nothing
  const body = $("jobs-body");
  body.textContent = "";
  for (const j of r.json.results) {
    const tr = document.createElement("tr");
    if (state.job && state.job.id === j.id) tr.className = "selected";
    for (const v of [j.id, j.type, j.name, j.status, j.started || "", j.elapsed ? j.elapsed.toFixed(1) + " s" : ""]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tr.children[3].className = "status status-" + j.status;
    tr.onclick = () => openJob(j);
    body.appendChild(tr);
  }
}

// The API path of a unified job.
function jobUrl(j) { return j.url; }

// Show a job and start following it.
function openJob(j) {
  state.job = j; state.line = 0;
  $("stdout").textContent = "";
  $("detail").hidden = false;
  $("detail-title").textContent = j.type + " " + j.id + ": " + j.name;
  followJob();
}

// One round of following: detail, new output, host summaries.
async function followJob() {
  const j = state.job;
  if (!j) return;
  const d = (await api(jobUrl(j))).json;
  if (state.job !== j) return; // logged out or another job opened meanwhile
  $("detail-status").textContent = d.status;
  $("detail-status").className = "status status-" + d.status;
  $("cancel").hidden = !d.can_cancel;
  $("detail-explanation").textContent = d.job_explanation || "";
  const dl = $("detail-fields");
  dl.textContent = "";
  for (const k of ["launch_type", "playbook", "module_name", "limit", "started", "finished", "elapsed", "job_cwd", "failed", "event_processing_finished"]) {
    if (d[k] === undefined || d[k] === "" || d[k] === null) continue;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(d[k]);
    dl.append(dt, dd);
  }
  const out = (await api(jobUrl(j) + "stdout/?format=json&start_line=" + state.line)).json;
  if (state.job !== j) return;
  if (out && out.content) {
    const pre = $("stdout");
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 5;
    pre.insertAdjacentHTML("beforeend", ansiToHtml(out.content));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }
  if (out) state.line = out.range.end;
  if (d.related && d.related.job_host_summaries) {
    const hs = (await api(d.related.job_host_summaries + "?page_size=200")).json;
    if (state.job !== j) return;
    const body = $("summaries-body");
    body.textContent = "";
    for (const h of hs.results) {
      const tr = document.createElement("tr");
      for (const v of [h.host_name, h.ok, h.changed, h.failures, h.dark, h.skipped, h.rescued, h.ignored]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  } else {
    $("summaries-body").textContent = "";
  }
  const done = !["new", "pending", "waiting", "running"].includes(d.status) && d.event_processing_finished;
  if (!done && state.job === j) setTimeout(followJob, 1000);
}

// Cancel the job shown.
async function cancelJob() {
  if (!state.job) return;
  await api(jobUrl(state.job) + "cancel/", { method: "POST", body: "{}" });
}

// Start the page once logged in. A logout while an answer is on its way
// leaves the page as logout left it.
async function start() {
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  const token = state.token;
  try {
    const me = (await api("/api/v2/me/")).json.results[0];
    if (state.token !== token) return;
    $("who").textContent = me.username;
    await refreshJobs();
  } catch (e) { return; }
  if (state.token !== token) return;
  clearInterval(state.timer);
  state.timer = setInterval(() => refreshJobs().catch(() => {}), 2000);
}

$("login-form").addEventListener("submit", login);
$("cancel").addEventListener("click", cancelJob);
$("logout").addEventListener("click", logout);
if (state.token && state.tokenId) start(); else showLogin();
