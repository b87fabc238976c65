"""The web page in a real browser (headless Chromium through selenium),
against a real runneld running real playbooks: log in, launch a template
with its prompts, watch live output, filter by host, open an event, cancel,
relaunch failed hosts, download stdout, the lists and forms, log out (nothing
left on screen, the session refused). Screenshots of each main page go to
build/screenshots/; any error in the browser's console fails the test.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from runneld_harness import PASSWORD, REPO_ROOT, RUNNELD, wait_for
from web_harness import start_web_world

selenium = pytest.importorskip("selenium", reason="python3-selenium is not installed")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("RUNNEL_SCREENSHOTS", REPO_ROOT / "build" / "screenshots"))

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(not os.path.exists(CHROMEDRIVER), reason="chromium-driver is not installed"),
]


def new_browser(download_dir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                           "download.prompt_for_download": False})
    b = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    b.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    b.set_page_load_timeout(60)
    return b


@pytest.fixture(scope="module")
def site():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-web-browser-"))
    d, w = start_web_world(tmp)
    downloads = tmp / "downloads"
    downloads.mkdir()
    b = None
    try:
        b = new_browser(downloads)
        w.update(b=b, downloads=downloads, base=d.url("/"))
        yield w
    finally:
        if b:
            b.quit()
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_console_errors(site):
    site["b"].get_log("browser")  # drop what came before this test
    yield
    errors = [e for e in site["b"].get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, "browser console errors: %s" % errors


def shot(b, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    b.save_screenshot(str(SHOTS / ("%s.png" % name)))


def wait(b, fn, timeout=30, what="condition"):
    return WebDriverWait(b, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _: fn(), message=what)


def css(b, sel):
    return b.find_elements(By.CSS_SELECTOR, sel)


def visible_text(b, sel):
    """The rendered text of what matches sel (read in one go: rows are redrawn)."""
    return b.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText).join('\\n')", sel)


def goto(site, hash_):
    b = site["b"]
    b.get(site["base"] + hash_)
    ensure_logged_in(site)
    if not b.current_url.endswith(hash_):
        b.execute_script("location.hash = arguments[0]", hash_)


def ensure_logged_in(site):
    b = site["b"]
    wait(b, lambda: css(b, "#login:not([hidden])") or css(b, "#nav:not([hidden])"), what="page up")
    if css(b, "#login:not([hidden])"):
        b.find_element(By.ID, "username").send_keys("admin")
        b.find_element(By.ID, "password").send_keys(PASSWORD)
        b.find_element(By.ID, "login-submit").click()
        wait(b, lambda: css(b, "#nav:not([hidden])"), what="logged in")


def choose(b, ident, value=None, text=None):
    """Select an option of the select #ident once it is on the page (views redraw)."""
    def pick():
        e = css(b, "#" + ident)
        if not e:
            return False
        s = Select(e[0])
        if text is not None:
            s.select_by_visible_text(text)
        else:
            s.select_by_value(value)
        return True
    wait(b, pick, what="#" + ident)


def output_lines(b):
    return b.execute_script("return [...document.querySelectorAll('#output .line')].map((e) => e.innerText)")


def job_id_from_url(b):
    return int(b.current_url.rsplit("/", 1)[1])


def wait_status(b, statuses, timeout=120):
    def st():
        e = css(b, "#job-status .status")
        return e and e[0].get_attribute("data-status") in statuses and e[0].get_attribute("data-status")
    return wait(b, st, timeout=timeout, what="job status in %s" % (statuses,))


# --------------------------------------------------------------------------

