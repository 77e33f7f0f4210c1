"""A Celery worker of the portal for fault tests (FaultWorker in tests/test_faults.py starts it).

Environment, besides the portal's own:
  FAULT_SCAN_BATCH      deadline scan batch size (matching.clocks.SCAN_BATCH), to make many steps
  FAULT_STEP_DELAY      seconds to sleep after each scan step, so a test can kill the worker mid-scan
  FAULT_PROGRESS        file to which each finished step appends "<pid> <step> <clocks>"
  FAULT_VISIBILITY      Redis visibility timeout (s): how soon this worker restores the
                        messages of a worker that died without acknowledging them
The rest of the command line goes to `celery worker`."""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from matching import clocks  # noqa: E402
from portal.celery import app  # noqa: E402

if os.environ.get("FAULT_SCAN_BATCH"):
    clocks.SCAN_BATCH = int(os.environ["FAULT_SCAN_BATCH"])
delay = float(os.environ.get("FAULT_STEP_DELAY") or 0)
progress = os.environ.get("FAULT_PROGRESS")
if delay or progress:
    original_step = clocks._step

    def observed_step(now, **kwargs):
        n = original_step(now, **kwargs)
        if n:
            if progress:
                with open(progress, "a") as file:
                    file.write(f"{os.getpid()} {kwargs['name']} {n}\n")
            time.sleep(delay)
        return n

    clocks._step = observed_step

if os.environ.get("FAULT_VISIBILITY"):
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "visibility_timeout": float(os.environ["FAULT_VISIBILITY"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

if __name__ == "__main__":
    app.worker_main(["worker", *sys.argv[1:]])
