"""The /ui page in a real browser (Playwright driving Debian's chromium): pipelines, graphs, red links."""
from __future__ import annotations

import os
import shutil

import pytest
import requests

from chariots.pipelines import PipelinesClient
from tests.conftest import service_unavailable
from tests.ml.iris_ops import train_in_docs_order

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = os.environ.get("CHARIOTS_UI_SCREENSHOT", "/work/helpers/ui.png")


@pytest.fixture
def browser():
    """A headless chromium; skipped when it cannot start (failed under CI=true)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("playwright is not installed: pip install chariots[test]")
    if not os.path.exists(CHROMIUM):
        service_unavailable(f"no chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as error:  # any launch failure means "no browser here"
            service_unavailable(f"chromium cannot start: {error}")
        try:
            yield launched
        finally:
            launched.close()


def _links(page, pipeline):
    return {
        (link.get_attribute("data-upstream"), link.get_attribute("data-downstream")): link.get_attribute("data-status")
        for link in page.locator(f"section[data-pipeline='{pipeline}'] path.link").all()
    }


def test_the_page_lists_pipelines_draws_them_and_reddens_a_stale_link(iris_app, browser, tmp_path):
    _, url, (train_pca, train_logistic, pred) = iris_app
    client = PipelinesClient(url)
    train_in_docs_order(client, train_pca, train_logistic, pred)

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(url + "/ui")
    assert page.locator("#pipeline-list li").all_inner_texts() == [
        "pred (3 nodes)", "train_logistics (3 nodes)", "train_pca (2 nodes)"]
    nodes = page.locator("section[data-pipeline='pred'] a.node")
    assert [node.get_attribute("data-node") for node in nodes.all()] == ["pcaop", "logisticop", "fromarray"]
    served_pca = client.pipeline_versions(pred)["pcaop"].major[:5]
    assert f"v {served_pca}" in nodes.nth(0).text_content()
    assert "trained 20" in nodes.nth(1).text_content() and f"on pcaop {served_pca}" in nodes.nth(1).text_content()
    assert _links(page, "pred")[("pcaop", "logisticop")] == "ok"
    assert page.locator("section[data-pipeline='pred'] path.link.red").count() == 0

    # the PCA alone is retrained and saved: the logistic regression was not trained on it
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    page.reload()
    assert _links(page, "pred")[("pcaop", "logisticop")] == "stale"
    red = page.locator("section[data-pipeline='pred'] path.link.red")
    assert red.count() == 1
    assert "which logisticop was not trained on: retrain it" in red.first.locator("title").text_content()
    assert red.first.evaluate("element => getComputedStyle(element).stroke") == "rgb(214, 39, 40)"
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
    shutil.copyfile(tmp_path / "ui.png", SCREENSHOT)

    # a click on a node shows the op store's history of its op, the served versions marked
    page.locator("section[data-pipeline='pred'] a.node[data-node='pcaop']").click()
    page.wait_for_url("**/ui/ops/pcaop")
    rows = page.locator("#history tr[data-major]")
    assert rows.count() >= 2
    majors = [row.get_attribute("data-major") for row in rows.all()]
    assert served_pca in majors and client.pipeline_versions(train_pca)["pcaop"].major[:5] == majors[0]
    assert "train_pca" in rows.nth(0).inner_text()


def test_the_page_needs_the_token_when_one_is_set(wsgi_server):
    from chariots.pipelines import PipelinesServer
    from tests.workers.worker_ops import is_odd_pipeline

    url = wsgi_server(PipelinesServer([is_odd_pipeline()], auth_token="t0k", import_name="ui_token"))
    assert requests.get(url + "/ui").status_code == 401
    answer = requests.get(url + "/ui", headers={"Authorization": "Bearer t0k"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert 'data-pipeline="is_odd"' in answer.text