def test_logged_out_page_is_only_the_login_form(site):
    b = site["b"]
    b.get(site["base"] + "#/jobs")
    wait(b, lambda: css(b, "#login:not([hidden])"), what="login form")
    assert css(b, "#view[hidden]") and css(b, "#nav[hidden]") and css(b, "#logout[hidden]")
    assert b.find_element(By.ID, "view").get_attribute("textContent") == ""
    b.find_element(By.ID, "username").send_keys("admin")
    b.find_element(By.ID, "password").send_keys("wrong-password")
    b.find_element(By.ID, "login-submit").click()
    wait(b, lambda: "Invalid" in b.find_element(By.ID, "login-error").text, what="login refused")
    b.get_log("browser")  # the refused login's 401 is expected here
    shot(b, "login")
    b.find_element(By.ID, "password").clear()
    b.find_element(By.ID, "username").clear()
    ensure_logged_in(site)
    # the deep link asked for before the login is the page shown after it
    wait(b, lambda: css(b, "#jobs-table table"), what="jobs list")
    assert b.find_element(By.ID, "who").text == "admin"


def test_launch_with_prompts_and_watch_live_output(site):
    b, d = site["b"], site["d"]
    goto(site, "#/templates?search=Live")
    wait(b, lambda: css(b, "tr.template-row"), what="template list")
    rows = css(b, "tr.template-row")
    assert len(rows) == 1 and "Live" in rows[0].text
    shot(b, "templates")
    rows[0].find_element(By.CSS_SELECTOR, "button.launch").click()
    wait(b, lambda: css(b, "#launch-form"), what="the launch form (prompts)")
    assert b.current_url.endswith("#/templates/%d" % site["jt_live"]["id"])
    ev = b.find_element(By.ID, "f-extra_vars")
    ev.clear()
    ev.send_keys(json.dumps({"greeting": "from-the-browser", "pause": 4}))
    b.find_element(By.ID, "f-limit").send_keys("localhost,failhost")
    shot(b, "template-launch")
    b.find_element(By.CSS_SELECTOR, "#launch-form button[type=submit]").click()
    wait(b, lambda: "#/jobs/" in b.current_url, what="the job page")
    job_id = job_id_from_url(b)
    site["live_job"] = job_id
    job = d.get("/api/v2/jobs/%d/" % job_id)
    assert json.loads(job["extra_vars"])["greeting"] == "from-the-browser"
    assert job["limit"] == "localhost,failhost"

    # watch for LIVE-SECOND: when the browser draws it vs. when the API first has it
    b.execute_script("""
        window.__seen = null;
        const o = document.getElementById('output');
        new MutationObserver(() => {
          if (!window.__seen && o.textContent.includes('LIVE-SECOND')) window.__seen = Date.now();
        }).observe(o, {subtree: true, childList: true, characterData: true});""")
    stored = {}

    def poll_api():
        end = time.time() + 120
        while time.time() < end and "t" not in stored:
            r = d.req("GET", "/api/v2/jobs/%d/job_events/?stdout__contains=LIVE-SECOND&page_size=1" % job_id)
            if r.status_code == 200 and r.json()["count"]:
                stored["t"] = time.time()
            time.sleep(0.05)
    t = threading.Thread(target=poll_api)
    t.start()
    wait(b, lambda: "LIVE-FIRST localhost from-the-browser" in visible_text(b, "#output"), timeout=120,
         what="the first mark in the live output")
    wait(b, lambda: css(b, "#job-status .status[data-status=running]"), what="running")
    e1 = b.find_element(By.ID, "job-elapsed").text
    time.sleep(1.5)
    assert b.find_element(By.ID, "job-elapsed").text != e1, "elapsed does not tick"
    # while running: Cancel, no Relaunch; the live host bar has both hosts
    assert css(b, "#job-cancel:not([hidden])") and css(b, "#job-relaunch[hidden]")
    wait(b, lambda: css(b, "#host-status .bar .seg"), what="the live host bar")
    shot(b, "job-running")
    t.join()
    wait(b, lambda: b.execute_script("return window.__seen"), timeout=30, what="LIVE-SECOND drawn")
    lag = b.execute_script("return window.__seen") / 1000.0 - stored["t"]
    print("live lag: %.3f s (browser drew it after the API had it)" % lag)
    assert lag < 1.0, "LIVE-SECOND drawn %.2f s after it was stored" % lag
    assert wait_status(b, ("failed",)) == "failed"
    # the host status bar, final: localhost changed (its command task), failhost failed
    wait(b, lambda: css(b, "#host-status .legend-failed[data-count='1']") and css(b, "#host-status .legend-changed[data-count='1']"),
         what="host status bar")
    assert not css(b, "#host-status .legend-ok")
    details = visible_text(b, "#job-details")
    for want in ("Live", "WebInv", "WebProj", "admin", "live.yml"):
        assert want in details, (want, details)
    rev = d.get("/api/v2/jobs/%d/" % job_id)["scm_revision"]
    assert rev[:12] in details
    # ANSI colours came through as classes, not escape codes
    assert css(b, "#output .ansi-green-fg") and "\x1b" not in visible_text(b, "#output")
    shot(b, "job-finished")


