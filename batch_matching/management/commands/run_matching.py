import json
import time

from django.core.management.base import BaseCommand, CommandError

from batch_matching import services
from batch_matching.models import MatchingRun, RunChunk
from portal.services import ApplicationError


class Command(BaseCommand):
    help = (
        "全量匹配: 启动一次批量资格匹配(由 Celery worker 分块执行), 或 --inline 在本进程内执行; "
        "--resume ID 继续一次中断的运行; --province 14 只匹配一个省份(其他省份的结果不变)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--inline", action="store_true", help="在本进程内执行全部分块(无需 worker)")
        parser.add_argument("--wait", action="store_true", help="等待运行结束并输出结果")
        parser.add_argument("--resume", type=int, default=None, help="继续运行 ID(重新派发未完成的分块)")
        parser.add_argument("--chunk-size", type=int, default=None)
        parser.add_argument("--province", default=None, help="省份代码(如 14 或 140000); 不填则匹配全部省份")

    def handle(self, *args, inline, wait, resume, chunk_size, province, **options):
        try:
            if resume:
                run = services.run_resume(run_id=resume)
            else:
                run = services.run_start(chunk_size=chunk_size, dispatch=not inline, province=province)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if inline:
            for chunk_id in (
                RunChunk.objects.filter(run=run, done=False).order_by("number").values_list("pk", flat=True)
            ):
                services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
            services.run_finalize(run_id=run.pk, resume=True)
        while wait or inline:
            run = MatchingRun.objects.get(pk=run.pk)
            if run.is_finished:
                break
            time.sleep(0.5)
        run.refresh_from_db()
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "state": run.state,
                    "province": run.province or "全部",
                    "entities": run.entities,
                    "chunks": run.chunks_total,
                    "results": run.results,
                    "eligible": run.eligible,
                    "incomplete": run.incomplete,
                    "near_miss": run.near_miss,
                    "seconds": run.seconds,
                    "phases": run.timings,
                },
                ensure_ascii=False,
            )
        )
