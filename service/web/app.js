// app.js - runneld's web page: log in, then one view per URL (#/jobs,
// #/jobs/42, #/templates/3, #/jobs?status=failed&page=2, ...) that a reload
// or a shared link opens again. Logged out, nothing but the login form is on
// the page: logout ends the credential and empties every view.

import * as auth from "./auth.js";
import { api, setUnauthorized } from "./api.js";
import { closeModal } from "./ui.js";
import { renderJobs } from "./jobs.js";
import { renderJob } from "./job.js";
import { renderWorkflowJob } from "./workflow.js";
import { renderTemplates, renderTemplate } from "./templates.js";
import { renderResourceList, renderResourceForm, RESOURCES } from "./resources.js";

const $ = (id) => document.getElementById(id);
const JOB_KINDS = ["jobs", "project_updates", "inventory_updates", "ad_hoc_commands", "system_jobs"];

let leaving = [];   // what the current view asked to run when it is left
let generation = 0; // bumps on every view change and logout: late answers are dropped

// The current route: path parts and query values of the hash.
function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/jobs";
  const [path, qs] = hash.split("?");
  return { parts: path.split("/").filter(Boolean), query: Object.fromEntries(new URLSearchParams(qs || "")) };
}

// Leave the current view: stop its streams and timers, empty the page.
function leaveView() {
  generation++;
  for (const fn of leaving.splice(0)) { try { fn(); } catch (e) { console.warn(e); } }
  closeModal();
  $("view").textContent = "";
}

// Pick the view for the hash and render it.
async function route() {
  if (!auth.loggedIn()) return showLogin();
  leaveView();
  const gen = generation;
  const r = currentRoute();
  const el = $("view");
  const ctx = { alive: () => gen === generation && auth.loggedIn(), onLeave: (fn) => leaving.push(fn), query: r.query };
  const [top, id, sub] = r.parts;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.nav === top ||
    (a.dataset.nav === "jobs" && (JOB_KINDS.includes(top) || top === "workflow_jobs")));
  try {
    if (top === "jobs" && !id) return await renderJobs(el, ctx);
    if (JOB_KINDS.includes(top) && id) return await renderJob(el, ctx, top, Number(id));
    if (top === "workflow_jobs" && id) return await renderWorkflowJob(el, ctx, Number(id));
    if (top === "templates" && !id) return await renderTemplates(el, ctx);
    if (top === "templates" && id) return await renderTemplate(el, ctx, Number(id));
    if (RESOURCES[top] && !id) return await renderResourceList(el, ctx, top);
    if (RESOURCES[top] && id) return await renderResourceForm(el, ctx, top, id === "new" ? null : Number(id), sub);
    el.append(Object.assign(document.createElement("p"), { textContent: "No such page: " + location.hash }));
  } catch (e) {
    if (!ctx.alive()) return;
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = e.message;
    el.append(p);
  }
}

// Only the login form: every view emptied first.
function showLogin() {
  leaveView();
  $("who").textContent = "";
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("view").hidden = true;
  $("login").hidden = false;
  $("login-form").reset();
  $("username").focus();
}

// Logged in: the menu, who, then the view of the hash.
async function showApp() {
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("view").hidden = false;
  $("nav").hidden = false;
  $("logout").hidden = false;
  try {
    const [me, root] = await Promise.all([api("/api/v2/me/"), api("/api/v2/")]);
    if (auth.loggedIn()) $("who").textContent = me.results[0].username;
    $("nav-teams").hidden = !root.teams; // teams come with RBAC
  } catch (e) { return; }
  await route();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const err = await auth.login(f.username.value, f.password.value);
  f.password.value = "";
  if (err) { $("login-error").textContent = err; return; }
  await showApp();
});

$("logout").addEventListener("click", async () => {
  const ending = auth.logout();
  showLogin();
  await ending;
});

$("modal-close").addEventListener("click", closeModal);
$("modal").addEventListener("click", (ev) => { if (ev.target.id === "modal") closeModal(); });
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeModal(); });
window.addEventListener("hashchange", () => { if (auth.loggedIn()) route(); });
setUnauthorized(showLogin);

if (auth.loggedIn()) showApp(); else showLogin();