def test_filter_output_by_host_and_open_an_event(site):
    b = site["b"]
    goto(site, "#/jobs/%d" % site["live_job"])
    wait(b, lambda: "LIVE-SECOND failhost" in visible_text(b, "#output"), what="output")
    wait(b, lambda: len(css(b, "#filter-host option")) >= 3, what="hosts in the filter")
    choose(b, "filter-host", value="failhost")
    wait(b, lambda: "[failhost]" in visible_text(b, "#output") and "[localhost]" not in visible_text(b, "#output"),
         what="only failhost's lines")
    text = visible_text(b, "#output")
    assert "LIVE-FIRST failhost" in text and "LIVE-FIRST localhost" not in text
    choose(b, "filter-status", value="failed")
    wait(b, lambda: "boom" in visible_text(b, "#output") and "LIVE-FIRST" not in visible_text(b, "#output"),
         what="failhost's failures")
    shot(b, "job-filtered")
    # a click on a line: its event's JSON
    counter = b.execute_script("""
        const row = [...document.querySelectorAll('#output .line')].find((r) => r.innerText.includes('failhost'));
        row.click();
        return Number(row.dataset.counter);""")
    wait(b, lambda: css(b, "#modal:not([hidden]) #event-json"), what="the event")
    ev = json.loads(b.find_element(By.ID, "event-json").text)
    assert ev["counter"] == counter and ev["host_name"] == "failhost" and ev["event"] == "runner_on_failed"
    assert "event_data" in ev
    shot(b, "event-json")
    b.find_element(By.ID, "modal-close").click()
    assert css(b, "#modal[hidden]")
    choose(b, "filter-status", value="")
    choose(b, "filter-host", value="")
    wait(b, lambda: "LIVE-FIRST localhost" in visible_text(b, "#output"), what="everything again")


def test_download_stdout(site):
    b, d = site["b"], site["d"]
    job_id = site["live_job"]
    goto(site, "#/jobs/%d" % job_id)
    wait(b, lambda: css(b, "#job-status .status[data-status=failed]"), what="the job")
    b.find_element(By.ID, "job-download").click()
    f = site["downloads"] / ("job_%d.txt" % job_id)
    wait(b, lambda: f.exists() and f.stat().st_size > 0, what="the downloaded file")
    want = requests.get(d.url("/api/v2/jobs/%d/stdout/?format=txt" % job_id), auth=d.session.auth, timeout=30).content
    wait(b, lambda: f.read_bytes() == want, timeout=10, what="the whole stdout")
    assert b"LIVE-SECOND failhost" in want and b"\x1b" not in want


def test_relaunch_failed_hosts(site):
    b, d = site["b"], site["d"]
    goto(site, "#/jobs/%d" % site["live_job"])
    wait(b, lambda: css(b, "#job-relaunch-failed:not([hidden])"), what="relaunch")
    b.find_element(By.ID, "job-relaunch-failed").click()
    wait(b, lambda: "#/jobs/" in b.current_url and job_id_from_url(b) != site["live_job"], what="the new job")
    new_id = job_id_from_url(b)
    job = d.get("/api/v2/jobs/%d/" % new_id)
    assert job["launch_type"] == "relaunch" and job["limit"] == "failhost", job
    wait_status(b, ("failed", "successful"))
    wait(b, lambda: "LIVE-SECOND failhost" in visible_text(b, "#output"), what="its output")
    assert "localhost" not in visible_text(b, "#output")


