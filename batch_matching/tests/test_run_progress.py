"""Issue 16 item 20: "the run page updates its counts and end time without a reload". The page
polls its run's progress as JSON (``/matching-batch/runs/progress/?run=N``) through the run
pages' selector and restriction: platform administrators only; another role gets 403, a run
that does not exist (or a bad id) 404."""

import pytest
from django.test import Client

from batch_matching import services
from batch_matching.factories import run_inline
from batch_matching.models import RunChunk
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 60


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_运行页面不刷新即更新计数和结束时间_进度接口随运行推进(batch_world):
    """ "the run page updates its counts and end time without a reload" (issue 16, item 20):
    the JSON the page polls follows the run, chunk by chunk, to its end time."""
    # given a full run started with three chunks, none processed yet
    run = services.run_start(chunk_size=25, dispatch=False)
    client = client_for(user_with_role(Role.PLATFORM_ADMIN))
    url = f"/matching-batch/runs/progress/?run={run.pk}"
    started = client.get(url).json()
    assert started["chunks_total"] == 3 and started["chunks_done"] == 0 and started["percent"] == 0
    assert started["finished"] is False and started["finished_at"] == "" and started["state_label"] == "匹配中"
    assert started["entities"] == run.entities
    # and the page itself polls it while the run is in progress, with a live region
    page = client.get(f"/matching-batch/runs/detail/?run={run.pk}").content.decode()
    assert f'data-run-poll="/matching-batch/runs/progress/?run={run.pk}"' in page
    assert 'aria-live="polite"' in page and "batch_matching/run_progress.js" in page

    # when one chunk is written, the JSON counts it
    chunks = list(RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True))
    services.chunk_process(run_id=run.pk, chunk_id=chunks[0], finalize=False)
    one = client.get(url).json()
    assert one["chunks_done"] == 1 and one["percent"] == 33 and not one["finished"]

    # when the rest are written and the run is swapped in, it has its counts and end time
    for chunk_id in chunks[1:]:
        services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    services.run_finalize(run_id=run.pk)
    run.refresh_from_db()
    done = client.get(url).json()
    assert done["finished"] and done["succeeded"] and done["in_force"] and done["percent"] == 100
    assert (done["eligible"], done["incomplete"], done["near_miss"]) == (run.eligible, run.incomplete, run.near_miss)
    assert done["eligible"] > 0 and done["results"] == run.results
    assert (
        done["finished_at"].startswith(run.finished_at.astimezone().strftime("%Y-")) and len(done["finished_at"]) == 19
    )
    assert {p["id"] for p in done["products"]} == set(run.products.values_list("pk", flat=True))
    assert sum(p["eligible"] for p in done["products"]) == run.eligible
    # and the finished page no longer polls
    page = client.get(f"/matching-batch/runs/detail/?run={run.pk}").content.decode()
    assert "data-run-poll" not in page


@pytest.mark.parametrize(
    "role",
    [
        Role.ENTERPRISE_USER,
        Role.ACCOUNT_MANAGER,
        Role.BANK_ADMIN,
        Role.TASK_FORCE_STAFF,
        Role.TASK_FORCE_BANK_REVIEWER,
        Role.TASK_FORCE_LEAD,
        Role.CONVENER,
        Role.CITY_REGULATOR,
        Role.PROVINCE_REGULATOR,
    ],
)
def test_进度接口只对可以查看运行页面的平台管理员开放(batch_world, role):
    run = run_inline()
    response = client_for(user_with_role(role)).get(f"/matching-batch/runs/progress/?run={run.pk}")
    assert response.status_code == 403
    assert b"eligible" not in response.content
    # the run page itself answers the same
    assert client_for(user_with_role(role)).get(f"/matching-batch/runs/detail/?run={run.pk}").status_code == 403


def test_进度接口_不存在的运行和错误的编号是404_未登录去登录(batch_world):
    run = run_inline()
    admin = client_for(user_with_role(Role.PLATFORM_ADMIN))
    for query in (f"run={run.pk + 1000}", "run=abc", "run=-1", "run=99999999999999999999", ""):
        response = admin.get(f"/matching-batch/runs/progress/?{query}")
        assert response.status_code == 404 and response.json()["detail"] == "记录不存在或您无权操作"
    anonymous = Client().get(f"/matching-batch/runs/progress/?run={run.pk}")
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
