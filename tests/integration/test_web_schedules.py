"""A template's schedules on its web page (headless Chromium): the panel
lists them, previews a rule's next runs, adds one (the API's errors shown
beside the form), disables and deletes one. Any browser console error fails.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from runneld_harness import RUNNELD
from web_harness import start_web_world

selenium = pytest.importorskip("selenium", reason="python3-selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402

from test_web_browser import CHROMEDRIVER, css, goto, new_browser, shot, wait  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(not os.path.exists(CHROMEDRIVER), reason="chromium-driver is not installed"),
]


@pytest.fixture(scope="module")
def site():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-web-sched-"))
    d, w = start_web_world(tmp)
    b = None
    try:
        b = new_browser(tmp)
        w.update(b=b, base=d.url("/"))
        yield w
    finally:
        if b:
            b.quit()
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_template_page_schedules(site):
    b, d = site["b"], site["d"]
    jt = site["jt_live"]["id"]
    d.create("schedules", name="nightly", unified_job_template=jt,
             rrule="DTSTART;TZID=America/New_York:20300101T020000 RRULE:FREQ=DAILY;INTERVAL=1")
    b.get_log("browser")
    goto(site, "#/templates/%d" % jt)
    wait(b, lambda: css(b, "#template-schedules .schedule-row"), what="the schedules panel")
    assert "nightly" in b.find_element(By.ID, "template-schedules").text
    assert "America/New_York" in b.find_element(By.ID, "template-schedules").text
    # preview a rule: its next runs, in its zone
    rr = b.find_element(By.ID, "f-schedule_rrule")
    rr.clear()
    rr.send_keys("DTSTART;TZID=Europe/Paris:20300107T080000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT=3")
    b.find_element(By.ID, "schedule-preview-button").click()
    wait(b, lambda: len(css(b, "#schedule-preview li")) == 3, what="the preview")
    assert css(b, "#schedule-preview li")[0].text == "2030-01-07T08:00:00+01:00"
    # add it
    b.find_element(By.ID, "f-schedule_name").send_keys("weekly")
    b.find_element(By.CSS_SELECTOR, "#schedule-form button[type=submit]").click()
    wait(b, lambda: "weekly" in b.find_element(By.ID, "template-schedules").text, what="the new schedule")
    s = d.get("/api/v2/schedules/?name=weekly")["results"][0]
    assert s["unified_job_template"] == jt and s["timezone"] == "Europe/Paris"
    shot(b, "template-schedules")
    # a rule AWX refuses: its message beside the form, nothing stored
    b.find_element(By.ID, "f-schedule_name").send_keys("bad")
    rr = b.find_element(By.ID, "f-schedule_rrule")
    rr.clear()
    rr.send_keys("DTSTART:20300101T000000Z RRULE:FREQ=SECONDLY;INTERVAL=1")
    b.find_element(By.CSS_SELECTOR, "#schedule-form button[type=submit]").click()
    wait(b, lambda: "SECONDLY is not supported" in b.find_element(By.ID, "template-schedules").text,
         what="the rrule error")
    assert d.get("/api/v2/schedules/?name=bad")["count"] == 0
    # disable, then delete
    row = [r for r in css(b, ".schedule-row") if "weekly" in r.text][0]
    row.find_element(By.CSS_SELECTOR, ".schedule-toggle").click()
    wait(b, lambda: d.get(s["url"])["enabled"] is False, what="disabled")
    wait(b, lambda: [r for r in css(b, ".schedule-row") if "weekly" in r.text and "Enable" in r.text],
         what="the row redrawn")
    row = [r for r in css(b, ".schedule-row") if "weekly" in r.text][0]
    row.find_element(By.CSS_SELECTOR, ".schedule-delete").click()
    wait(b, lambda: d.get("/api/v2/schedules/?name=weekly")["count"] == 0, what="deleted")
    # (the refused rule's 400 is the one network error the browser logs)
    errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"
              and not (e["source"] == "network" and "status of 400" in e["message"])]
    assert not errors, errors