def test_cancel_a_running_job(site):
    b, d = site["b"], site["d"]
    goto(site, "#/templates?search=Sleep")
    wait(b, lambda: css(b, "tr.template-row button.launch"), what="Sleep")
    css(b, "tr.template-row button.launch")[0].click()  # no prompts: launched at once
    wait(b, lambda: "#/jobs/" in b.current_url, what="the job page")
    job_id = job_id_from_url(b)
    wait(b, lambda: "SLEEP-START" in visible_text(b, "#output"), timeout=120, what="the job running")
    wait(b, lambda: css(b, "#job-cancel:not([hidden])"), what="Cancel")
    b.find_element(By.ID, "job-cancel").click()
    assert wait_status(b, ("canceled",), timeout=60) == "canceled"
    assert d.get("/api/v2/jobs/%d/" % job_id)["status"] == "canceled"
    assert css(b, "#job-cancel[hidden]")


def test_jobs_list_filter_sort_page_and_reload(site):
    b = site["b"]
    goto(site, "#/jobs?status=failed")
    wait(b, lambda: css(b, "tr.job-row"), what="failed jobs")
    statuses = {r.get_attribute("data-status") for r in css(b, "tr.job-row")}
    assert statuses == {"failed"}, statuses
    b.refresh()
    wait(b, lambda: css(b, "tr.job-row") and css(b, "#jobs-status"), what="the same list after a reload")
    assert Select(b.find_element(By.ID, "jobs-status")).first_selected_option.get_attribute("value") == "failed"
    assert {r.get_attribute("data-status") for r in css(b, "tr.job-row")} == {"failed"}
    goto(site, "#/jobs")
    wait(b, lambda: css(b, "tr.job-row") and css(b, "#jobs-template"), what="all jobs")
    choose(b, "jobs-template", text="Sleep")
    sleep_only = lambda: ("template=%d" % site["jt_sleep"]["id"]) in b.current_url and \
        b.execute_script("const r = [...document.querySelectorAll('tr.job-row')];"
                         "return r.length > 0 && r.every((x) => x.innerText.includes('Sleep'))")
    wait(b, sleep_only, what="only Sleep's jobs")
    goto(site, "#/jobs?order_by=id")
    wait(b, lambda: css(b, "tr.job-row") and css(b, "#jobs-sort"), what="sorted")
    assert Select(b.find_element(By.ID, "jobs-sort")).first_selected_option.get_attribute("value") == "id"
    ids = b.execute_script("return [...document.querySelectorAll('tr.job-row')].map((r) => Number(r.dataset.id))")
    assert ids == sorted(ids) and len(ids) >= 4
    shot(b, "jobs")
    # a job page survives a reload
    goto(site, "#/jobs/%d" % site["live_job"])
    wait(b, lambda: css(b, "#job-title"), what="job")
    title = b.find_element(By.ID, "job-title").text
    b.refresh()
    wait(b, lambda: css(b, "#job-title") and b.find_element(By.ID, "job-title").text == title, what="same job")


def test_lists_and_forms(site):
    b, d = site["b"], site["d"]
    goto(site, "#/hosts/new")
    wait(b, lambda: css(b, "#f-name"), what="host form")
    b.find_element(By.ID, "f-name").send_keys("web-made-host")
    choose(b, "f-inventory", text="WebInv")
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/hosts") and "web-made-host" in visible_text(b, "table.list"), what="created")
    assert d.get("/api/v2/hosts/?name=web-made-host")["count"] == 1
    shot(b, "hosts")
    # a field error from the API shows beside its field
    goto(site, "#/hosts/new")
    wait(b, lambda: css(b, "#f-name"), what="host form")
    b.find_element(By.ID, "f-name").send_keys("web-made-host")
    choose(b, "f-inventory", text="WebInv")
    b.find_element(By.ID, "f-variables").send_keys("{not: [valid")
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: any(e.text for e in css(b, ".field-error, .form-error")), what="the API's error")
    b.get_log("browser")  # the 400 is the point here
    # delete from the list
    goto(site, "#/hosts?search=web-made")
    wait(b, lambda: css(b, "tr.resource-row button.delete"), what="the row")
    css(b, "tr.resource-row button.delete")[0].click()
    b.switch_to.alert.accept()
    wait(b, lambda: d.get("/api/v2/hosts/?name=web-made-host")["count"] == 0, what="deleted")
    # a credential with a secret: the page never holds it
    secret = "web-SECRET-pw-31337"
    goto(site, "#/credentials/new")
    wait(b, lambda: css(b, "#f-credential_type"), what="credential form")
    b.find_element(By.ID, "f-name").send_keys("web-cred")
    Select(b.find_element(By.ID, "f-credential_type")).select_by_visible_text("Machine")
    wait(b, lambda: css(b, "#f-input_password"), what="the Machine inputs")
    b.find_element(By.ID, "f-input_username").send_keys("deploy")
    b.find_element(By.ID, "f-input_password").send_keys(secret)
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/credentials") and "web-cred" in visible_text(b, "table.list"), what="created")
    cred = d.get("/api/v2/credentials/?name=web-cred")["results"][0]
    goto(site, "#/credentials/%d" % cred["id"])
    wait(b, lambda: css(b, "#f-input_password"), what="edit form")
    assert b.find_element(By.ID, "f-input_password").get_attribute("value") == "$encrypted$"
    assert secret not in b.page_source
    # saved untouched: the stored secret is kept
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/credentials"), what="saved")
    shot(b, "credentials")
    # projects: update, and its output
    goto(site, "#/projects")
    wait(b, lambda: css(b, "button.project-update"), what="projects")
    shot(b, "projects")
    css(b, "button.project-update")[0].click()
    wait(b, lambda: "#/project_updates/" in b.current_url, what="the update's page")
    assert wait_status(b, ("successful",), timeout=120) == "successful"
    wait(b, lambda: "PLAY RECAP" in visible_text(b, "#output") or len(output_lines(b)) > 3, what="its output")
    goto(site, "#/inventories")
    wait(b, lambda: "WebInv" in visible_text(b, "table.list"), what="inventories")
    shot(b, "inventories")


def test_launch_a_template_with_a_survey(site):
    """The launch form shows the survey's questions (typed inputs, required
    marks, choices), places the server's refusal under the question, and the
    answers reach the playbook."""
    b, d = site["b"], site["d"]
    jt = d.create("job_templates", name="Asked", playbook="live.yml", limit="localhost",
                  project=site["project"]["id"], inventory=site["inv"]["id"], survey_enabled=True)
    spec = {"name": "s", "description": "", "spec": [
        {"question_name": "Greeting", "variable": "greeting", "type": "text", "required": True, "min": 3, "max": 40},
        {"question_name": "Pause", "variable": "pause", "type": "integer", "required": False, "min": 0, "max": 3,
         "default": 1},
        {"question_name": "Colour", "variable": "colour", "type": "multiplechoice", "required": True,
         "choices": "red\ngreen", "default": "green"},
        {"question_name": "Sizes", "variable": "sizes", "type": "multiselect", "required": False,
         "choices": ["s", "m", "l"], "default": "m\nl"},
        {"question_name": "Token", "variable": "token", "type": "password", "required": False,
         "default": "web-default-token"},
    ]}
    assert d.req("POST", "/api/v2/job_templates/%d/survey_spec/" % jt["id"], json=spec).status_code == 200
    goto(site, "#/templates?search=Asked")
    wait(b, lambda: css(b, "tr.template-row button.launch"), what="the Asked template")
    css(b, "tr.template-row button.launch")[0].click()
    wait(b, lambda: css(b, "#launch-form #f-survey_greeting"), what="the survey form")
    assert b.current_url.endswith("#/templates/%d" % jt["id"])
    labels = {e.get_attribute("for"): e.text for e in css(b, "#launch-form label")}
    assert labels["f-survey_greeting"] == "Greeting *" and labels["f-survey_pause"] == "Pause"
    assert b.find_element(By.ID, "f-survey_pause").get_attribute("type") == "number"
    assert b.find_element(By.ID, "f-survey_pause").get_attribute("value") == "1"
    assert b.find_element(By.ID, "f-survey_token").get_attribute("type") == "password"
    colour = Select(b.find_element(By.ID, "f-survey_colour"))
    assert [o.text for o in colour.options] == ["red", "green"]
    assert colour.first_selected_option.text == "green"
    sizes = Select(b.find_element(By.ID, "f-survey_sizes"))
    assert sizes.is_multiple and [o.text for o in sizes.all_selected_options] == ["m", "l"]
    # too short: the server's message under the question, no job
    before = d.get("/api/v2/job_templates/%d/jobs/" % jt["id"])["count"]
    b.find_element(By.ID, "f-survey_greeting").send_keys("hi")
    b.find_element(By.CSS_SELECTOR, "#launch-form button[type=submit]").click()
    wait(b, lambda: "too small" in visible_text(b, "#launch-form .field-error"), what="the refusal")
    assert d.get("/api/v2/job_templates/%d/jobs/" % jt["id"])["count"] == before
    b.get_log("browser")  # the refusal's 400 is the point here
    g = b.find_element(By.ID, "f-survey_greeting")
    g.clear()
    g.send_keys("from-the-survey")
    colour.select_by_visible_text("red")
    shot(b, "template-survey")
    b.find_element(By.CSS_SELECTOR, "#launch-form button[type=submit]").click()
    wait(b, lambda: "#/jobs/" in b.current_url, what="the job page")
    job_id = job_id_from_url(b)
    wait(b, lambda: "LIVE-FIRST localhost from-the-survey" in visible_text(b, "#output"), timeout=120,
         what="the answer in the job's output")
    job = d.get("/api/v2/jobs/%d/" % job_id)
    ev = json.loads(job["extra_vars"])
    assert ev["greeting"] == "from-the-survey" and ev["pause"] == 1 and ev["colour"] == "red"
    assert ev["sizes"] == ["m", "l"] and ev["token"] == "$encrypted$"
    wait_status(b, ("successful",))


def test_logout_leaves_nothing_and_ends_the_session(site):
    b, d = site["b"], site["d"]
    goto(site, "#/jobs/%d" % site["live_job"])
    wait(b, lambda: "LIVE-FIRST" in visible_text(b, "#output"), what="a job on screen")
    # the session cookie (HttpOnly: the page's scripts cannot read it, the browser sends it)
    cookies = {c["name"]: c for c in b.get_cookies()}
    assert cookies["awx_sessionid"]["httpOnly"]
    assert "awx_sessionid" not in b.execute_script("return document.cookie")
    hdr = {"Cookie": "awx_sessionid=%s" % cookies["awx_sessionid"]["value"]}
    assert requests.get(d.url("/api/v2/me/"), headers=hdr, timeout=10).status_code == 200
    b.find_element(By.ID, "logout").click()
    wait(b, lambda: css(b, "#login:not([hidden])"), what="the login form")
    assert b.find_element(By.ID, "view").get_attribute("textContent") == ""
    assert b.find_element(By.ID, "who").text == ""
    assert css(b, "#nav[hidden]") and css(b, "#modal[hidden]")
    body = b.find_element(By.TAG_NAME, "body").text
    assert "LIVE" not in body and "WebInv" not in body and "admin" not in body
    assert b.execute_script("return sessionStorage.length") == 0
    wait_for(lambda: requests.get(d.url("/api/v2/me/"), headers=hdr, timeout=10).status_code == 401,
             timeout=10, what="the session refused")
    r = requests.get(d.url("/api/v2/jobs/%d/events/stream/" % site["live_job"]), headers=hdr, timeout=10)
    assert r.status_code == 401
    # a reload still shows only the login form
    b.refresh()
    wait(b, lambda: css(b, "#login:not([hidden])"), what="login after reload")
    assert b.find_element(By.ID, "view").get_attribute("textContent") == ""
    shot(b, "logged-out")


# ---------------------------------------------------------------- webperf

def _iso_seconds(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# The target (issue 14): a line the playbook prints is on screen within 1 s of
# the event's created time (the runner's clock, when it emitted it). The bound
# asserted is the target times RUNNEL_LAG_FACTOR (default 2: the suite shares
# a loaded machine); the figure is printed.
LAG_FACTOR = float(os.environ.get("RUNNEL_LAG_FACTOR", "2"))


def test_a_printed_line_is_drawn_within_1s_of_its_event(site):
    b, d = site["b"], site["d"]
    goto(site, "#/jobs")
    wait(b, lambda: css(b, "#jobs-table table"), what="jobs list")
    job = d.post("/api/v2/job_templates/%d/launch/" % site["jt_live"]["id"],
                 {"limit": "localhost", "extra_vars": json.dumps({"pause": 3})})
    job_id = job.get("job") or job["id"]
    b.execute_script("location.hash = arguments[0]", "#/jobs/%d" % job_id)
    wait(b, lambda: css(b, "#output"), what="the output view")
    b.execute_script("""
        window.__seen2 = null;
        const o = document.getElementById('output');
        new MutationObserver(() => {
          if (!window.__seen2 && o.textContent.includes('LIVE-SECOND localhost')) window.__seen2 = Date.now();
        }).observe(o, {subtree: true, childList: true, characterData: true});""")
    wait(b, lambda: "LIVE-FIRST localhost" in visible_text(b, "#output"), timeout=120, what="the first mark")
    # the observer is in place before the second mark is printed (3 s later)
    assert "LIVE-SECOND" not in visible_text(b, "#output")
    wait(b, lambda: b.execute_script("return window.__seen2"), timeout=60, what="LIVE-SECOND drawn")
    seen = b.execute_script("return window.__seen2") / 1000.0
    evs = d.get("/api/v2/jobs/%d/job_events/?stdout__contains=LIVE-SECOND&event=runner_on_ok" % job_id)["results"]
    assert len(evs) == 1, evs
    lag = seen - _iso_seconds(evs[0]["created"])
    print("printed → drawn: %.3f s (event created %s)" % (lag, evs[0]["created"]))
    assert -0.5 < lag < 1.0 * LAG_FACTOR, "LIVE-SECOND drawn %.2f s after the runner emitted it" % lag
    wait_status(b, ("successful",))


def _login_as(b, username, password):
    if css(b, "#logout:not([hidden])"):
        b.find_element(By.ID, "logout").click()
    wait(b, lambda: css(b, "#login:not([hidden])"), what="the login form")
    b.find_element(By.ID, "username").send_keys(username)
    b.find_element(By.ID, "password").send_keys(password)
    b.find_element(By.ID, "login-submit").click()
    wait(b, lambda: css(b, "#nav:not([hidden])") and b.find_element(By.ID, "who").text == username,
         what="logged in as " + username)


def _user_row(b, username):
    rows = [r for r in css(b, "tr.resource-row") if r.find_elements(By.CSS_SELECTOR, "td a")
            and r.find_elements(By.CSS_SELECTOR, "td a")[0].text == username]
    return rows[0] if rows else None


def test_users_view_as_admin_and_as_an_ordinary_user(site):
    b, d = site["b"], site["d"]
    # the Teams menu entry is there exactly when the API has teams (RBAC)
    goto(site, "#/users")
    wait(b, lambda: css(b, "tr.resource-row"), what="the users list")
    has_teams = "teams" in d.get("/api/v2/")
    assert bool(css(b, "#nav-teams:not([hidden])")) == has_teams
    # admin: Add, then create a user through the form
    assert css(b, "#add")
    b.find_element(By.ID, "add").click()
    wait(b, lambda: css(b, "#f-username"), what="the user form")
    b.find_element(By.ID, "f-username").send_keys("web-user")
    b.find_element(By.ID, "f-first_name").send_keys("Webby")
    b.find_element(By.ID, "f-password").send_keys("web-user-pw-1")
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/users") and _user_row(b, "web-user"), what="created")
    u = d.get("/api/v2/users/?username=web-user")["results"][0]
    assert u["first_name"] == "Webby" and not u["is_superuser"]
    assert "web-user-pw-1" not in b.page_source
    shot(b, "users")
    # edit: a blank password keeps the old one; the change is saved
    goto(site, "#/users/%d" % u["id"])
    wait(b, lambda: css(b, "#f-last_name"), what="the edit form")
    assert b.find_element(By.ID, "f-password").get_attribute("value") == ""
    b.find_element(By.ID, "f-last_name").send_keys("McWeb")
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/users"), what="saved")
    assert d.get("/api/v2/users/%d/" % u["id"])["last_name"] == "McWeb"
    shot(b, "user-edit")

    # the ordinary user: no Add; the admin's row without Edit and Delete; its
    # own row Edit only; its own form without the superuser fields
    _login_as(b, "web-user", "web-user-pw-1")  # the kept password works
    try:
        b.execute_script("location.hash = '#/users'")
        wait(b, lambda: _user_row(b, "admin") and _user_row(b, "web-user"), what="users as web-user")
        assert not css(b, "#add")
        admin_row, own_row = _user_row(b, "admin"), _user_row(b, "web-user")
        assert not admin_row.find_elements(By.CSS_SELECTOR, "a.edit, button.delete")
        assert own_row.find_elements(By.CSS_SELECTOR, "a.edit")
        assert not own_row.find_elements(By.CSS_SELECTOR, "button.delete")
        shot(b, "users-ordinary")
        admin_id = d.get("/api/v2/users/?username=admin")["results"][0]["id"]
        b.execute_script("location.hash = arguments[0]", "#/users/%d" % admin_id)
        wait(b, lambda: css(b, "#readonly"), what="the admin, read only")
        assert not css(b, "form.form") and not css(b, "button.delete")
        b.execute_script("location.hash = arguments[0]", "#/users/%d" % u["id"])
        wait(b, lambda: css(b, "#f-email"), what="own form")
        assert not css(b, "#f-is_superuser") and not css(b, "button.delete")
        b.find_element(By.ID, "f-email").send_keys("web@example.com")
        b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        wait(b, lambda: b.current_url.endswith("#/users"), what="saved by the user")
        assert d.get("/api/v2/users/%d/" % u["id"])["email"] == "web@example.com"
    finally:
        b.find_element(By.ID, "logout").click()
        wait(b, lambda: css(b, "#login:not([hidden])"), what="logged out")
    # admin again: delete the user from the list
    goto(site, "#/users?search=web-user")
    wait(b, lambda: _user_row(b, "web-user") and _user_row(b, "web-user").find_elements(By.CSS_SELECTOR, "button.delete"),
         what="the row")
    _user_row(b, "web-user").find_element(By.CSS_SELECTOR, "button.delete").click()
    b.switch_to.alert.accept()
    wait(b, lambda: d.get("/api/v2/users/?username=web-user")["count"] == 0, what="deleted")


def test_teams_view_when_the_api_has_teams(site):
    """Teams arrive with RBAC: the view works on AWX's shapes (teams/,
    teams/N/users/, teams/N/roles/) once the API has them."""
    b, d = site["b"], site["d"]
    if "teams" not in d.get("/api/v2/"):
        pytest.skip("this runneld has no teams/ yet (RBAC)")
    team = d.create("teams", name="web-team", organization=site["org"]["id"])
    goto(site, "#/teams")
    wait(b, lambda: "web-team" in visible_text(b, "table.list"), what="the teams list")
    assert css(b, "#add")
    shot(b, "teams")
    goto(site, "#/teams/%d" % team["id"])
    wait(b, lambda: css(b, "#f-name") and css(b, "#members") and css(b, "#roles"), what="the team, members and roles")
    b.find_element(By.ID, "f-description").send_keys("made in the browser")
    b.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait(b, lambda: b.current_url.endswith("#/teams"), what="saved")
    assert d.get("/api/v2/teams/%d/" % team["id"])["description"] == "made in the browser"
